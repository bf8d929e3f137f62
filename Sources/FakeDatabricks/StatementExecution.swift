import AsgardJSON
import Hummingbird

/// The SQL Statement Execution API over the fake's billing tables, with its wire formats:
///
/// - `POST /api/2.0/sql/statements` with `{warehouse_id, statement, wait_timeout?, on_wait_timeout?,
///   disposition?, format?, parameters[{name, value?, type?}]?, catalog?, schema?, row_limit?,
///   byte_limit?, query_tags?}` runs the statement and waits up to `wait_timeout` (`0s`, or
///   `5s`..`50s`; default `10s`) for it: the answer is the statement as `GET` describes it, or,
///   when it is still PENDING/RUNNING at the timeout, its id and state (CANCELED instead with
///   `on_wait_timeout: CANCEL`). With `0s` the answer is always `{statement_id, status: PENDING}`;
/// - `GET /api/2.0/sql/statements/{id}`: `{statement_id, status{state, error?, sql_state?},
///   manifest?, result?}`; `manifest` and the first chunk as `result` once SUCCEEDED (a zero-row
///   result is `"result": {}`);
/// - `GET /api/2.0/sql/statements/{id}/result/chunks/{n}`: chunk `n` (`{chunk_index, row_offset,
///   row_count, data_array, next_chunk_index?, next_chunk_internal_link?}`);
/// - `POST /api/2.0/sql/statements/{id}/cancel`: `{}`; a statement still running ends CANCELED.
///
/// A statement the warehouse cannot run (bad syntax, unknown table or column, no SELECT
/// privilege) still answers 200, with state FAILED and `status.error{error_code: BAD_REQUEST,
/// message: "[CLASS] ... SQLSTATE: xxxxx"}` and `status.sql_state`: `ServiceErrorCode` in the
/// official SDKs has no PERMISSION_DENIED, so a permission failure is told by its class
/// (INSUFFICIENT_PERMISSIONS) and SQLSTATE 42501. A rejected request is 400
/// INVALID_PARAMETER_VALUE; an unknown statement 404 RESOURCE_DOES_NOT_EXIST. An unknown
/// warehouse is answered 404 RESOURCE_DOES_NOT_EXIST too (no official source says which status
/// Databricks uses; a missing resource named in the body reads as not found).
extension FakeDatabricks {
    func addStatementRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/2.0/sql/statements") { request, _ -> Response in
            try self.authenticate(request)
            let (_, json) = try await self.readBody(request)
            return try await self.executeStatement(StatementRequest.parse(json).get())
        }
        router.get("/api/2.0/sql/statements/:id") { request, context -> Response in
            try self.authenticate(request)
            let id = context.parameters.get("id") ?? ""
            guard let record = self.controls.billing.statement(id) else { throw statementNotFound(id) }
            return jsonResponse(.ok, StatementWire.describe(record, at: .now))
        }
        router.get("/api/2.0/sql/statements/:id/result/chunks/:chunk") { request, context -> Response in
            try self.authenticate(request)
            let id = context.parameters.get("id") ?? ""
            guard let record = self.controls.billing.statement(id) else { throw statementNotFound(id) }
            let text = context.parameters.get("chunk") ?? ""
            guard let index = Int(text), index >= 0 else {
                throw DatabricksAPIError.invalid("Invalid chunk index '\(text)': expected a non-negative integer.")
            }
            let state = record.state(at: .now)
            guard state == "SUCCEEDED", case .success(let result) = record.outcome else {
                throw DatabricksAPIError.invalid("Statement \(id) is \(state): a result is available only once it SUCCEEDED.")
            }
            let chunks = StatementWire.chunkCount(result.rows.count, record.rowsPerChunk)
            guard index < chunks else {
                throw DatabricksAPIError.invalid("Chunk index \(index) is out of range: the result of statement \(id) has \(chunks) chunk(s).")
            }
            return jsonResponse(.ok, StatementWire.chunk(index, of: result, id: id, rowsPerChunk: record.rowsPerChunk))
        }
        router.post("/api/2.0/sql/statements/:id/cancel") { request, context -> Response in
            try self.authenticate(request)
            let id = context.parameters.get("id") ?? ""
            guard self.controls.billing.cancel(id) != nil else { throw statementNotFound(id) }
            return jsonResponse(.ok, [:])
        }
    }

    /// Runs the statement (its outcome is decided now; the latency knob only delays when it is
    /// reported) and waits as `wait_timeout` and `on_wait_timeout` say.
    func executeStatement(_ request: StatementRequest) async throws -> Response {
        let billing = controls.billing
        let knobs = billing.knobsSnapshot
        guard knobs.warehouseIDs.contains(request.warehouseID) else {
            throw DatabricksAPIError(
                status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST", message: "Warehouse \(request.warehouseID) does not exist.")
        }
        let id = billing.accept(
            warehouseID: request.warehouseID, statement: request.statement, parameters: request.parameters,
            catalog: request.catalog, schema: request.schema)
        let outcome = await billing.run(
            request.statement, parameters: request.parameters, catalog: request.catalog, schema: request.schema,
            rowLimit: request.rowLimit)
        let submitted = ContinuousClock.Instant.now
        let record = StatementRecord(
            id: id, submitted: submitted, completes: submitted + knobs.latency, outcome: outcome, rowsPerChunk: knobs.rowsPerChunk)
        billing.store(record)
        if request.waitTimeout == .zero {
            return jsonResponse(.ok, ["statement_id": .string(id), "status": ["state": "PENDING"]])
        }
        let deadline = submitted + request.waitTimeout
        while true {
            let now = ContinuousClock.Instant.now
            guard let current = billing.statement(id) else { throw statementNotFound(id) }
            // Whether the statement ended before the wait did is a matter of the two instants,
            // not of when this loop wakes (a busy machine may wake it after both).
            if current.isFinished(at: min(now, deadline)) { return jsonResponse(.ok, StatementWire.describe(current, at: now)) }
            if now >= deadline {
                if request.cancelOnTimeout, let canceled = billing.cancel(id, now: deadline) {
                    return jsonResponse(.ok, StatementWire.describe(canceled, at: now))
                }
                return jsonResponse(.ok, StatementWire.describe(current, at: now))
            }
            // Short steps, so that a cancel arriving meanwhile ends the wait.
            try await Task.sleep(for: min(.milliseconds(20), min(current.completes, deadline) - now))
        }
    }
}

