import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

@Suite("Billing tables and the SQL engine")
struct BillingQueryTests {
    /// Runs `costQuery` over HTTP and returns its rows.
    static func cost(_ client: FakeClient, from: String, to: String) async throws -> [[String?]] {
        let response = try await client.execute(costQuery, parameters: [("from_day", from), ("to_day", to)])
        try #require(response.json?["status"]?["state"] == "SUCCEEDED", "\(response.body)")
        return try await client.allRows(of: try #require(response.json)).rows
    }

    @Test("the cost query prices every tagged resource per project and day, exactly")
    func costByProjectAndDay() async throws {
        try await withFake(billingConfiguration()) { _, client in
            let rows = try await Self.cost(client, from: "2025-01-01", to: "2025-01-05")
            let fraud = decimal("12.5") * decimal("0.70") + decimal("3.333333333333333333") * decimal("0.15")
            let churn = decimal("7") * decimal("0.70")
            var expected: [[String?]] = []
            for (project, cost) in [("churn", churn), ("fraud-detection", fraud)] {
                for day in 1...5 { expected.append([project, "2025-01-0\(day)", "\(cost)"]) }
            }
            #expect(rows.count == expected.count)
            for (row, want) in zip(rows, expected) {
                #expect(row[0] == want[0] && row[1] == want[1], "\(row)")
                #expect(decimal(row[2] ?? "") == decimal(want[2] ?? ""), "\(row) expected \(want)")
            }
            // The untagged warehouse is in no project.
            #expect(!rows.contains { $0[0] == nil })
        }
    }

    @Test("quantities × prices sum exactly over many rows (no binary floating point)")
    func exactDecimals() async throws {
        let third = "0.333333333333333333"
        let seed = FakeBillingSeed(
            resources: (1...40).map { FakeBilledResource(project: "exact", name: "job-\($0)", kind: .job, skuName: "THIRDS", dailyQuantity: third) },
            from: "2025-02-01", to: "2025-02-03", listPrices: [FakeListPrice(skuName: "THIRDS", price: "0.70")], granularity: .daily)
        try await withFake(billingConfiguration(seed)) { fake, client in
            let rows = try await Self.cost(client, from: "2025-02-01", to: "2025-02-28")
            var perDay = Decimal(0)
            for _ in 1...40 { perDay += decimal(third) * decimal("0.70") }
            #expect(perDay == decimal("9.333333333333333324"))
            #expect(rows.map { $0[2] } == Array(repeating: "9.333333333333333324", count: 3))
            // A double would not survive this: 0.1 + 0.2 on decimal columns stays 0.3.
            try fake.controls.billing.addUsage([
                FakeUsageRecord(skuName: "THIRDS", usageDate: "2025-03-01", quantity: "0.1", customTags: ["project": "tenths"]),
                FakeUsageRecord(skuName: "THIRDS", usageDate: "2025-03-01", quantity: "0.2", customTags: ["project": "tenths"]),
            ])
            let sum = try await fake.controls.billing.query(
                "SELECT SUM(usage_quantity) AS q, MAX(usage_quantity) AS m FROM system.billing.usage WHERE custom_tags['project'] = 'tenths'")
            #expect(sum.rows == [["0.300000000000000000", "0.200000000000000000"]])
            #expect(sum.columns.map(\.typeText) == ["DECIMAL(38,18)", "DECIMAL(38,18)"])
        }
    }

    @Test("a price change within the period: each record takes the price in force at its end")
    func priceWindow() async throws {
        let seed = FakeBillingSeed(
            resources: [FakeBilledResource(project: "p", name: "wh", kind: .sqlWarehouse, skuName: sqlSKU, dailyQuantity: "10")],
            from: "2025-01-01", to: "2025-01-06",
            listPrices: [
                FakeListPrice(skuName: sqlSKU, price: "0.70", priceStartTime: "2020-01-01", priceEndTime: "2025-01-04T12:00:00Z"),
                FakeListPrice(skuName: sqlSKU, price: "0.55", priceStartTime: "2025-01-04T12:00:00Z"),
            ], granularity: .daily)
        try await withFake(billingConfiguration(seed)) { _, client in
            let rows = try await Self.cost(client, from: "2025-01-01", to: "2025-01-06")
            // Daily records end at the next midnight: days up to 01-03 end before the change.
            #expect(
                rows.map { [$0[1], $0[2]] } == [
                    ["2025-01-01", "7.000000000000000000"], ["2025-01-02", "7.000000000000000000"],
                    ["2025-01-03", "7.000000000000000000"], ["2025-01-04", "5.500000000000000000"],
                    ["2025-01-05", "5.500000000000000000"], ["2025-01-06", "5.500000000000000000"],
                ])
        }
        // Hourly records: the change at noon splits 01-04 (hours ending at or after 12:00 take the new price).
        var hourly = seed
        hourly.granularity = .hourly
        try await withFake(billingConfiguration(hourly)) { _, client in
            let rows = try await Self.cost(client, from: "2025-01-04", to: "2025-01-04")
            let hour = decimal("0.416666666666666667")
            let last = decimal("10") - hour * 23
            let expected = hour * 11 * decimal("0.70") + (hour * 12 + last) * decimal("0.55")
            #expect(rows.count == 1)
            #expect(decimal(rows.first?[2] ?? "") == expected)
        }
    }

