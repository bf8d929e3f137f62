public import AsgardCore
import PostgresNIO

extension PostgresStore {
    /// What a dry run needs from an existing store (observed objects, provisioning records,
    /// engaged kill switches, approvals and requests), read in one read-only snapshot without
    /// migrating or writing anything, and without the audit key.
    ///
    /// - Returns: nil when the database has no Asgard schema yet.
    /// - Throws: `StoreError.unknownSchemaVersion` for a schema written by a newer Asgard;
    ///   `PostgresFailure` when the server cannot be reached or read.
    public static func readOnlySnapshot(url: DatabaseURL) throws -> ReadOnlySnapshot? {
        let connection = BlockingConnection(configuration: try connectionConfiguration(url))
        defer { connection.close() }
        return try connection.transaction { db in
            try db.runBlocking("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let migrated = try db.rowsBlocking("SELECT to_regclass('asgard_migrations')::text AS name").first
            guard try migrated?("name", as: String?.self) != nil else { return nil }
            let applied = Set(try db.rowsBlocking("SELECT id FROM asgard_migrations").map { try $0("id", as: String.self) })
            let unknown = applied.subtracting(PostgresSchema.migrations.map(\.id))
            guard unknown.isEmpty else { throw StoreError.unknownSchemaVersion(unknown.sorted().joined(separator: ", ")) }
            let records = try db.rowsBlocking("SELECT * FROM provisioning").map(ObjectTables.provisioningRecord)
            return ReadOnlySnapshot(
                observed: ObservedState(
                    try db.rowsBlocking("SELECT kind, id, project, spec_digest, tier, status, status_reason FROM objects").map(ObjectTables.observed)),
                records: Dictionary(records.map { ($0.ref, $0) }, uniquingKeysWith: { _, last in last }),
                killSwitches: try db.rowsBlocking("SELECT * FROM kill_switches ORDER BY scope, target").map(GatewayTables.killSwitch),
                approvals: try db.rowsBlocking("SELECT * FROM approvals ORDER BY created_at DESC, ord DESC").map(ApprovalTable.approval),
                requests: try db.rowsBlocking("SELECT * FROM requests ORDER BY created_at, id").map(ApprovalTable.request))
        }
    }
}
