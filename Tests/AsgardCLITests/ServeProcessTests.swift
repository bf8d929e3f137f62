import AsgardCore
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import Synchronization
import Testing

/// `asgard serve` as a real process: its output captured, killed with SIGKILL under load.
struct ServeProcess {
    static let sentinel = "dapiSENTINELSENTINELSENTINEL00000000"
    static let secret = "asg_process_test_key_0001"

    let root: String
    let process: ChildProcess
    let output: String

    /// The base URL, read from the line `asgard serve` prints once it listens (it picks a free port).
    func base() async throws -> String {
        for _ in 0..<600 {
            let log = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data(), as: UTF8.self)
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("asgard: serving on ") }) {
                return String(line.dropFirst("asgard: serving on ".count).split(separator: " ")[0])
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record(
            "asgard serve printed no address: \(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data(), as: UTF8.self))")
        return "http://127.0.0.1:1"
    }

    /// Starts `asgard serve` on a free port over a copy of desired/ with a known key.
    static func start(
        root: String, fakeURL: String, arguments extra: [String] = [], environment overrides: [String: String] = [:], dataDirectory: String? = nil
    ) throws -> ServeProcess {
        let desired = root + "/desired"
        if !FileManager.default.fileExists(atPath: desired) {
            _ = try copyShippedDesired(into: root)
            try """
            kind: Key
            id: process-key
            project: fraud-detection
            digest: sha256:\(SHA256.hex(secret))
            allowed_models: [databricks/llama-3-3-70b]
            max_data_class: internal
            requests_per_minute: 1000000
            """.write(toFile: desired + "/keys/process.yaml", atomically: true, encoding: .utf8)
        }
        let output = root + "/serve-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: asgardBinary)
        process.arguments = ["serve", desired, "--port", "0", "--policies", packageRoot + "/policies", "--data-dir", dataDirectory ?? root + "/data"] + extra
        var environment = ProcessInfo.processInfo.environment
        environment["DATABRICKS_HOST"] = fakeURL
        environment["DATABRICKS_TOKEN"] = sentinel
        // The other shipped vendors are configured too (nothing calls them), so /healthz is `ok`.
        for name in ["OPENAI_BASE_URL", "LITELLM_BASE_URL"] { environment[name] = "http://127.0.0.1:9" }
        for name in ["OPENAI_API_KEY", "LITELLM_API_KEY"] { environment[name] = "unused-\(name.lowercased())" }
        environment.merge(testAuditEnvironment) { _, new in new }
        environment.merge(overrides) { _, given in given }
        process.environment = environment
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return ServeProcess(root: root, process: process, output: output)
    }

    /// Runs `body` against `asgard serve` over `root/desired`, provisioning through the real
    /// terraform 1.0.3 on the modules' null_resource doubles, in front of the fake Databricks;
    /// the server is stopped and the clients shut down however `body` ends.
    static func withTerraformDoubles(root: String, _ body: (ServeProcess, HTTPClient) async throws -> Void) async throws {
        let terraform = packageRoot + "/.tools/terraform/bin/terraform"
        try #require(FileManager.default.isExecutableFile(atPath: terraform), "run `make setup`: it installs terraform 1.0.3 offline")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try start(
            root: root, fakeURL: fake.url, arguments: ["--modules-root", packageRoot + "/Tests/TerraformModules"],
            environment: ["ASGARD_TERRAFORM_BIN": terraform, "TF_CLI_CONFIG_FILE": packageRoot + "/.tools/terraform/terraformrc"])
        do {
            try await body(server, client)
        } catch {
            server.process.terminate()
            try await fake.shutdown()
            try await client.shutdown()
            throw error
        }
        server.process.terminate()
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// `/healthz`: status code and body.
    func health(_ client: HTTPClient) async throws -> (Int, String) {
        let response = try await client.execute(HTTPClientRequest(url: try await base() + "/healthz"), timeout: .seconds(5))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
    }

    func waitUntilHealthy(_ client: HTTPClient) async throws {
        let base = try await base()
        for _ in 0..<600 {
            if let health = try? await client.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(2)), health.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record(
            "asgard serve did not become healthy: \(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data(), as: UTF8.self))"
        )
    }

    /// A chat call: status, body and the request id header.
    static func chat(_ client: HTTPClient, _ base: String, key: String = secret, content: String = "hello") async throws -> (Int, String, String?) {
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"databricks/llama-3-3-70b","messages":[{"role":"user","content":"\#(content)"}]}"#))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body), response.headers.first(name: "x-asgard-request-id"))
    }

}

