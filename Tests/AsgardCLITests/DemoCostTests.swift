import AsgardTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// `asgard demo` as people run it: after one rollup, the cost pane shows fraud-detection's
/// Databricks spend from the fake's billing tables, priced by its list prices.
@Suite(.serialized) struct DemoCostTests {
    @Test func theDemoShowsDatabricksSpendAfterOneRollup() async throws {
        let root = try makeTemporaryDirectory("demo-cost")
        let output = root + "/demo.log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: asgardBinary)
        process.arguments = ["demo", packageRoot + "/desired", "--port", "0", "--policies", packageRoot + "/policies", "--data-dir", root + "/data"]
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        var environment = ProcessInfo.processInfo.environment.merging(testAuditEnvironment) { _, new in new }
        environment["DATABRICKS_WAREHOUSE_ID"] = nil
        process.environment = environment
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func printed() -> String { String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data(), as: UTF8.self) }
        func value(after marker: String) -> String? {
            printed().split(separator: "\n").lazy.compactMap { line -> String? in
                guard let range = line.range(of: marker) else { return nil }
                return line[range.upperBound...].trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
            }.first
        }
        var base: String?
        for _ in 0..<1200 where base == nil {
            base = value(after: "gateway:")
            if base == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let gateway = try #require(base, "the demo printed no address: \(printed())")
        let key = try #require(value(after: "demo key (shown once):"))
        let approver = try #require(value(after: "personal credential (shown once):"), "\(printed())")

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            for _ in 0..<600 {
                if let health = try? await client.execute(HTTPClientRequest(url: gateway + "/healthz"), timeout: .seconds(2)), health.status == .ok { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            var rollup = HTTPClientRequest(url: gateway + "/api/cost/rollup")
            rollup.method = .POST
            rollup.headers.add(name: "Authorization", value: "Bearer \(approver)")
            let rolled = try await client.execute(rollup, timeout: .seconds(60))
            let rolledBody = String(buffer: try await rolled.body.collect(upTo: 1 << 20))
            #expect(rolled.status.code == 200, "\(rolledBody)")

            // The rollup's default: the last 7 days through today.
            let days = DateFormatter()
            days.dateFormat = "yyyy-MM-dd"
            days.timeZone = TimeZone(identifier: "UTC")
            let (from, to) = (days.string(from: Date().addingTimeInterval(-6 * 86_400)), days.string(from: Date()))
            var report = HTTPClientRequest(url: gateway + "/api/cost?group_by=project,source,day&format=csv&from=\(from)&to=\(to)")
            report.headers.add(name: "Authorization", value: "Bearer \(key)")
            let answer = try await client.execute(report, timeout: .seconds(30))
            let csv = String(buffer: try await answer.body.collect(upTo: 1 << 20))
            // fraud-warehouse: 12 DBU a day at $0.70; fraud-triage: 24 DBU at $0.07: $10.08 a day, measured.
            let billed = csv.split(separator: "\r\n").filter { $0.hasPrefix("fraud-detection,databricks-billing,") }
            #expect(billed.count == 7, "\(csv)")
            #expect(billed.allSatisfy { $0.contains(",10.080000,measured,") }, "\(csv)")
            #expect(!csv.contains("marketing-copy"), "a key reads only its own project: \(csv)")
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        // SIGTERM stops the demo gracefully, and promptly (the daily rollup's wait included).
        process.terminate()
        for _ in 0..<200 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "asgard demo did not stop within 10 s of SIGTERM")
    }
}
