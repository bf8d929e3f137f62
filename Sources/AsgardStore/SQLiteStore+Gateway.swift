public import AsgardCore
public import Foundation
import GRDB

/// What the gateway reads, and kill switches: spend and usage queries, engaged switches.
extension SQLiteStore {
    /// Sum of `cost_micros` of the project's rows with `from <= time < to`.
    public func spend(project: String, from: Date, to: Date) async throws -> MicroDollars {
        try await pool.read { db in
            MicroDollars(
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT COALESCE(SUM(cost_micros), 0) FROM ledger WHERE project = ? AND time >= ? AND time < ?
                        """, arguments: [project, Encoding.micros(from), Encoding.micros(to)]) ?? 0)
        }
    }

    /// Spend by UTC day and model.
    public func usage(project: String, from: Date, to: Date) async throws -> [UsageRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT date(time / 1000000, 'unixepoch') AS day, model, COUNT(*) AS calls,
                           SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion,
                           SUM(cost_micros) AS cost, SUM(estimated) AS estimated_calls
                    FROM ledger WHERE project = ? AND time >= ? AND time < ?
                    GROUP BY day, model ORDER BY day, model
                    """, arguments: [project, Encoding.micros(from), Encoding.micros(to)]
            ).map { row in
                UsageRow(
                    day: row["day"], model: row["model"], calls: row["calls"], promptTokens: row["prompt"],
                    completionTokens: row["completion"], cost: MicroDollars(row["cost"]), estimatedCalls: row["estimated_calls"])
            }
        }
    }

    public func killSwitches() async throws -> [StoredKillSwitch] {
        try await pool.read(GatewayTables.killSwitches)
    }

    public func engageKillSwitch(_ killSwitch: StoredKillSwitch, audit: AuditEntry) async throws {
        let (clock, key) = (self.clock, auditKey)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO kill_switches (scope, target, reason, engaged_by, since) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, engaged_by = excluded.engaged_by, since = excluded.since
                    """,
                arguments: [killSwitch.scope.rawValue, killSwitch.target, killSwitch.reason, killSwitch.engagedBy, Encoding.micros(killSwitch.since)])
            _ = try AuditTable.append(audit, at: clock(), key: key, in: db)
        }
    }

    public func releaseKillSwitch(scope: KillScope, target: String, audit: AuditEntry) async throws -> Bool {
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM kill_switches WHERE scope = ? AND target = ?", arguments: [scope.rawValue, scope == .global ? "" : target])
            guard db.changesCount > 0 else { return false }
            _ = try AuditTable.append(audit, at: clock(), key: key, in: db)
            return true
        }
    }
}

/// Ledger inserts, shared by `appendLedger` and `appendCalls`.
enum LedgerTable {
    static func insert(_ entries: [LedgerEntry], in db: Database) throws {
        guard !entries.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO ledger (request_id, time, project, key_id, vendor, model, upstream, prompt_tokens,
                    completion_tokens, cost_micros, latency_us, status, estimated, overrun)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for entry in entries {
            try statement.execute(arguments: [
                entry.requestID, Encoding.micros(entry.time), entry.project, entry.keyID, entry.vendor, entry.model,
                entry.upstream, entry.promptTokens, entry.completionTokens, entry.cost.value,
                entry.latencyMicroseconds, entry.status, entry.estimated, entry.overrun,
            ])
        }
    }
}

/// Reads of the gateway's tables shared by the store and its read-only snapshot.
enum GatewayTables {
    static func killSwitches(_ db: Database) throws -> [StoredKillSwitch] {
        try Row.fetchAll(db, sql: "SELECT * FROM kill_switches ORDER BY scope, target").map { row in
            StoredKillSwitch(
                scope: try Encoding.decodeEnum(KillScope.self, row, "scope", table: "kill_switches"), target: row["target"], reason: row["reason"],
                engagedBy: row["engaged_by"], since: Encoding.date(micros: row["since"]))
        }
    }
}
