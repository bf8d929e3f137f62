import AsgardCore
import Foundation
import GRDB

/// Rows of `approvals`.
enum ApprovalTable {
    /// `apr_` and 16 lower-case hex digits from the system's secure random source.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        return "apr_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func insert(_ approval: Approval, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO approvals (id, kind, object_id, project, action_digest, plan_digest, summary,
                    monthly_estimate_micros, requested_by, status, decided_by, reason, created_at, decided_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                approval.id, approval.ref.kind.rawValue, approval.ref.id, approval.project, approval.actionDigest,
                approval.planDigest, approval.summary, approval.monthlyEstimate.value, approval.requestedBy,
                approval.status.rawValue, approval.decidedBy, approval.reason,
                Encoding.micros(approval.createdAt), approval.decidedAt.map(Encoding.micros),
            ]
        )
    }

    /// Writes the decision fields of `approval` to its row.
    static func recordDecision(_ approval: Approval, in db: Database) throws {
        try db.execute(
            sql: "UPDATE approvals SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ?",
            arguments: [
                approval.status.rawValue, approval.decidedBy, approval.reason,
                approval.decidedAt.map(Encoding.micros), approval.id,
            ]
        )
    }

    /// Reads one `approvals` row.
    static func approval(_ row: Row) throws -> Approval {
        let decidedAt: Int64? = try row.decode(forColumn: "decided_at")
        return Approval(
            id: try row.decode(forColumn: "id"),
            ref: ObjectRef(try Encoding.decodeEnum(ObjectKind.self, row, "kind", table: "approvals"), try row.decode(forColumn: "object_id")),
            project: try row.decode(forColumn: "project"),
            actionDigest: try row.decode(forColumn: "action_digest"),
            planDigest: try row.decode(forColumn: "plan_digest"),
            summary: try row.decode(forColumn: "summary"),
            monthlyEstimate: MicroDollars(try row.decode(forColumn: "monthly_estimate_micros")),
            requestedBy: try row.decode(forColumn: "requested_by"),
            status: try Encoding.decodeEnum(Approval.Status.self, row, "status", table: "approvals"),
            decidedBy: try row.decode(forColumn: "decided_by"),
            reason: try row.decode(forColumn: "reason"),
            createdAt: Encoding.date(micros: try row.decode(forColumn: "created_at")),
            decidedAt: decidedAt.map(Encoding.date(micros:))
        )
    }
}
