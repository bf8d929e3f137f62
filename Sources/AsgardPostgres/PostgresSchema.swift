import AsgardCore
import Foundation
import PostgresNIO

/// The PostgreSQL schema: the SQLite store's tables, column for column (see
/// `AsgardStore.Schema` for what each holds), as one ordered list of named migrations.
///
/// Differences that PostgreSQL asks for:
/// - a derived row's `claim` (which of two objects holding a key digest or a route's model
///   claimed it last) comes from the sequence `claims`, not `MAX(claim) + 1`, so two
///   transactions never draw the same one;
/// - `audit_head` always has its row (sequence 0 and the genesis hash before the first entry):
///   every append locks it, which is what serializes appends from every replica into one chain;
/// - `audit.project` is a stored generated column (PostgreSQL has no virtual ones);
/// - insertion order, which SQLite keeps as `rowid`, is `ord` (an identity column);
/// - each replica copies its own call journal, so `journal_positions` has a row per replica.
///
/// Migrations are append-only, applied in one transaction under an advisory lock, so replicas
/// starting together migrate once, and the others wait, then find nothing left to do.
enum PostgresSchema {
    /// The advisory lock key that migrations hold ("ASGARD" in ASCII).
    static let migrationLock: Int64 = 0x4153_4741_5244

    /// Every migration this binary knows, in order: an id and its statements.
    static let migrations: [(id: String, statements: [String])] = [
        ("pg1-schema", schema), ("pg2-budget-grants", budgetGrants), ("pg3-rate-shares", rateShares),
    ]

