import AsgardController
import AsgardCore
import AsgardGateway
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Synchronization
import Testing

/// A provisioner whose every step waits until the test lets it go: terraform hanging.
final class HangingProvisioner: Provisioner {
    private let started = Mutex<[String]>([])
    private let released = Mutex(false)

    var startedRefs: [String] { started.withLock { $0 } }
    func release() { released.withLock { $0 = true } }

    private func hang(_ ref: ObjectRef) async throws {
        started.withLock { $0.append(ref.description) }
        while !released.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        try await hang(request.ref)
        return ProvisioningPlan(digest: SHA256.hex(request.ref.description), summary: "no-op", resources: [])
    }

    func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs { ProvisioningOutputs(values: [:]) }
    func destroy(_ ref: ObjectRef) async throws { try await hang(ref) }
    func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan? {
        try await hang(ref)
        return nil
    }
    func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws { try await hang(ref) }
    func state(of ref: ObjectRef) throws -> WorkspaceState? { nil }
}

/// One controller over a copy of the shipped desired state and a real store.
struct ControllerWorld {
    let root: String
    let desired: String
    let policies: String
    let store: SQLiteStore
    let snapshot = SnapshotBox()
    let budgets = BudgetLedger()
    let board = KillSwitchBoard()
    let controller: Controller

    /// Every variable the shipped manifests name, set (no vendor is called by these tests).
    static let shippedEnvironment = [
        "DATABRICKS_HOST", "DATABRICKS_TOKEN", "OPENAI_BASE_URL", "OPENAI_API_KEY", "LITELLM_BASE_URL", "LITELLM_API_KEY",
    ]
    .reduce(into: [String: String]()) { $0[$1] = "http://127.0.0.1:9" }

    init(
        _ name: String, provisioner: any Provisioner = UnavailableProvisioner(), concurrency: Int = ProvisioningWorkers.defaultLimit,
        environment: [String: String] = ControllerWorld.shippedEnvironment
    ) throws {
        root = try makeTemporaryDirectory(name)
        desired = try copyShippedDesired(into: root)
        policies = root + "/policies"
        try FileManager.default.copyItem(atPath: packageRoot + "/policies", toPath: policies)
        store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        controller = Controller(
            store: store, desiredDirectory: desired, policiesDirectory: policies, snapshot: snapshot, budgets: budgets,
            killSwitches: board, environment: environment, provisioner: provisioner, concurrency: concurrency)
    }

    /// Writes a key for `project` whose secret is `secret`.
    func addKey(
        _ id: String, secret: String, project: String = "fraud-detection", models: String = "databricks/*", file: String? = nil,
        extra: String = ""
    ) throws {
        try """
        kind: Key
        id: \(id)
        project: \(project)
        digest: sha256:\(SHA256.hex(secret))
        allowed_models: [\(models)]
        max_data_class: internal
        \(extra)
        """.write(toFile: desired + "/keys/\(file ?? id).yaml", atomically: true, encoding: .utf8)
    }

    func authenticates(_ secret: String) -> Bool {
        snapshot.current?.key(authorization: "Bearer \(secret)") != nil
    }

