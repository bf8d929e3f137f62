import AsgardTestSupport
import Cedar
import Foundation
import Testing

/// The package root (this file is `Tests/CedarTests/ParserCorpusTests.swift`).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// The shared Cedar test data next to the worktree.
private let sharedCedar = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/cedar")

/// The unpacked `corpus-tests` directory (unpacked once, by `unpackCorpusIfNeeded`).
private func corpusDirectory() throws -> URL {
    try unpackCorpusIfNeeded().appendingPathComponent("corpus-tests")
}

/// The texts of every `corpus-tests/*.cedar` file, sorted by name.
private func corpusPolicies() throws -> [(name: String, text: String)] {
    let dir = try corpusDirectory()
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".cedar") }.sorted()
    return try names.map { ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)) }
}

private func cedarFiles(under directory: URL) -> [URL] {
    guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
    return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "cedar" }.sorted { $0.path < $1.path }
}

@Suite("Parser against the shared Cedar corpus")
struct ParserCorpusTests {
    @Test func everyCorpusPolicyParses() throws {
        let files = try corpusPolicies()
        #expect(files.count == 7809)
        var failures: [String] = []
        for (name, text) in files {
            do {
                let policies = try parsePolicies(text)
                if policies.count != 1 || policies.first?.id != "policy0" {
                    failures.append("\(name): \(policies.count) policies")
                }
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        print("Cedar corpus: parsed \(files.count - failures.count) of \(files.count) policy files")
        #expect(failures.isEmpty, "\(failures.count) failures, e.g. \(failures.prefix(10))")
    }

    @Test func handWrittenTestsAndSampleDataParse() throws {
        let files =
            cedarFiles(under: sharedCedar.appendingPathComponent("tests"))
            + cedarFiles(under: sharedCedar.appendingPathComponent("sample-data"))
        #expect(files.count >= 20)
        var failures: [String] = []
        var policies = 0
        for file in files {
            do {
                let parsed = try parsePolicies(try String(contentsOf: file, encoding: .utf8))
                #expect(!parsed.isEmpty, "\(file.path) has no policy")
                #expect(parsed.map(\.id) == parsed.indices.map { "policy\($0)" })
                policies += parsed.count
            } catch {
                failures.append("\(file.path): \(error)")
            }
        }
        print("Cedar tests and sample data: \(files.count) files, \(policies) policies, \(failures.count) failures")
        #expect(failures.isEmpty, "\(failures)")
    }

    /// Deterministic mutations of corpus texts: the parser must return or throw, never crash or hang.
    @Test(.timeLimit(.minutes(5))) func mutatedCorpusNeverCrashes() throws {
        let texts = try corpusPolicies().map { Array($0.text.utf8) }
        var rng = SplitMix64(seed: 0xCEDA_2026)
        var parsed = 0
        var rejected = 0
        let total = 100_000
        for n in 0..<total {
            let bytes = mutate(texts[Int(rng.next() % UInt64(texts.count))], round: n, using: &rng)
            // Mutations may split UTF-8 sequences; `String(decoding:)` repairs them like any caller would.
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try parsePolicies(text)
                parsed += 1
            } catch {
                rejected += 1
                let offset = error.position.offset
                #expect(
                    offset >= 0 && offset <= text.utf8.count && error.position.line >= 1 && error.position.column >= 1,
                    "bad position \(error.position) for input #\(n)")
                #expect(!error.message.isEmpty)
            }
        }
        print("Cedar fuzz: \(total) mutated inputs, \(parsed) parsed, \(rejected) rejected with a ParseError")
        #expect(parsed + rejected == total)
    }
}

/// Token-ish fragments that mutations insert into Cedar texts and JSON documents.
private let fragments: [[UInt8]] = [
    "(", ")", "[", "]", "{", "}", "\"", "\\", "::", ":", ",", ";", ".", "@", "?", "-", "!", "*", "+",
    "==", "<=", "&&", "||", "if", "then", "else", "in", "is", "has", "like", "principal", "when",
    "-9223372036854775808", "99999999999999999999", "\\u{", "\\u{110000}", "\\x80", "//", "\n", "é", "😀",
    "decimal(", ".contains(", "permit(", "@id(\"", "\u{0}", "\u{FF}",
    "\"__entity\"", "\"__extn\"", "{\"fn\":\"offset\",\"args\":[", "null", "1e400", "0.5", "\"uid\"", "\"parents\"", "[[[[[[",
].map { Array($0.utf8) }

/// One to three random edits: flip a byte, insert a fragment, delete a run, truncate, or duplicate a slice.
func mutate(_ input: [UInt8], round n: Int, using rng: inout SplitMix64) -> [UInt8] {
    var bytes = input
    for _ in 0..<(1 + Int(rng.next() % 3)) {
        let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
        switch (n + Int(rng.next() % 5)) % 5 {
        case 0:
            if !bytes.isEmpty { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
        case 1:
            bytes.insert(contentsOf: fragments[Int(rng.next() % UInt64(fragments.count))], at: at)
        case 2:
            let length = min(bytes.count - at, 1 + Int(rng.next() % 8))
            bytes.removeSubrange(at..<(at + length))
        case 3:
            bytes.removeSubrange(at...)
        default:
            let length = min(bytes.count - at, Int(rng.next() % 40))
            bytes.insert(contentsOf: Array(bytes[at..<(at + length)]), at: at)
        }
    }
    return bytes
}

@Suite("Entity JSON against mutated corpus entity files")
struct EntityJSONFuzzTests {
    /// 100,000 mutated entity documents: each either loads or is refused with a DataError.
    @Test(.timeLimit(.minutes(5))) func mutatedEntityFilesNeverCrash() throws {
        let directory = try corpusDirectory()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".entities.json") }.sorted()
        // Prefer small files so the run stays fast; every escape form occurs among them.
        let documents = try names.prefix(3_000).map { try [UInt8](Data(contentsOf: directory.appendingPathComponent($0))) }
            .sorted { $0.count < $1.count }.prefix(1_500)
        var rng = SplitMix64(seed: 0x0E47_1735)
        var loaded = 0
        var refused = 0
        let total = 100_000
        for n in 0..<total {
            let bytes = mutate(documents[documents.startIndex + Int(rng.next() % UInt64(documents.count))], round: n, using: &rng)
            do {
                _ = try parseEntities(json: bytes)
                loaded += 1
            } catch {
                refused += 1
                #expect(!error.description.isEmpty)
            }
        }
        print("Cedar entity JSON fuzz: \(total) mutated documents, \(loaded) loaded, \(refused) refused with a DataError")
        #expect(loaded + refused == total && refused > total / 2)
    }
}
