import AsgardController
import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// A whole `asgard serve` on loopback (real HTTP, real SQLite, the fake Databricks upstream),
/// over a copy of the shipped desired state plus test keys whose secrets the test knows.
struct ServedAsgard {
    static let secrets = [
        "sdk-key": "asg_sdk_key_0001", "limited-key": "asg_sdk_limited_0002", "broke-key": "asg_sdk_broke_0003",
        "expired-key": "asg_sdk_expired_0005", "tight-key": "asg_sdk_tight_0006",
    ]
    static let adminSecret = "asg_admin_secret_0004"
    static let metricsSecret = "asg_metrics_secret_0007"

    /// A copy of the shipped desired state under `root`, plus the test keys and a project with
    /// no budget left (`broke`); returns its path.
    static func desiredWithTestKeys(in root: String) throws -> String {
        let desired = try copyShippedDesired(into: root)
        try """
        kind: Project
        id: broke
        name: Broke
        owner: nobody@example.com
        classification: internal
        monthly_budget_usd: 0.000001
        ---
        kind: Project
        id: tight
        name: Tight
        owner: nobody@example.com
        classification: internal
        monthly_budget_usd: 0.05
        ---
        kind: Key
        id: tight-key
        project: tight
        digest: sha256:\(SHA256.hex(secrets["tight-key"]!))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        ---
        kind: Key
        id: sdk-key
        project: fraud-detection
        digest: sha256:\(SHA256.hex(secrets["sdk-key"]!))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        ---
        kind: Key
        id: limited-key
        project: fraud-detection
        digest: sha256:\(SHA256.hex(secrets["limited-key"]!))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        requests_per_minute: 1
        ---
        kind: Key
        id: broke-key
        project: broke
        digest: sha256:\(SHA256.hex(secrets["broke-key"]!))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        ---
        kind: Key
        id: expired-key
        project: fraud-detection
        digest: sha256:\(SHA256.hex(secrets["expired-key"]!))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        expires: 2026-01-31T00:00:00Z
        """.write(toFile: desired + "/keys/sdk.yaml", atomically: true, encoding: .utf8)
        return desired
    }

    /// Runs `body` with the server's base URL, then shuts everything down gracefully.
    static func run(
        provisioner: any Provisioner = UnavailableProvisioner(), billing: FakeBillingSeed? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }, onStore: (SQLiteStore) -> Void = { _ in },
        _ body: @Sendable (String, RunningFakeDatabricks) async throws -> Void
    ) async throws {
        let root = try makeTemporaryDirectory("served")
        let desired = try desiredWithTestKeys(in: root)
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: "dapi-served-token", billing: billing)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.desiredDirectory = desired
        configuration.policiesDirectory = packageRoot + "/policies"
        configuration.dataDirectory = root + "/data"
        configuration.environment = [
            "DATABRICKS_HOST": fake.url, "DATABRICKS_TOKEN": "dapi-served-token",
            "ASGARD_ADMIN_KEY_SHA256": "sha256:" + SHA256.hex(adminSecret), "ASGARD_METRICS_KEY_SHA256": "sha256:" + SHA256.hex(metricsSecret),
        ]
        configure(&configuration)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        onStore(store)
        let (_, application) = try buildApplication(configuration, ServerDependencies(store: store, httpClient: client, provisioner: provisioner)) {
            channel in
            portSink.yield(channel.localAddress?.port ?? 0)
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await application.runService(gracefulShutdownSignals: []) }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                let base = "http://127.0.0.1:\(port)"
                // Wait for the controller's first pass.
                for _ in 0..<100 {
                    // A machine busy with other suites may answer late: that is a retry, not a failure.
                    let health = try? await client.execute(HTTPClientRequest(url: base + "/healthz"), timeout: .seconds(5))
                    if health?.status == .ok { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                do { try await body(base, fake) } catch {
                    group.cancelAll()
                    throw error
                }
                group.cancelAll()
            }
        } catch {
            // A failed test still shuts its clients down (a dropped client stops the process).
            try? await fake.shutdown()
            try? await client.shutdown()
            throw error
        }
        try await fake.shutdown()
        try await client.shutdown()
    }
}

