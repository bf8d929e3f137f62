import AsgardCost
import AsgardCore
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import AsgardJSON
import NIOCore
import NIOHTTP1
import Testing

/// The cost API over real HTTP against the fake Databricks: who may roll up and read, what the
/// report says, and a warehouse's measured spend counting against the budget of model calls.
@Suite(.serialized) struct CostAPITests {
    static let today = CostDay(Date())

    /// `tight` (a $0.05 budget) ran a warehouse for $0.70 today; fraud-detection for $1.75.
    static let billing = FakeBillingSeed(
        resources: [
            FakeBilledResource(project: "tight", name: "tight-warehouse", kind: .sqlWarehouse, skuName: "SQL_WH", dailyQuantity: "1"),
            FakeBilledResource(project: "fraud-detection", name: "fraud-warehouse", kind: .sqlWarehouse, skuName: "SQL_WH", dailyQuantity: "2.5"),
        ],
        from: today.description, to: today.description, listPrices: [FakeListPrice(skuName: "SQL_WH", price: "0.70")], granularity: .daily)

    static func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, token: String, body: String? = nil) async throws -> (Int, String) {
        try await AdminAPITests.send(client, method, url, token: token, body: body)
    }

    @Test func rollupAndReportOverHTTP() async throws {
        try await ServedAsgard.run(billing: Self.billing, configure: { $0.environment["DATABRICKS_WAREHOUSE_ID"] = "fake-warehouse" }) { base, fake in
            try await withHTTPClient { client in
                let admin = ServedAsgard.adminSecret
                let tight = ServedAsgard.secrets["tight-key"]!
                let fraud = ServedAsgard.secrets["sdk-key"]!
                let chat = #"{"model":"databricks/llama-3-3-70b","messages":[{"role":"user","content":"hi"}],"max_tokens":16}"#
                #expect(try await Self.send(client, .POST, base + "/v1/chat/completions", token: tight, body: chat).0 == 200)

                // Bad orders change nothing and say what is wrong; a key is no operator.
                for (body, fragment) in [
                    (#"{"from":"2026-13-01"}"#, "is not a day"), (#"{"by":"lars"}"#, "unknown or mistyped field by"),
                    (#"{"sources":["s3-billing"]}"#, "no cost source named s3-billing"), ("[]", "must be a JSON object"),
                    (#"{"from":"2026-12-02","to":"2026-12-01"}"#, "ends (2026-12-01) before it starts"),
                ] {
                    let (status, answer) = try await Self.send(client, .POST, base + "/api/cost/rollup", token: admin, body: body)
                    #expect(status == 400 && answer.contains(fragment), "\(body): \(answer)")
                }
                #expect(try await Self.send(client, .POST, base + "/api/cost/rollup", token: tight).0 == 401)
                let (_, empty) = try await Self.send(client, .GET, base + "/api/cost", token: admin)
                #expect(try JSONValue.parse(empty)["lines"]?.arrayValue?.isEmpty == true, "\(empty)")
                #expect(fake.controls.billing.executedStatements.isEmpty)

                // A call that bypassed the gateway: Databricks counts tokens for fraud-detection the gateway never saw.
                let bypass = #"{"messages":[{"role":"user","content":"around the gateway"}],"usage_context":{"project":"fraud-detection"}}"#
                #expect(
                    try await Self.send(
                        client, .POST, fake.url + "/serving-endpoints/databricks-meta-llama-3-3-70b-instruct/invocations", token: "dapi-served-token",
                        body: bypass
                    ).0 == 200)

                let (status, rolled) = try await Self.send(client, .POST, base + "/api/cost/rollup", token: admin, body: "{}")
                #expect(status == 200, "\(rolled)")
                #expect(try JSONValue.parse(rolled)["not_measured"]?.intValue == 0, "\(rolled)")

                // The warehouse's $0.70 is over tight's $0.05 budget: model calls are refused, saying why.
                let (refused, why) = try await Self.send(client, .POST, base + "/v1/chat/completions", token: tight, body: chat)
                #expect(refused == 402 && why.contains("and $0.7 measured with vendors"), "\(why)")

                // A key reads its own project's cost, and no other's.
                let (ownStatus, own) = try await Self.send(client, .GET, base + "/api/cost?group_by=project,vendor,source", token: fraud)
                #expect(ownStatus == 200, "\(own)")
                let lines = try #require(try JSONValue.parse(own)["lines"]?.arrayValue)
                #expect(Set(lines.compactMap { $0["project"]?.stringValue }) == ["fraud-detection"])
                let billed = lines.first { $0["source"]?.stringValue == DatabricksBilling.type }
                #expect(billed?["amount_usd"]?.stringValue == "1.750000" && billed?["measurement"]?.stringValue == "measured", "\(own)")
                let (denied, deniedBody) = try await Self.send(client, .GET, base + "/api/cost?project=tight", token: fraud)
                #expect(denied == 403 && deniedBody.contains("policy_denied"), "\(deniedBody)")

                // An operator sees every project, as CSV too; bad parameters are named.
                let (_, csv) = try await Self.send(client, .GET, base + "/api/cost?group_by=project,source&format=csv", token: admin)
                #expect(csv.contains("tight,databricks-billing,0.700000,measured,"), "\(csv)")
                #expect(csv.contains("fraud-detection,databricks-billing,1.750000,measured,"), "\(csv)")
                let (badGroup, badBody) = try await Self.send(client, .GET, base + "/api/cost?group_by=project,colour", token: admin)
                #expect(badGroup == 400 && badBody.contains("group_by"), "\(badBody)")

                // Reconciliation flagged fraud-detection's day, and only it: in the report and the metrics.
                let (_, all) = try await Self.send(client, .GET, base + "/api/cost", token: admin)
                let drift = try #require(try JSONValue.parse(all)["drift"]?.arrayValue)
                #expect(drift.compactMap { $0["project"]?.stringValue } == ["fraud-detection"], "\(all)")
                let (_, metrics) = try await Self.send(client, .GET, base + "/metrics", token: ServedAsgard.metricsSecret)
                #expect(metrics.contains(#"asgard_cost_drift_days{project="fraud-detection",vendor="databricks"} 1"#), "\(metrics)")
                #expect(!metrics.contains(#"asgard_cost_drift_days{project="tight""#))

                // The same days again change nothing.
                let (_, again) = try await Self.send(client, .POST, base + "/api/cost/rollup", token: admin)
                #expect(try JSONValue.parse(again)["changed"]?.intValue == 0, "\(again)")
            }
        }
    }
}
