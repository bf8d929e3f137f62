public import AsgardCore
import Foundation
import PostgresNIO

/// Rows of `approvals` and `requests`.
enum ApprovalTable {
    static func insert(_ approval: Approval, on db: PostgresConnection) async throws {
        try await db.run(
            """
            INSERT INTO approvals (id, kind, object_id, project, action_digest, plan_digest, summary,
                monthly_estimate_micros, requested_by, status, decided_by, reason, created_at, decided_at,
                operation, changes_json, estimate_basis, estimate_detail)
            VALUES (\(approval.id), \(approval.ref.kind.rawValue), \(approval.ref.id), \(approval.project), \(approval.actionDigest),
                \(approval.planDigest), \(approval.summary), \(approval.estimate.monthly?.value ?? 0), \(approval.requestedBy),
                \(approval.status.rawValue), \(approval.decidedBy), \(approval.reason), \(StoreCoding.micros(approval.createdAt)),
                \(approval.decidedAt.map(StoreCoding.micros)), \(approval.operation.rawValue), \(StoreCoding.changesJSON(approval.changes)),
                \(approval.estimate.basis.rawValue), \(approval.estimate.detail))
            """)
    }

    static func approval(_ row: Record) throws -> Approval {
        Approval(
            id: try row("id"),
            ref: ObjectRef(try row.decodeEnum(ObjectKind.self, "kind", table: "approvals"), try row("object_id")),
            project: try row("project"),
            actionDigest: try row("action_digest"),
            planDigest: try row("plan_digest"),
            summary: try row("summary"),
            operation: try row.decodeEnum(ApprovalOperation.self, "operation", table: "approvals"),
            changes: try StoreCoding.changes(try row("changes_json")),
            estimate: CostEstimate(
                basis: try row.decodeEnum(CostEstimate.Basis.self, "estimate_basis", table: "approvals"),
                monthly: MicroDollars(try row("monthly_estimate_micros", as: Int64.self)),
                detail: try row("estimate_detail")),
            requestedBy: try row("requested_by"),
            status: try row.decodeEnum(Approval.Status.self, "status", table: "approvals"),
            decidedBy: try row("decided_by"),
            reason: try row("reason"),
            createdAt: try row.date("created_at"),
            decidedAt: try row.optionalDate("decided_at"))
    }

    static func request(_ row: Record) throws -> ObjectRequest {
        let stored: String = try row("requester")
        guard let requester = Requester(stored: stored) else {
            throw CorruptRow(table: "requests", column: "requester", value: String(stored.prefix(120)))
        }
        return ObjectRequest(
            id: try row("id"),
            ref: ObjectRef(try row.decodeEnum(ObjectKind.self, "kind", table: "requests"), try row("object_id")),
            document: try row("document"),
            origin: try row.decodeEnum(ObjectRequest.Origin.self, "origin", table: "requests"),
            requester: requester,
            status: try row.decodeEnum(ObjectRequest.Status.self, "status", table: "requests"),
            reason: try row("reason"),
            createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }

    /// A pending approval for `request`, created now.
    static func pending(_ request: ApprovalRequest, at now: Date) -> Approval {
        Approval(
            id: StoreCoding.newApprovalID(), ref: request.ref, project: request.project, actionDigest: request.actionDigest,
            planDigest: request.planDigest, summary: request.summary, operation: request.operation, changes: request.changes,
            estimate: request.estimate, requestedBy: request.requestedBy, status: .pending, decidedBy: nil, reason: nil,
            createdAt: StoreCoding.stored(now), decidedAt: nil)
    }
}

extension PostgresStore {
    public func requestApproval(_ request: ApprovalRequest) async throws -> Approval {
        let approval = ApprovalTable.pending(request, at: clock())
        return try await write { db in
            try await ApprovalTable.insert(approval, on: db)
            return approval
        }
    }

    public func approvals(status: Approval.Status?) async throws -> [Approval] {
        try await read { db in
            let rows =
                if let status {
                    try await db.rows("SELECT * FROM approvals WHERE status = \(status.rawValue) ORDER BY created_at DESC, ord DESC")
                } else {
                    try await db.rows("SELECT * FROM approvals ORDER BY created_at DESC, ord DESC")
                }
            return try rows.map(ApprovalTable.approval)
        }
    }

