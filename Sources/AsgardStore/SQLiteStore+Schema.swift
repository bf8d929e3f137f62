import AsgardCore
import Foundation
import GRDB

/// The SQLite schema, as an ordered list of named migrations.
///
/// Conventions, so a PostgreSQL schema can mirror it column for column:
/// - table and column names are snake_case;
/// - money is an `INTEGER` count of micro-dollars (columns end in `_micros`), never `REAL`;
/// - instants (`updated_at`, `created_at`, `decided_at`, `ledger.time`) are `INTEGER`
///   microseconds since 1970-01-01T00:00:00Z; the one exception is `audit.time`, which is the
///   hashed RFC 3339 text of `AuditRecord.Content.time`;
/// - enums are stored as their raw string values, data classes by name (`confidential`);
/// - every table is `STRICT`, so SQLite refuses a value of the wrong type.
///
/// Migrations are append-only: a released migration is never edited, a change is a new one.
enum Schema {
    /// The migrator with every migration this binary knows, in order.
    ///
    /// - Parameters:
    ///   - auditKey: the key `v8-audit-hmac` seals the audit chain with; nil only for a migrator
    ///     that reads which migrations exist (that migration then fails if run).
    ///   - clock: the time of the `audit.keyed` entry that migration may append.
    static func migrator(auditKey: AuditKey?, clock: @escaping @Sendable () -> Date = { Date() }) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2-kill-switches", migrate: v2)
        migrator.registerMigration("v3-provisioning", migrate: v3)
        migrator.registerMigration("v4-call-journal", migrate: v4)
        migrator.registerMigration("v5-claims", migrate: v5)
        migrator.registerMigration("v6-route-api", migrate: v6)
        migrator.registerMigration("v7-ledger-overrun", migrate: v7)
        migrator.registerMigration("v8-audit-hmac") { db in
            guard let auditKey else { throw AuditKeyError.noLocation }
            try auditHMAC(db, key: auditKey, now: clock())
        }
        migrator.registerMigration("v9-approval-plans", migrate: v9)
        migrator.registerMigration("v10-endpoint-owners", migrate: v10)
        migrator.registerMigration("v11-enforced-policies", migrate: v11)
        migrator.registerMigration("v12-costs", migrate: v12)
        migrator.registerMigration("v13-requests", migrate: v13)
        migrator.registerMigration("v14-dashboard", migrate: v14)
        return migrator
    }

    /// The dashboard: people's sessions (the token's digest only), and the audit trail searchable
    /// by project: `audit.project`, a virtual column (not hashed, not stored) read from the
    /// entry's `detail.project` or its `Project/<id>` target (`project/<id>`: a kill switch's), indexed with the sequence number.
    private static func v14(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE dashboard_sessions (
                    digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
                    email TEXT NOT NULL,
                    credential_digest TEXT NOT NULL,
                    csrf TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    idle_seconds INTEGER NOT NULL CHECK (idle_seconds > 0),
                    absolute_seconds INTEGER NOT NULL CHECK (absolute_seconds > 0),
                    expires_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

                ALTER TABLE audit ADD COLUMN project TEXT GENERATED ALWAYS AS (
                    coalesce(
                        CASE WHEN json_valid(detail) THEN json_extract(detail, '$.project') END,
                        CASE WHEN target GLOB 'Project/*' OR target GLOB 'project/*' THEN substr(target, 9) END)
                ) VIRTUAL;
                CREATE INDEX audit_project ON audit (project, seq);
                CREATE INDEX audit_action ON audit (action, seq);
                """)
    }

    /// Objects asked for through MCP or the API: the YAML document as the loader reads it, who
    /// asked and from where, and where the request stands. At most one open request per object.
    private static func v13(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE requests (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    object_id TEXT NOT NULL,
                    document TEXT NOT NULL,
                    origin TEXT NOT NULL CHECK (origin IN ('mcp', 'api')),
                    requester TEXT NOT NULL CHECK (requester GLOB 'User/*' OR requester GLOB 'Key/*'),
                    status TEXT NOT NULL CHECK (status IN ('open', 'cancelled', 'committed', 'rejected')),
                    reason TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;
                CREATE UNIQUE INDEX requests_open_object ON requests (kind, object_id) WHERE status = 'open';
                """)
    }

    /// The cost plane's figures: one row per project, vendor, source and UTC day, as the last
    /// rollup of that day and source left it; and the token drift reconciliation found. `amount_micros` is NULL exactly when the figure is
    /// not measured; `detail` is the query, or why it is not measured; `basis` names what an
    /// estimate stands on.
    private static func v12(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE costs (
                    project TEXT NOT NULL,
                    vendor TEXT NOT NULL,
                    source TEXT NOT NULL,
                    day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
                    measurement TEXT NOT NULL CHECK (measurement IN ('measured', 'estimate', 'not_measured')),
                    amount_micros INTEGER CHECK ((amount_micros IS NULL) = (measurement = 'not_measured')),
                    detail TEXT NOT NULL,
                    basis TEXT CHECK ((basis IS NOT NULL) = (measurement = 'estimate')),
                    PRIMARY KEY (source, day, project, vendor)
                ) STRICT;
                CREATE INDEX costs_project_day ON costs (project, day);

                -- Days on which the gateway's and the vendor's token counts for a project differ
                -- by more than the manifest's tolerance, as the last rollup of the day found.
                CREATE TABLE cost_drift (
                    project TEXT NOT NULL,
                    vendor TEXT NOT NULL,
                    day TEXT NOT NULL,
                    gateway_tokens INTEGER NOT NULL,
                    vendor_tokens INTEGER NOT NULL,
                    tolerance_percent INTEGER NOT NULL,
                    PRIMARY KEY (vendor, day, project)
                ) STRICT;

                ALTER TABLE cost_sources ADD COLUMN reconcile_tolerance_percent INTEGER;
                """)
    }

    /// The policy set a controller enforces (one row): the files' texts as a JSON array of
    /// `{name, text}` and their digest, so commands that decide alone use exactly these.
    private static func v11(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE enforced_policies (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    digest TEXT NOT NULL,
                    files_json TEXT NOT NULL,
                    recorded_at INTEGER NOT NULL
                );
                """)
    }

    /// A route from a serving endpoint names the project that owns the endpoint (`project`) and
    /// the projects it is shared with (`shared_with_json`, a JSON array of ids): the gateway lets
    /// only their keys call it. Existing endpoint routes take their endpoint's project and are
    /// shared with nobody, as their endpoints (which could not say otherwise) were.
    private static func v10(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE routes ADD COLUMN project TEXT;
                ALTER TABLE routes ADD COLUMN shared_with_json TEXT NOT NULL DEFAULT '[]';
                UPDATE routes SET project = (
                    SELECT objects.project FROM objects WHERE objects.kind = 'ServingEndpoint' AND objects.id = routes.serving_endpoint
                ) WHERE serving_endpoint IS NOT NULL;
                """)
    }

    /// An approval shows what its plan does: whether it provisions or destroys (`operation`),
    /// each resource change with its attribute values, sensitive ones masked (`changes_json`),
    /// and how the estimate was reached (`estimate_basis`: `rule`, `fixed` or `unknown`, with
    /// `estimate_detail`). `monthly_estimate_micros` holds 0 when the basis is `unknown`, and
    /// readers ignore it then. Approvals made before keep their figure as a fixed estimate.
    private static func v9(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE approvals ADD COLUMN operation TEXT NOT NULL DEFAULT 'provision';
                ALTER TABLE approvals ADD COLUMN changes_json TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE approvals ADD COLUMN estimate_basis TEXT NOT NULL DEFAULT 'fixed';
                ALTER TABLE approvals ADD COLUMN estimate_detail TEXT NOT NULL
                    DEFAULT 'the manifest''s fixed figure (recorded before approvals showed how estimates are reached)';
                """)
    }

    /// A ledger row says when the vendor reported more usage than the request could have
    /// produced (the bound was charged instead).
    private static func v7(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE ledger ADD COLUMN overrun INTEGER NOT NULL DEFAULT 0")
    }

    /// The audit chain is keyed: each entry's `hash` is now its HMAC-SHA256 under the audit key
    /// (`AuditChain`), and `audit_keying` (one row) seals where the keyed chain starts. The
    /// entries a store already has stay as they are, verifiable as the unkeyed legacy segment up
    /// to the recorded head; the keyed chain continues from the head's hash, and its first entry,
    /// `audit.keyed`, records the change (`AuditTable.key`).
    private static func auditHMAC(_ db: Database, key: AuditKey, now: Date) throws {
        try db.execute(
            sql: """
                CREATE TABLE audit_keying (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    legacy_seq INTEGER NOT NULL,
                    legacy_hash TEXT NOT NULL,
                    key_id TEXT NOT NULL,
                    seal TEXT NOT NULL
                ) STRICT;
                """)
        try AuditTable.key(key, at: now, in: db)
    }

    /// A route names its vendor's API kind (which picks the gateway's adapter) and how the
    /// credential is presented (`auth_header`, `auth_scheme`; NULL: `Authorization: Bearer`).
    private static func v6(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE routes ADD COLUMN api_kind TEXT NOT NULL DEFAULT 'openai-compatible';
                ALTER TABLE routes ADD COLUMN auth_header TEXT;
                ALTER TABLE routes ADD COLUMN auth_scheme TEXT;
                """)
    }

    /// Derived rows no longer refuse a second claimant of a natural key (a key digest, a route's
    /// model): each row records when its object claimed it (`claim`, increasing per table), and
    /// readers take the newest claim. A key renamed with the same digest, or a model moved to
    /// another service or endpoint, is then an ordinary sequence of commits in any order, where
    /// `UNIQUE` made the first one fail and wedged every later pass. When the newer claimant
    /// goes, the older one's row, still there, is what readers see again.
    private static func v5(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE keys_v5 (
                    id TEXT NOT NULL PRIMARY KEY,
                    project TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    spec_json TEXT NOT NULL,
                    status TEXT NOT NULL,
                    claim INTEGER NOT NULL
                ) STRICT;
                INSERT INTO keys_v5 (id, project, digest, spec_json, status, claim)
                    SELECT id, project, digest, spec_json, status, rowid FROM keys;
                DROP TABLE keys;
                ALTER TABLE keys_v5 RENAME TO keys;
                CREATE INDEX keys_digest_claim ON keys (digest, claim);
                CREATE INDEX keys_claim ON keys (claim);

                CREATE TABLE routes_v5 (
                    model TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    vendor TEXT NOT NULL,
                    upstream TEXT NOT NULL,
                    base_url_env TEXT NOT NULL,
                    token_env TEXT NOT NULL,
                    chat_path TEXT,
                    timeout_seconds INTEGER NOT NULL,
                    sends_usage_context INTEGER NOT NULL,
                    default_max_tokens INTEGER NOT NULL,
                    input_per_million_micros INTEGER NOT NULL,
                    output_per_million_micros INTEGER NOT NULL,
                    max_data_class TEXT NOT NULL,
                    serving_endpoint TEXT,
                    claim INTEGER NOT NULL,
                    PRIMARY KEY (model, owner)
                ) STRICT;
                INSERT INTO routes_v5
                    SELECT model, CASE WHEN serving_endpoint IS NULL THEN 'Service/' || vendor ELSE 'ServingEndpoint/' || serving_endpoint END,
                           vendor, upstream, base_url_env, token_env, chat_path, timeout_seconds, sends_usage_context, default_max_tokens,
                           input_per_million_micros, output_per_million_micros, max_data_class, serving_endpoint, rowid
                    FROM routes;
                DROP TABLE routes;
                ALTER TABLE routes_v5 RENAME TO routes;
                CREATE INDEX routes_vendor ON routes (vendor);
                CREATE INDEX routes_owner ON routes (owner);
                CREATE INDEX routes_model_claim ON routes (model, claim);
                CREATE INDEX routes_claim ON routes (claim);
                """)
    }

    /// How far the gateway's call journal has been copied into `ledger` and `audit`: one row,
    /// written in the same transaction as the rows it covers (`CallJournal`).
    private static func v4(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE journal_position (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    segment INTEGER NOT NULL,
                    offset INTEGER NOT NULL
                ) STRICT;
                """)
    }

    /// Provisioning records: failures and backoff, applied plan, an apply in flight, outputs.
    private static func v3(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE provisioning (
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    failures INTEGER NOT NULL,
                    retry_after INTEGER,
                    applied_plan TEXT,
                    applying TEXT,
                    approval TEXT,
                    outputs_json TEXT,
                    PRIMARY KEY (kind, id)
                ) STRICT;
                """)
    }

    /// Kill switches: one row per engaged switch; `target` is empty for the global one.
    private static func v2(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE kill_switches (
                    scope TEXT NOT NULL,
                    target TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    engaged_by TEXT NOT NULL,
                    since INTEGER NOT NULL,
                    PRIMARY KEY (scope, target)
                ) STRICT;
                """)
    }

    /// The first schema: objects and their derived tables, approvals, ledger, audit log.
    private static func v1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE objects (
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    project TEXT,
                    spec_digest TEXT NOT NULL,
                    spec_json TEXT NOT NULL,
                    tier TEXT NOT NULL,
                    status TEXT NOT NULL,
                    status_reason TEXT,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (kind, id)
                ) STRICT;

                CREATE TABLE keys (
                    id TEXT NOT NULL PRIMARY KEY,
                    project TEXT NOT NULL,
                    digest TEXT NOT NULL UNIQUE,
                    spec_json TEXT NOT NULL,
                    status TEXT NOT NULL
                ) STRICT;

                CREATE TABLE routes (
                    model TEXT NOT NULL PRIMARY KEY,
                    vendor TEXT NOT NULL,
                    upstream TEXT NOT NULL,
                    base_url_env TEXT NOT NULL,
                    token_env TEXT NOT NULL,
                    chat_path TEXT,
                    timeout_seconds INTEGER NOT NULL,
                    sends_usage_context INTEGER NOT NULL,
                    default_max_tokens INTEGER NOT NULL,
                    input_per_million_micros INTEGER NOT NULL,
                    output_per_million_micros INTEGER NOT NULL,
                    max_data_class TEXT NOT NULL,
                    serving_endpoint TEXT
                ) STRICT;
                CREATE INDEX routes_vendor ON routes (vendor);
                CREATE UNIQUE INDEX routes_serving_endpoint ON routes (serving_endpoint) WHERE serving_endpoint IS NOT NULL;

                CREATE TABLE cost_sources (
                    vendor TEXT NOT NULL PRIMARY KEY,
                    type TEXT NOT NULL,
                    env_json TEXT NOT NULL
                ) STRICT;

                CREATE TABLE approvals (
                    id TEXT NOT NULL PRIMARY KEY,
                    kind TEXT NOT NULL,
                    object_id TEXT NOT NULL,
                    project TEXT NOT NULL,
                    action_digest TEXT NOT NULL,
                    plan_digest TEXT,
                    summary TEXT NOT NULL,
                    monthly_estimate_micros INTEGER NOT NULL,
                    requested_by TEXT NOT NULL,
                    status TEXT NOT NULL,
                    decided_by TEXT,
                    reason TEXT,
                    created_at INTEGER NOT NULL,
                    decided_at INTEGER
                ) STRICT;
                CREATE INDEX approvals_status_created ON approvals (status, created_at);

                CREATE TABLE ledger (
                    request_id TEXT NOT NULL PRIMARY KEY,
                    time INTEGER NOT NULL,
                    project TEXT NOT NULL,
                    key_id TEXT NOT NULL,
                    vendor TEXT NOT NULL,
                    model TEXT NOT NULL,
                    upstream TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL,
                    cost_micros INTEGER NOT NULL,
                    latency_us INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    estimated INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX ledger_project_time ON ledger (project, time);

                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY,
                    time TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                ) STRICT;

                -- The newest audit entry, written in the same transaction as every audit insert, so
                -- deleting the newest rows of `audit` is detectable. At most one row (id = 1).
                CREATE TABLE audit_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    hash TEXT NOT NULL
                ) STRICT;
                """)
    }
}
