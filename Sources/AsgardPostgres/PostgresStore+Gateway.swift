public import AsgardCore
public import Foundation
import PostgresNIO

/// The ledger, the call journal's copy into it, kill switches, policies and the summary.
enum LedgerTable {
    /// One statement inserting `entries`, the calls of `replica` (one round trip, whatever their number).
    static func insert(_ entries: [LedgerEntry], replica: String) -> PostgresQuery {
        """
        INSERT INTO ledger (request_id, time, project, key_id, vendor, model, upstream, prompt_tokens, completion_tokens,
            cost_micros, latency_us, status, estimated, overrun, replica)
        SELECT *, \(replica) FROM UNNEST(\(entries.map(\.requestID))::text[], \(entries.map { StoreCoding.micros($0.time) })::bigint[],
            \(entries.map(\.project))::text[], \(entries.map(\.keyID))::text[], \(entries.map(\.vendor))::text[],
            \(entries.map(\.model))::text[], \(entries.map(\.upstream))::text[], \(entries.map { Int64($0.promptTokens) })::bigint[],
            \(entries.map { Int64($0.completionTokens) })::bigint[], \(entries.map(\.cost.value))::bigint[],
            \(entries.map(\.latencyMicroseconds))::bigint[], \(entries.map(\.status))::text[], \(entries.map(\.estimated))::boolean[],
            \(entries.map(\.overrun))::boolean[])
        """
    }

    static func entry(_ row: Record) throws -> LedgerEntry {
        LedgerEntry(
            requestID: try row("request_id"), time: try row.date("time"), project: try row("project"), keyID: try row("key_id"),
            vendor: try row("vendor"), model: try row("model"), upstream: try row("upstream"), promptTokens: try row("prompt_tokens"),
            completionTokens: try row("completion_tokens"), cost: MicroDollars(try row("cost_micros", as: Int64.self)),
            latencyMicroseconds: try row("latency_us"), status: try row("status"), estimated: try row("estimated"),
            overrun: try row("overrun"))
    }

    /// `time` (microseconds since 1970) as its UTC day, `YYYY-MM-DD`.
    static let day = "to_char(timestamp '1970-01-01' + (time / 1000000) * interval '1 second', 'YYYY-MM-DD')"
}

/// Reads of the gateway's tables shared by the store and its read-only snapshot.
enum GatewayTables {
    static func killSwitch(_ row: Record) throws -> StoredKillSwitch {
        StoredKillSwitch(
            scope: try row.decodeEnum(KillScope.self, "scope", table: "kill_switches"), target: try row("target"),
            reason: try row("reason"), engagedBy: try row("engaged_by"), since: try row.date("since"))
    }
}

extension PostgresStore {
    // MARK: Calls

    /// Inserts the ledger rows and appends the audit entries of `calls` (each at its call's
    /// time) and records `position` as this replica's, in one transaction on the store's own
    /// connection, waiting on the calling thread (the call ingester's).
    public func ingest(_ calls: [RecordedCall], through position: JournalPosition) throws {
        let key = auditKey
        try blocking.transaction { db in
            let entries = calls.compactMap(\.ledger)
            if !entries.isEmpty { try db.runBlocking(LedgerTable.insert(entries, replica: replica)) }
            if !calls.isEmpty {
                let (_, statements) = try AuditTable.chain(
                    calls.map(\.audit), times: calls.map { StoreCoding.rfc3339Milliseconds($0.time) },
                    after: try db.rowsBlocking(AuditTable.lockHead), key: key)
                for statement in statements { try db.runBlocking(statement) }
            }
            try db.runBlocking(
                """
                INSERT INTO journal_positions (replica, segment, byte_offset)
                VALUES (\(replica), \(Int64(bitPattern: position.segment)), \(position.offset))
                ON CONFLICT (replica) DO UPDATE SET segment = excluded.segment, byte_offset = excluded.byte_offset
                """)
        }
    }

    /// This replica's journal position, nil if it never ingested any.
    public func journalPosition() throws -> JournalPosition? {
        try blocking.run { db in
            try db.rowsBlocking("SELECT segment, byte_offset FROM journal_positions WHERE replica = \(replica)").first.map { row in
                JournalPosition(segment: UInt64(bitPattern: try row("segment", as: Int64.self)), offset: try row("byte_offset"))
            }
        }
    }

    /// Always true: PostgreSQL made each transaction durable when it committed (its own
    /// write-ahead log, synced at commit as the server is configured to).
    public func makeDurable() throws -> Bool { true }

    // MARK: Ledger

    public func ledger(project: String, from: Date, to: Date) async throws -> [LedgerEntry] {
        try await read { db in
            try await db.rows(
                """
                SELECT * FROM ledger WHERE project = \(project) AND time >= \(StoreCoding.micros(from)) AND time < \(StoreCoding.micros(to))
                ORDER BY time, ord
                """
            ).map(LedgerTable.entry)
        }
    }

    public func spend(project: String, from: Date, to: Date) async throws -> MicroDollars {
        try await read { db in
            let row = try await db.rows(
                """
                SELECT COALESCE(SUM(cost_micros), 0)::bigint AS spend FROM ledger
                WHERE project = \(project) AND time >= \(StoreCoding.micros(from)) AND time < \(StoreCoding.micros(to))
                """
            ).first
            return MicroDollars(try row.map { try $0("spend", as: Int64.self) } ?? 0)
        }
    }

