import Cedar
import Foundation
import Testing

/// The package root (this file is `Tests/CedarTests/ParserCorpusTests.swift`).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// The shared Cedar test data next to the worktree.
private let sharedCedar = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/cedar")

/// Unpacks `corpus-tests.tar.gz` into `.build/cedar-corpus/` once, and returns the `corpus-tests` directory.
private func corpusDirectory() throws -> URL {
    let target = packageRoot.appendingPathComponent(".build/cedar-corpus")
    let corpus = target.appendingPathComponent("corpus-tests")
    let fm = FileManager.default
    if !fm.fileExists(atPath: corpus.path) {
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["xzf", sharedCedar.appendingPathComponent("corpus-tests.tar.gz").path, "-C", target.path]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "tar exited \(tar.terminationStatus)"])
        }
    }
    return corpus
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
        let files = cedarFiles(under: sharedCedar.appendingPathComponent("tests"))
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
        let fragments: [[UInt8]] = [
            "(", ")", "[", "]", "{", "}", "\"", "\\", "::", ":", ",", ";", ".", "@", "?", "-", "!", "*", "+",
            "==", "<=", "&&", "||", "if", "then", "else", "in", "is", "has", "like", "principal", "when",
            "-9223372036854775808", "99999999999999999999", "\\u{", "\\u{110000}", "\\x80", "//", "\n", "é", "😀",
            "decimal(", ".contains(", "permit(", "@id(\"", "\u{0}", "\u{FF}",
        ].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 0xCEDA_2026)
        var parsed = 0
        var rejected = 0
        let total = 24_000
        for n in 0..<total {
            var bytes = texts[Int(rng.next() % UInt64(texts.count))]
            let mutations = 1 + Int(rng.next() % 3)
            for _ in 0..<mutations {
                let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
                switch (n + Int(rng.next() % 5)) % 5 {
                case 0: // flip a byte to a random value
                    if !bytes.isEmpty { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
                case 1: // insert a token-ish fragment
                    bytes.insert(contentsOf: fragments[Int(rng.next() % UInt64(fragments.count))], at: at)
                case 2: // delete a run of bytes
                    let length = min(bytes.count - at, 1 + Int(rng.next() % 8))
                    bytes.removeSubrange(at..<(at + length))
                case 3: // truncate
                    bytes.removeSubrange(at...)
                default: // duplicate a slice
                    let length = min(bytes.count - at, Int(rng.next() % 40))
                    bytes.insert(contentsOf: Array(bytes[at..<(at + length)]), at: at)
                }
            }
            // Mutations may split UTF-8 sequences; `String(decoding:)` repairs them like any caller would.
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try parsePolicies(text)
                parsed += 1
            } catch {
                rejected += 1
                let offset = error.position.offset
                #expect(offset >= 0 && offset <= text.utf8.count && error.position.line >= 1 && error.position.column >= 1,
                        "bad position \(error.position) for input #\(n)")
                #expect(!error.message.isEmpty)
            }
        }
        print("Cedar fuzz: \(total) mutated inputs, \(parsed) parsed, \(rejected) rejected with a ParseError")
        #expect(parsed + rejected == total)
    }
}

/// A small deterministic PRNG (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
