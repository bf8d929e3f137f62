import AsgardCore
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

/// The web dashboard end to end, as people use it: headless Chromium driven by Selenium
/// (`scripts/dashboard_browser.py`) against `asgard serve`, with the real terraform 1.0.3 on the
/// null_resource doubles and the fake Databricks. Lars (admin, approver) rolls costs up, approves,
/// pulls and releases a kill switch and reads the audit; Priya cannot approve what she asked for;
/// Tom sees only his project. Then the store holds what the browser saw.
@Suite(.serialized) struct DashboardBrowserTests {
    static let agent = "asg_dashboard_browser_agent_0001"
    static let agentID = "dashboard-agent"
    static let lars = "lars.berg@example.com"
    static let priya = "priya.natarajan@example.com"
    static let tom = "tom.okafor@example.com"
    static let screenshots = packageRoot + "/.build/screenshots"
    static let expectedScreenshots = [
        "login.png", "overview.png", "overview-phone.png", "project.png", "approvals-refused.png", "approvals.png", "kill.png", "audit.png",
    ]
    static let warehouse = ObjectRef(.resource, "fraud-warehouse")

    @Test func peopleUseTheDashboardInARealBrowser() async throws {
        for path in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: path), "run `make test`: it installs chromium and chromium-driver")
        }
        let root = try makeTemporaryDirectory("dashboard-browser")
        let desired = try copyShippedDesired(into: root)
        try ProvisioningFlowTests.nullManifest.write(toFile: desired + "/services/databricks/service.yaml", atomically: true, encoding: .utf8)
        try """
        kind: Key
        id: \(Self.agentID)
        project: fraud-detection
        digest: sha256:\(SHA256.hex(Self.agent))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: confidential
        requests_per_minute: 100000
        """.write(toFile: desired + "/keys/dashboard.yaml", atomically: true, encoding: .utf8)
        // Priya asked for the warehouse, so she may not approve it herself (Lars may).
        let resources = desired + "/resources/fraud-detection.yaml"
        let shipped = try String(contentsOfFile: resources, encoding: .utf8)
        let requested = shipped.replacingOccurrences(
            of: "service: databricks-sql-warehouse\n", with: "service: databricks-sql-warehouse\nrequested_by: \(Self.priya)\n")
        try #require(requested != shipped, "desired/resources/fraud-detection.yaml no longer declares the warehouse as expected:\n\(shipped)")
        try requested.write(toFile: resources, atomically: true, encoding: .utf8)
        // Last run's screenshots must not pass for this run's.
        try? FileManager.default.removeItem(atPath: Self.screenshots)
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)

        // No DATABRICKS_WAREHOUSE_ID: Databricks billing is not measured, so the applied volume is
        // estimated (the overview's "estimate") beside the gateway's measured spend.
        try await ServeProcess.withTerraformDoubles(root: root) { server, client in
            try await flow(root: root, server: server, client: client)
        }
    }

    private func flow(root: String, server: ServeProcess, client: HTTPClient) async throws {
        try await server.waitUntilHealthy(client)
        let base = try await server.base()
        let store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        let pending = try await waitForTheWorld(store, server: server)
        #expect(pending.requestedBy == Self.priya, "the warehouse's requester is \(pending.requestedBy), not Priya: \(pending)")

        let run = try await runProcess(
            packageRoot + "/.venv/bin/python",
            [
                packageRoot + "/scripts/dashboard_browser.py", base, personSecret(Self.lars), personSecret(Self.priya), personSecret(Self.tom),
                Self.agent, Self.agentID, Self.screenshots,
            ])
        try #require(run.status == 0, "\(run.output)\n--- asgard serve:\n\(log(server).suffix(4000))")

        // The store holds what the browser did: Lars's approval, the kill switch engaged and
        // released by him, both logins (the refused and the accepted).
        let decided = try await store.approvals(status: nil).filter { $0.ref == Self.warehouse && $0.id == pending.id }
        let approval = try #require(decided.first, "approval \(pending.id) is gone")
        // The reconciler may already have applied the plan: applied is approved, and spent.
        #expect(approval.status == .approved || approval.status == .applied, "\(approval)")
        #expect(approval.decidedBy == Self.lars, "\(approval)")
        let audit = try await store.auditTail(limit: 5000).map(\.content)
        let engaged = audit.filter { $0.action == "kill.engage" && $0.target == "project/fraud-detection" }
        #expect(engaged.contains { $0.actor == "User/\(Self.lars)" && $0.outcome == "engaged" }, "\(engaged)")
        let released = audit.filter { $0.action == "kill.release" }
        #expect(released.contains { $0.actor == "User/\(Self.lars)" && $0.outcome == "released" }, "\(released)")
        let logins = audit.filter { $0.action == "dashboard.login" }
        #expect(logins.contains { $0.outcome == "denied" }, "the wrong credential was not audited: \(logins)")
        #expect(logins.contains { $0.outcome == "allowed" }, "\(logins)")
        let switches = try await store.killSwitches()
        #expect(switches.isEmpty, "a kill switch is still engaged: \(switches)")

        let signature = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        for name in Self.expectedScreenshots {
            let data = FileManager.default.contents(atPath: Self.screenshots + "/" + name) ?? Data()
            #expect(data.count > signature.count && data.prefix(8) == signature, "\(name) is not a PNG (\(data.count) bytes)")
        }

        let printed = run.output + log(server)
        let secrets = [
            ("the vendor token", ServeProcess.sentinel), ("the agent key", Self.agent), ("Lars's credential", personSecret(Self.lars)),
            ("Priya's credential", personSecret(Self.priya)), ("Tom's credential", personSecret(Self.tom)),
        ]
        for (name, secret) in secrets {
            #expect(!printed.contains(secret), "\(name) was printed by the browser flow or asgard serve")
        }
    }

    /// Polls (up to 120 s) until the controller has applied the volume (the estimate needs it)
    /// and asked for approval of the warehouse; that approval.
    private func waitForTheWorld(_ store: SQLiteStore, server: ServeProcess) async throws -> Approval {
        var volume: ObjectStatus?
        var pending: Approval?
        for _ in 0..<600 {
            volume = try await store.observedState().objects[ObjectRef(.resource, "fraud-features")]?.status
            pending = try await store.approvals(status: .pending).first { $0.ref == Self.warehouse }
            if volume == .applied, let pending { return pending }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw NotReady(
            description: "after 120 s, Resource/fraud-features is \(volume.map { "\($0)" } ?? "not observed") and the warehouse's pending "
                + "approval is \(pending.map { "\($0)" } ?? "missing")\n--- asgard serve:\n\(log(server).suffix(4000))")
    }

    struct NotReady: Error, CustomStringConvertible { var description: String }

    private func log(_ server: ServeProcess) -> String {
        String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: server.output))) ?? Data(), as: UTF8.self)
    }
}
