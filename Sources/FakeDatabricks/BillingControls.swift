import Foundation
import GRDB
import Synchronization

/// A statement the fake received on `POST /api/2.0/sql/statements` (after validation), so that
/// a test can check what a client sent.
public struct FakeExecutedStatement: Sendable, Hashable {
    public var statementID: String
    public var warehouseID: String
    public var statement: String
    public var parameters: [FakeStatementParameter]
    public var catalog: String?
    public var schema: String?
}

/// A column of a `FakeQueryResult`, typed as a result manifest types it.
public struct FakeResultColumn: Sendable, Hashable {
    public var name: String
    /// `type_name`, e.g. `DECIMAL`, `DATE`, `STRING`, `LONG`.
    public var typeName: String
    /// `type_text`, e.g. `DECIMAL(38,18)`, `BIGINT`.
    public var typeText: String
}

/// What a statement answered: columns and rows, every value a string or nil as in
/// `data_array`.
public struct FakeQueryResult: Sendable, Hashable {
    public var columns: [FakeResultColumn]
    public var rows: [[String?]]
    /// Whether `rowLimit` cut the rows.
    public var truncated: Bool
}

/// The fake workspace's billing data and SQL warehouse, and their knobs: the tables
/// (`system.billing.usage`, `system.billing.list_prices`, `system.serving.endpoint_usage`) in
/// an in-memory SQLite database, the statements executed, access denial, latency and chunking.
/// Reached as `FakeDatabricksControls.billing`; thread-safe.
public final class FakeBilling: Sendable {
    private struct Knobs {
        var warehouseIDs: Set<String>
        var rowsPerChunk: Int
        var statementLatency: Duration
        var deniedTables: Set<String> = []
    }

    private struct State {
        var knobs: Knobs
        var executed: [FakeExecutedStatement] = []
        var statements: [String: StatementRecord] = [:]
        var issued = 0
    }

    /// How many executed statements `executedStatements` keeps (the oldest are dropped).
    public static let keptStatements = 1000

    let database: BillingDatabase
    private let seed: FakeBillingSeed?
    private let initialKnobs: Knobs
    private let state: Mutex<State>
    private let seedFailure: Mutex<FakeBillingError?>

    init(configuration: FakeDatabricksConfiguration) {
        database = BillingDatabase(accountID: configuration.accountID, workspaceID: configuration.workspaceID)
        seed = configuration.billing
        initialKnobs = Knobs(
            warehouseIDs: configuration.warehouseIDs, rowsPerChunk: max(1, configuration.rowsPerChunk),
            statementLatency: configuration.statementLatency)
        state = Mutex(State(knobs: initialKnobs))
        seedFailure = Mutex(nil)
        reseed()
    }

    private func reseed() {
        do {
            try database.clear()
            try database.seed(seed)
            seedFailure.withLock { $0 = nil }
        } catch let error as FakeBillingError {
            seedFailure.withLock { $0 = error }
        } catch {
            seedFailure.withLock { $0 = FakeBillingError("seed: \(error)") }
        }
    }

    /// Why the configured seed could not be written, if it could not (`FakeDatabricks.start()`
    /// throws it; statements fail with it).
    public var seedError: FakeBillingError? { seedFailure.withLock { $0 } }

    /// Empties the tables and writes the configured seed again, forgets statements, and
    /// restores the configured knobs.
    public func reset() {
        state.withLock { $0 = State(knobs: initialKnobs) }
        reseed()
    }

    // MARK: Data

    /// Adds rows to `system.billing.usage`, ingested 1 day after their usage day.
    /// - Throws: `FakeBillingError` for a malformed day, time or quantity (nothing is added).
    public func addUsage(_ records: [FakeUsageRecord]) throws {
        try database.insert(usage: records, ingestionOffsetDays: 1)
    }

    /// Adds rows to `system.billing.list_prices`.
    /// - Throws: `FakeBillingError` for a malformed time or price.
    public func addListPrices(_ prices: [FakeListPrice]) throws {
        try database.insert(prices: prices)
    }