func statementNotFound(_ id: String) -> DatabricksAPIError {
    DatabricksAPIError(status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST", message: "Statement \(id) does not exist.")
}

/// A validated `POST /api/2.0/sql/statements` body.
struct StatementRequest: Sendable {
    var warehouseID: String
    var statement: String
    var waitTimeout: Duration
    var cancelOnTimeout: Bool
    var parameters: [FakeStatementParameter]
    var catalog: String?
    var schema: String?
    var rowLimit: Int?

    /// Every problem is a 400 INVALID_PARAMETER_VALUE naming the field.
    static func parse(_ json: JSONValue?) -> Result<StatementRequest, DatabricksAPIError> {
        Result { () throws(DatabricksAPIError) -> StatementRequest in
            guard let object = json, case .object = object else { throw .invalid("Request body must be a JSON object.") }
            guard let warehouse = try ServingEndpointRequests.string(object["warehouse_id"], field: "warehouse_id"), !warehouse.isEmpty else {
                throw .invalid("Missing required field: warehouse_id.")
            }
            guard let statement = try ServingEndpointRequests.string(object["statement"], field: "statement"),
                !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else { throw .invalid("Missing required field: statement.") }
            let waitText = try ServingEndpointRequests.string(object["wait_timeout"], field: "wait_timeout") ?? "10s"
            guard waitText.hasSuffix("s"), let seconds = Int(waitText.dropLast()), seconds == 0 || (5...50).contains(seconds) else {
                throw .invalid("Invalid value for wait_timeout: '\(waitText)'. It must be 0s, or between 5s and 50s.")
            }
            let onTimeout = try ServingEndpointRequests.string(object["on_wait_timeout"], field: "on_wait_timeout") ?? "CONTINUE"
            guard ["CONTINUE", "CANCEL"].contains(onTimeout) else {
                throw .invalid("Invalid value for on_wait_timeout: '\(onTimeout)'. It must be CONTINUE or CANCEL.")
            }
            let disposition = try ServingEndpointRequests.string(object["disposition"], field: "disposition") ?? "INLINE"
            switch disposition {
            case "INLINE": break
            case "EXTERNAL_LINKS":
                throw .invalid("Invalid value for disposition: the fake Databricks supports only INLINE results, not EXTERNAL_LINKS.")
            default: throw .invalid("Invalid value for disposition: '\(disposition)'. It must be INLINE or EXTERNAL_LINKS.")
            }
            let format = try ServingEndpointRequests.string(object["format"], field: "format") ?? "JSON_ARRAY"
            switch format {
            case "JSON_ARRAY": break
            case "ARROW_STREAM", "CSV":
                throw .invalid("Invalid value for format: INLINE disposition supports only the JSON_ARRAY format, not \(format).")
            default: throw .invalid("Invalid value for format: '\(format)'. It must be JSON_ARRAY, ARROW_STREAM or CSV.")
            }
            var parameters: [FakeStatementParameter] = []
            if let value = object["parameters"], !value.isNull {
                guard let items = value.arrayValue else { throw .invalid("Invalid value for parameters: expected an array of {name, value, type}.") }
                for (index, item) in items.enumerated() {
                    guard case .object = item else { throw .invalid("Invalid value for parameters[\(index)]: expected an object.") }
                    guard let name = try ServingEndpointRequests.string(item["name"], field: "parameters[\(index)].name"), !name.isEmpty else {
                        throw .invalid("Missing required field: parameters[\(index)].name.")
                    }
                    guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !(name.first?.isNumber ?? true) else {
                        throw .invalid("Invalid value for parameters[\(index)].name: '\(name)' is not a valid parameter marker name.")
                    }
                    guard !parameters.contains(where: { $0.name == name }) else {
                        throw .invalid("Invalid value for parameters: the parameter '\(name)' is given twice.")
                    }
                    let text = try ServingEndpointRequests.string(item["value"], field: "parameters[\(index)].value")
                    let type = try ServingEndpointRequests.string(item["type"], field: "parameters[\(index)].type")
                    parameters.append(FakeStatementParameter(name: name, value: text, type: type))
                }
            }
            var rowLimit: Int?
            if let value = object["row_limit"], !value.isNull {
                guard case .integer(let limit) = value, limit >= 0 else {
                    throw .invalid("Invalid value for row_limit: expected a non-negative integer.")
                }
                rowLimit = Int(limit)
            }
            if let value = object["byte_limit"], !value.isNull {
                guard case .integer(let limit) = value, limit >= 0 else {
                    throw .invalid("Invalid value for byte_limit: expected a non-negative integer.")
                }
            }
            return StatementRequest(
                warehouseID: warehouse, statement: statement, waitTimeout: .seconds(seconds), cancelOnTimeout: onTimeout == "CANCEL",
                parameters: parameters, catalog: try ServingEndpointRequests.string(object["catalog"], field: "catalog"),
                schema: try ServingEndpointRequests.string(object["schema"], field: "schema"), rowLimit: rowLimit)
        }
    }
}

/// The JSON shapes of statements, manifests and chunks.
enum StatementWire {
    static func chunkCount(_ rows: Int, _ rowsPerChunk: Int) -> Int {
        (rows + rowsPerChunk - 1) / rowsPerChunk
    }

    /// The statement as `GET /api/2.0/sql/statements/{id}` answers at `now`.
    static func describe(_ record: StatementRecord, at now: ContinuousClock.Instant) -> JSONValue {
        let state = record.state(at: now)
        var status: JSONValue = ["state": .string(state)]
        var body: JSONValue = ["statement_id": .string(record.id)]
        switch (state, record.outcome) {
        case ("FAILED", .failure(let failure)):
            status["error"] = ["error_code": "BAD_REQUEST", "message": .string(failure.description)]
            status["sql_state"] = .string(failure.sqlState)
        case ("SUCCEEDED", .success(let result)):
            body["manifest"] = manifest(result, rowsPerChunk: record.rowsPerChunk)
            body["result"] = result.rows.isEmpty ? [:] : chunk(0, of: result, id: record.id, rowsPerChunk: record.rowsPerChunk)
        default:
            break
        }
        body["status"] = status
        return body
    }

    static func manifest(_ result: ResultSet, rowsPerChunk: Int) -> JSONValue {
        let columns: [JSONValue] = result.columns.enumerated().map { position, column in
            var object: JSONValue = [
                "name": .string(column.name), "position": .integer(Int64(position)),
                "type_name": .string(column.type.typeName), "type_text": .string(column.type.typeText),
            ]
            if case .decimal(let precision, let scale) = column.type {
                object["type_precision"] = .integer(Int64(precision))
                object["type_scale"] = .integer(Int64(scale))
            }
            return object
        }
        let count = chunkCount(result.rows.count, rowsPerChunk)
        var manifest: JSONValue = [
            "format": "JSON_ARRAY",
            "schema": ["column_count": .integer(Int64(result.columns.count)), "columns": .array(columns)],
            "total_chunk_count": .integer(Int64(count)),
            "total_row_count": .integer(Int64(result.rows.count)),
            "truncated": .bool(result.truncated),
        ]
        if count > 0 {
            manifest["chunks"] = .array(
                (0..<count).map { index in
                    let offset = index * rowsPerChunk
                    return [
                        "chunk_index": .integer(Int64(index)), "row_offset": .integer(Int64(offset)),
                        "row_count": .integer(Int64(min(rowsPerChunk, result.rows.count - offset))),
                    ]
                })
        }
        return manifest
    }

    /// Chunk `index`: its rows, and the way to the next chunk when there is one.
    static func chunk(_ index: Int, of result: ResultSet, id: String, rowsPerChunk: Int) -> JSONValue {
        let offset = index * rowsPerChunk
        let rows = result.rows[offset..<min(offset + rowsPerChunk, result.rows.count)]
        var chunk: JSONValue = [
            "chunk_index": .integer(Int64(index)),
            "row_offset": .integer(Int64(offset)),
            "row_count": .integer(Int64(rows.count)),
            "data_array": .array(rows.map { row in .array(row.map { $0.map(JSONValue.string) ?? .null }) }),
        ]
        if index + 1 < chunkCount(result.rows.count, rowsPerChunk) {
            chunk["next_chunk_index"] = .integer(Int64(index + 1))
            chunk["next_chunk_internal_link"] = .string("/api/2.0/sql/statements/\(id)/result/chunks/\(index + 1)")
        }
        return chunk
    }
}
