import AsgardCore
import AsgardGateway
import AsgardPolicy
import AsgardTestSupport
import Foundation
import Testing

@Suite struct RoutingTests {
    static let state = DesiredStateLoader().load(directory: packageRoot + "/desired").state

    static let table = RouteTable(
        state.modelRoutes.values.map { vendor, model in
            let inference = state.services[vendor]!.inference!
            return Route(
                model: model.id, vendor: vendor, inference: inference, upstream: model.upstream, pricing: model.pricing,
                maxDataClass: model.maxDataClass)
        })

    @Test func manifestsAloneDecideWhereACallGoes() throws {
        let environment = [
            "DATABRICKS_HOST": "https://example.cloud.databricks.com/", "DATABRICKS_TOKEN": "t1",
            "OPENAI_BASE_URL": "http://127.0.0.1:9", "OPENAI_API_KEY": "t2",
        ]
        let databricks = try #require(Self.table["databricks/llama-3-3-70b"]).resolve(in: environment)
        #expect(databricks.url == "https://example.cloud.databricks.com/serving-endpoints/databricks-meta-llama-3-3-70b-instruct/invocations")
        #expect(databricks.credentialHeader == "Authorization" && databricks.credential == "Bearer t1" && databricks.secrets == ["t1"])
        #expect(try #require(Self.table["openai/gpt-4o-mini"]).resolve(in: environment).url == "http://127.0.0.1:9/v1/chat/completions")
        #expect(throws: Route.Unconfigured(variable: "LITELLM_BASE_URL")) { try Self.table["litellm/claude-sonnet"]!.resolve(in: environment) }
        #expect(Self.table.models == ["databricks/llama-3-3-70b", "litellm/claude-sonnet", "openai/gpt-4o-mini"])
    }

    /// The shipped policies decide `invoke` on the entities built from the shipped desired state.
    @Test(arguments: [
        ("fraud-scoring-agent", "databricks/llama-3-3-70b", DataClass.confidential, true),
        ("fraud-scoring-agent", "databricks/llama-3-3-70b", .restricted, false),
        ("fraud-analyst-notebook", "databricks/llama-3-3-70b", .internal, true),
        ("fraud-analyst-notebook", "databricks/llama-3-3-70b", .confidential, false),
        ("marketing-writer", "openai/gpt-4o-mini", .internal, true),
        ("marketing-writer", "databricks/llama-3-3-70b", .confidential, false),
        ("fraud-scoring-agent", "openai/gpt-4o-mini", .public, false),
    ])
    func shippedPoliciesDecideInvoke(key: String, model: String, level: DataClass, allowed: Bool) throws {
        let (bundle, problems) = PolicyBundle.load(directory: packageRoot + "/policies")
        try #require(problems.isEmpty)
        let entities = InvokeEntities.store(keys: Array(Self.state.keys.values), projects: Array(Self.state.projects.values), routes: Self.table)
        let request = InvokeEntities.request(
            key: key, model: model, level: level, estimatedCost: MicroDollars(1_000),
            now: Date(timeIntervalSince1970: 1_795_608_000))
        let decision = PolicyEngine(enforced: bundle).decide(request, entities: entities)
        #expect(decision.allowed == allowed, "\(decision.response)")
        #expect(decision.response.errors.isEmpty)
        if allowed { #expect(decision.response.reasons == ["key-invokes-allowed-model"]) }
    }

    @Test func anExpiredKeyIsRefusedByPolicy() throws {
        let (bundle, _) = PolicyBundle.load(directory: packageRoot + "/policies")
        let entities = InvokeEntities.store(keys: Array(Self.state.keys.values), projects: Array(Self.state.projects.values), routes: Self.table)
        // fraud-scoring-agent expires 2027-06-30.
        let request = InvokeEntities.request(
            key: "fraud-scoring-agent", model: "databricks/llama-3-3-70b", level: .public,
            estimatedCost: .zero, now: Date(timeIntervalSince1970: 1_814_400_000))
        let decision = PolicyEngine(enforced: bundle).decide(request, entities: entities)
        #expect(!decision.allowed && decision.response.reasons == ["expired-key-refused"])
    }
}
