import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite("Schema and migrations")
struct SchemaTests {
    static let tables = [
        "approvals", "audit", "audit_head", "audit_keying", "cost_drift", "cost_sources", "costs", "dashboard_sessions", "enforced_policies", "journal_position", "keys", "kill_switches", "ledger", "objects",
        "provisioning", "requests", "routes",
    ]
    static let migrations = [
        "v1", "v2-kill-switches", "v3-provisioning", "v4-call-journal", "v5-claims", "v6-route-api", "v7-ledger-overrun", "v8-audit-hmac",
        "v9-approval-plans", "v10-endpoint-owners", "v11-enforced-policies", "v12-costs", "v13-requests", "v14-dashboard",
    ]

    @Test("opening creates the parent directory, every table, WAL mode and every migration")
    func createsSchema() async throws {
        try await withScratch { scratch in
            #expect(!FileManager.default.fileExists(atPath: scratch.directory.appendingPathComponent("state").path))
            _ = try scratch.open()
            #expect(FileManager.default.fileExists(atPath: scratch.path))

            let tables = try sqlite3Lines(
                scratch.path,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY name")
            #expect(tables == Self.tables)
            #expect(try sqlite3(scratch.path, "PRAGMA journal_mode") == "wal")
            #expect(try sqlite3(scratch.path, "PRAGMA page_size") == String(SQLiteStore.pageSize))
            #expect(try sqlite3Lines(scratch.path, "SELECT identifier FROM grdb_migrations ORDER BY rowid") == Self.migrations)
            let ledgerIndex = try sqlite3(scratch.path, "SELECT group_concat(name) FROM pragma_index_info('ledger_project_time')")
            #expect(ledgerIndex == "project,time")
        }
    }

    @Test("money columns are INTEGER and no column anywhere is REAL")
    func moneyIsInteger() async throws {
        try await withScratch { scratch in
            _ = try scratch.open()
            let moneyColumns = [
                ("ledger", "cost_micros"), ("approvals", "monthly_estimate_micros"),
                ("routes", "input_per_million_micros"), ("routes", "output_per_million_micros"),
            ]
            for (table, column) in moneyColumns {
                #expect(try sqlite3(scratch.path, "SELECT type FROM pragma_table_info('\(table)') WHERE name = '\(column)'") == "INTEGER")
            }
            var columnCount = 0
            for table in Self.tables {
                let types = try sqlite3Lines(scratch.path, "SELECT upper(type) FROM pragma_table_info('\(table)')")
                columnCount += types.count
                #expect(!types.contains { $0.contains("REAL") || $0.contains("FLOA") || $0.contains("DOUB") }, "\(table): \(types)")
            }
            #expect(columnCount > 50)
        }
    }

    @Test("reopening is idempotent and keeps the data")
    func reopen() async throws {
        try await withScratch { scratch in
            do {
                let store = try scratch.open()
                try await commit(store, Fixture.put(.project(Fixture.project())))
            }
            for _ in 0..<3 {
                let store = try scratch.open()
                #expect(try await store.observedState().objects.keys.map(\.description) == ["Project/fraud"])
                let head = try #require(try await store.summary().auditHead)
                #expect(try await store.verifyAudit() == .intact(count: 1, head: head))
            }
            #expect(try sqlite3Lines(scratch.path, "SELECT identifier FROM grdb_migrations ORDER BY rowid") == Self.migrations)
        }
    }

    @Test("a database migrated by a newer binary is refused", arguments: [["v9"], ["v9_add_budgets", "v10"]])
    func unknownMigration(extra: [String]) async throws {
        try await withScratch { scratch in
            do {
                let store = try scratch.open()
                try await store.appendAudit(Fixture.audit())
            }
            for identifier in extra {
                try sqlite3(scratch.path, "INSERT INTO grdb_migrations (identifier) VALUES ('\(identifier)')")
            }
            #expect(throws: StoreError.unknownSchemaVersion(extra.sorted().joined(separator: ", "))) {
                try scratch.open()
            }
            // Refusing does not touch the database.
            #expect(try sqlite3(scratch.path, "SELECT count(*) FROM grdb_migrations") == String(extra.count + Self.migrations.count))
            #expect(try sqlite3(scratch.path, "SELECT count(*) FROM audit") == "1")
        }
    }