/// Runs `body` with a client that is shut down however `body` ends (a client dropped without
/// `shutdown()` stops the whole test process).
func withHTTPClient(_ body: (HTTPClient) async throws -> Void) async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

@Suite(.serialized) struct OpenAISDKTests {
    /// The official `openai` Python SDK (pinned in requirements-test.txt) against /v1.
    @Test func theOfficialOpenAISDKWorksAgainstTheGateway() async throws {
        let python = packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("no \(python): run `make venv` (make test does) to install the pinned openai SDK")
            return
        }
        try await ServedAsgard.run { base, _ in
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [
                packageRoot + "/scripts/openai_sdk_check.py", base, ServedAsgard.secrets["sdk-key"]!,
                ServedAsgard.secrets["limited-key"]!, ServedAsgard.secrets["broke-key"]!,
            ]
            let text = try await Self.output(of: process)
            print(text)
            #expect(process.terminationStatus == 0, "\(text)")
            #expect(text.contains(" passed, 0 failed"))
            // The same traffic, as Prometheus sees it.
            try await withHTTPClient { client in
                // Only the metrics credential reads them: they list every project's spend.
                let refused = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(5))
                #expect(refused.status == .unauthorized)
                var request = HTTPClientRequest(url: base + "/metrics")
                request.headers.add(name: "Authorization", value: "Bearer \(ServedAsgard.metricsSecret)")
                let metrics = try await client.execute(request, timeout: .seconds(5))
                let exposition = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
                // The unknown key was counted, not audited.
                #expect(exposition.contains(#"asgard_unauthenticated_total{code="invalid_api_key"} 1"#))
                #expect(exposition.contains(#"asgard_requests_total{endpoint="/v1/chat/completions",status="200"}"#))
                #expect(exposition.contains(#"asgard_requests_total{endpoint="/v1/chat/completions",status="402"} 1"#))
                #expect(exposition.contains(#"asgard_spend_micros_total{project="fraud-detection",vendor="databricks"}"#))
                #expect(exposition.contains("asgard_request_duration_seconds_bucket"))
                // The served metrics read the server's own call ingester.
                #expect(exposition.contains("\nasgard_ledger_backlog_calls "))
            }
        }
    }
}

extension OpenAISDKTests {
    /// Runs a Python script of the pinned SDK; its output, after checking it passed.
    static func runScript(_ arguments: [String]) async throws -> String {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: packageRoot + "/.venv/bin/python")
        process.arguments = arguments
        let text = try await output(of: process)
        #expect(process.terminationStatus == 0 && text.contains(" passed, 0 failed"), "\(text)")
        return text
    }

    /// Runs `process` to its end and returns what it printed (stdout and stderr), waiting on a
    /// thread of its own: blocking one of the few threads every test and the served Asgard
    /// share would starve the server the script is calling when the whole suite runs at once.
    static func output(of process: ChildProcess) async throws -> String {
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return await withCheckedContinuation { continuation in
            Thread {
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                continuation.resume(returning: text)
            }.start()
        }
    }

    /// The official SDK as a hostile key holder (issue 13): `n` and `max_completion_tokens`
    /// are reserved, fields no manifest prices are refused, secrets in a message name, `user`
    /// or a content part are blocked whatever class is declared, and a streamed call whose
    /// client gives up before the (slow) vendor answers is still charged and recorded.
    @Test func theOfficialOpenAISDKCannotBreakThePromises() async throws {
        guard FileManager.default.isExecutableFile(atPath: packageRoot + "/.venv/bin/python") else {
            Issue.record("no .venv: run `make venv` (make test does) to install the pinned openai SDK")
            return
        }
        try await ServedAsgard.run { base, fake in
            let script = packageRoot + "/scripts/openai_sdk_attacks.py"
            print(try await Self.runScript([script, "requests", base, ServedAsgard.secrets["sdk-key"]!, ServedAsgard.secrets["tight-key"]!]))
            fake.controls.setLatency(.seconds(3), for: "databricks-meta-llama-3-3-70b-instruct")
            print(try await Self.runScript([script, "leave", base, ServedAsgard.secrets["sdk-key"]!]))
        }
    }
}