    /// Decides an approval as `SQLiteStore.decideApproval` does, its row locked meanwhile, so
    /// two replicas deciding at once cannot both move it.
    public func decideApproval(id: String, status: Approval.Status, by: String, reason: String?, audit: AuditEntry?) async throws -> Approval {
        guard status != .pending, status != .applied else {
            throw InvalidRequest(description: "approval \(id) cannot be decided as \(status.rawValue): decide approved, rejected or void")
        }
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            guard let row = try await db.rows("SELECT * FROM approvals WHERE id = \(id) FOR UPDATE").first else {
                throw StoreError.approvalNotFound(id)
            }
            var approval = try ApprovalTable.approval(row)
            // An approval not yet used can still be voided: its plan no longer matches.
            guard approval.status == .pending || (approval.status == .approved && status == .void) else {
                throw StoreError.approvalNotPending(id: id, status: approval.status)
            }
            let now = clock()
            approval.status = status
            approval.decidedBy = by
            approval.reason = reason
            approval.decidedAt = StoreCoding.stored(now)
            try await db.run(
                """
                UPDATE approvals SET status = \(status.rawValue), decided_by = \(by), reason = \(reason),
                    decided_at = \(approval.decidedAt.map(StoreCoding.micros)) WHERE id = \(id)
                """)
            if let audit { _ = try await AuditTable.append(audit, at: now, key: key, on: db) }
            return approval
        }
    }

    public func submitRequest(_ request: ObjectRequest, approval: ApprovalRequest?, audit: AuditEntry) async throws -> Approval? {
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            if let open = try await db.rows(
                "SELECT id FROM requests WHERE kind = \(request.ref.kind.rawValue) AND object_id = \(request.ref.id) AND status = 'open'"
            ).first {
                throw StoreError.requestConflict(ref: request.ref, request: try open("id"))
            }
            try await db.run(
                """
                INSERT INTO requests (id, kind, object_id, document, origin, requester, status, reason, created_at, updated_at)
                VALUES (\(request.id), \(request.ref.kind.rawValue), \(request.ref.id), \(request.document), \(request.origin.rawValue),
                    \(request.requester.description), 'open', NULL, \(StoreCoding.micros(request.createdAt)),
                    \(StoreCoding.micros(request.createdAt)))
                """)
            let now = clock()
            let opened = approval.map { ApprovalTable.pending($0, at: now) }
            if let opened { try await ApprovalTable.insert(opened, on: db) }
            var entry = audit
            if let opened { entry.detail["approval"] = opened.id }
            _ = try await AuditTable.append(entry, at: now, key: key, on: db)
            return opened
        }
    }

    public func objectRequests(status: ObjectRequest.Status?) async throws -> [ObjectRequest] {
        try await read { db in
            let rows =
                if let status {
                    try await db.rows("SELECT * FROM requests WHERE status = \(status.rawValue) ORDER BY created_at, id")
                } else {
                    try await db.rows("SELECT * FROM requests ORDER BY created_at, id")
                }
            return try rows.map(ApprovalTable.request)
        }
    }

    public func closeRequest(id: String, status: ObjectRequest.Status, reason: String?, audit: AuditEntry?) async throws -> ObjectRequest {
        guard status != .open else { throw InvalidRequest(description: "request \(id) cannot be closed as open") }
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            guard let row = try await db.rows("SELECT * FROM requests WHERE id = \(id) FOR UPDATE").first else {
                throw StoreError.requestNotFound(id)
            }
            var request = try ApprovalTable.request(row)
            guard request.status == .open else { throw StoreError.requestNotOpen(id: id, status: request.status) }
            let now = clock()
            request.status = status
            request.reason = reason
            request.updatedAt = StoreCoding.stored(now)
            try await db.run(
                """
                UPDATE requests SET status = \(status.rawValue), reason = \(reason), updated_at = \(StoreCoding.micros(request.updatedAt))
                WHERE id = \(id)
                """)
            if let audit { _ = try await AuditTable.append(audit, at: now, key: key, on: db) }
            return request
        }
    }
}
