import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

@Suite("Statement Execution API: the lifecycle")
struct StatementLifecycleTests {
    @Test("a statement answered inline: SUCCEEDED with manifest and result")
    func inlineSuccess() async throws {
        try await withFake(billingConfiguration()) { fake, client in
            let response = try await client.execute(costQuery, parameters: [("from_day", "2025-01-01"), ("to_day", "2025-01-02")])
            #expect(response.status == 200, "\(response.body)")
            let json = try #require(response.json)
            #expect(json["status"]?["state"] == "SUCCEEDED")
            #expect(json["statement_id"]?.stringValue?.count == 36)
            let manifest = try #require(json["manifest"])
            #expect(manifest["format"] == "JSON_ARRAY")
            #expect(manifest["schema"]?["column_count"] == 3)
            let columns = manifest["schema"]?["columns"]?.arrayValue ?? []
            #expect(columns.map { $0["name"]?.stringValue } == ["project", "usage_date", "cost_usd"])
            #expect(columns.map { $0["position"]?.intValue } == [0, 1, 2])
            #expect(columns.map { $0["type_name"]?.stringValue } == ["STRING", "DATE", "DECIMAL"])
            #expect(columns.map { $0["type_text"]?.stringValue } == ["STRING", "DATE", "DECIMAL(38,18)"])
            #expect(manifest["total_row_count"] == 4)
            #expect(manifest["total_chunk_count"] == 1)
            #expect(manifest["truncated"] == false)
            #expect(manifest["chunks"] == [["chunk_index": 0, "row_count": 4, "row_offset": 0]])
            let result = try #require(json["result"])
            #expect(result["chunk_index"] == 0)
            #expect(result["row_offset"] == 0)
            #expect(result["row_count"] == 4)
            #expect(result["next_chunk_index"] == nil)
            // churn: 7 × 0.70; fraud: 12.5 × 0.70 + 3.333333333333333333 × 0.15.
            #expect(
                dataArray(result) == [
                    ["churn", "2025-01-01", "4.900000000000000000"],
                    ["churn", "2025-01-02", "4.900000000000000000"],
                    ["fraud-detection", "2025-01-01", "9.24999999999999999995"],
                    ["fraud-detection", "2025-01-02", "9.24999999999999999995"],
                ])
            // What the client sent, as the fake saw it.
            let sent = try #require(fake.controls.billing.executedStatements.last)
            #expect(sent.statement == costQuery)
            #expect(sent.warehouseID == warehouse)
            #expect(sent.parameters == [.init(name: "from_day", value: "2025-01-01"), .init(name: "to_day", value: "2025-01-02")])
            #expect(fake.controls.billing.statementCount == 1)
        }
    }

    @Test("wait_timeout 0s answers PENDING at once; polling reaches SUCCEEDED through RUNNING")
    func asynchronousPolling() async throws {
        // 2 s: PENDING for the first second, RUNNING for the next, long enough to be seen
        // however busy the machine is.
        try await withFake(billingConfiguration { $0.statementLatency = .seconds(2) }) { _, client in
            let response = try await client.execute(
                "SELECT COUNT(*) AS n FROM system.billing.usage", ["wait_timeout": "0s"])
            let json = try #require(response.json)
            #expect(json["status"] == ["state": "PENDING"])
            #expect(json["manifest"] == nil && json["result"] == nil)
            let id = try #require(json["statement_id"]?.stringValue)
            let (done, polled) = try await client.waitForEnd(id)
            let states = polled.first == "PENDING" ? polled : ["PENDING"] + polled
            // A poll may miss RUNNING when the machine is very busy (StatementStateTests pins
            // the transitions down without timing).
            #expect(states == ["PENDING", "RUNNING", "SUCCEEDED"] || states == ["PENDING", "SUCCEEDED"], "\(states)")
            // 4 resources × 5 days × 24 hourly records.
            #expect(dataArray(done["result"]) == [["480"]])
            #expect(done["manifest"]?["schema"]?["columns"]?[0]?["type_name"] == "LONG")
        }
    }

    @Test("a statement slower than wait_timeout: CANCEL cancels it, CONTINUE leaves it running")
    func waitTimeout() async throws {
        try await withFake(billingConfiguration { $0.statementLatency = .seconds(7) }) { fake, client in
            let started = ContinuousClock.now
            let cancelled = try await client.execute("SELECT 1 AS one", ["wait_timeout": "5s", "on_wait_timeout": "CANCEL"])
            #expect(ContinuousClock.now - started >= .seconds(5))
            #expect(cancelled.json?["status"]?["state"] == "CANCELED")
            let id = try #require(cancelled.json?["statement_id"]?.stringValue)
            #expect(try await client.get("/api/2.0/sql/statements/\(id)").json?["status"]?["state"] == "CANCELED")
            // A canceled statement has no result to fetch.
            expectError(try await client.get("/api/2.0/sql/statements/\(id)/result/chunks/0"), status: 400, errorCode: "INVALID_PARAMETER_VALUE")

            // Long enough that the cancel below always comes first, however busy the machine.
            fake.controls.billing.statementLatency = .seconds(600)
            let running = try await client.execute("SELECT 1 AS one", ["wait_timeout": "5s"])
            // CONTINUE: still going after the wait (PENDING for its first 300 s).
            let state = running.json?["status"]?["state"]?.stringValue
            #expect(state == "PENDING" || state == "RUNNING", "\(running.body)")
            #expect(running.json?["manifest"] == nil)
            let runningID = try #require(running.json?["statement_id"]?.stringValue)
            #expect(try await client.request(.POST, "/api/2.0/sql/statements/\(runningID)/cancel", body: "{}").status == 200)
            #expect(try await client.get("/api/2.0/sql/statements/\(runningID)").json?["status"] == ["state": "CANCELED"])
        }
    }

    @Test("cancel ends a running statement; unknown ids are 404")
    func cancel() async throws {
        try await withFake(billingConfiguration { $0.statementLatency = .seconds(600) }) { _, client in
            let response = try await client.execute("SELECT 1 AS one", ["wait_timeout": "0s"])
            let id = try #require(response.json?["statement_id"]?.stringValue)
            let cancel = try await client.request(.POST, "/api/2.0/sql/statements/\(id)/cancel", body: "{}")
            #expect(cancel.status == 200)
            #expect(cancel.json == [:])
            #expect(try await client.get("/api/2.0/sql/statements/\(id)").json?["status"] == ["state": "CANCELED"])

            let unknown = "01234567-89ab-cdef-0123-456789abcdef"
            expectError(try await client.get("/api/2.0/sql/statements/\(unknown)"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            expectError(try await client.get("/api/2.0/sql/statements/\(unknown)/result/chunks/0"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            expectError(
                try await client.request(.POST, "/api/2.0/sql/statements/\(unknown)/cancel", body: "{}"), status: 404,
                errorCode: "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test("a result larger than a chunk is followed through next_chunk_index")
    func chunks() async throws {
        try await withFake(billingConfiguration { $0.rowsPerChunk = 3 }) { fake, client in
            let statement = """
                SELECT usage_date, record_type, usage_quantity FROM system.billing.usage
                WHERE usage_metadata.warehouse_id = :wh AND usage_start_time < :before ORDER BY usage_start_time
                """
            let response = try await client.execute(statement, parameters: [("wh", "wh-churn"), ("before", "2025-01-01T10:00:00Z")])
            let json = try #require(response.json)
            #expect(json["manifest"]?["total_row_count"] == 10)
            #expect(json["manifest"]?["total_chunk_count"] == 4)
            #expect(json["manifest"]?["chunks"]?.arrayValue?.map { $0["row_count"]?.intValue } == [3, 3, 3, 1])
            #expect(json["result"]?["next_chunk_index"] == 1)
            let (rows, chunks) = try await client.allRows(of: json)
            #expect(chunks == 4)
            // Every hour of 2025-01-01 before 10:00: 7 / 24 rounded to 18 digits.
            #expect(rows.count == 10)
            #expect(rows.allSatisfy { $0 == ["2025-01-01", "ORIGINAL", "0.291666666666666667"] })
            // The same statement without chunking gives the same rows.
            let direct = try await fake.controls.billing.query(
                statement, parameters: [.init(name: "wh", value: "wh-churn"), .init(name: "before", value: "2025-01-01T10:00:00Z")])
            #expect(direct.rows == rows)
            // A chunk past the end is refused.
            let id = try #require(json["statement_id"]?.stringValue)
            expectError(try await client.get("/api/2.0/sql/statements/\(id)/result/chunks/4"), status: 400, errorCode: "INVALID_PARAMETER_VALUE")
        }
    }

    @Test("zero rows: the manifest says so and result is {}")
    func zeroRows() async throws {
        try await withFake(billingConfiguration()) { _, client in
            let response = try await client.execute(costQuery, parameters: [("from_day", "2030-01-01"), ("to_day", "2030-01-31")])
            let json = try #require(response.json)
            #expect(json["status"]?["state"] == "SUCCEEDED")
            #expect(json["result"] == [:])
            #expect(json["manifest"]?["total_row_count"] == 0)
            #expect(json["manifest"]?["total_chunk_count"] == 0)
            #expect(json["manifest"]?["schema"]?["column_count"] == 3)
        }
    }

    @Test("row_limit truncates and says so")
    func rowLimit() async throws {
        try await withFake(billingConfiguration()) { _, client in
            let response = try await client.execute("SELECT record_id FROM system.billing.usage", ["row_limit": 5])
            #expect(response.json?["manifest"]?["total_row_count"] == 5)
            #expect(response.json?["manifest"]?["truncated"] == true)
        }
    }

    @Test("a closed statement reports CLOSED and has no result")
    func closed() async throws {
        try await withFake(billingConfiguration()) { fake, client in
            let response = try await client.execute("SELECT 1 AS one")
            let id = try #require(response.json?["statement_id"]?.stringValue)
            #expect(fake.controls.billing.closeStatement(id))
            #expect(try await client.get("/api/2.0/sql/statements/\(id)").json == ["statement_id": .string(id), "status": ["state": "CLOSED"]])
        }
    }

    struct RejectedRequest: Sendable, CustomTestStringConvertible {
        var label: String
        var body: JSONValue
        var status = 400
        var errorCode = "INVALID_PARAMETER_VALUE"
        var testDescription: String { label }
    }

    @Test(
        "malformed requests are rejected with a 400 naming the field; an unknown warehouse is 404",
        arguments: [
            RejectedRequest(label: "no warehouse", body: ["statement": "SELECT 1"]),
            RejectedRequest(label: "no statement", body: ["warehouse_id": "fake-warehouse"]),
            RejectedRequest(label: "wait_timeout 3s", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "wait_timeout": "3s"]),
            RejectedRequest(label: "wait_timeout 51s", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "wait_timeout": "51s"]),
            RejectedRequest(label: "on_wait_timeout", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "on_wait_timeout": "WAIT"]),
            RejectedRequest(label: "external links", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "disposition": "EXTERNAL_LINKS"]),
            RejectedRequest(label: "CSV inline", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "format": "CSV"]),
            RejectedRequest(label: "parameter without name", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "parameters": [["value": "x"]]]),
            RejectedRequest(label: "negative row_limit", body: ["warehouse_id": "fake-warehouse", "statement": "SELECT 1", "row_limit": -1]),
            RejectedRequest(
                label: "unknown warehouse", body: ["warehouse_id": "nope", "statement": "SELECT 1"], status: 404,
                errorCode: "RESOURCE_DOES_NOT_EXIST"),
        ])
    func rejected(_ request: RejectedRequest) async throws {
        try await withFake(billingConfiguration()) { fake, client in
            let response = try await client.post("/api/2.0/sql/statements", request.body)
            expectError(response, status: request.status, errorCode: request.errorCode)
            #expect(fake.controls.billing.statementCount == 0)
        }
    }

    @Test("statements need the bearer token")
    func authentication() async throws {
        try await withFake(billingConfiguration()) { _, client in
            expectError(try await client.execute("SELECT 1", token: nil), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.execute("SELECT 1", token: "wrong"), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.get("/api/2.0/sql/statements/x", token: nil), status: 401, errorCode: "UNAUTHENTICATED")
        }
    }
}
