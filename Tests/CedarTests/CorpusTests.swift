import AsgardJSON
import Cedar
import Foundation
import Testing

// The Cedar conformance corpus (7,809 generated files, 62,472 requests) and the hand-written
// integration tests, run against this package. A file passes when every request's decision,
// reason set and error set match. The corpus pass count may not fall below the recorded
// baseline (`Fixtures/corpus-baseline.txt`); `CEDAR_UPDATE_BASELINE=1` records the current one.

@Suite(.serialized)
struct CorpusTests {
    static let expectedCorpusFiles = 7_809

    @Test(.timeLimit(.minutes(10)))
    func corpus() async throws {
        let started = ContinuousClock.now
        let root = try unpackCorpusIfNeeded()
        let files = testFiles(under: root.appendingPathComponent("corpus-tests"), excludingSuffix: ".entities.json")
        #expect(files.count == Self.expectedCorpusFiles, "unpacked corpus has \(files.count) test files")

        let outcomes = await runConcurrently(files, root: root) { $0.lastPathComponent }
        let summary = CorpusSummary(label: "corpus", outcomes: outcomes)
        for line in summary.report() { print(line) }
        print("  (\(files.count) files in \(ContinuousClock.now - started))")

        // The regression gate.
        let baselineURL = CorpusLocations.baseline
        if ProcessInfo.processInfo.environment["CEDAR_UPDATE_BASELINE"] == "1" {
            try Data("\(summary.passed)\n".utf8).write(to: baselineURL)
            print("  baseline updated to \(summary.passed)")
        } else {
            let text = try String(contentsOf: baselineURL, encoding: .utf8)
            let baseline = try #require(
                Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                "\(baselineURL.path) must hold a number")
            #expect(summary.passed >= baseline, "corpus pass count \(summary.passed) fell below the baseline \(baseline)")
        }
    }

    /// The hand-written tests rely on schema-based parsing (bare strings for ip values,
    /// implicit entity references), which this package does not do; they are counted and
    /// reported, not gated.
    @Test(.timeLimit(.minutes(1)))
    func handWritten() async throws {
        let root = CorpusLocations.shared
        var files: [URL] = []
        for directory in ["tests", "sample-data"] {
            // Only JSON objects with `requests` are test files (sample-data holds entities and schemas).
            for url in testFiles(under: root.appendingPathComponent(directory)) {
                guard let data = FileManager.default.contents(atPath: url.path),
                    let json = try? JSONValue.parse([UInt8](data)), json["requests"] != nil
                else { continue }
                files.append(url)
            }
        }
        #expect(!files.isEmpty, "no hand-written test files under \(root.path)")
        let prefix = root.path + "/"
        let outcomes = files.map { url in
            runTestFile(url, root: root, displayName: String(url.path.dropFirst(prefix.count)), collectSchemaHints: true)
        }
        let summary = CorpusSummary(label: "hand-written", outcomes: outcomes)
        for line in summary.report(examples: outcomes.count, schemaNotes: true) { print(line) }
    }
}
