import AsgardCore
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

/// What `asgard serve` and `asgard reconcile --once` leave on disk, stat'ed: a private data
/// directory, store, journal, terraform plans and state; and the audit head exported by the server.
@Suite(.serialized) struct PrivateFilesTests {
    /// `asgard serve` with `ASGARD_AUDIT_ANCHOR_FILE`: anchors at start and at SIGTERM (graceful),
    /// the last one the store's head, `audit verify --anchor` passing; its files 0600/0700.
    @Test func theServerAnchorsTheAuditHeadAndKeepsItsFilesPrivate() async throws {
        let root = try makeTemporaryDirectory("serve-anchor")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let anchors = root + "/anchors.log"
        let server = try ServeProcess.start(
            root: root, fakeURL: fake.url, environment: ["ASGARD_AUDIT_ANCHOR_FILE": anchors, "ASGARD_AUDIT_ANCHOR_INTERVAL": "1"])
        do {
            try await server.waitUntilHealthy(client)
            let base = try await server.base()
            for _ in 0..<3 { #expect(try await ServeProcess.chat(client, base).0 == 200) }
        } catch {
            server.process.terminate()
            throw error
        }
        let data = root + "/data"
        #expect(permissions(of: data) == 0o700, "\(octal(permissions(of: data)))")
        #expect(permissions(of: data + "/journal") == 0o700)
        let segments = try FileManager.default.contentsOfDirectory(atPath: data + "/journal").filter { $0.hasSuffix(".journal") }
        #expect(!segments.isEmpty)
        for file in segments.map({ data + "/journal/" + $0 }) + [data + "/asgard.sqlite", data + "/asgard.sqlite-wal", data + "/asgard.sqlite-shm"] {
            #expect(permissions(of: file) == 0o600, "\(file): \(octal(permissions(of: file)))")
        }
        server.process.terminate()
        await server.process.exited()
        try await fake.shutdown()
        try await client.shutdown()

        let written = try AuditAnchorFile.read(anchors)
        #expect(!written.isEmpty)
        #expect(permissions(of: anchors) == 0o600)
        let head = try #require(try await SQLiteStore(path: data + "/asgard.sqlite", auditKey: testAuditKey).auditTail(limit: 1).first)
        #expect(written.last?.sequence == head.content.sequence && written.last?.mac == head.hash, "\(written.map(\.line))")
        let verify = try await asgardDetached(["audit", "verify", "--data-dir", data, "--anchor", anchors])
        #expect(verify.status == 0 && verify.stdout.contains("consistent with \(written.count) anchor"), "\(verify.output)")
    }

    /// `reconcile --once` through terraform: the plans and state terraform wrote are 0600 in 0700 workspaces.
    @Test func terraformPlansAndStateArePrivate() async throws {
        let world = try await ProvisioningFlowTests.World()
        let pass = try await world.once()
        try await world.shutdown()
        #expect(pass.status == 0, "\(pass.output)")
        let terraform = world.root + "/data/terraform"
        let applied = terraform + "/Resource/fraud-features"
        let waiting = terraform + "/Resource/fraud-warehouse"
        for directory in [world.root + "/data", terraform, terraform + "/Resource", applied, waiting, waiting + "/plans"] {
            #expect(permissions(of: directory) == 0o700, "\(directory): \(octal(permissions(of: directory)))")
        }
        let plans = try FileManager.default.contentsOfDirectory(atPath: waiting + "/plans")
        #expect(plans.contains { $0.hasSuffix(".tfplan") }, "\(plans)")
        for file in plans.map({ waiting + "/plans/" + $0 }) + [
            applied + "/terraform.tfstate", applied + "/main.tf.json", world.root + "/data/asgard.sqlite",
        ] {
            #expect(permissions(of: file) == 0o600, "\(file): \(octal(permissions(of: file)))")
        }
    }
}