    /// Restates `day` (`YYYY-MM-DD`) for `resource` (its warehouse id, job id or endpoint name)
    /// to `quantity` DBUs, as Databricks corrects usage: a RETRACTION record negating each record
    /// in force and RESTATEMENT records carrying the new quantity. Returns how many records were
    /// retracted.
    /// - Throws: `FakeBillingError` for a bad day or quantity, or when the resource had no usage
    ///   that day.
    @discardableResult
    public func restate(day: String, resource: String, quantity: String) throws -> Int {
        try database.restate(day: day, resource: resource, quantity: quantity)
    }

    /// Runs `statement` as a warehouse would (the same translation, checks and formatting as
    /// the Statement Execution API, without HTTP, latency or chunking).
    /// - Throws: `FakeSQLError` when the statement would end FAILED.
    public func query(
        _ statement: String, parameters: [FakeStatementParameter] = [], catalog: String? = nil, schema: String? = nil,
        rowLimit: Int? = nil
    ) async throws -> FakeQueryResult {
        switch await run(statement, parameters: parameters, catalog: catalog, schema: schema, rowLimit: rowLimit) {
        case .success(let result): return result.public
        case .failure(let failure): throw FakeSQLError(errorClass: failure.errorClass, message: failure.description, sqlState: failure.sqlState)
        }
    }

    // MARK: Knobs

    /// The warehouse ids statements may name (configuration `warehouseIDs`).
    public var warehouseIDs: Set<String> {
        get { state.withLock { $0.knobs.warehouseIDs } }
        set { state.withLock { $0.knobs.warehouseIDs = newValue } }
    }

    /// Rows per result chunk (at least 1).
    public var rowsPerChunk: Int {
        get { state.withLock { $0.knobs.rowsPerChunk } }
        set { state.withLock { $0.knobs.rowsPerChunk = max(1, newValue) } }
    }

    /// How long a statement stays PENDING (first half) then RUNNING before it completes.
    public var statementLatency: Duration {
        get { state.withLock { $0.knobs.statementLatency } }
        set { state.withLock { $0.knobs.statementLatency = newValue } }
    }

    /// Tables (three-part names) the caller may not SELECT from: statements reading them end
    /// FAILED with INSUFFICIENT_PERMISSIONS (SQLSTATE 42501).
    public var deniedTables: Set<String> {
        get { state.withLock { $0.knobs.deniedTables } }
        set { state.withLock { $0.knobs.deniedTables = Set(newValue.map { $0.lowercased() }) } }
    }

    /// Denies SELECT on `system.billing.usage` and `system.billing.list_prices`, like a
    /// principal nobody granted the billing schema to; `false` grants them again.
    public func denyBillingAccess(_ deny: Bool = true) {
        let billing: Set<String> = [BillingCatalog.usage.name, BillingCatalog.listPrices.name]
        state.withLock { state in
            if deny { state.knobs.deniedTables.formUnion(billing) } else { state.knobs.deniedTables.subtract(billing) }
        }
    }

    // MARK: What was received

    /// Statements accepted by `POST /api/2.0/sql/statements` (valid requests, whatever the SQL
    /// did), oldest first.
    public var executedStatements: [FakeExecutedStatement] { state.withLock { $0.executed } }

    /// How many statements were accepted.
    public var statementCount: Int { state.withLock { $0.issued } }

    /// Closes a statement as Databricks does when its result expires: it reports CLOSED and its
    /// result is gone. Returns false for an unknown id.
    @discardableResult
    public func closeStatement(_ id: String) -> Bool {
        state.withLock { state in
            guard state.statements[id] != nil else { return false }
            state.statements[id]!.closed = true
            return true
        }
    }

    // MARK: Used by the server

    var knobsSnapshot: (warehouseIDs: Set<String>, rowsPerChunk: Int, latency: Duration) {
        state.withLock { ($0.knobs.warehouseIDs, $0.knobs.rowsPerChunk, $0.knobs.statementLatency) }
    }

