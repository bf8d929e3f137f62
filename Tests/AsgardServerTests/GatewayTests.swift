import AsgardController
import AsgardCore
import AsgardGateway
import AsgardPolicy
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

/// The pipeline end to end: real SQLite store, real HTTP to the fake Databricks on loopback,
/// the shipped desired state and policies, keys whose secrets the test knows.
final class GatewayHarness: Sendable {
    static let sentinelToken = "dapiSENTINEL0000000000000000000000ffff"
    static let scorer = "asg_test_scorer"  // fraud-scoring-agent: databricks, up to confidential, 120 rpm
    static let notebook = "asg_test_notebook"  // fraud-analyst-notebook: databricks/*, up to internal, 30 rpm

    let root: String
    let store: SQLiteStore
    let calls: CallLog
    let fake: RunningFakeDatabricks
    let client: HTTPClient
    let budgets = BudgetLedger()
    let killSwitches = KillSwitchBoard()
    let metrics = GatewayMetrics()
    let gateway: Gateway
    let state: DesiredState

    /// - Parameters:
    ///   - prepare: changes the shipped desired state before it is applied (keys, endpoints).
    ///   - applyEndpoints: records every serving endpoint as applied, so its route joins the gateway.
    init(
        budgetDollars: String? = nil, requestsPerMinute: Int? = nil, guardrails: [String: GuardrailSettings] = [:],
        policiesDirectory: String = packageRoot + "/policies", prepare: (inout DesiredState) -> Void = { _ in },
        applyEndpoints: Bool = false
    ) async throws {
        root = try makeTemporaryDirectory("gateway")
        store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        calls = try CallLog.open(store: store, directory: root + "/journal")
        fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: Self.sentinelToken)).start()
        client = HTTPClient(eventLoopGroupProvider: .singleton)
        var state = DesiredStateLoader().load(directory: packageRoot + "/desired").state
        for (id, secret) in [("fraud-scoring-agent", Self.scorer), ("fraud-analyst-notebook", Self.notebook)] {
            var key = state.keys[id]!
            key.digest = SHA256.hex(secret)
            if let requestsPerMinute { key.requestsPerMinute = requestsPerMinute }
            state.insert(.key(key))
        }
        if let budgetDollars {
            var project = state.projects["fraud-detection"]!
            project.monthlyBudget = try MicroDollars(dollars: budgetDollars)
            state.insert(.project(project))
        }
        prepare(&state)
        self.state = state
        _ = try await Reconciler(store: store, provisioner: UnavailableProvisioner()).apply(state)
        for endpoint in state.servingEndpoints.values where applyEndpoints {
            try await store.commit(
                .put(.servingEndpoint(endpoint), tier: .human, status: .applied, reason: nil),
                audit: AuditEntry(actor: "test", action: "provision.apply", target: "ServingEndpoint/\(endpoint.id)", outcome: "applied"))
        }
        for project in state.projects.values { budgets.setBudget(project: project.id, monthly: project.monthlyBudget) }
        let (bundle, problems) = PolicyBundle.load(directory: policiesDirectory)
        precondition(problems.isEmpty, "\(problems)")
        let snapshot = GatewaySnapshot(
            state: state, routes: try await store.routes(), policies: bundle,
            environment: ["DATABRICKS_HOST": fake.url, "DATABRICKS_TOKEN": Self.sentinelToken], guardrails: guardrails)
        gateway = Gateway(
            snapshot: { snapshot }, transport: HTTPUpstream(client: client), recorder: calls.recorder, budgets: budgets,
            rateLimiter: RateLimiter(), killSwitches: killSwitches, metering: metrics)
    }

    /// The store, once every call answered so far has been copied into it from the journal.
    var stored: SQLiteStore {
        get async {
            await calls.ingester.caughtUp()
            return store
        }
    }

    /// Runs `body`, then shuts everything down.
    func run(_ body: @Sendable (GatewayHarness) async throws -> Void) async throws {
        do { try await body(self) } catch {
            await calls.ingester.stop()
            try await fake.shutdown()
            try await client.shutdown()
            throw error
        }
        await calls.ingester.stop()
        try await fake.shutdown()
        try await client.shutdown()
    }

    func chat(
        _ secret: String?, model: String = "databricks/llama-3-3-70b", content: String = "score this transaction",
        dataClass: String? = nil, extra: String = ""
    ) async -> (status: Int, json: [String: Any], headers: [(String, String)]) {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":\#(Self.quote(content))}]\#(extra)}"#
        let response = await gateway.plain(authorization: secret.map { "Bearer \($0)" }, dataClassHeader: dataClass, body: Array(body.utf8))
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        return (response.status, json, response.headers)
    }

    static func quote(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }

    static func code(_ json: [String: Any]) -> String? { (json["error"] as? [String: Any])?["code"] as? String }
}

