public import AsgardCore
public import Foundation
import GRDB

extension SQLiteStore: CostLedger {
    public func replaceCosts(_ records: [CostRecord], sources: [String], from: String, to: String, audit: AuditEntry) async throws
        -> CostReplacement
    {
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            let marks = sources.map { _ in "?" }.joined(separator: ", ")
            let scope: StatementArguments = StatementArguments(sources) + [from, to]
            let before = Set(
                try Row.fetchAll(db, sql: "SELECT * FROM costs WHERE source IN (\(marks)) AND day BETWEEN ? AND ?", arguments: scope)
                    .map(CostTable.record))
            try db.execute(sql: "DELETE FROM costs WHERE source IN (\(marks)) AND day BETWEEN ? AND ?", arguments: scope)
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail, basis)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for record in records {
                let (detail, basis) = Encoding.costColumns(record)
                try insert.execute(arguments: [
                    record.project, record.vendor, record.source, record.day, record.measurement.label, record.amount?.value, detail, basis,
                ])
            }
            let after = Set(records)
            let replacement = CostReplacement(removed: before.count, written: records.count, changed: before.symmetricDifference(after).count)
            var entry = audit
            entry.detail["removed"] = String(replacement.removed)
            entry.detail["written"] = String(replacement.written)
            entry.detail["changed"] = String(replacement.changed)
            _ = try AuditTable.append(entry, at: clock(), key: key, in: db)
            return replacement
        }
    }

    public func costs(from: String, to: String, project: String?) async throws -> [CostRecord] {
        try await pool.read { db in
            let rows =
                if let project {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM costs WHERE project = ? AND day BETWEEN ? AND ? ORDER BY project, vendor, source, day",
                        arguments: [project, from, to])
                } else {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM costs WHERE day BETWEEN ? AND ? ORDER BY project, vendor, source, day", arguments: [from, to])
                }
            return try rows.map(CostTable.record)
        }
    }

    public func dailySpend(from: Date, to: Date) async throws -> [DailySpend] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT project, vendor, model, date(time / 1000000, 'unixepoch') AS day, COUNT(*) AS calls,
                           SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_micros) AS cost
                    FROM ledger WHERE time >= ? AND time < ?
                    GROUP BY project, vendor, model, day ORDER BY project, vendor, model, day
                    """, arguments: [Encoding.micros(from), Encoding.micros(to)]
            ).map { row in
                DailySpend(
                    project: row["project"], vendor: row["vendor"], model: row["model"], day: row["day"], calls: row["calls"],
                    promptTokens: row["prompt"], completionTokens: row["completion"], cost: MicroDollars(row["cost"]))
            }
        }
    }

    public func replaceDrift(_ drift: [TokenDrift], vendor: String, from: String, to: String, actor: String) async throws {
        let (clock, key) = (self.clock, auditKey)
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM cost_drift WHERE vendor = ? AND day BETWEEN ? AND ?", arguments: [vendor, from, to])
            for row in drift {
                try db.execute(
                    sql: """
                        INSERT INTO cost_drift (project, vendor, day, gateway_tokens, vendor_tokens, tolerance_percent)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [row.project, row.vendor, row.day, row.gatewayTokens, row.vendorTokens, row.tolerancePercent])
            }
            _ = try AuditTable.append(
                drift.map { row in
                    AuditEntry(
                        actor: actor, action: "cost.drift", target: "Project/\(row.project)", outcome: "flagged",
                        detail: [
                            "vendor": row.vendor, "day": row.day, "gateway_tokens": String(row.gatewayTokens),
                            "vendor_tokens": String(row.vendorTokens), "tolerance_percent": String(row.tolerancePercent),
                        ])
                }, at: clock(), key: key, in: db)
        }
    }

    public func drift(from: String, to: String, project: String?) async throws -> [TokenDrift] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM cost_drift WHERE day BETWEEN ? AND ? AND (? IS NULL OR project = ?) ORDER BY project, vendor, day
                    """, arguments: [from, to, project, project]
            ).map { row in
                TokenDrift(
                    project: row["project"], vendor: row["vendor"], day: row["day"], gatewayTokens: row["gateway_tokens"],
                    vendorTokens: row["vendor_tokens"], tolerancePercent: row["tolerance_percent"])
            }
        }
    }

    public func firstApplied() async throws -> [String: Date] {
        try await pool.read { db in
            var first: [String: Date] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT target, MIN(time) AS time FROM audit WHERE action = 'provision.apply' AND target IS NOT NULL GROUP BY target")
            {
                let text: String = row["time"]
                guard let date = parseInstant(text) else { continue }
                first[row["target"]] = date
            }
            return first
        }
    }
}

/// Rows of `costs`.
enum CostTable {
    static func record(_ row: Row) throws -> CostRecord {
        let measurement = try Encoding.costMeasurement(
            label: row["measurement"], amount: row["amount_micros"], detail: row["detail"], basis: row["basis"])
        return CostRecord(project: row["project"], vendor: row["vendor"], source: row["source"], day: row["day"], measurement: measurement)
    }
}
