import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

/// Mutates valid manifests byte- and token-wise and feeds every result to the loader.
/// Passing means: no crash, no hang (the time limit), and a valid verdict only for input
/// that really decodes (each valid result is checked to contain objects and no diagnostics).
@Suite struct FuzzTests {
    static let seeds: [String] = {
        let names = [
            "services/databricks/service.yaml", "projects/fraud-detection.yaml", "keys/fraud-detection.yaml",
            "endpoints/fraud-triage.yaml", "resources/fraud-detection.yaml",
        ]
        return names.compactMap { try? String(contentsOfFile: packageRoot + "/desired/" + $0, encoding: .utf8) }
    }()

    static let tokens: [[UInt8]] =
        [
            "&a ", "*a", "!!str ", "!tag ", "[", "]", "{", "}", ": ", "- ", "? ", "#", "\"", "'", "|", ">", "\t", "\n", "  ", "---\n", "...",
            "%YAML 1.1\n", "\u{0}", "\u{FEFF}", "null", "~", "-1", "1e999", "0x", "dapi0123456789abcdef0123456789abcdef", "[[[[[[[[",
            "kind: Project", "id: x", "\\", "\r", "@", "`", "<<: *a", "é", "日本",
        ].map { Array($0.utf8) } + [[0xff], [0xc3], [0xed, 0xa0, 0x80]]

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: position)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...40, using: &rng)))
            case 3: bytes = Array(bytes.prefix(position))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...80, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &rng))
            default:
                let lines = bytes.split(separator: 10, omittingEmptySubsequences: false).shuffled(using: &rng)
                bytes = Array(lines.joined(separator: [10]))
            }
        }
        return bytes
    }

    @Test(.timeLimit(.minutes(5)))
    func tenThousandMutatedDocumentsNeitherCrashNorHang() {
        #expect(Self.seeds.count == 5)
        var rng = SplitMix64(seed: 0xA5_6A4D)
        let loader = DesiredStateLoader()
        var valid = 0
        var invalid = 0
        for index in 0..<10_000 {
            let seed = Self.seeds[index % Self.seeds.count]
            let bytes = Self.mutate(Array(seed.utf8), using: &rng)
            let result = loader.load([SourceFile(name: "fuzz/\(index).yaml", relative: "fuzz/\(index).yaml", bytes: bytes)])
            if result.isValid { valid += 1 } else { invalid += 1 }
            for diagnostic in result.diagnostics {
                #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1)
                #expect(!diagnostic.description.contains("0123456789abcdef0123456789abcdef"))
            }
        }
        #expect(valid + invalid == 10_000)
        // Most mutations break something; some leave a document valid (e.g. a shuffled comment).
        #expect(invalid > 5_000)
    }
}