    var healthReasons: [String] { controller.health.reasons }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(within seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

@Suite(.serialized) struct ControllerTests {
    /// A vendor added by a manifest alone is routed on the next pass, without a restart and
    /// without any vendor-specific code.
    @Test func aNewVendorIsRoutedByItsManifestAlone() async throws {
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: "acme-token")).start()
        let world = try ControllerWorld(
            "controller-vendor",
            environment: ControllerWorld.shippedEnvironment.merging(["ACME_URL": fake.url, "ACME_TOKEN": "acme-token"]) { $1 })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let calls = try CallLog.open(store: world.store, directory: world.root + "/journal")
        let snapshot = world.snapshot
        let gateway = Gateway(
            snapshot: { snapshot.current }, transport: HTTPUpstream(client: client), recorder: calls.recorder,
            budgets: world.budgets, rateLimiter: RateLimiter(), killSwitches: world.board)
        let secret = "asg_acme_caller_key"
        func call() async -> (Int, String) {
            let body = #"{"model":"acme/small","messages":[{"role":"user","content":"hi"}]}"#
            let answer = await gateway.plain(authorization: "Bearer \(secret)", dataClassHeader: nil, body: Array(body.utf8))
            return (answer.status, String(decoding: answer.body, as: UTF8.self))
        }
        await world.controller.configuration.pass()
        #expect(await call().0 == 401)
        // A new vendor: one manifest and one key, nothing else.
        try FileManager.default.createDirectory(atPath: world.desired + "/services/acme", withIntermediateDirectories: true)
        try """
        kind: Service
        id: acme
        inference:
          kind: openai-compatible
          base_url_env: ACME_URL
          token_env: ACME_TOKEN
          chat_path: /serving-endpoints/{model}/invocations
          models:
            - id: acme/small
              upstream: databricks-meta-llama-3-3-70b-instruct
              price_per_1m_input_usd: 0.10
              price_per_1m_output_usd: 0.20
              max_data_class: internal
        """.write(toFile: world.desired + "/services/acme/service.yaml", atomically: true, encoding: .utf8)
        try world.addKey("acme-caller", secret: secret, project: "marketing-copy", models: "acme/*")
        await world.controller.configuration.pass()
        let (status, body) = await call()
        #expect(status == 200, "\(body)")
        #expect(fake.controls.callCount(for: "databricks-meta-llama-3-3-70b-instruct") == 1)
        await calls.ingester.caughtUp()
        let rows = try await world.store.ledger(project: "marketing-copy", from: .distantPast, to: .distantFuture)
        #expect(rows.map(\.vendor) == ["acme"] && rows.map(\.model) == ["acme/small"])
        // And removed by deleting the manifest: the next pass drops the route.
        try FileManager.default.removeItem(atPath: world.desired + "/services/acme")
        try FileManager.default.removeItem(atPath: world.desired + "/keys/acme-caller.yaml")
        await world.controller.configuration.pass()
        #expect(snapshot.current?.routes["acme/small"] == nil)
        await calls.ingester.stop()
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// A project's spend is read from the store when it first appears; later passes keep the
    /// budget ledger's own figure, which includes calls settled but not yet in the store.
    @Test func aPassKeepsSpendTheStoreHasNotSeenYet() async throws {
        let world = try ControllerWorld("controller-budgets")
        let now = Date()
        try world.store.ingest(
            [
                RecordedCall(
                    time: now,
                    ledger: LedgerEntry(
                        requestID: "before-start", time: now, project: "fraud-detection", keyID: "k", vendor: "databricks", model: "m",
                        upstream: "u", promptTokens: 1, completionTokens: 1, cost: MicroDollars(700), latencyMicroseconds: 1, status: "ok",
                        estimated: false),
                    audit: AuditEntry(actor: "Key/k", action: "gateway.invoke", target: "m", outcome: "allowed"))
            ], through: JournalPosition(segment: 1, offset: 1))
        await world.controller.configuration.pass()
        #expect(world.budgets.snapshot(project: "fraud-detection")?.spent == MicroDollars(700))
        // A call settles in memory; its ledger row is still on its way to the store.
        guard case .success(let reservation) = world.budgets.reserve(project: "fraud-detection", amount: MicroDollars(500), now: now) else {
            Issue.record("the reservation was refused")
            return
        }
        _ = world.budgets.settle(reservation, actual: MicroDollars(300))
        await world.controller.configuration.pass()
        #expect(world.budgets.snapshot(project: "fraud-detection")?.spent == MicroDollars(1_000))
    }

    /// While every provisioning step hangs, the configuration path still commits and publishes
    /// key changes at once, and provisioning runs one worker per object, at most the limit.
    @Test(.timeLimit(.minutes(1))) func configurationIsPublishedWhileProvisioningHangs() async throws {
        let terraform = HangingProvisioner()
        let world = try ControllerWorld("controller-hang", provisioner: terraform, concurrency: 2)
        let provisioning = Task { try await world.controller.provisioning.run() }
        await world.controller.configuration.pass()
        // Three provisioned objects in the shipped state, two workers: two hang, one waits.
        #expect(await eventually { terraform.startedRefs.count == 2 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(terraform.startedRefs.count == 2 && world.controller.provisioning.working.count == 2)

        try world.addKey("new-key", secret: "asg_new_key")
        let started = ContinuousClock.now
        await world.controller.configuration.pass()
        // The pass does not wait on the hung provisioning (that would never end). How soon a
        // change is served with terraform hung is measured by ResilienceTests, alone on the
        // machine; here, beside every other suite on two cores, a pass took 1.02 s once (CI).
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(world.authenticates("asg_new_key"))
        try FileManager.default.removeItem(atPath: world.desired + "/keys/new-key.yaml")
        await world.controller.configuration.pass()
        #expect(!world.authenticates("asg_new_key"))
        #expect(terraform.startedRefs.count == 2, "a pass must not start a second worker for a busy object")

        // Let terraform go: the third object gets its turn, and every worker ends.
        terraform.release()
        #expect(
            await eventually { Set(terraform.startedRefs).count == 3 && world.controller.provisioning.working.isEmpty },
            "started \(terraform.startedRefs), working \(world.controller.provisioning.working)")
        provisioning.cancel()
        _ = await provisioning.result
    }