@Suite(.serialized) struct ServeProcessTests {
    /// A sentinel vendor token appears in no response, log line, ledger or audit row, error or file.
    @Test func theVendorTokenNeverLeaves() async throws {
        let root = try makeTemporaryDirectory("sentinel")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(root: root, fakeURL: fake.url)
        var seen = ""
        do {
            try await server.waitUntilHealthy(client)
            let base = try await server.base()
            seen += try await ServeProcess.chat(client, base).1
            seen += try await ServeProcess.chat(client, base, key: "asg_wrong").1
            for fault in [FakeFault.unavailable(), .internalError(), .permissionDenied(), .rateLimited(), .timeout()] {
                fake.controls.setFault(fault, for: "databricks-meta-llama-3-3-70b-instruct")
                let (status, body, _) = try await ServeProcess.chat(client, base)
                #expect(status == 502 || status == 504, "\(body)")
                seen += body
            }
            // Vendor error messages that quote the token are scrubbed too.
            fake.controls.setFault(
                FakeFault(status: 401, errorCode: "UNAUTHENTICATED", message: "bad token \(ServeProcess.sentinel)"),
                for: "databricks-meta-llama-3-3-70b-instruct")
            let (status, body, _) = try await ServeProcess.chat(client, base)
            #expect(status == 502 && body.contains("upstream_UNAUTHENTICATED"))
            seen += body
        } catch {
            server.process.terminate()
            throw error
        }
        server.process.terminate()
        await server.process.exited()
        try await fake.shutdown()
        try await client.shutdown()
        seen += String(decoding: try Data(contentsOf: URL(fileURLWithPath: server.output)), as: UTF8.self)
        // Every file under the data directory: the store, and the terraform workspaces the controller made.
        let walker = FileManager.default.enumerator(atPath: root + "/data")
        while let file = walker?.nextObject() as? String {
            guard let bytes = FileManager.default.contents(atPath: root + "/data/" + file) else { continue }
            seen += String(decoding: bytes, as: UTF8.self)
        }
        let audit = try await asgardDetached(["audit", "tail", "-n", "100", "--data-dir", root + "/data"])
        seen += audit.output
        #expect(audit.stdout.contains("gateway.invoke"))
        #expect(!seen.contains(ServeProcess.sentinel))
        #expect(!seen.contains("SENTINELSENTINEL"))
    }