@Suite(.serialized) struct GatewayTests {
    @Test func anAllowedCallIsAnsweredMeteredAndAudited() async throws {
        try await GatewayHarness().run { h in
            let reply = await h.chat(GatewayHarness.scorer, extra: #","temperature":0.70"#)
            #expect(reply.status == 200, "\(reply.json)")
            let choices = try #require(reply.json["choices"] as? [[String: Any]])
            #expect(((choices.first?["message"] as? [String: Any])?["content"] as? String)?.hasPrefix("This is a deterministic answer") == true)
            // What the vendor received: its own model name, the reserved cap, the project's usage context, the rest untouched.
            let sent = try #require(h.fake.controls.lastRequestBody(for: "databricks-meta-llama-3-3-70b-instruct"))
            #expect(sent.contains(#""model":"databricks-meta-llama-3-3-70b-instruct""#) && sent.contains(#""max_tokens":4096"#))
            #expect(sent.contains(#""usage_context":{"project":"fraud-detection"}"#) && sent.contains(#""temperature":0.70"#))
            // The ledger row, committed before the answer, priced from the manifest.
            let rows = try await h.stored.ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture)
            let row = try #require(rows.first)
            let usage = try #require(reply.json["usage"] as? [String: Int])
            #expect(rows.count == 1 && row.keyID == "fraud-scoring-agent" && row.model == "databricks/llama-3-3-70b")
            #expect(row.promptTokens == usage["prompt_tokens"] && row.completionTokens == usage["completion_tokens"] && !row.estimated)
            #expect(
                row.cost
                    == Pricing.cost(
                        promptTokens: row.promptTokens, completionTokens: row.completionTokens,
                        pricing: TokenPricing(inputPerMillion: MicroDollars(500_000), outputPerMillion: MicroDollars(1_500_000))))
            let audit = try await h.stored.auditTail(limit: 1)[0].content
            #expect(audit.action == "gateway.invoke" && audit.outcome == "allowed" && audit.actor == "Key/fraud-scoring-agent")
            #expect(audit.detail.contains(#""policies":"key-invokes-allowed-model""#))
            #expect(h.budgets.snapshot(project: "fraud-detection")?.spent == row.cost)
        }
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var secret: String?
        var model = "databricks/llama-3-3-70b"
        var dataClass: String?
        var content = "hello"
        var status: Int
        var code: String
        /// A credential that matches no key is counted, not audited (no audit flood for whoever holds no key).
        var audited = true
        var testDescription: String { name }
    }

    @Test(arguments: [
        Refusal(name: "no key", secret: nil, status: 401, code: "invalid_api_key", audited: false),
        Refusal(name: "unknown key", secret: "asg_nobody", status: 401, code: "invalid_api_key", audited: false),
        Refusal(name: "unknown model", secret: GatewayHarness.scorer, model: "databricks/nope", status: 404, code: "model_not_found"),
        Refusal(name: "model not allowed", secret: GatewayHarness.scorer, model: "openai/gpt-4o-mini", status: 403, code: "model_not_allowed"),
        Refusal(name: "level above the key", secret: GatewayHarness.notebook, dataClass: "confidential", status: 403, code: "data_class_denied"),
        Refusal(name: "bad data class header", secret: GatewayHarness.scorer, dataClass: "secret", status: 400, code: "invalid_request"),
    ])
    func refusalsAreOpenAIErrorsAndAudited(refusal: Refusal) async throws {
        try await GatewayHarness().run { h in
            let reply = await h.chat(refusal.secret, model: refusal.model, content: refusal.content, dataClass: refusal.dataClass)
            #expect(reply.status == refusal.status && GatewayHarness.code(reply.json) == refusal.code, "\(reply.json)")
            let invocations = try await h.stored.auditTail(limit: 100).map(\.content).filter { $0.action == "gateway.invoke" }
            if refusal.audited {
                #expect(invocations.count == 1 && invocations[0].outcome == "denied" && invocations[0].detail.contains(#""reason":"\#(refusal.code)""#))
            } else {
                #expect(invocations.isEmpty)
            }
            #expect(try await h.stored.summary().ledgerRows == 0)
            #expect(h.fake.controls.callCount(for: "databricks-meta-llama-3-3-70b-instruct") == 0)
        }
    }

    /// Cedar owns the allowlist and data-class rules: under a policy set that permits every
    /// `invoke`, a key calls a model it does not list, with data above its level; under one
    /// whose forbid names the call, it is refused with that policy.
    @Test func cedarAloneDecidesTheAllowlistAndDataClasses() async throws {
        let root = try makeTemporaryDirectory("open-policies")
        for file in ["asgard.cedarschema", "admin.cedar", "provision.cedar"] {
            try FileManager.default.copyItem(atPath: packageRoot + "/policies/" + file, toPath: root + "/" + file)
        }
        try """
        @id("anyone-invokes-anything")
        permit (principal is Key, action == Action::"invoke", resource is Model);
        @id("no-restricted-data")
        forbid (principal, action == Action::"invoke", resource) when { context.level >= 3 };
        """.write(toFile: root + "/invoke.cedar", atomically: true, encoding: .utf8)
        try await GatewayHarness(policiesDirectory: root).run { h in
            // The notebook key may send at most internal data; llama takes confidential.
            #expect(h.state.keys["fraud-analyst-notebook"]?.maxDataClass == .internal)
            let widened = await h.chat(GatewayHarness.notebook, dataClass: "confidential")
            #expect(widened.status == 200, "\(widened.json)")
            // The scorer does not list OpenAI's models: past Cedar, the call reaches the vendor
            // stage, where this harness has no OpenAI configured.
            #expect(h.state.keys["fraud-scoring-agent"]?.allowedModels.contains("openai/gpt-4o-mini") == false)
            let unlisted = await h.chat(GatewayHarness.scorer, model: "openai/gpt-4o-mini")
            #expect(unlisted.status == 503 && GatewayHarness.code(unlisted.json) == "vendor_unconfigured", "\(unlisted.json)")
            let forbidden = await h.chat(GatewayHarness.notebook, dataClass: "restricted")
            #expect(forbidden.status == 403 && GatewayHarness.code(forbidden.json) == "policy_denied")
            #expect((forbidden.json["error"] as? [String: Any])?["message"] as? String == "denied by policy no-restricted-data")
        }
    }

    @Test func aKillSwitchStopsTheNextCall() async throws {
        try await GatewayHarness().run { h in
            #expect(await h.chat(GatewayHarness.scorer).status == 200)
            h.killSwitches.replace(
                with: KillSwitchSet([KillSwitch(scope: .project, id: "fraud-detection", reason: "leak investigation", since: Date(), by: "ops")]))
            let reply = await h.chat(GatewayHarness.scorer)
            #expect(reply.status == 403 && GatewayHarness.code(reply.json) == "killed")
            #expect(
                (reply.json["error"] as? [String: Any])?["message"] as? String
                    == "a kill switch is engaged for project fraud-detection: leak investigation")
        }
    }

    /// The action is the stronger of the declared class's and the project's classification's
    /// (fraud-detection is confidential): declaring a lower class, or none, never turns a
    /// `block` into a `redact`.
    @Test func guardrailsActAtLeastAsTheProjectsClassificationAsks() async throws {
        let card = "charge 4111 1111 1111 1111 now"
        try await GatewayHarness(guardrails: ["fraud-detection": GuardrailSettings(defaultAction: .redact, byDataClass: [.confidential: .block])])
            .run { h in
                for declared in ["confidential", "internal", "public", nil] {
                    let blocked = await h.chat(GatewayHarness.scorer, content: card, dataClass: declared)
                    #expect(blocked.status == 400 && GatewayHarness.code(blocked.json) == "guardrail_blocked", "\(declared ?? "none")")
                    #expect(!"\(blocked.json)".contains("4111"))
                }
                #expect(h.fake.controls.callCount(for: "databricks-meta-llama-3-3-70b-instruct") == 0)
            }
        try await GatewayHarness(guardrails: ["fraud-detection": GuardrailSettings(defaultAction: .redact, byDataClass: [.public: .log])]).run { h in
            // Declaring public asks only to log; the classification's (the default) redacts.
            let redacted = await h.chat(GatewayHarness.scorer, content: card, dataClass: "public")
            #expect(redacted.status == 200)
            let sent = try #require(h.fake.controls.lastRequestBody(for: "databricks-meta-llama-3-3-70b-instruct"))
            #expect(sent.contains("charge [REDACTED:credit_card] now") && !sent.contains("4111"))
        }
    }

    @Test func theRateLimitAnswers429WithRetryAfter() async throws {
        try await GatewayHarness(requestsPerMinute: 2).run { h in
            #expect(await h.chat(GatewayHarness.scorer).status == 200)
            #expect(await h.chat(GatewayHarness.scorer).status == 200)
            let limited = await h.chat(GatewayHarness.scorer)
            #expect(limited.status == 429 && GatewayHarness.code(limited.json) == "rate_limited")
            #expect(limited.headers.contains { $0.0 == "Retry-After" && Int($0.1).map { $0 >= 1 && $0 <= 60 } == true })
        }
    }

    @Test func upstreamErrorsBecome502WithTheVendorCodeAndNoToken() async throws {
        try await GatewayHarness().run { h in
            h.fake.controls.setFault(.unavailable(), for: "databricks-meta-llama-3-3-70b-instruct")
            let reply = await h.chat(GatewayHarness.scorer)
            #expect(reply.status == 502 && GatewayHarness.code(reply.json) == "upstream_TEMPORARILY_UNAVAILABLE", "\(reply.json)")
            #expect(!"\(reply.json)".contains(GatewayHarness.sentinelToken))
            // Counted under the model's vendor, named from the model id over bytes.
            #expect(h.metrics.exposition().contains(#"asgard_upstream_errors_total{vendor="databricks",code="upstream_TEMPORARILY_UNAVAILABLE"} 1"#))
            // Nothing was spent: the reservation was released.
            #expect(h.budgets.snapshot(project: "fraud-detection")?.reserved == .zero)
            #expect(h.budgets.snapshot(project: "fraud-detection")?.spent == .zero)
        }
    }

    /// 200 concurrent calls against a budget that fits 50 calls: at most 50 succeed, spend
    /// stays within the budget, every refusal is budget_exceeded. Each call asks for 8 tokens
    /// and the fake always gives 8 (and counts 4 prompt tokens), so each costs exactly `call`.
    @Test func budgetsCannotBeOverrun() async throws {
        let pricing = TokenPricing(inputPerMillion: MicroDollars(500_000), outputPerMillion: MicroDollars(1_500_000))
        let call = Pricing.cost(promptTokens: 4, completionTokens: 8, pricing: pricing)
        let budget = MicroDollars(call.value * 50)
        try await GatewayHarness(budgetDollars: budget.description, requestsPerMinute: 100_000).run { h in
            let replies = await withTaskGroup(of: (Int, String?, Int?).self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let reply = await h.chat(GatewayHarness.scorer, content: "score this transaction", extra: #","max_tokens":8"#)
                        return (reply.status, GatewayHarness.code(reply.json), (reply.json["usage"] as? [String: Int])?["completion_tokens"])
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let succeeded = replies.filter { $0.0 == 200 }
            #expect(!succeeded.isEmpty && succeeded.count <= 50)
            #expect(succeeded.allSatisfy { $0.2 == 8 })
            #expect(
                replies.allSatisfy { $0.0 == 200 || ($0.0 == 402 && $0.1 == "budget_exceeded") }, "\(Set(replies.map { "\($0.0) \($0.1 ?? "-")" }))")
            let spent = try await h.stored.spend(project: "fraud-detection", from: .distantPast, to: .distantFuture)
            #expect(spent <= budget && spent == MicroDollars(call.value * Int64(succeeded.count)))
            #expect(try await h.stored.summary().ledgerRows == succeeded.count)
        }
    }
}

extension Gateway {
    /// A call through the OpenAI front door that must not be a stream: its plain answer.
    func plain(authorization: String?, dataClassHeader: String?, body: [UInt8]) async -> GatewayResponse {
        switch await chat(authorization: authorization, dataClassHeader: dataClassHeader, body: body, endpoint: .openAICompatible) {
        case .plain(let answer): return answer
        case .stream(let stream): return GatewayResponse(status: -1, body: Array("a stream: \(stream.requestID)".utf8), headers: [])
        }
    }
}