    @Test("a restated day nets out: retraction and restatement replace the original")
    func restatement() async throws {
        try await withFake(billingConfiguration()) { fake, client in
            let retracted = try fake.controls.billing.restate(day: "2025-01-03", resource: "wh-churn", quantity: "2")
            #expect(retracted == 24)
            let rows = try await Self.cost(client, from: "2025-01-02", to: "2025-01-04")
            #expect(rows.filter { $0[0] == "churn" }.map(\.[2]) == ["4.900000000000000000", "1.400000000000000000", "4.900000000000000000"])
            // Restating again retracts the restatement, not the original a second time.
            #expect(try fake.controls.billing.restate(day: "2025-01-03", resource: "wh-churn", quantity: "3") == 24)
            let again = try await Self.cost(client, from: "2025-01-03", to: "2025-01-03")
            #expect(again.first { $0[0] == "churn" }?[2] == "2.100000000000000000")
            let kinds = try await fake.controls.billing.query(
                """
                SELECT record_type, COUNT(*) AS n, SUM(usage_quantity) AS q FROM system.billing.usage
                WHERE usage_metadata.warehouse_id = 'wh-churn' AND usage_date = DATE '2025-01-03' GROUP BY record_type ORDER BY record_type
                """)
            #expect(
                kinds.rows == [
                    ["ORIGINAL", "24", "7.000000000000000000"], ["RESTATEMENT", "48", "5.000000000000000000"],
                    ["RETRACTION", "48", "-9.000000000000000000"],
                ])
            #expect(throws: FakeBillingError.self) { try fake.controls.billing.restate(day: "2025-01-09", resource: "wh-churn", quantity: "1") }
            #expect(throws: FakeBillingError.self) { try fake.controls.billing.restate(day: "2025-01-03", resource: "wh-churn", quantity: "1e3") }
        }
    }

    @Test("a changed query changes the answer")
    func queriesAreEvaluated() async throws {
        try await withFake(billingConfiguration()) { fake, _ in
            let billing = fake.controls.billing
            let bySKU = try await billing.query(
                """
                SELECT sku_name, SUM(usage_quantity) AS dbus FROM system.billing.usage
                WHERE usage_date BETWEEN :from AND :to GROUP BY sku_name ORDER BY dbus DESC
                """, parameters: [.init(name: "from", value: "2025-01-01"), .init(name: "to", value: "2025-01-02")])
            #expect(bySKU.rows == [[sqlSKU, "239.000000000000000000"], [jobsSKU, "6.666666666666666666"]])
            let oneDay = try await billing.query(
                """
                SELECT sku_name, SUM(usage_quantity) AS dbus FROM system.billing.usage
                WHERE usage_date = :day AND custom_tags['project'] IN ('churn', 'fraud-detection') GROUP BY 1 ORDER BY 1
                """, parameters: [.init(name: "day", value: "2025-01-05")])
            #expect(oneDay.rows == [[jobsSKU, "3.333333333333333333"], [sqlSKU, "19.500000000000000000"]])
            let byProject = try await billing.query(
                """
                SELECT COALESCE(custom_tags['project'], 'untagged') AS project, COUNT(DISTINCT usage_date) AS days,
                       CAST(SUM(usage_quantity) AS DECIMAL(10,2)) AS dbus
                FROM system.billing.usage GROUP BY 1 ORDER BY dbus
                """)
            #expect(byProject.rows == [["churn", "5", "35.00"], ["fraud-detection", "5", "79.17"], ["untagged", "5", "500.00"]])
            #expect(byProject.columns.map(\.typeText) == ["STRING", "BIGINT", "DECIMAL(10,2)"])
        }
    }

    struct FailingStatement: Sendable, CustomTestStringConvertible {
        var statement: String
        var errorClass: String
        var sqlState: String
        var testDescription: String { errorClass }
    }

    @Test(
        "a statement the warehouse cannot run ends FAILED with HTTP 200",
        arguments: [
            FailingStatement(statement: "SELEC 1", errorClass: "PARSE_SYNTAX_ERROR", sqlState: "42601"),
            FailingStatement(statement: "SELECT FROM system.billing.usage", errorClass: "PARSE_SYNTAX_ERROR", sqlState: "42601"),
            FailingStatement(statement: "SELECT * FROM system.billing.nope", errorClass: "TABLE_OR_VIEW_NOT_FOUND", sqlState: "42P01"),
            FailingStatement(statement: "SELECT nope FROM system.billing.usage", errorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", sqlState: "42703"),
            FailingStatement(statement: "SELECT pricing.nope FROM system.billing.list_prices", errorClass: "FIELD_NOT_FOUND", sqlState: "42704"),
            FailingStatement(statement: "SELECT usage_date FROM system.billing.usage WHERE usage_date = :missing", errorClass: "UNBOUND_SQL_PARAMETER", sqlState: "42P02"),
            FailingStatement(statement: "SELECT median(usage_quantity) FROM system.billing.usage", errorClass: "UNRESOLVED_ROUTINE", sqlState: "42883"),
            FailingStatement(statement: "SELECT * FROM (SELECT 1)", errorClass: "UNSUPPORTED_FEATURE", sqlState: "0A000"),
            FailingStatement(statement: "DELETE FROM system.billing.usage", errorClass: "UNSUPPORTED_FEATURE", sqlState: "0A000"),
            FailingStatement(statement: "SELECT 'it''s", errorClass: "PARSE_SYNTAX_ERROR", sqlState: "42601"),
            FailingStatement(statement: "SELECT usage_date FROM system.billing.usage GROUP BY 3", errorClass: "GROUP_BY_POS_OUT_OF_RANGE", sqlState: "42805"),
            FailingStatement(
                statement: "SELECT sku_name, usage_date, SUM(usage_quantity) AS q FROM system.billing.usage GROUP BY sku_name",
                errorClass: "MISSING_AGGREGATION", sqlState: "42803"),
            FailingStatement(statement: "SELECT sku_name, COUNT(*) AS n FROM system.billing.usage", errorClass: "MISSING_GROUP_BY", sqlState: "42803"),
        ])
    func failed(_ case: FailingStatement) async throws {
        try await withFake(billingConfiguration()) { _, client in
            let response = try await client.execute(`case`.statement)
            #expect(response.status == 200, "\(response.body)")
            let status = try #require(response.json?["status"])
            #expect(status["state"] == "FAILED", "\(response.body)")
            #expect(status["error"]?["error_code"] == "BAD_REQUEST")
            let message = status["error"]?["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("[\(`case`.errorClass)]"), "\(message)")
            #expect(message.hasSuffix("SQLSTATE: \(`case`.sqlState)"), "\(message)")
            #expect(status["sql_state"]?.stringValue == `case`.sqlState)
            #expect(response.json?["manifest"] == nil && response.json?["result"] == nil)
        }
    }

    @Test("without SELECT on the billing tables, statements reading them fail; endpoint usage stays readable")
    func billingAccessDenied() async throws {
        try await withFake(billingConfiguration()) { fake, client in
            fake.controls.billing.denyBillingAccess()
            let response = try await client.execute(costQuery, parameters: [("from_day", "2025-01-01"), ("to_day", "2025-01-05")])
            #expect(response.status == 200)
            let status = try #require(response.json?["status"])
            #expect(status["state"] == "FAILED")
            #expect(status["sql_state"] == "42501")
            #expect(
                status["error"]?["message"]
                    == "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have SELECT on Table 'system.billing.usage'. SQLSTATE: 42501")
            let prices = try await client.execute("SELECT sku_name FROM system.billing.list_prices")
            #expect(prices.json?["status"]?["error"]?["message"]?.stringValue?.contains("'system.billing.list_prices'") == true)
            let serving = try await client.execute("SELECT COUNT(*) AS n FROM system.serving.endpoint_usage")
            #expect(serving.json?["status"]?["state"] == "SUCCEEDED")
            fake.controls.billing.denyBillingAccess(false)
            let allowed = try await client.execute(costQuery, parameters: [("from_day", "2025-01-01"), ("to_day", "2025-01-05")])
            #expect(allowed.json?["status"]?["state"] == "SUCCEEDED")
        }
    }

    @Test("an invocation carrying usage_context is recorded in system.serving.endpoint_usage")
    func endpointUsageFromInvocations() async throws {
        try await withFake(billingConfiguration(nil)) { fake, client in
            let first = try await client.invoke(chat("How many frauds today?", ["usage_context": ["project": "fraud-detection"], "client_request_id": "r-1"]))
            #expect(first.status == 200)
            let second = try await client.invoke(chat("And yesterday, please?", ["usage_context": ["project": "fraud-detection"]]), on: "fraud-triage")
            #expect(second.status == 200)
            // The OpenAI-compatible route records usage too.
            let other = try await client.post(
                "/serving-endpoints/chat/completions", chat("Churn?", ["model": .string(llama), "usage_context": ["project": "churn"]]))
            #expect(other.status == 200)
            _ = try await client.invoke(chat("No context at all"))
            let tokens = [first, second].map { ($0.json?["usage"]?["prompt_tokens"]?.intValue ?? -1, $0.json?["usage"]?["completion_tokens"]?.intValue ?? -1) }
            let reconciliation = """
                SELECT usage_context['project'] AS project, CAST(request_time AS DATE) AS day,
                       SUM(input_token_count) AS input_tokens, SUM(output_token_count) AS output_tokens
                FROM system.serving.endpoint_usage
                WHERE usage_context['project'] IS NOT NULL AND status_code = 200
                GROUP BY 1, 2 ORDER BY 1
                """
            let response = try await client.execute(reconciliation)
            let json = try #require(response.json)
            #expect(json["status"]?["state"] == "SUCCEEDED", "\(response.body)")
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let churnTokens = (other.json?["usage"]?["prompt_tokens"]?.intValue ?? -1, other.json?["usage"]?["completion_tokens"]?.intValue ?? -1)
            #expect(
                dataArray(json["result"]) == [
                    ["churn", today, String(churnTokens.0), String(churnTokens.1)],
                    ["fraud-detection", today, String(tokens[0].0 + tokens[1].0), String(tokens[0].1 + tokens[1].1)],
                ])
            #expect(json["manifest"]?["schema"]?["columns"]?.arrayValue?.map { $0["type_name"]?.stringValue } == ["STRING", "DATE", "LONG", "LONG"])
            let detail = try await fake.controls.billing.query(
                "SELECT endpoint_name, served_entity_name, client_request_id, request_streaming FROM system.serving.endpoint_usage WHERE usage_context['project'] = 'fraud-detection' ORDER BY request_time, endpoint_name")
            #expect(
                detail.rows == [
                    [llama, "databricks-meta-llama-3-3-70b-instruct", "r-1", "false"], ["fraud-triage", "fraud-triage-llm-1", nil, "false"],
                ])
            // Every invocation is recorded; those without usage_context have a NULL map.
            let all = try await fake.controls.billing.query("SELECT COUNT(*) AS n, COUNT(usage_context) AS tagged FROM system.serving.endpoint_usage")
            #expect(all.rows == [["4", "3"]])
        }
    }

    @Test("a serving endpoint created through the API accrues billed usage with its tags")
    func servingUsageAccrues() async throws {
        try await withFake(billingConfiguration(nil)) { fake, client in
            let created = try await client.post(
                "/api/2.0/serving-endpoints",
                [
                    "name": "churn-scorer",
                    "config": ["served_entities": [["entity_name": "main.ml.churn", "entity_version": "3", "workload_size": "Small"]]],
                    "tags": [["key": "project", "value": "churn"], ["key": "team", "value": "growth"]],
                ])
            #expect(created.status == 200, "\(created.body)")
            let billed = try fake.controls.accrueServingUsage(day: "2025-01-10", dbus: "4.5")
            #expect(billed == ["fraud-triage", "churn-scorer"])
            try fake.controls.accrueServingUsage(day: "2025-01-11", dbus: "1.25")
            let rows = try await Self.cost(client, from: "2025-01-10", to: "2025-01-11")
            // Serving at 0.07 a DBU.
            #expect(
                rows == [
                    ["churn", "2025-01-10", "0.315000000000000000"], ["churn", "2025-01-11", "0.087500000000000000"],
                    ["fraud-detection", "2025-01-10", "0.315000000000000000"], ["fraud-detection", "2025-01-11", "0.087500000000000000"],
                ])
            let tags = try await fake.controls.billing.query(
                "SELECT custom_tags['team'] AS team, usage_metadata.endpoint_name AS endpoint, billing_origin_product FROM system.billing.usage WHERE usage_metadata.endpoint_name = 'churn-scorer' LIMIT 1")
            #expect(tags.rows == [["growth", "churn-scorer", "MODEL_SERVING"]])
            #expect(throws: FakeBillingError.self) { try fake.controls.accrueServingUsage(day: "2025-13-01", dbus: "1") }
        }
    }

    @Test("the generated benchmark seed has projects × SKUs × days rows, and reset restores the seed")
    func generatedSeed() async throws {
        let seed = FakeBillingSeed.generated(projects: 12, skus: 7, days: 30, endingOn: "2025-03-31")
        #expect(seed.from == "2025-03-02" && seed.to == "2025-03-31")
        #expect(seed.resources.count == 84)
        let fake = FakeDatabricks(billingConfiguration(seed))
        let billing = fake.controls.billing
        #expect(billing.seedError == nil)
        let count = try await billing.query(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT custom_tags['project']) AS projects, COUNT(DISTINCT sku_name) AS skus FROM system.billing.usage")
        #expect(count.rows == [["2520", "12", "7"]])
        let priced = try await billing.query(costQuery, parameters: [.init(name: "from_day", value: "2025-03-01"), .init(name: "to_day", value: "2025-03-31")])
        #expect(priced.rows.count == 12 * 30)
        try billing.addUsage([FakeUsageRecord(skuName: "X", usageDate: "2025-03-01", quantity: "1")])
        fake.controls.reset()
        #expect(try await billing.query("SELECT COUNT(*) AS n FROM system.billing.usage").rows == [["2520"]])
    }

    @Test("a malformed seed keeps the fake from starting, with the reason")
    func badSeed() async throws {
        let seed = FakeBillingSeed(
            resources: [FakeBilledResource(project: "p", name: "wh", kind: .sqlWarehouse, skuName: sqlSKU, dailyQuantity: "ten")],
            from: "2025-01-01", to: "2025-01-02")
        let fake = FakeDatabricks(billingConfiguration(seed))
        let error = try #require(fake.controls.billing.seedError)
        #expect(error.description.contains("'ten'"))
        await #expect(throws: FakeBillingError.self) { _ = try await fake.start() }
    }
}