    /// A broken desired state at start-up: the gateway serves what the store already holds,
    /// the problem is on /healthz, and the rejection is audited once, not once per pass.
    @Test func anInvalidDesiredStateKeepsTheAppliedConfiguration() async throws {
        let world = try ControllerWorld("controller-invalid")
        try world.addKey("good", secret: "asg_good_key")
        await world.controller.configuration.pass()
        #expect(world.authenticates("asg_good_key") && world.healthReasons.isEmpty)

        // A restart over a desired state someone broke.
        try "kind: Key\nid: broken\n".write(toFile: world.desired + "/keys/broken.yaml", atomically: true, encoding: .utf8)
        let restarted = try ControllerWorld.restart(world)
        for _ in 0..<3 { await restarted.controller.configuration.pass() }
        #expect(restarted.authenticates("asg_good_key"))
        #expect(restarted.healthReasons.count == 1 && restarted.healthReasons[0].hasPrefix("desired: "))
        #expect(restarted.healthReasons[0].contains("the last applied configuration stays in force"))
        let rejections = try await restarted.store.auditTail(limit: 100).filter { $0.content.action == "validate.rejected" }
        #expect(rejections.count == 1)

        try FileManager.default.removeItem(atPath: world.desired + "/keys/broken.yaml")
        await restarted.controller.configuration.pass()
        #expect(restarted.healthReasons.isEmpty)
    }

    /// Broken policies: before any good set, nothing is published (starting); after one, the
    /// last good set stays in force while key changes still apply.
    @Test func brokenPoliciesKeepTheLastGoodSet() async throws {
        let world = try ControllerWorld("controller-policies")
        try "permit (principal, action, resource".write(toFile: world.policies + "/broken.cedar", atomically: true, encoding: .utf8)
        await world.controller.configuration.pass()
        #expect(world.snapshot.current == nil)
        #expect(world.healthReasons.contains { $0.hasPrefix("policies: ") && $0.contains("nothing is served until it does") })

        try FileManager.default.removeItem(atPath: world.policies + "/broken.cedar")
        await world.controller.configuration.pass()
        #expect(world.snapshot.current != nil && world.healthReasons.isEmpty)

        try "permit (principal, action, resource".write(toFile: world.policies + "/broken.cedar", atomically: true, encoding: .utf8)
        try world.addKey("after-break", secret: "asg_after_break")
        await world.controller.configuration.pass()
        #expect(world.authenticates("asg_after_break"))
        #expect(world.healthReasons.contains { $0.contains("the last good policy set stays in force") })
    }
}

extension ControllerWorld {
    /// Another controller over the same directories and store file, as after a restart.
    static func restart(_ world: ControllerWorld) throws -> ControllerWorld {
        try ControllerWorld(reusing: world)
    }

    private init(reusing world: ControllerWorld) throws {
        root = world.root
        desired = world.desired
        policies = world.policies
        store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        controller = Controller(
            store: store, desiredDirectory: desired, policiesDirectory: policies, snapshot: snapshot, budgets: budgets,
            killSwitches: board, environment: Self.shippedEnvironment)
    }
}
