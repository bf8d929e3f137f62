import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

/// Each directory under `examples/broken/` shows one kind of error; its diagnostics must
/// match `Fixtures/golden/<name>.txt` exactly. Set ASGARD_UPDATE_GOLDEN=1 to rewrite them.
@Suite struct GoldenTests {
    static let cases = brokenExamples

    @Test func everyExampleHasAGoldenFile() throws {
        #expect(Self.cases.count >= 15)
        let golden = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Tests/AsgardCoreTests/Fixtures/golden")
        #expect(Set(golden) == Set(Self.cases.map { "\($0).txt" }))
    }

    @Test(arguments: cases)
    func brokenExampleMatchesGolden(name: String) throws {
        let directory = packageRoot + "/examples/broken/" + name
        let result = DesiredStateLoader().load(directory: directory)
        #expect(!result.isValid, "examples/broken/\(name) is meant to be broken")
        let text =
            result.diagnostics.map(\.description).joined(separator: "\n")
            .replacingOccurrences(of: packageRoot + "/", with: "") + "\n"
        let goldenPath = packageRoot + "/Tests/AsgardCoreTests/Fixtures/golden/\(name).txt"
        if ProcessInfo.processInfo.environment["ASGARD_UPDATE_GOLDEN"] == "1" {
            try text.write(toFile: goldenPath, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: goldenPath, encoding: .utf8)
        #expect(text == golden)
    }
}