    /// Records an accepted statement and returns its new id.
    func accept(
        warehouseID: String, statement: String, parameters: [FakeStatementParameter], catalog: String?, schema: String?
    ) -> String {
        state.withLock { state in
            state.issued += 1
            let id = BillingDatabase.recordID(["statement", String(state.issued)])
            state.executed.append(
                FakeExecutedStatement(
                    statementID: id, warehouseID: warehouseID, statement: statement, parameters: parameters, catalog: catalog,
                    schema: schema))
            if state.executed.count > Self.keptStatements { state.executed.removeFirst(state.executed.count - Self.keptStatements) }
            return id
        }
    }

    func store(_ record: StatementRecord) {
        state.withLock { $0.statements[record.id] = record }
    }

    func statement(_ id: String) -> StatementRecord? {
        state.withLock { $0.statements[id] }
    }

    /// Cancels `id` unless it already ended; nil for an unknown id.
    func cancel(_ id: String, now: ContinuousClock.Instant = .now) -> StatementRecord? {
        state.withLock { state in
            guard var record = state.statements[id] else { return nil }
            if !record.isFinished(at: now) {
                record.canceled = true
                state.statements[id] = record
            }
            return record
        }
    }

    /// Translates, checks and runs `statement` against the tables.
    func run(
        _ statement: String, parameters: [FakeStatementParameter], catalog: String?, schema: String?, rowLimit: Int?
    ) async -> Result<ResultSet, SQLFailure> {
        if let seedError {
            return .failure(SQLFailure(errorClass: "INTERNAL_ERROR", message: "The fake's billing seed is invalid: \(seedError)", sqlState: "XX000"))
        }
        let query: TranslatedQuery
        do {
            query = try SQLTranslator.translate(statement, parameters: parameters, catalog: catalog, schema: schema)
        } catch {
            return .failure(error)
        }
        let denied = deniedTables
        if let table = query.tables.first(where: denied.contains) {
            return .failure(
                SQLFailure(
                    errorClass: "INSUFFICIENT_PERMISSIONS",
                    message: "Insufficient privileges: User does not have SELECT on Table '\(table)'.", sqlState: "42501"))
        }
        do {
            let (rows, truncated) = try await database.queue.read { db -> ([[String?]], Bool) in
                let cursor = try Row.fetchCursor(db, sql: query.sql, arguments: StatementArguments(query.arguments.mapValues { $0 as (any DatabaseValueConvertible)? }))
                var rows: [[String?]] = []
                while let row = try cursor.next() {
                    if let rowLimit, rows.count >= rowLimit { return (rows, true) }
                    rows.append(query.columns.indices.map { ResultSet.format(row[$0] as DatabaseValue, query.columns[$0].type) })
                }
                return (rows, false)
            }
            return .success(ResultSet(columns: query.columns, rows: rows, truncated: truncated))
        } catch let error as DatabaseError {
            let message = error.message ?? "\(error)"
            if message.hasPrefix("["), let close = message.firstIndex(of: "]") {
                let errorClass = String(message[message.index(after: message.startIndex)..<close])
                let rest = message[message.index(after: close)...].trimmingCharacters(in: .whitespaces)
                return .failure(SQLFailure(errorClass: errorClass, message: rest, sqlState: errorClass.hasPrefix("NUMERIC") ? "22003" : "22018"))
            }
            return .failure(
                SQLFailure(errorClass: "INTERNAL_ERROR", message: "The fake's SQLite engine rejected the translated query: \(message)", sqlState: "XX000"))
        } catch {
            return .failure(SQLFailure(errorClass: "INTERNAL_ERROR", message: "\(error)", sqlState: "XX000"))
        }
    }

