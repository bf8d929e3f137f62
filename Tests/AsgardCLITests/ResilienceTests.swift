import AsgardCore
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import Testing

/// `asgard serve` on a bad day: terraform hangs, the store is locked, a committer renames.
@Suite(.serialized) struct ResilienceTests {
    /// Polls `probe` every 50 ms until it holds; returns how long that took, or nil after `limit`.
    static func time(limit: Duration = .seconds(20), _ probe: () async throws -> Bool) async throws -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            if try await probe() { return ContinuousClock.now - started }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    static func status(_ client: HTTPClient, _ url: String, key: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    static func isRunning(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// With every terraform step hanging, the gateway is ready at once, key changes and kill
    /// switches take effect within 2 s, and the hung steps keep running until a graceful stop
    /// tears them down.
    @Test(.timeLimit(.minutes(3))) func aHungTerraformNeverStallsTheGateway() async throws {
        let root = try makeTemporaryDirectory("hung-terraform")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let pids = root + "/terraform.pids"
        try "#!/bin/sh\necho $$ >> '\(pids)'\nexec sleep 600\n".write(toFile: root + "/terraform", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/terraform")
        func hung() -> [Int32] {
            ((try? String(contentsOfFile: pids, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }

        let started = ContinuousClock.now
        let server = try ServeProcess.start(
            root: root, fakeURL: fake.url, arguments: ["--modules-root", packageRoot],
            environment: ["ASGARD_TERRAFORM_BIN": root + "/terraform"])
        try await server.waitUntilHealthy(client)
        let ready = ContinuousClock.now - started
        #expect(ready < .seconds(5), "ready after \(ready)")
        let base = try await server.base()
        // terraform is really running, and really hung: one step per provisioned object.
        #expect(try await Self.time { hung().count == 3 } != nil, "terraform started \(hung().count) times")

        let secret = "asg_added_while_terraform_hangs"
        try
            "kind: Key\nid: added\nproject: fraud-detection\ndigest: sha256:\(SHA256.hex(secret))\nallowed_models: [databricks/llama-3-3-70b]\nmax_data_class: internal\n"
            .write(toFile: root + "/desired/keys/added.yaml", atomically: true, encoding: .utf8)
        let added = try await Self.time { try await Self.status(client, base + "/v1/models", key: secret) == 200 }
        #expect(added.map { $0 < .seconds(2) } == true, "a new key authenticated after \(String(describing: added))")

        try FileManager.default.removeItem(atPath: root + "/desired/keys/added.yaml")
        let removed = try await Self.time { try await Self.status(client, base + "/v1/models", key: secret) == 401 }
        #expect(removed.map { $0 < .seconds(2) } == true, "a deleted key was refused after \(String(describing: removed))")

        let kill = try await asgardDetached(["kill", "--scope", "global", "--reason", "terraform hangs", "--by", "ops", "--data-dir", root + "/data"])
        #expect(kill.status == 0, "\(kill.output)")
        let killed = try await Self.time { try await ServeProcess.chat(client, base).0 == 403 }
        #expect(killed.map { $0 < .seconds(2) } == true, "the global kill switch was obeyed after \(String(describing: killed))")

        let steps = hung()
        #expect(steps.count == 3 && steps.allSatisfy(Self.isRunning), "the hung steps \(steps) should still be running")
        print(
            "hung terraform: ready after \(ready), a new key authenticated after \(added.map(String.init(describing:)) ?? "-"), "
                + "a deleted key refused after \(removed.map(String.init(describing:)) ?? "-"), the global kill obeyed after \(killed.map(String.init(describing:)) ?? "-")"
        )
        #expect(try await server.health(client).1.contains(#""status":"ok""#))
        // A graceful stop cancels the workers, which tears their terraform down.
        server.process.terminate()
        try await detached { server.process.waitUntilExit() }
        #expect(server.process.terminationReason == .exit)
        #expect(try await Self.time(limit: .seconds(10)) { !steps.contains(where: Self.isRunning) } != nil, "terraform outlived the server")
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// With the SQLite file held by an exclusive lock for 20 s, calls keep succeeding (into
    /// the call journal), `/healthz` says `degraded` and why, and once the lock is gone the
    /// server is `ok` again with a ledger row for every call a client saw succeed.
    @Test(.timeLimit(.minutes(3))) func aLockedStoreDegradesTheServerButLosesNoCall() async throws {
        let root = try makeTemporaryDirectory("locked-store")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(root: root, fakeURL: fake.url, environment: ["ASGARD_TERRAFORM_BIN": "/nonexistent/terraform"])
        try await server.waitUntilHealthy(client)
        let base = try await server.base()
        var succeeded: Set<String> = []
        for _ in 0..<5 {
            let (status, _, id) = try await ServeProcess.chat(client, base)
            if status == 200, let id { succeeded.insert(id) }
        }
        #expect(try await server.health(client).1 == #"{"status":"ok"}"#)

        // A second connection takes the write lock and holds it for 20 s.
        let lock = ChildProcess()
        lock.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        lock.arguments = [root + "/data/asgard.sqlite"]
        let script = Pipe()
        lock.standardInput = script
        lock.standardOutput = FileHandle.nullDevice
        try lock.run()
        // The server writes now and then; the CLI waits for its turn (`.timeout`) rather than
        // failing on the first busy moment, and gives up loudly (`.bail`) if it never gets it.
        script.fileHandleForWriting.write(Data(".bail on\n.timeout 10000\nBEGIN EXCLUSIVE;\nSELECT 1;\n.shell sleep 20\nCOMMIT;\n".utf8))
        try script.fileHandleForWriting.close()
        let lockedAt = ContinuousClock.now
        var degraded: String?
        var failed = 0
        while lock.isRunning {
            let (status, body, id) = try await ServeProcess.chat(client, base)
            if status == 200, let id {
                succeeded.insert(id)
            } else {
                failed += 1
                Issue.record("a call failed while the store was locked: \(status) \(body)")
            }
            let (code, health) = try await server.health(client)
            #expect(code == 200, "the server went down: \(health)")
            if health.contains(#""status":"degraded""#) { degraded = health }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(lock.terminationStatus == 0 && ContinuousClock.now - lockedAt >= .seconds(19), "the lock did not hold")
        #expect(
            degraded?.contains("ledger: ") == true && degraded?.contains("calls wait in the call journal") == true,
            "never degraded: \(degraded ?? "nil")")
        #expect(failed == 0)
        let recovered = try await Self.time(limit: .seconds(60)) { try await server.health(client).1 == #"{"status":"ok"}"# }
        let after = try await server.health(client)
        #expect(recovered != nil, "still not ok: \(after)")

        server.process.terminate()
        try await detached { server.process.waitUntilExit() }
        let rows = try await SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey).ledger(
            project: "fraud-detection", from: .distantPast, to: .distantFuture)
        #expect(Set(rows.map(\.requestID)) == succeeded, "\(rows.count) ledger rows for \(succeeded.count) successful calls")
        print(
            "locked store: \(succeeded.count) calls succeeded, \(rows.count) ledger rows; ok again \(recovered.map(String.init(describing:)) ?? "-") after the lock; degraded said: \(degraded ?? "-")"
        )
        #expect(succeeded.count > 50)
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// A key renamed with the same digest converges in one `reconcile --once`, and the gateway
    /// serves the new id. (The store's UNIQUE digest used to refuse the create, and every later
    /// pass aborted the same way.)
    @Test func aKeyRenamedWithTheSameDigestConvergesInOnePass() async throws {
        let root = try makeTemporaryDirectory("key-rename")
        let desired = try copyShippedDesired(into: root)
        let secret = "asg_renamed_key_secret"
        let file = desired + "/keys/renamed.yaml"
        try
            "kind: Key\nid: before-rename\nproject: fraud-detection\ndigest: sha256:\(SHA256.hex(secret))\nallowed_models: [databricks/llama-3-3-70b]\nmax_data_class: internal\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await asgardDetached(["reconcile", "--once", desired, "--data-dir", root + "/data"]).status == 0)
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "id: before-rename", with: "id: after-rename")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let renamed = try await asgardDetached(["reconcile", "--once", desired, "--data-dir", root + "/data"])
        #expect(renamed.status == 0, "\(renamed.output)")
        #expect(renamed.stdout.contains("Key/after-rename applied") && renamed.stdout.contains("Key/before-rename removed"), "\(renamed.stdout)")
        #expect(try await asgardDetached(["reconcile", "--once", desired, "--data-dir", root + "/data"]).stdout.contains("Key/") == false)

        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(root: root, fakeURL: fake.url, environment: ["ASGARD_TERRAFORM_BIN": "/nonexistent/terraform"])
        try await server.waitUntilHealthy(client)
        let (status, body, _) = try await ServeProcess.chat(client, try await server.base(), key: secret)
        server.process.terminate()
        try await detached { server.process.waitUntilExit() }
        #expect(status == 200, "\(body)")
        let rows = try await SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey).ledger(
            project: "fraud-detection", from: .distantPast, to: .distantFuture)
        #expect(rows.map(\.keyID) == ["after-rename"])
        try await fake.shutdown()
        try await client.shutdown()
    }
}