    /// Applies, in one transaction under `migrationLock`, every migration not yet applied, and
    /// seals the audit chain with `auditKey` when it has no keying yet.
    /// - Throws: `StoreError.unknownSchemaVersion` when the database has a migration this binary
    ///   does not know; PostgresNIO's errors (nothing is applied then).
    static func migrate(_ connection: BlockingConnection, auditKey: AuditKey, now: Date) throws {
        try connection.transaction { db in
            try db.runBlocking("SELECT pg_advisory_xact_lock(\(migrationLock))")
            try db.runBlocking("CREATE TABLE IF NOT EXISTS asgard_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            let applied = Set(try db.rowsBlocking("SELECT id FROM asgard_migrations").map { try $0("id", as: String.self) })
            let unknown = applied.subtracting(migrations.map(\.id))
            guard unknown.isEmpty else { throw StoreError.unknownSchemaVersion(unknown.sorted().joined(separator: ", ")) }
            for migration in migrations where !applied.contains(migration.id) {
                for statement in migration.statements { try db.runBlocking(PostgresQuery(unsafeSQL: statement)) }
                try db.runBlocking("INSERT INTO asgard_migrations (id, applied_at) VALUES (\(migration.id), \(StoreCoding.micros(now)))")
            }
            if try db.rowsBlocking("SELECT 1 FROM audit_keying WHERE id = 1").isEmpty {
                let keying = AuditKeying(legacyCount: 0, legacyHead: AuditChain.genesis, key: auditKey)
                try db.runBlocking(
                    """
                    INSERT INTO audit_keying (id, legacy_seq, legacy_hash, key_id, seal)
                    VALUES (1, \(keying.legacyCount), \(keying.legacyHead), \(keying.keyID), \(keying.seal))
                    """)
            }
        }
    }

    /// Budgets shared by replicas: each ledger row names the replica whose call it was, and
    /// `budget_grants` holds each replica's grant of each project's budget by month
    /// (`BudgetLeaseStore`).
    private static let budgetGrants: [String] = [
        "ALTER TABLE ledger ADD COLUMN replica TEXT",
        "CREATE INDEX ledger_replica_time ON ledger (replica, time)",
        """
        CREATE TABLE budget_grants (
            project TEXT NOT NULL,
            month TEXT NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
            replica TEXT NOT NULL,
            granted BIGINT NOT NULL CHECK (granted >= 0),
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (project, month, replica)
        )
        """,
    ]

    /// Rate limits shared by replicas: each holder's share of each key's requests-per-minute
    /// limit, and when the holder last renewed it (database time) (`RateShareStore`).
    private static let rateShares: [String] = [
        """
        CREATE TABLE rate_shares (
            key_id TEXT NOT NULL,
            holder TEXT NOT NULL,
            share INTEGER NOT NULL CHECK (share > 0),
            renewed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (key_id, holder)
        )
        """,
        "CREATE INDEX rate_shares_holder ON rate_shares (holder)",
    ]

    /// The whole schema as of the SQLite store's `v14-dashboard`.
    private static let schema: [String] = [
        """
        CREATE TABLE objects (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            project TEXT,
            spec_digest TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            tier TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (kind, id)
        )
        """,
        "CREATE SEQUENCE claims",
        """
        CREATE TABLE keys (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            digest TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            status TEXT NOT NULL,
            claim BIGINT NOT NULL
        )
        """,
        "CREATE INDEX keys_digest_claim ON keys (digest, claim)",
        """
        CREATE TABLE routes (
            model TEXT NOT NULL,
            owner TEXT NOT NULL,
            vendor TEXT NOT NULL,
            upstream TEXT NOT NULL,
            base_url_env TEXT NOT NULL,
            token_env TEXT NOT NULL,
            chat_path TEXT,
            timeout_seconds BIGINT NOT NULL,
            sends_usage_context BOOLEAN NOT NULL,
            default_max_tokens BIGINT NOT NULL,
            input_per_million_micros BIGINT NOT NULL,
            output_per_million_micros BIGINT NOT NULL,
            max_data_class TEXT NOT NULL,
            serving_endpoint TEXT,
            api_kind TEXT NOT NULL,
            auth_header TEXT,
            auth_scheme TEXT,
            project TEXT,
            shared_with_json TEXT NOT NULL,
            claim BIGINT NOT NULL,
            PRIMARY KEY (model, owner)
        )
        """,
        "CREATE INDEX routes_vendor ON routes (vendor)",
        "CREATE INDEX routes_owner ON routes (owner)",
        "CREATE INDEX routes_model_claim ON routes (model, claim)",
        """
        CREATE TABLE cost_sources (
            vendor TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            env_json TEXT NOT NULL,
            reconcile_tolerance_percent BIGINT
        )
        """,
        """
        CREATE TABLE approvals (
            id TEXT PRIMARY KEY,
            ord BIGINT GENERATED ALWAYS AS IDENTITY,
            kind TEXT NOT NULL,
            object_id TEXT NOT NULL,
            project TEXT NOT NULL,
            action_digest TEXT NOT NULL,
            plan_digest TEXT,
            summary TEXT NOT NULL,
            monthly_estimate_micros BIGINT NOT NULL,
            requested_by TEXT NOT NULL,
            status TEXT NOT NULL,
            decided_by TEXT,
            reason TEXT,
            created_at BIGINT NOT NULL,
            decided_at BIGINT,
            operation TEXT NOT NULL,
            changes_json TEXT NOT NULL,
            estimate_basis TEXT NOT NULL,
            estimate_detail TEXT NOT NULL
        )
        """,
        "CREATE INDEX approvals_status_created ON approvals (status, created_at)",
        """
        CREATE TABLE ledger (
            request_id TEXT PRIMARY KEY,
            ord BIGINT GENERATED ALWAYS AS IDENTITY,
            time BIGINT NOT NULL,
            project TEXT NOT NULL,
            key_id TEXT NOT NULL,
            vendor TEXT NOT NULL,
            model TEXT NOT NULL,
            upstream TEXT NOT NULL,
            prompt_tokens BIGINT NOT NULL,
            completion_tokens BIGINT NOT NULL,
            cost_micros BIGINT NOT NULL,
            latency_us BIGINT NOT NULL,
            status TEXT NOT NULL,
            estimated BOOLEAN NOT NULL,
            overrun BOOLEAN NOT NULL
        )
        """,
        "CREATE INDEX ledger_project_time ON ledger (project, time)",
        "CREATE INDEX ledger_time ON ledger (time)",
        """
        CREATE TABLE audit (
            seq BIGINT PRIMARY KEY,
            time TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            project TEXT GENERATED ALWAYS AS (
                coalesce(
                    detail::jsonb ->> 'project',
                    CASE WHEN target LIKE 'Project/%' OR target LIKE 'project/%' THEN substr(target, 9) END)
            ) STORED
        )
        """,
        "CREATE INDEX audit_project ON audit (project, seq)",
        "CREATE INDEX audit_action ON audit (action, seq)",
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)",
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\(AuditChain.genesis)')",
        """
        CREATE TABLE audit_keying (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            legacy_seq BIGINT NOT NULL,
            legacy_hash TEXT NOT NULL,
            key_id TEXT NOT NULL,
            seal TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE kill_switches (
            scope TEXT NOT NULL,
            target TEXT NOT NULL,
            reason TEXT NOT NULL,
            engaged_by TEXT NOT NULL,
            since BIGINT NOT NULL,
            PRIMARY KEY (scope, target)
        )
        """,
        """
        CREATE TABLE provisioning (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            failures BIGINT NOT NULL,
            retry_after BIGINT,
            applied_plan TEXT,
            applying TEXT,
            approval TEXT,
            outputs_json TEXT,
            PRIMARY KEY (kind, id)
        )
        """,
        """
        CREATE TABLE journal_positions (
            replica TEXT PRIMARY KEY,
            segment BIGINT NOT NULL,
            byte_offset BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE enforced_policies (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            digest TEXT NOT NULL,
            files_json TEXT NOT NULL,
            recorded_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE costs (
            project TEXT NOT NULL,
            vendor TEXT NOT NULL,
            source TEXT NOT NULL,
            day TEXT NOT NULL CHECK (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
            measurement TEXT NOT NULL CHECK (measurement IN ('measured', 'estimate', 'not_measured')),
            amount_micros BIGINT CHECK ((amount_micros IS NULL) = (measurement = 'not_measured')),
            detail TEXT NOT NULL,
            basis TEXT CHECK ((basis IS NOT NULL) = (measurement = 'estimate')),
            PRIMARY KEY (source, day, project, vendor)
        )
        """,
        "CREATE INDEX costs_project_day ON costs (project, day)",
        """
        CREATE TABLE cost_drift (
            project TEXT NOT NULL,
            vendor TEXT NOT NULL,
            day TEXT NOT NULL,
            gateway_tokens BIGINT NOT NULL,
            vendor_tokens BIGINT NOT NULL,
            tolerance_percent BIGINT NOT NULL,
            PRIMARY KEY (vendor, day, project)
        )
        """,
        """
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            object_id TEXT NOT NULL,
            document TEXT NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('mcp', 'api')),
            requester TEXT NOT NULL CHECK (requester LIKE 'User/%' OR requester LIKE 'Key/%'),
            status TEXT NOT NULL CHECK (status IN ('open', 'cancelled', 'committed', 'rejected')),
            reason TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX requests_open_object ON requests (kind, object_id) WHERE status = 'open'",
        """
        CREATE TABLE dashboard_sessions (
            digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
            email TEXT NOT NULL,
            credential_digest TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            idle_seconds BIGINT NOT NULL CHECK (idle_seconds > 0),
            absolute_seconds BIGINT NOT NULL CHECK (absolute_seconds > 0),
            expires_at BIGINT NOT NULL
        )
        """,
        "CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at)",
    ]
}
