import AsgardCost
import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

let warehouse = "fake-warehouse"

/// The query Asgard's `databricks-billing` source sends (list-price cost per project and day):
/// the fake is tested against exactly that text.
let costQuery = DatabricksBilling.statement

let sqlSKU = "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST"
let jobsSKU = "PREMIUM_JOBS_COMPUTE"

/// Two tagged projects and one untagged warehouse, 2025-01-01 to 2025-01-05, at the default
/// prices (SQL 0.70, jobs 0.15).
let smallSeed = FakeBillingSeed(
    resources: [
        FakeBilledResource(project: "fraud-detection", name: "wh-fraud", kind: .sqlWarehouse, skuName: sqlSKU, dailyQuantity: "12.5"),
        FakeBilledResource(project: "fraud-detection", name: "job-fraud", kind: .job, skuName: jobsSKU, dailyQuantity: "3.333333333333333333"),
        FakeBilledResource(project: "churn", name: "wh-churn", kind: .sqlWarehouse, skuName: sqlSKU, dailyQuantity: "7"),
        FakeBilledResource(project: nil, name: "wh-shared", kind: .sqlWarehouse, skuName: sqlSKU, dailyQuantity: "100"),
    ],
    from: "2025-01-01", to: "2025-01-05")

func billingConfiguration(_ seed: FakeBillingSeed? = smallSeed, _ change: (inout FakeDatabricksConfiguration) -> Void = { _ in })
    -> FakeDatabricksConfiguration
{
    var configuration = FakeDatabricksConfiguration(token: testToken, billing: seed)
    change(&configuration)
    return configuration
}

func decimal(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Decimal {
    guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
        Issue.record("not a decimal: \(text)", sourceLocation: sourceLocation)
        return .nan
    }
    return value
}

extension FakeClient {
    /// `POST /api/2.0/sql/statements` with `statement`, named string parameters and `extra` fields.
    func execute(
        _ statement: String, parameters: [(String, String)] = [], _ extra: JSONValue = [:], token: String? = testToken
    ) async throws -> HTTPResult {
        var body: JSONValue = [
            "warehouse_id": .string(warehouse), "statement": .string(statement),
            "parameters": .array(parameters.map { ["name": .string($0.0), "value": .string($0.1)] }),
        ]
        for member in extra.members ?? [] { body[member.key] = member.value }
        return try await post("/api/2.0/sql/statements", body, token: token)
    }

    /// Polls `GET /api/2.0/sql/statements/{id}` until the statement ends; returns its last
    /// description and every state seen.
    func waitForEnd(_ id: String, timeout: Duration = .seconds(120)) async throws -> (JSONValue, [String]) {
        let deadline = ContinuousClock.now + timeout
        var states: [String] = []
        while true {
            let response = try await get("/api/2.0/sql/statements/\(id)")
            try #require(response.status == 200, "\(response.body)")
            let json = try #require(response.json)
            let state = json["status"]?["state"]?.stringValue ?? "?"
            if states.last != state { states.append(state) }
            if ["SUCCEEDED", "FAILED", "CANCELED", "CLOSED"].contains(state) { return (json, states) }
            try #require(ContinuousClock.now < deadline, "statement \(id) still \(state)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every row of a SUCCEEDED statement: the first chunk from `statement`, the rest by
    /// following `next_chunk_index`.
    func allRows(of statement: JSONValue) async throws -> (rows: [[String?]], chunks: Int) {
        let id = try #require(statement["statement_id"]?.stringValue)
        var rows = dataArray(statement["result"])
        var chunks = 1
        var next = statement["result"]?["next_chunk_index"]?.intValue
        while let index = next {
            let response = try await get("/api/2.0/sql/statements/\(id)/result/chunks/\(index)")
            try #require(response.status == 200, "\(response.body)")
            let chunk = try #require(response.json)
            #expect(chunk["chunk_index"]?.intValue == index)
            #expect(chunk["row_offset"]?.intValue == rows.count)
            if let link = chunk["next_chunk_internal_link"]?.stringValue {
                #expect(link == "/api/2.0/sql/statements/\(id)/result/chunks/\(index + 1)")
            }
            rows += dataArray(chunk)
            chunks += 1
            next = chunk["next_chunk_index"]?.intValue
        }
        return (rows, chunks)
    }
}

/// `data_array` of a result or chunk.
func dataArray(_ result: JSONValue?) -> [[String?]] {
    (result?["data_array"]?.arrayValue ?? []).map { row in
        (row.arrayValue ?? []).map { $0.isNull ? nil : $0.stringValue }
    }
}