@Suite(.serialized) struct AdminAPITests {
    static func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, token: String, body: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// Authentication means the same on every route that takes a key: an unknown or expired
    /// key is refused with 401, a key under a project (or key, or global) kill switch with 403,
    /// on /v1/models, usage and chat alike.
    @Test func everyKeyRouteAuthenticatesTheSameWay() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                let chat = #"{"model":"databricks/llama-3-3-70b","messages":[{"role":"user","content":"hi"}]}"#
                func everyRoute(_ token: String) async throws -> [(Int, String)] {
                    [
                        try await Self.send(client, .GET, base + "/v1/models", token: token),
                        try await Self.send(client, .GET, base + "/api/projects/fraud-detection/usage", token: token),
                        try await Self.send(client, .POST, base + "/v1/chat/completions", token: token, body: chat),
                    ]
                }
                let key = ServedAsgard.secrets["sdk-key"]!
                #expect(try await everyRoute(key).map(\.0) == [200, 200, 200])
                for (status, body) in try await everyRoute(ServedAsgard.secrets["expired-key"]!) {
                    #expect(status == 401 && body.contains(#""code":"expired_api_key""#) && body.contains("2026-01-31"), "\(body)")
                }
                for (status, body) in try await everyRoute("asg_nobody") {
                    #expect(status == 401 && body.contains(#""code":"invalid_api_key""#), "\(body)")
                }
                for scope in [#""scope":"project","id":"fraud-detection""#, #""scope":"key","id":"sdk-key""#, #""scope":"global""#] {
                    #expect(
                        try await Self.send(
                            client, .POST, base + "/api/admin/kill", token: ServedAsgard.adminSecret,
                            body: "{\(scope),\"reason\":\"drill\"}"
                        ).0 == 200)
                    for (status, body) in try await everyRoute(key) {
                        #expect(status == 403 && body.contains(#""code":"killed""#) && body.contains("drill"), "\(scope): \(body)")
                    }
                    let release = scope.replacingOccurrences(of: #""scope":"#, with: "scope=").replacingOccurrences(of: #","id":"#, with: "&id=")
                        .replacingOccurrences(of: "\"", with: "")
                    #expect(try await Self.send(client, .DELETE, base + "/api/admin/kill?\(release)", token: ServedAsgard.adminSecret).0 == 200)
                }
                #expect(try await everyRoute(key).map(\.0) == [200, 200, 200])
            }
        }
    }

    /// Kill switches over HTTP: only the admin credential, through Cedar, audited, effective at once.
    @Test func killSwitchesOverTheAdminAPI() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                let chat = #"{"model":"databricks/llama-3-3-70b","messages":[{"role":"user","content":"hi"}]}"#
                let key = ServedAsgard.secrets["sdk-key"]!
                #expect(try await Self.send(client, .POST, base + "/v1/chat/completions", token: key, body: chat).0 == 200)
                // A project key is no admin.
                #expect(try await Self.send(client, .POST, base + "/api/admin/kill", token: key, body: #"{"scope":"global","reason":"x"}"#).0 == 401)
                let engaged = try await Self.send(
                    client, .POST, base + "/api/admin/kill", token: ServedAsgard.adminSecret,
                    body: #"{"scope":"model","id":"databricks/llama-3-3-70b","reason":"bad outputs"}"#)
                #expect(engaged.0 == 200, "\(engaged.1)")
                let killed = try await Self.send(client, .POST, base + "/v1/chat/completions", token: key, body: chat)
                #expect(killed.0 == 403 && killed.1.contains("bad outputs"))
                let listed = try await Self.send(client, .GET, base + "/api/admin/kill", token: ServedAsgard.adminSecret)
                let switches =
                    try #require(try JSONSerialization.jsonObject(with: Data(listed.1.utf8)) as? [String: [[String: Any]]])["kill_switches"] ?? []
                #expect(switches.contains { $0["scope"] as? String == "model" && $0["id"] as? String == "databricks/llama-3-3-70b" }, "\(listed.1)")
                #expect(
                    try await Self.send(client, .POST, base + "/api/admin/kill", token: ServedAsgard.adminSecret, body: #"{"scope":"project"}"#).0
                        == 400)
                let released = try await Self.send(
                    client, .DELETE, base + "/api/admin/kill?scope=model&id=databricks/llama-3-3-70b", token: ServedAsgard.adminSecret)
                #expect(released.0 == 200)
                #expect(
                    try await Self.send(
                        client, .DELETE, base + "/api/admin/kill?scope=model&id=databricks/llama-3-3-70b", token: ServedAsgard.adminSecret
                    ).0 == 404)
                #expect(try await Self.send(client, .POST, base + "/v1/chat/completions", token: key, body: chat).0 == 200)
            }
        }
    }

    /// Approvals over HTTP: who decides is the person whose credential calls, never a body
    /// field; the admin credential is no person; Cedar's `approve` decides (an approver, never
    /// the requester); and an approval makes the loop apply the plan at once (not at its next tick).
    @Test func approvalsOverTheAdminAPI() async throws {
        try await ServedAsgard.run(provisioner: PlanningProvisioner()) { base, _ in
            try await withHTTPClient { client in
                let admin = ServedAsgard.adminSecret
                let lars = personSecret("lars.berg@example.com")
                var listed = (0, "")
                for _ in 0..<600 where !listed.1.contains("fraud-warehouse") {
                    listed = try await Self.send(client, .GET, base + "/api/admin/approvals?status=pending", token: admin)
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(listed.0 == 200 && listed.1.contains(#""summary":"create 1: Resource/fraud-warehouse""#), "\(listed.1)")
                let approvals =
                    try #require(try JSONSerialization.jsonObject(with: Data(listed.1.utf8)) as? [String: [[String: Any]]])["approvals"] ?? []
                let id = try #require(approvals.first { ($0["ref"] as? [String: Any])?["id"] as? String == "fraud-warehouse" }?["id"] as? String)
                let triage = try #require(approvals.first { ($0["ref"] as? [String: Any])?["id"] as? String == "fraud-triage" }?["id"] as? String)
                let approve = base + "/api/admin/approvals/\(id)/approve"
                #expect(try await Self.send(client, .GET, base + "/api/admin/approvals", token: ServedAsgard.secrets["sdk-key"]!).0 == 401)
                #expect(try await Self.send(client, .GET, base + "/api/admin/approvals?status=bogus", token: lars).0 == 400)
                // The admin credential acts as no person, whoever the body names.
                let byAdmin = try await Self.send(client, .POST, approve, token: admin, body: #"{"by":"lars.berg@example.com"}"#)
                #expect(byAdmin.0 == 400 && byAdmin.1.contains("unknown field by"), "\(byAdmin.1)")
                let adminAlone = try await Self.send(client, .POST, approve, token: admin, body: "{}")
                #expect(adminAlone.0 == 403 && adminAlone.1.contains("not_a_person"), "\(adminAlone.1)")
                // The requester (the owner, as the request names no requested_by) naming an approver in the body.
                let maria = personSecret("maria.silva@example.com")
                let forged = try await Self.send(client, .POST, approve, token: maria, body: #"{"by":"lars.berg@example.com"}"#)
                #expect(forged.0 == 400, "\(forged.1)")
                let own = try await Self.send(client, .POST, approve, token: maria, body: "")
                #expect(own.0 == 403 && own.1.contains("Cedar denied approve for maria.silva@example.com"), "\(own.1)")
                // A person who is no approver of the project; a credential that is nobody's.
                let tom = try await Self.send(client, .POST, approve, token: personSecret("tom.okafor@example.com"), body: "{}")
                #expect(tom.0 == 403 && tom.1.contains("Cedar denied approve for tom.okafor@example.com"), "\(tom.1)")
                #expect(try await Self.send(client, .POST, approve, token: personSecret("mallory@example.com"), body: "{}").0 == 401)
                #expect(try await Self.send(client, .POST, approve, token: lars, body: #"{"reason": 7}"#).0 == 400)
                #expect(try await Self.send(client, .POST, approve, token: lars, body: "[]").0 == 400)
                #expect(
                    try await Self.send(client, .POST, base + "/api/admin/approvals/apr_0000000000000000/approve", token: lars, body: "{}").0 == 404)
                let approved = try await Self.send(client, .POST, approve, token: lars, body: "")
                #expect(
                    approved.0 == 200 && approved.1.contains(#""status":"approved""#) && approved.1.contains("lars.berg@example.com"), "\(approved.1)"
                )
                // Applied by the pass the approval asked for (the loop's own interval is 30 s).
                var applied = ""
                for _ in 0..<600 where !applied.contains(id) {
                    applied = try await Self.send(client, .GET, base + "/api/admin/approvals?status=applied", token: admin).1
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(applied.contains(id))
                let reject = base + "/api/admin/approvals/\(triage)/reject"
                #expect(try await Self.send(client, .POST, reject, token: lars, body: "{}").0 == 409)
                let rejected = try await Self.send(client, .POST, reject, token: lars, body: #"{"reason":"not now"}"#)
                #expect(rejected.0 == 200 && rejected.1.contains(#""status":"rejected""#))
            }
        }
    }

    /// A person with `roles: [admin]` engages and releases kill switches with their own
    /// credential, audited under their name; a person in no role is refused by Cedar.
    @Test func peopleActWithTheirOwnCredentialOnKillSwitches() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                let order = #"{"scope":"project","id":"marketing-copy","reason":"drill"}"#
                let refused = try await Self.send(client, .POST, base + "/api/admin/kill", token: personSecret("tom.okafor@example.com"), body: order)
                #expect(refused.0 == 403, "\(refused.1)")
                let engaged = try await Self.send(client, .POST, base + "/api/admin/kill", token: personSecret("lars.berg@example.com"), body: order)
                #expect(engaged.0 == 200, "\(engaged.1)")
                let listed = try await Self.send(client, .GET, base + "/api/admin/kill", token: personSecret("tom.okafor@example.com"))
                #expect(listed.0 == 200 && listed.1.contains("lars.berg@example.com"), "\(listed.1)")
            }
        }
    }
}

/// Plans every request as one created resource carrying its tags where the manifest says,
/// and applies only a plan it saved: enough for approvals over HTTP without terraform.
struct PlanningProvisioner: Provisioner {
    func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        let resources = request.service.tagLocations.filter { $0.format != .inherited }.map { location in
            PlannedResource(
                address: "module.service.\(location.resourceType).this", type: location.resourceType, actions: ["create"],
                after: plannedValues(tagging: request.project, at: location))
        }
        return ProvisioningPlan(digest: SHA256.hex("\(request.ref)"), summary: "create 1: \(request.ref)", resources: resources)
    }

    func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs {
        ProvisioningOutputs(values: [:])
    }

    func destroy(_ ref: ObjectRef) async throws {}

    func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan? { nil }

    func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws {}

    func state(of ref: ObjectRef) throws -> WorkspaceState? { nil }
}

/// What a client that holds a connection without sending gets: closed after the idle timeout
/// (headers that stop), or 408 after the body read timeout (a body trickled byte by byte).
/// Real sockets, through `python3` (a raw socket is what such a client is).
@Suite(.serialized) struct ConnectionTimeoutTests {
    /// Connects, sends `parts` with `pause` between them, and reports what the server did:
    /// `closed <seconds>` or `answered <status line>`, or `open` after `wait` seconds.
    static let probe = """
        import socket, sys, time
        host, port, pause, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
        parts = sys.argv[5:]
        s = socket.create_connection((host, port))
        start = time.time()
        s.settimeout(pause)
        for part in parts:
            try:
                data = s.recv(4096)
                print("answered" if data else "closed", round(time.time() - start, 1), data.split(b"\\r\\n")[0].decode() if data else "")
                sys.exit(0)
            except socket.timeout:
                pass
            except OSError:
                print("closed", round(time.time() - start, 1), "(reset)")
                sys.exit(0)
            try:
                s.sendall(part.encode())
            except OSError:
                print("closed", round(time.time() - start, 1))
                sys.exit(0)
        s.settimeout(wait)
        try:
            data = s.recv(4096)
            print("answered" if data else "closed", round(time.time() - start, 1), data.split(b"\\r\\n")[0].decode() if data else "")
        except socket.timeout:
            print("open", round(time.time() - start, 1))
        except OSError:
            print("closed", round(time.time() - start, 1), "(reset)")
        """

    /// Runs the probe on a thread of its own and waits for it without holding one of Swift's
    /// cooperative threads: blocking one there (the probe reads its child to the end) left the
    /// served gateway, on a 2-core machine with other suites running, without a thread for work
    /// it does off its event loop, and a 413 then went unanswered for the probe's whole wait.
    static func probe(_ base: String, pause: Double, wait: Double, _ parts: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingProbe(base, pause: pause, wait: wait, parts) })
            }
        }
    }

    static func blockingProbe(_ base: String, pause: Double, wait: Double, _ parts: [String]) throws -> String {
        let url = try #require(URL(string: base))
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", probe, url.host ?? "127.0.0.1", String(url.port ?? 80), String(pause), String(wait)] + parts
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A client that closes its connection half way through its body has sent no request:
    /// nothing is decided, so nothing is audited (it was audited as a body too large). A body
    /// that really is too large still is.
    @Test func aClientThatLeavesMidBodyIsNotAuditedAsTooLarge() async throws {
        let stored = Mutex<SQLiteStore?>(nil)
        try await ServedAsgard.run(configure: { $0.maxBodyBytes = 2_000 }, onStore: { store in stored.withLock { $0 = store } }) { base, _ in
            let store = try #require(stored.withLock { $0 })
            let head = { (length: Int) in
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ServedAsgard.secrets["sdk-key"]!)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
            }
            // Ten bytes of a thousand, then the client is gone.
            let left = try await Self.probe(base, pause: 0.1, wait: 0.3, [head(1_000) + "{\"model\":"])
            #expect(left.hasPrefix("open"), "\(left)")
            try await Task.sleep(for: .seconds(1))
            // The control: 3,000 bytes against a limit of 2,000, answered 413 and audited.
            let large = try await Self.probe(base, pause: 0.1, wait: 10, [head(3_000) + String(repeating: " ", count: 3_000)])
            #expect(large.contains("413"), "\(large)")
            var tooLarge: [AuditRecord] = []
            for _ in 0..<100 {
                tooLarge = try await store.auditTail(limit: 50).filter { $0.content.detail.contains("body_too_large") }
                if !tooLarge.isEmpty { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(tooLarge.count == 1, "\(tooLarge.map(\.content.detail))")
        }
    }

    /// A body that stops half way, the client still connected: 408 once the read timeout has
    /// passed (the deadline closes the connection's input, so the body's stream ends).
    @Test func aBodyThatStopsHalfWayIsAnswered408() async throws {
        try await ServedAsgard.run(configure: { $0.bodyReadTimeout = .seconds(1) }) { base, _ in
            let head =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ServedAsgard.secrets["sdk-key"]!)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":"
            let stalled = try await Self.probe(base, pause: 0.1, wait: 30, [head])
            let after = stalled.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
            #expect(stalled.hasPrefix("answered") && stalled.contains("408"), "\(stalled)")
            #expect(after >= 0.9, "\(stalled)")
        }
    }

    @Test func aClientThatStopsSendingIsCutOff() async throws {
        try await ServedAsgard.run(configure: {
            $0.idleTimeout = .seconds(3)
            $0.bodyReadTimeout = .seconds(2)
        }) { base, _ in
            // Headers that stop half way: closed after the idle timeout (this stayed open 40 s+).
            let halfHeaders = try await Self.probe(base, pause: 0.1, wait: 20, ["POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"])
            #expect(halfHeaders.hasPrefix("closed"), "\(halfHeaders)")
            // A body trickled a byte every 0.3 s keeps the connection from idling but never
            // arrives: 408 after the read timeout (or, when the client is still sending as the
            // server closes, a reset), long before the 12 s the trickle would take.
            let head =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ServedAsgard.secrets["sdk-key"]!)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            let trickle = try await Self.probe(base, pause: 0.3, wait: 20, [head] + Array(repeating: " ", count: 40))
            let cutAfter = trickle.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? .infinity
            #expect((trickle.hasPrefix("answered") && trickle.contains("408")) || trickle.hasPrefix("closed"), "\(trickle)")
            #expect(cutAfter < 10, "\(trickle)")
        }
    }
}
