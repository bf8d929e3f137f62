import AsgardCore
import AsgardGateway
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

/// The controller loop feeding the gateway: a vendor added by a manifest alone is routed on
/// the next pass, without a restart and without any vendor-specific code.
@Suite(.serialized) struct ControllerLoopTests {
    @Test func aNewVendorIsRoutedByItsManifestAlone() async throws {
        let root = try makeTemporaryDirectory("loop")
        let desired = try copyShippedDesired(into: root)
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: "acme-token")).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let snapshot = SnapshotBox()
        let budgets = BudgetLedger()
        let killSwitches = KillSwitchBoard()
        let loop = ControllerLoop(store: store, desiredDirectory: desired, policiesDirectory: packageRoot + "/policies",
                                  snapshot: snapshot, budgets: budgets, killSwitches: killSwitches)
        let calls = try CallLog.open(store: store, directory: root + "/journal")
        let gateway = Gateway(snapshot: { snapshot.current }, upstream: HTTPUpstream(client: client), recorder: calls.recorder,
                              budgets: budgets, rateLimiter: RateLimiter(), killSwitches: killSwitches,
                              environment: ["ACME_URL": fake.url, "ACME_TOKEN": "acme-token"])
        let secret = "asg_acme_caller_key"
        func call() async -> (Int, String) {
            let body = #"{"model":"acme/small","messages":[{"role":"user","content":"hi"}]}"#
            let answer = await gateway.chat(authorization: "Bearer \(secret)", dataClassHeader: nil, body: Array(body.utf8), endpoint: .openAICompatible)
            return (answer.status, String(decoding: answer.body, as: UTF8.self))
        }
        try await loop.pass()
        #expect(await call().0 == 401)
        // A new vendor: one manifest and one key, nothing else.
        try FileManager.default.createDirectory(atPath: desired + "/services/acme", withIntermediateDirectories: true)
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
            """.write(toFile: desired + "/services/acme/service.yaml", atomically: true, encoding: .utf8)
        try """
            kind: Key
            id: acme-caller
            project: marketing-copy
            digest: sha256:\(SHA256.hex(secret))
            allowed_models: [acme/*]
            max_data_class: internal
            """.write(toFile: desired + "/keys/acme.yaml", atomically: true, encoding: .utf8)
        try await loop.pass()
        let (status, body) = await call()
        #expect(status == 200, "\(body)")
        #expect(fake.controls.callCount(for: "databricks-meta-llama-3-3-70b-instruct") == 1)
        await calls.ingester.caughtUp()
        let rows = try await store.ledger(project: "marketing-copy", from: .distantPast, to: .distantFuture)
        #expect(rows.map(\.vendor) == ["acme"] && rows.map(\.model) == ["acme/small"])
        // And removed by deleting the manifest: the next pass drops the route.
        try FileManager.default.removeItem(atPath: desired + "/services/acme")
        try FileManager.default.removeItem(atPath: desired + "/keys/acme.yaml")
        try await loop.pass()
        #expect(snapshot.current?.routes["acme/small"] == nil)
        await calls.ingester.stop()
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// A project's spend is read from the store when it first appears; later passes keep the
    /// budget ledger's own figure, which includes calls settled but not yet in the store.
    @Test func aPassKeepsSpendTheStoreHasNotSeenYet() async throws {
        let root = try makeTemporaryDirectory("loop-budgets")
        let desired = try copyShippedDesired(into: root)
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let now = Date()
        try await store.appendLedger([LedgerEntry(
            requestID: "before-start", time: now, project: "fraud-detection", keyID: "k", vendor: "databricks", model: "m",
            upstream: "u", promptTokens: 1, completionTokens: 1, cost: MicroDollars(700), latencyMicroseconds: 1, status: "ok", estimated: false)])
        let budgets = BudgetLedger()
        let loop = ControllerLoop(store: store, desiredDirectory: desired, policiesDirectory: packageRoot + "/policies",
                                  snapshot: SnapshotBox(), budgets: budgets, killSwitches: KillSwitchBoard())
        try await loop.pass()
        #expect(budgets.snapshot(project: "fraud-detection")?.spent == MicroDollars(700))
        // A call settles in memory; its ledger row is still on its way to the store.
        guard case .success(let reservation) = budgets.reserve(project: "fraud-detection", amount: MicroDollars(500), now: now) else {
            Issue.record("the reservation was refused"); return
        }
        _ = budgets.settle(reservation, actual: MicroDollars(300))
        try await loop.pass()
        #expect(budgets.snapshot(project: "fraud-detection")?.spent == MicroDollars(1_000))
    }
}