    /// Writes one `system.serving.endpoint_usage` row for an invocation.
    func recordInvocation(
        endpoint: String, servedEntity: FakeServedEntity?, requestID: String, clientRequestID: String?, statusCode: Int,
        inputTokens: Int, outputTokens: Int, inputCharacters: Int, outputCharacters: Int, usageContext: [String: String]?,
        streaming: Bool
    ) {
        let context = usageContext.map { context in
            "{" + context.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",") + "}"
        }
        let now = Date().timeIntervalSince1970
        let time = CivilTime.timestamp(second: Int(now.rounded(.down)), millis: Int((now - now.rounded(.down)) * 1000))
        let entityName = servedEntity?.name ?? endpoint
        // Best effort: a failure to write usage must not fail the invocation (Databricks writes
        // this table asynchronously too).
        try? database.insertEndpointUsage([
            database.accountID, database.workspaceID, clientRequestID, requestID, "fake-user@databricks.test", statusCode, time,
            inputTokens, outputTokens, inputCharacters, outputCharacters, context, streaming,
            FakeServingEndpoint.derivedID("entity:" + endpoint + "/" + entityName), endpoint, entityName,
        ])
    }

    private func jsonString(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default:
                if scalar.value < 0x20 {
                    escaped += String(format: "\\u%04x", scalar.value)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped + "\""
    }
}

/// A statement that ended FAILED, as `FakeBilling.query` reports it.
public struct FakeSQLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// E.g. `TABLE_OR_VIEW_NOT_FOUND`, `INSUFFICIENT_PERMISSIONS`.
    public var errorClass: String
    /// `[CLASS] message SQLSTATE: xxxxx`, as `status.error.message` carries it.
    public var message: String
    public var sqlState: String
    public var description: String { message }
}

/// A statement's rows, formatted as `data_array` carries them.
struct ResultSet: Sendable {
    var columns: [(name: String, type: SQLType)]
    var rows: [[String?]]
    var truncated: Bool

    var `public`: FakeQueryResult {
        FakeQueryResult(
            columns: columns.map { FakeResultColumn(name: $0.name, typeName: $0.type.typeName, typeText: $0.type.typeText) },
            rows: rows, truncated: truncated)
    }

    /// A value as Databricks writes it in JSON_ARRAY: decimals in full scale, booleans
    /// `true`/`false`, everything a string, NULL nil.
    static func format(_ value: DatabaseValue, _ type: SQLType) -> String? {
        switch value.storage {
        case .null: return nil
        case .int64(let integer):
            switch type {
            case .boolean: return integer != 0 ? "true" : "false"
            case .decimal(_, let scale): return ExactDecimal.text(ExactDecimal.value(integer), minimumScale: scale)
            default: return String(integer)
            }
        case .double(let double):
            switch type {
            case .long, .int: return String(Int64(double))
            default: return String(double)
            }
        case .string(let text):
            if case .decimal(_, let scale) = type, let value = ExactDecimal.parse(text) {
                return ExactDecimal.text(value, minimumScale: scale)
            }
            return text
        case .blob(let data):
            return data.base64EncodedString()
        }
    }
}

/// One statement's life: when it was submitted and when it completes (by the latency knob), its
/// outcome computed at submission, and whether it was canceled or closed. Its state is a
/// function of the clock, so no background task drives it.
struct StatementRecord: Sendable {
    var id: String
    var submitted: ContinuousClock.Instant
    var completes: ContinuousClock.Instant
    var outcome: Result<ResultSet, SQLFailure>
    var rowsPerChunk: Int
    var canceled = false
    var closed = false

    func isFinished(at now: ContinuousClock.Instant) -> Bool {
        canceled || closed || now >= completes
    }

    /// PENDING for the first half of the latency, RUNNING for the second, then the outcome.
    func state(at now: ContinuousClock.Instant) -> String {
        if closed { return "CLOSED" }
        if canceled { return "CANCELED" }
        if now >= completes {
            switch outcome {
            case .success: return "SUCCEEDED"
            case .failure: return "FAILED"
            }
        }
        return now < submitted + (completes - submitted) / 2 ? "PENDING" : "RUNNING"
    }
}
