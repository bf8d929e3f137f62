import AsgardCore
import AsgardJSON
import Foundation
import GRDB

/// Rows of `approvals`.
enum ApprovalTable {
    static func insert(_ approval: Approval, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO approvals (id, kind, object_id, project, action_digest, plan_digest, summary,
                    monthly_estimate_micros, requested_by, status, decided_by, reason, created_at, decided_at,
                    operation, changes_json, estimate_basis, estimate_detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                approval.id, approval.ref.kind.rawValue, approval.ref.id, approval.project, approval.actionDigest,
                approval.planDigest, approval.summary, approval.estimate.monthly?.value ?? 0, approval.requestedBy,
                approval.status.rawValue, approval.decidedBy, approval.reason,
                Encoding.micros(approval.createdAt), approval.decidedAt.map(Encoding.micros),
                approval.operation.rawValue, Encoding.changesJSON(approval.changes), approval.estimate.basis.rawValue, approval.estimate.detail,
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
        // A store not yet migrated to v8 (read by a dry run, which never migrates) has no plan details.
        let planned = row.hasColumn("operation")
        return Approval(
            id: try row.decode(forColumn: "id"),
            ref: ObjectRef(try Encoding.decodeEnum(ObjectKind.self, row, "kind", table: "approvals"), try row.decode(forColumn: "object_id")),
            project: try row.decode(forColumn: "project"),
            actionDigest: try row.decode(forColumn: "action_digest"),
            planDigest: try row.decode(forColumn: "plan_digest"),
            summary: try row.decode(forColumn: "summary"),
            operation: try planned ? Encoding.decodeEnum(ApprovalOperation.self, row, "operation", table: "approvals") : .provision,
            changes: try planned ? changes(row) : [],
            estimate: CostEstimate(
                basis: try planned ? Encoding.decodeEnum(CostEstimate.Basis.self, row, "estimate_basis", table: "approvals") : .fixed,
                monthly: MicroDollars(try row.decode(forColumn: "monthly_estimate_micros")),
                detail: try planned ? row.decode(forColumn: "estimate_detail") : "the manifest's fixed figure"),
            requestedBy: try row.decode(forColumn: "requested_by"),
            status: try Encoding.decodeEnum(Approval.Status.self, row, "status", table: "approvals"),
            decidedBy: try row.decode(forColumn: "decided_by"),
            reason: try row.decode(forColumn: "reason"),
            createdAt: Encoding.date(micros: try row.decode(forColumn: "created_at")),
            decidedAt: decidedAt.map(Encoding.date(micros:))
        )
    }

    /// The planned changes of one `approvals` row.
    static func changes(_ row: Row) throws -> [PlannedChange] {
        try Encoding.changes(try row.decode(forColumn: "changes_json"))
    }
}