    public func usage(project: String, from: Date, to: Date) async throws -> [UsageRow] {
        try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: LedgerTable.day) AS day, model, COUNT(*) AS calls,
                       SUM(prompt_tokens)::bigint AS prompt, SUM(completion_tokens)::bigint AS completion,
                       SUM(cost_micros)::bigint AS cost, COUNT(*) FILTER (WHERE estimated) AS estimated_calls
                FROM ledger WHERE project = \(project) AND time >= \(StoreCoding.micros(from)) AND time < \(StoreCoding.micros(to))
                GROUP BY 1, model ORDER BY 1, model
                """
            ).map { row in
                UsageRow(
                    day: try row("day"), model: try row("model"), calls: try row("calls"), promptTokens: try row("prompt"),
                    completionTokens: try row("completion"), cost: MicroDollars(try row("cost", as: Int64.self)),
                    estimatedCalls: try row("estimated_calls"))
            }
        }
    }

    // MARK: Kill switches

    public func killSwitches() async throws -> [StoredKillSwitch] {
        try await read { db in
            try await db.rows("SELECT * FROM kill_switches ORDER BY scope, target").map(GatewayTables.killSwitch)
        }
    }

    public func engageKillSwitch(_ killSwitch: StoredKillSwitch, audit: AuditEntry) async throws {
        let (clock, key) = (self.clock, auditKey)
        try await write { db in
            try await db.run(
                """
                INSERT INTO kill_switches (scope, target, reason, engaged_by, since)
                VALUES (\(killSwitch.scope.rawValue), \(killSwitch.target), \(killSwitch.reason), \(killSwitch.engagedBy),
                    \(StoreCoding.micros(killSwitch.since)))
                ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, engaged_by = excluded.engaged_by, since = excluded.since
                """)
            _ = try await AuditTable.append(audit, at: clock(), key: key, on: db)
            try await db.run("SELECT pg_notify(\(Self.changeChannel), \(ChangeFeed.payload(.killSwitches)))")
        }
    }

    public func releaseKillSwitch(scope: KillScope, target: String, audit: AuditEntry) async throws -> Bool {
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            let released = try await db.rows(
                "DELETE FROM kill_switches WHERE scope = \(scope.rawValue) AND target = \(scope == .global ? "" : target) RETURNING scope")
            guard !released.isEmpty else { return false }
            _ = try await AuditTable.append(audit, at: clock(), key: key, on: db)
            try await db.run("SELECT pg_notify(\(Self.changeChannel), \(ChangeFeed.payload(.killSwitches)))")
            return true
        }
    }

    // MARK: Policies

    public func recordEnforcedPolicies(_ source: PolicySource, audit: AuditEntry) async throws -> Bool {
        let (clock, key) = (self.clock, auditKey)
        let digest = source.digest
        let json = String(decoding: try JSONEncoder().encode(source.files), as: UTF8.self)
        return try await write { db in
            // Locked, so two replicas starting together record the set (and audit it) once.
            try await db.run("LOCK TABLE enforced_policies IN SHARE ROW EXCLUSIVE MODE")
            let recorded = try await db.rows("SELECT digest FROM enforced_policies WHERE singleton = 1").first.map {
                try $0("digest", as: String.self)
            }
            guard recorded != digest else { return false }
            let now = clock()
            try await db.run(
                """
                INSERT INTO enforced_policies (singleton, digest, files_json, recorded_at) VALUES (1, \(digest), \(json), \(StoreCoding.micros(now)))
                ON CONFLICT (singleton) DO UPDATE SET digest = excluded.digest, files_json = excluded.files_json, recorded_at = excluded.recorded_at
                """)
            _ = try await AuditTable.append(audit, at: now, key: key, on: db)
            return true
        }
    }

    public func enforcedPolicies() async throws -> PolicySource? {
        try await read { db in
            guard let row = try await db.rows("SELECT digest, files_json FROM enforced_policies WHERE singleton = 1").first else { return nil }
            let json: String = try row("files_json")
            let source = PolicySource(files: try JSONDecoder().decode([PolicySource.File].self, from: Data(json.utf8)))
            let digest: String = try row("digest")
            guard source.digest == digest else {
                throw CorruptRow(table: "enforced_policies", column: "files_json", value: "files whose digest is not \(digest)")
            }
            return source
        }
    }

    // MARK: Summary

    public func summary() async throws -> StoreSummary {
        try await read { db in
            var objects: [String: [String: Int]] = [:]
            for row in try await db.rows("SELECT kind, status, COUNT(*) AS n FROM objects GROUP BY kind, status") {
                objects[try row("kind", as: String.self), default: [:]][try row("status", as: String.self)] = try row("n")
            }
            let counts = try await db.rows(
                """
                SELECT (SELECT COUNT(*) FROM routes) AS routes, (SELECT COUNT(*) FROM keys) AS keys,
                       (SELECT COUNT(*) FROM cost_sources) AS cost_sources,
                       (SELECT COUNT(*) FROM approvals WHERE status = 'pending') AS pending,
                       (SELECT COUNT(*) FROM ledger) AS ledger, (SELECT COUNT(*) FROM audit) AS audit,
                       (SELECT hash FROM audit_head WHERE id = 1 AND seq > 0) AS head
                """)
            guard let row = counts.first else { throw CorruptRow(table: "audit_head", column: "seq", value: "no row") }
            return StoreSummary(
                objects: objects, routes: try row("routes"), keys: try row("keys"), costSources: try row("cost_sources"),
                pendingApprovals: try row("pending"), ledgerRows: try row("ledger"), auditEntries: try row("audit"),
                auditHead: try row("head"))
        }
    }
}
