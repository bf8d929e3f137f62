public import AsgardCore
public import Foundation
import PostgresNIO

extension PostgresStore: CostLedger {
    public func replaceCosts(_ records: [CostRecord], sources: [String], from: String, to: String, audit: AuditEntry) async throws
        -> CostReplacement
    {
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            let removed = try await db.rows(
                "DELETE FROM costs WHERE source = ANY(\(sources)::text[]) AND day BETWEEN \(from) AND \(to) RETURNING *")
            let before = Set(try removed.map(CostTable.record))
            for record in records {
                let (detail, basis) = StoreCoding.costColumns(record)
                try await db.run(
                    """
                    INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail, basis)
                    VALUES (\(record.project), \(record.vendor), \(record.source), \(record.day), \(record.measurement.label),
                        \(record.amount?.value), \(detail), \(basis))
                    """)
            }
            let replacement = CostReplacement(
                removed: before.count, written: records.count, changed: before.symmetricDifference(Set(records)).count)
            var entry = audit
            entry.detail["removed"] = String(replacement.removed)
            entry.detail["written"] = String(replacement.written)
            entry.detail["changed"] = String(replacement.changed)
            _ = try await AuditTable.append(entry, at: clock(), key: key, on: db)
            return replacement
        }
    }

    public func costs(from: String, to: String, project: String?) async throws -> [CostRecord] {
        try await read { db in
            try await db.rows(
                """
                SELECT * FROM costs WHERE day BETWEEN \(from) AND \(to) AND (\(project)::text IS NULL OR project = \(project))
                ORDER BY project, vendor, source, day
                """
            ).map(CostTable.record)
        }
    }

    public func dailySpend(from: Date, to: Date) async throws -> [DailySpend] {
        try await read { db in
            try await db.rows(
                """
                SELECT project, vendor, model, \(unescaped: LedgerTable.day) AS day, COUNT(*) AS calls,
                       SUM(prompt_tokens)::bigint AS prompt, SUM(completion_tokens)::bigint AS completion, SUM(cost_micros)::bigint AS cost
                FROM ledger WHERE time >= \(StoreCoding.micros(from)) AND time < \(StoreCoding.micros(to))
                GROUP BY project, vendor, model, 4 ORDER BY project, vendor, model, 4
                """
            ).map { row in
                DailySpend(
                    project: try row("project"), vendor: try row("vendor"), model: try row("model"), day: try row("day"),
                    calls: try row("calls"), promptTokens: try row("prompt"), completionTokens: try row("completion"),
                    cost: MicroDollars(try row("cost", as: Int64.self)))
            }
        }
    }

    public func replaceDrift(_ drift: [TokenDrift], vendor: String, from: String, to: String, actor: String) async throws {
        let (clock, key) = (self.clock, auditKey)
        try await write { db in
            try await db.run("DELETE FROM cost_drift WHERE vendor = \(vendor) AND day BETWEEN \(from) AND \(to)")
            for row in drift {
                try await db.run(
                    """
                    INSERT INTO cost_drift (project, vendor, day, gateway_tokens, vendor_tokens, tolerance_percent)
                    VALUES (\(row.project), \(row.vendor), \(row.day), \(row.gatewayTokens), \(row.vendorTokens), \(row.tolerancePercent))
                    """)
            }
            let entries = drift.map { row in
                AuditEntry(
                    actor: actor, action: "cost.drift", target: "Project/\(row.project)", outcome: "flagged",
                    detail: [
                        "vendor": row.vendor, "day": row.day, "gateway_tokens": String(row.gatewayTokens),
                        "vendor_tokens": String(row.vendorTokens), "tolerance_percent": String(row.tolerancePercent),
                    ])
            }
            let time = StoreCoding.rfc3339Milliseconds(clock())
            try await AuditTable.append(entries, times: Array(repeating: time, count: entries.count), key: key, on: db)
        }
    }

    public func drift(from: String, to: String, project: String?) async throws -> [TokenDrift] {
        try await read { db in
            try await db.rows(
                """
                SELECT * FROM cost_drift WHERE day BETWEEN \(from) AND \(to) AND (\(project)::text IS NULL OR project = \(project))
                ORDER BY project, vendor, day
                """
            ).map { row in
                TokenDrift(
                    project: try row("project"), vendor: try row("vendor"), day: try row("day"), gatewayTokens: try row("gateway_tokens"),
                    vendorTokens: try row("vendor_tokens"), tolerancePercent: try row("tolerance_percent"))
            }
        }
    }

    public func firstApplied() async throws -> [String: Date] {
        try await read { db in
            var first: [String: Date] = [:]
            for row in try await db.rows(
                "SELECT target, MIN(time) AS time FROM audit WHERE action = 'provision.apply' AND target IS NOT NULL GROUP BY target")
            {
                guard let date = parseInstant(try row("time")) else { continue }
                first[try row("target")] = date
            }
            return first
        }
    }
}

