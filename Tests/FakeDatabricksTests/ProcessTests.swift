import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

@Suite("Clients and the executable")
struct ProcessTests {
    @Test("the official Databricks SDK for Python works against the fake")
    func officialSDK() async throws {
        let python = packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("no \(python): run `make venv` to install the pinned databricks-sdk")
            return
        }
        let probe = try await runProcess(python, ["-c", "import databricks.sdk"])
        guard probe.status == 0 else {
            Issue.record("databricks-sdk is not installed in .venv (run `make venv`): \(probe.output)")
            return
        }
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.endpoints.append(FakeServingEndpoint(name: "sdk-check-429", knobs: EndpointKnobs(fault: .rateLimited())))
        configuration.endpoints.append(FakeServingEndpoint(name: "sdk-check-503", knobs: EndpointKnobs(fault: .unavailable())))
        try await withFake(configuration) { fake, _ in
            let run = try await runProcess(python, [packageRoot + "/scripts/databricks_sdk_check.py", String(fake.port), testToken])
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains(" passed, 0 failed"), "\(run.output)")
            // What the SDK sent, as the fake saw it.
            let triage = try #require(fake.controls.lastRequest(for: "fraud-triage"))
            #expect(triage.json?["usage_context"]?["project"] == "fraud-detection")
            #expect(triage.headers["authorization"] == "Bearer \(testToken)")
            #expect(triage.headers["user-agent"]?.contains("databricks-sdk-py") == true)
            #expect(fake.controls.callCount(for: "sdk-check-429") >= 1)
            #expect(fake.controls.callCount(for: "sdk-check-503") >= 1)
            // The SDK created, queried and deleted its own endpoint; nothing else changed.
            #expect(fake.controls.callCount(for: "sdk-check-created") == 1)
            #expect(fake.controls.endpointNames == configuration.endpoints.map(\.name))
            #expect(fake.controls.endpoint(named: "fraud-triage") == configuration.endpoint(named: "fraud-triage"))
        }
    }

    @Test("fake-databricks --port 0 prints its URL and serves the shipped endpoints")
    func executable() async throws {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("fake-databricks").path
        let binary =
            FileManager.default.isExecutableFile(atPath: besideTests)
            ? besideTests : packageRoot + "/.build/debug/fake-databricks"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no \(binary)")
        let scratch = try makeTemporaryDirectory("executable")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outputPath = scratch + "/out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--port", "0", "--token", "exe-token", "--latency-ms", "5"]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
            try? output.close()
        }
        var url: String?
        for _ in 0..<200 {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first, line.hasPrefix("http://") {
                url = String(line)
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let base = try #require(url, "no URL printed: \((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")")
        #expect(base.hasPrefix("http://127.0.0.1:"))
        #expect(!base.hasSuffix(":0"))

        let client = FakeClient(http: HTTPClient.shared, base: base)
        let list = try await client.get("/api/2.0/serving-endpoints", token: "exe-token")
        #expect(list.json?["endpoints"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == [llama, "fraud-triage"])
        let answer = try await client.invoke(chat("hi"), on: "fraud-triage", token: "exe-token")
        #expect(answer.status == 200)
        #expect(
            answer.json?["choices"]?[0]?["message"]?["content"]?.stringValue?.hasPrefix("This is a deterministic answer from fraud-triage") == true)
        expectError(try await client.invoke(chat("hi"), token: testToken), status: 401, errorCode: "UNAUTHENTICATED")
    }
}