    /// `asgard kill` from another process stops the next calls of a running server within a
    /// second, without restart; `asgard unkill` lets them through again. Both are audited.
    @Test func killSwitchesFromTheCLITakeEffectWithoutRestart() async throws {
        let root = try makeTemporaryDirectory("kill")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(root: root, fakeURL: fake.url)
        try await server.waitUntilHealthy(client)
        let base = try await server.base()
        #expect(try await ServeProcess.chat(client, base).0 == 200)
        let kill = try await asgardDetached([
            "kill", "--scope", "project", "--id", "fraud-detection", "--reason", "drill", "--by", "ops", "--data-dir", root + "/data",
        ])
        #expect(kill.status == 0, "\(kill.output)")
        // The server re-reads switches every second; allow for a loaded machine, but it must not take a restart.
        var killed = try await ServeProcess.chat(client, base)
        for _ in 0..<50 where killed.0 != 403 {
            try await Task.sleep(for: .milliseconds(100))
            killed = try await ServeProcess.chat(client, base)
        }
        #expect(killed.0 == 403 && killed.1.contains(#""code":"killed""#) && killed.1.contains("drill"))
        #expect(
            try await asgardDetached(["unkill", "--scope", "project", "--id", "fraud-detection", "--by", "ops", "--data-dir", root + "/data"]).status
                == 0)
        var released = try await ServeProcess.chat(client, base)
        for _ in 0..<50 where released.0 != 200 {
            try await Task.sleep(for: .milliseconds(100))
            released = try await ServeProcess.chat(client, base)
        }
        #expect(released.0 == 200)
        server.process.terminate()
        await server.process.exited()
        let audit = try await asgardDetached(["audit", "tail", "-n", "500", "--data-dir", root + "/data"])
        #expect(audit.stdout.contains("kill.engage") && audit.stdout.contains("kill.release"))
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// A second server on the same data directory is refused by name, and the first serves on.
    @Test func aSecondServerOnTheSameDataDirectoryIsRefused() async throws {
        let root = try makeTemporaryDirectory("second-server")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let first = try ServeProcess.start(root: root, fakeURL: fake.url)
        try await first.waitUntilHealthy(client)
        let second = try ServeProcess.start(root: root, fakeURL: fake.url)
        await second.process.exited()
        let output = String(decoding: try Data(contentsOf: URL(fileURLWithPath: second.output)), as: UTF8.self)
        #expect(second.process.terminationStatus == 1)
        #expect(output.contains("another process (an Asgard server on the same data directory) has the call journal"), "\(output)")
        #expect(try await ServeProcess.chat(client, try await first.base()).0 == 200)
        first.process.terminate()
        await first.process.exited()
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// SIGKILL during a load of 1,200 calls: after a restart every call the client saw succeed
    /// has its ledger row, and the audit chain verifies.
    @Test(.timeLimit(.minutes(5))) func nothingAClientSawSucceedIsLostOnSIGKILL() async throws {
        let root = try makeTemporaryDirectory("sigkill")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(root: root, fakeURL: fake.url)
        try await server.waitUntilHealthy(client)
        let base = try await server.base()
        let pid = server.process.processIdentifier
        // The kill lands once 200 calls have been answered, with hundreds more in flight.
        let answered = Counter()
        let succeeded = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<1_200 {
                group.addTask {
                    guard let (status, _, id) = try? await ServeProcess.chat(client, base), status == 200 else { return nil }
                    if answered.increment() == 200 { kill(pid, SIGKILL) }
                    return id
                }
            }
            return await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
        }
        // Never wait for a kill that did not come (fewer than 200 calls succeeded).
        if server.process.isRunning, succeeded.count < 200 {
            Issue.record("only \(succeeded.count) of 1200 calls succeeded: the kill never landed")
            kill(pid, SIGKILL)
        }
        await server.process.exited()
        #expect(server.process.terminationReason == .uncaughtSignal)
        #expect(!succeeded.isEmpty, "no call succeeded before the kill")
        // What had reached the store by the kill; the rest of what the client saw succeed was
        // in the call journal only, and the restart copies it in.
        let beforeRestart = try await SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey).summary().ledgerRows
        // Restart on the same store, then look up every call the client saw succeed.
        let restarted = try ServeProcess.start(root: root, fakeURL: fake.url)
        try await restarted.waitUntilHealthy(client)
        restarted.process.terminate()
        await restarted.process.exited()
        let store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        let rows = Set(try await store.ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture).map(\.requestID))
        let missing = succeeded.filter { !rows.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(succeeded.count) successful calls have no ledger row")
        let verify = try await asgardDetached(["audit", "verify", "--data-dir", root + "/data"])
        #expect(verify.status == 0, "\(verify.output)")
        print(
            "sigkill: \(succeeded.count) of 1200 calls succeeded before the kill; all have ledger rows; \(rows.count - beforeRestart) came from the call journal at the restart"
        )
        try await fake.shutdown()
        try await client.shutdown()
    }
}

/// A shared count.
final class Counter: Sendable {
    private let value = Mutex(0)
    /// Adds one; returns the new count.
    func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
