public import AsgardCore
public import Foundation
import GRDB

extension SQLiteStore {
    /// Inserts `request` (open) and the approval it needs, and appends `audit`; an open request
    /// for the same object is a `requestConflict` (the partial unique index enforces it too).
    public func submitRequest(_ request: ObjectRequest, approval: ApprovalRequest?, audit: AuditEntry) async throws -> Approval? {
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            if let open = try String.fetchOne(
                db, sql: "SELECT id FROM requests WHERE kind = ? AND object_id = ? AND status = 'open'",
                arguments: [request.ref.kind.rawValue, request.ref.id])
            {
                throw StoreError.requestConflict(ref: request.ref, request: open)
            }
            try db.execute(
                sql: """
                    INSERT INTO requests (id, kind, object_id, document, origin, requester, status, reason, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'open', NULL, ?, ?)
                    """,
                arguments: [
                    request.id, request.ref.kind.rawValue, request.ref.id, request.document, request.origin.rawValue,
                    request.requester.description, Encoding.micros(request.createdAt), Encoding.micros(request.createdAt),
                ])
            var opened: Approval?
            if let approval {
                let row = Approval(
                    id: Encoding.newApprovalID(), ref: approval.ref, project: approval.project, actionDigest: approval.actionDigest,
                    planDigest: approval.planDigest, summary: approval.summary, operation: approval.operation, changes: approval.changes,
                    estimate: approval.estimate, requestedBy: approval.requestedBy, status: .pending, decidedBy: nil, reason: nil,
                    createdAt: Encoding.stored(clock()), decidedAt: nil)
                try ApprovalTable.insert(row, in: db)
                opened = row
            }
            var entry = audit
            if let opened { entry.detail["approval"] = opened.id }
            _ = try AuditTable.append(entry, at: clock(), key: key, in: db)
            return opened
        }
    }

    public func objectRequests(status: ObjectRequest.Status?) async throws -> [ObjectRequest] {
        try await pool.read { db in
            let rows =
                if let status {
                    try Row.fetchAll(db, sql: "SELECT * FROM requests WHERE status = ? ORDER BY created_at, id", arguments: [status.rawValue])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM requests ORDER BY created_at, id")
                }
            return try rows.map(RequestTable.request)
        }
    }

    public func closeRequest(id: String, status: ObjectRequest.Status, reason: String?, audit: AuditEntry?) async throws -> ObjectRequest {
        guard status != .open else { throw InvalidRequest(description: "request \(id) cannot be closed as open") }
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM requests WHERE id = ?", arguments: [id]) else {
                throw StoreError.requestNotFound(id)
            }
            var request = try RequestTable.request(row)
            guard request.status == .open else { throw StoreError.requestNotOpen(id: id, status: request.status) }
            request.status = status
            request.reason = reason
            request.updatedAt = Encoding.stored(clock())
            try db.execute(
                sql: "UPDATE requests SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, reason, Encoding.micros(request.updatedAt), id])
            if let audit { _ = try AuditTable.append(audit, at: clock(), key: key, in: db) }
            return request
        }
    }
}

/// Rows of `requests`.
enum RequestTable {
    static func request(_ row: Row) throws -> ObjectRequest {
        let stored: String = try row.decode(forColumn: "requester")
        guard let requester = Requester(stored: stored) else {
            throw CorruptRow(table: "requests", column: "requester", value: String(stored.prefix(120)))
        }
        return ObjectRequest(
            id: try row.decode(forColumn: "id"),
            ref: ObjectRef(try Encoding.decodeEnum(ObjectKind.self, row, "kind", table: "requests"), try row.decode(forColumn: "object_id")),
            document: try row.decode(forColumn: "document"),
            origin: try Encoding.decodeEnum(ObjectRequest.Origin.self, row, "origin", table: "requests"),
            requester: requester,
            status: try Encoding.decodeEnum(ObjectRequest.Status.self, row, "status", table: "requests"),
            reason: try row.decode(forColumn: "reason"),
            createdAt: Encoding.date(micros: try row.decode(forColumn: "created_at")),
            updatedAt: Encoding.date(micros: try row.decode(forColumn: "updated_at")))
    }
}
