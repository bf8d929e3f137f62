import AsgardJSON
import AsgardTestSupport
import FakeDatabricks
import Foundation
import Testing

@Suite("The official Databricks SDK runs SQL against the fake")
struct StatementSDKTests {
    /// `scripts/databricks_sql_check.py` executes the cost query with `wait_timeout="0s"`,
    /// polls `get_statement`, follows chunks with `get_statement_result_chunk_n`, and prints what
    /// it read; the rows must be the seed's costs, whatever the chunking.
    @Test("databricks-sdk: execute_statement, get_statement, get_statement_result_chunk_n")
    func officialSDK() async throws {
        let python = packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("no \(python): run `make venv` to install the pinned databricks-sdk")
            return
        }
        let probe = try await runProcess(python, ["-c", "import databricks.sdk"])
        guard probe.status == 0 else {
            Issue.record("databricks-sdk is not installed in .venv (run `make venv`): \(probe.output)")
            return
        }
        let configuration = billingConfiguration {
            $0.rowsPerChunk = 3
            $0.statementLatency = .milliseconds(300)
        }
        try await withFake(configuration) { fake, client in
            let run = try await runProcess(
                python, [packageRoot + "/scripts/databricks_sql_check.py", fake.url, testToken, warehouse, costQuery, "2025-01-01", "2025-01-05"])
            #expect(run.status == 0, "\(run.output)")
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            let report = try #require(try? JSONValue.parse(last), "\(run.output)")
            #expect(report["state"] == "SUCCEEDED")
            #expect(report["columns"] == [["project", "STRING", "STRING"], ["usage_date", "DATE", "DATE"], ["cost_usd", "DECIMAL", "DECIMAL(38,18)"]])
            #expect(report["total_row_count"] == 10)
            #expect(report["total_chunk_count"] == 4)
            #expect(report["chunks_fetched"] == 4)
            // The same rows the fake computes from the seed, read without chunking.
            let expected = try await client.execute(costQuery, parameters: [("from_day", "2025-01-01"), ("to_day", "2025-01-05")])
            let direct = try await client.allRows(of: try #require(expected.json)).rows
            let rows = (report["rows"]?.arrayValue ?? []).map { row in (row.arrayValue ?? []).map { $0.isNull ? nil : $0.stringValue } }
            #expect(rows == direct)
            #expect(rows.first == ["churn", "2025-01-01", "4.900000000000000000"])
            #expect(rows.last == ["fraud-detection", "2025-01-05", "9.24999999999999999995"])
            #expect(report["failed_state"] == "FAILED")
            #expect(report["failed_sql_state"] == "42703")
            #expect(report["not_found"] == true)
            // What the SDK sent.
            let sent = try #require(fake.controls.billing.executedStatements.first)
            #expect(sent.statement.contains("SUM(u.usage_quantity * p.pricing.effective_list.default)"))
            #expect(sent.parameters == [.init(name: "from_day", value: "2025-01-01"), .init(name: "to_day", value: "2025-01-05")])
        }
    }
}