    @Test("v5 keeps the keys and routes of a store written before it, each with its owner and claim")
    func claimsMigrationKeepsRows() async throws {
        try await withScratch { scratch in
            do {
                let store = try scratch.open()
                try await commit(store, Fixture.put(.service(Fixture.service())))
                try await commit(store, Fixture.put(.key(Fixture.key())))
                try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint()), tier: .human))
            }
            // Put the two tables back as v1 made them, with the rows a v4 store would hold.
            _ = try sqlite3(
                scratch.path,
                """
                CREATE TABLE keys_v4 (id TEXT NOT NULL PRIMARY KEY, project TEXT NOT NULL, digest TEXT NOT NULL UNIQUE,
                    spec_json TEXT NOT NULL, status TEXT NOT NULL) STRICT;
                INSERT INTO keys_v4 SELECT id, project, digest, spec_json, status FROM keys;
                DROP TABLE keys; ALTER TABLE keys_v4 RENAME TO keys;
                CREATE TABLE routes_v4 (model TEXT NOT NULL PRIMARY KEY, vendor TEXT NOT NULL, upstream TEXT NOT NULL,
                    base_url_env TEXT NOT NULL, token_env TEXT NOT NULL, chat_path TEXT, timeout_seconds INTEGER NOT NULL,
                    sends_usage_context INTEGER NOT NULL, default_max_tokens INTEGER NOT NULL, input_per_million_micros INTEGER NOT NULL,
                    output_per_million_micros INTEGER NOT NULL, max_data_class TEXT NOT NULL, serving_endpoint TEXT) STRICT;
                INSERT INTO routes_v4 SELECT model, vendor, upstream, base_url_env, token_env, chat_path, timeout_seconds, sends_usage_context,
                    default_max_tokens, input_per_million_micros, output_per_million_micros, max_data_class, serving_endpoint FROM routes;
                DROP TABLE routes; ALTER TABLE routes_v4 RENAME TO routes;
                DROP TABLE audit_keying;
                DELETE FROM grdb_migrations WHERE identifier IN ('v5-claims', 'v6-route-api', 'v8-audit-hmac', 'v10-endpoint-owners');
                """)
            let store = try scratch.open()
            // v5, v6 and v9 (the routes columns after v5) ran again, after the later ones.
            #expect(try sqlite3Lines(scratch.path, "SELECT identifier FROM grdb_migrations ORDER BY identifier") == Self.migrations.sorted())
            #expect(
                try sqlite3Lines(scratch.path, "SELECT model || ' ' || owner FROM routes ORDER BY model") == [
                    "databricks/dbrx Service/databricks", "databricks/fraud-llm ServingEndpoint/fraud-llm",
                    "databricks/llama-3-3-70b Service/databricks",
                ])
            #expect(try await servedKey(store, digest: Fixture.key().digest) == Fixture.key())
            // The migrated rows behave like new ones: a rename with the same digest no longer fails.
            try await commit(store, Fixture.put(.key(Fixture.key("renamed"))))
            #expect(try await servedKey(store, digest: Fixture.key().digest)?.id == "renamed")
        }
    }

    @Test("v8 and v9 keep approvals and endpoint routes of a store written before them: a fixed estimate, the endpoint's project")
    func planAndOwnerMigrationsKeepRows() async throws {
        try await withScratch { scratch in
            do {
                let store = try scratch.open()
                try await commit(store, Fixture.put(.service(Fixture.service())))
                try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint()), tier: .human))
                _ = try await store.requestApproval(ApprovalTests.request())
            }
            // Take the columns away again, as a v7 store had it.
            _ = try sqlite3(
                scratch.path,
                """
                ALTER TABLE approvals DROP COLUMN operation; ALTER TABLE approvals DROP COLUMN changes_json;
                ALTER TABLE approvals DROP COLUMN estimate_basis; ALTER TABLE approvals DROP COLUMN estimate_detail;
                ALTER TABLE routes DROP COLUMN project; ALTER TABLE routes DROP COLUMN shared_with_json;
                DROP TABLE enforced_policies;
                DROP TABLE costs; DROP TABLE cost_drift; ALTER TABLE cost_sources DROP COLUMN reconcile_tolerance_percent;
                DROP TABLE requests;
                DROP TABLE dashboard_sessions; DROP INDEX audit_project; DROP INDEX audit_action; ALTER TABLE audit DROP COLUMN project;
                DELETE FROM grdb_migrations WHERE identifier IN ('v9-approval-plans', 'v10-endpoint-owners', 'v11-enforced-policies', 'v12-costs', 'v13-requests', 'v14-dashboard');
                """)
            let store = try scratch.open()
            #expect(try sqlite3Lines(scratch.path, "SELECT identifier FROM grdb_migrations ORDER BY rowid") == Self.migrations)
            let approval = try #require(try await store.approvals(status: nil).first)
            #expect(approval.operation == .provision && approval.changes.isEmpty)
            #expect(approval.estimate.basis == .fixed && approval.estimate.monthly == Fixture.dollars("412.50"))
            let route = try #require(try await store.routes().first { $0.servingEndpoint == "fraud-llm" })
            #expect(route.project == Fixture.endpoint().project && route.sharedWith.isEmpty)
            #expect(try await store.routes().filter { $0.servingEndpoint == nil }.allSatisfy { $0.project == nil })
        }
    }

    @Test("a file that is not a database is an error, not a crash")
    func notADatabase() async throws {
        try await withScratch { scratch in
            try FileManager.default.createDirectory(at: scratch.directory.appendingPathComponent("state"), withIntermediateDirectories: true)
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: scratch.path))
            #expect(throws: (any Error).self) { try scratch.open() }
        }
    }

    @Test("a store created with another page size keeps it")
    func existingPageSizeIsKept() async throws {
        try await withScratch { scratch in
            try FileManager.default.createDirectory(atPath: (scratch.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = try sqlite3(scratch.path, "PRAGMA page_size = 8192; CREATE TABLE t (x); PRAGMA journal_mode = WAL")
            _ = try scratch.open()
            #expect(try sqlite3(scratch.path, "PRAGMA page_size") == "8192")
        }
    }
}