/// Rows of `costs`.
enum CostTable {
    static func record(_ row: Record) throws -> CostRecord {
        let measurement = try StoreCoding.costMeasurement(
            label: try row("measurement"), amount: try row("amount_micros"), detail: try row("detail"), basis: try row("basis"))
        return CostRecord(
            project: try row("project"), vendor: try row("vendor"), source: try row("source"), day: try row("day"), measurement: measurement)
    }
}

extension PostgresStore: DashboardStore {
    public func createSession(_ session: DashboardSession) async throws {
        try await write { db in
            // Expired sessions go as new ones come: the table holds live sessions only.
            try await db.run("DELETE FROM dashboard_sessions WHERE expires_at <= \(StoreCoding.micros(session.createdAt))")
            try await db.run(
                """
                INSERT INTO dashboard_sessions
                    (digest, email, credential_digest, csrf, created_at, last_seen, idle_seconds, absolute_seconds, expires_at)
                VALUES (\(session.digest), \(session.email), \(session.credentialDigest), \(session.csrf),
                    \(StoreCoding.micros(session.createdAt)), \(StoreCoding.micros(session.lastSeen)),
                    \(Int64(session.idle.components.seconds)), \(Int64(session.absolute.components.seconds)),
                    \(StoreCoding.micros(session.expiresAt)))
                """)
        }
    }

    public func touchSession(digest: String, now: Date) async throws -> DashboardSession? {
        try await write { db in
            guard let row = try await db.rows("SELECT * FROM dashboard_sessions WHERE digest = \(digest) FOR UPDATE").first else { return nil }
            var session = DashboardSession(
                digest: try row("digest"), email: try row("email"), credentialDigest: try row("credential_digest"), csrf: try row("csrf"),
                createdAt: try row.date("created_at"), lastSeen: try row.date("last_seen"),
                idle: .seconds(try row("idle_seconds", as: Int64.self)), absolute: .seconds(try row("absolute_seconds", as: Int64.self)))
            guard session.expiresAt > now else {
                try await db.run("DELETE FROM dashboard_sessions WHERE digest = \(digest)")
                return nil
            }
            session.lastSeen = now
            try await db.run(
                """
                UPDATE dashboard_sessions SET last_seen = \(StoreCoding.micros(now)), expires_at = \(StoreCoding.micros(session.expiresAt))
                WHERE digest = \(digest)
                """)
            return session
        }
    }

    @discardableResult
    public func deleteSession(digest: String) async throws -> Bool {
        try await write { db in
            !(try await db.rows("DELETE FROM dashboard_sessions WHERE digest = \(digest) RETURNING digest").isEmpty)
        }
    }

    public func searchAudit(_ query: AuditQuery) async throws -> [AuditRecord] {
        if let projects = query.projects, projects.isEmpty { return [] }
        let projects = query.projects.map { $0.sorted() }
        return try await read { db in
            try await db.rows(
                """
                SELECT \(unescaped: AuditTable.columns) FROM audit
                WHERE (\(projects)::text[] IS NULL OR project = ANY(\(projects)::text[]))
                  AND (\(query.actor)::text IS NULL OR actor = \(query.actor))
                  AND (\(query.action)::text IS NULL OR action = \(query.action))
                  AND (\(query.outcome)::text IS NULL OR outcome = \(query.outcome))
                  AND (\(query.before)::bigint IS NULL OR seq < \(query.before))
                ORDER BY seq DESC LIMIT \(query.limit)
                """
            ).map(AuditTable.record)
        }
    }
}
