import FakeDatabricks
import Testing

/// The SQL engine directly (`FakeBilling.query`, no HTTP): what the translator must leave alone,
/// and the constructs beyond the cost query.
@Suite("The fake's SQL dialect")
struct SQLDialectTests {
    static func billing() -> FakeBilling {
        FakeDatabricks(billingConfiguration()).controls.billing
    }

    @Test("string literals, comments and quoted identifiers are not rewritten")
    func literalsAreLeftAlone() async throws {
        let result = try await Self.billing().query(
            """
            SELECT 'system.billing.usage' AS t, 'custom_tags[''project'']' AS u, "double \\"quoted\\"" AS v,
                   `x`.`usage_date` AS `the day` -- system.billing.nope, custom_tags['x']
            FROM system.billing.usage AS `x` /* JOIN system.billing.nope */
            WHERE x.usage_date = '2025-01-02' LIMIT 1;
            """)
        #expect(result.rows == [["system.billing.usage", "custom_tags['project']", "double \"quoted\"", "2025-01-02"]])
        #expect(result.columns.map(\.name) == ["t", "u", "v", "the day"])
    }

    @Test("one- and two-part table names complete with the request's catalog and schema")
    func catalogAndSchema() async throws {
        let billing = Self.billing()
        let short = try await billing.query("SELECT COUNT(*) AS n FROM list_prices", catalog: "system", schema: "billing")
        #expect(short.rows == [["5"]])
        let two = try await billing.query("SELECT COUNT(*) AS n FROM billing.list_prices", catalog: "system")
        #expect(two.rows == [["5"]])
        await #expect(throws: FakeSQLError.self) { try await billing.query("SELECT COUNT(*) AS n FROM list_prices") }
    }

    @Test("struct fields, map access, CASE, date functions and decimal arithmetic compose")
    func expressions() async throws {
        let result = try await Self.billing().query(
            """
            SELECT p.sku_name, p.pricing.default AS list, p.pricing.promotional.default * 2 AS doubled,
                   CASE WHEN p.pricing.default > 0.6 THEN 'dear' ELSE 'cheap' END AS band,
                   date_trunc('MONTH', p.price_start_time) AS month, -p.pricing.default AS negated
            FROM system.billing.list_prices p
            WHERE p.sku_name LIKE 'PREMIUM_%' AND p.pricing.effective_list.default BETWEEN 0.10 AND 0.70
            ORDER BY list DESC, 1
            """)
        #expect(
            result.rows.map { [$0[0], $0[1], $0[2], $0[3], $0[4], $0[5]] } == [
                ["PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST", "0.700000000000000000", "1.400000000000000000", "dear", "2020-01-01T00:00:00.000Z", "-0.700000000000000000"],
                ["PREMIUM_ALL_PURPOSE_COMPUTE", "0.550000000000000000", "1.100000000000000000", "cheap", "2020-01-01T00:00:00.000Z", "-0.550000000000000000"],
                ["PREMIUM_SQL_PRO_COMPUTE_US_EAST", "0.550000000000000000", "1.100000000000000000", "cheap", "2020-01-01T00:00:00.000Z", "-0.550000000000000000"],
                ["PREMIUM_JOBS_COMPUTE", "0.150000000000000000", "0.300000000000000000", "cheap", "2020-01-01T00:00:00.000Z", "-0.150000000000000000"],
            ])
        #expect(result.columns.map(\.typeName) == ["STRING", "DECIMAL", "DECIMAL", "STRING", "TIMESTAMP", "DECIMAL"])
        #expect(result.columns[1].typeText == "DECIMAL(30,18)")
    }

    @Test("select items built from GROUP BY terms are accepted; others are refused as Spark does")
    func grouping() async throws {
        let billing = Self.billing()
        let result = try await billing.query(
            """
            SELECT upper(coalesce(custom_tags['project'], 'none')) AS project, COUNT(*) AS n FROM system.billing.usage
            GROUP BY coalesce(custom_tags['project'], 'none') ORDER BY 1
            """)
        #expect(result.rows == [["CHURN", "120"], ["FRAUD-DETECTION", "240"], ["NONE", "120"]])
        let error = await #expect(throws: FakeSQLError.self) {
            try await billing.query("SELECT upper(sku_name) AS s, COUNT(*) AS n FROM system.billing.usage GROUP BY usage_date")
        }
        #expect(error?.errorClass == "MISSING_AGGREGATION")
    }

    @Test("decimals too large to compute exactly fail the statement instead of rounding")
    func overflow() async throws {
        let billing = Self.billing()
        try billing.addUsage([FakeUsageRecord(skuName: "BIG", usageDate: "2025-01-01", quantity: "12345678901234567890.123456789012345678")])
        let error = await #expect(throws: FakeSQLError.self) {
            try await billing.query("SELECT usage_quantity * usage_quantity AS square FROM system.billing.usage WHERE sku_name = 'BIG'")
        }
        #expect(error?.errorClass == "NUMERIC_VALUE_OUT_OF_RANGE")
        let cast = await #expect(throws: FakeSQLError.self) {
            try await billing.query("SELECT CAST(usage_quantity AS DECIMAL(5,2)) AS q FROM system.billing.usage WHERE sku_name = 'BIG'")
        }
        #expect(cast?.errorClass == "NUMERIC_VALUE_OUT_OF_RANGE")
    }

    @Test("typed parameters bind as their type; a malformed value fails")
    func typedParameters() async throws {
        let billing = Self.billing()
        let result = try await billing.query(
            "SELECT COUNT(*) AS n FROM system.billing.usage WHERE usage_date >= :day AND usage_quantity > :q",
            parameters: [.init(name: "day", value: "2025-01-05", type: "DATE"), .init(name: "q", value: "4.0", type: "DECIMAL(10,2)")])
        // 01-05 only: hourly records above 4 DBUs are the untagged warehouse's (100 / 24).
        #expect(result.rows == [["24"]])
        await #expect(throws: FakeSQLError.self) {
            try await billing.query("SELECT :d AS d", parameters: [.init(name: "d", value: "yesterday", type: "DATE")])
        }
    }
}
