public import AsgardCore
public import Foundation
import GRDB

extension SQLiteStore: DashboardStore {
    public func createSession(_ session: DashboardSession) async throws {
        try await pool.write { db in
            // Expired sessions go as new ones come: the table holds live sessions only.
            try db.execute(sql: "DELETE FROM dashboard_sessions WHERE expires_at <= ?", arguments: [Encoding.micros(session.createdAt)])
            try db.execute(
                sql: """
                    INSERT INTO dashboard_sessions
                        (digest, email, credential_digest, csrf, created_at, last_seen, idle_seconds, absolute_seconds, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.digest, session.email, session.credentialDigest, session.csrf, Encoding.micros(session.createdAt),
                    Encoding.micros(session.lastSeen), Int64(session.idle.components.seconds), Int64(session.absolute.components.seconds),
                    Encoding.micros(session.expiresAt),
                ])
        }
    }

    public func touchSession(digest: String, now: Date) async throws -> DashboardSession? {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM dashboard_sessions WHERE digest = ?", arguments: [digest]) else { return nil }
            var session = DashboardSession(
                digest: try row.decode(forColumn: "digest"), email: try row.decode(forColumn: "email"),
                credentialDigest: try row.decode(forColumn: "credential_digest"), csrf: try row.decode(forColumn: "csrf"),
                createdAt: Encoding.date(micros: try row.decode(forColumn: "created_at")),
                lastSeen: Encoding.date(micros: try row.decode(forColumn: "last_seen")),
                idle: .seconds(try row.decode(Int64.self, forColumn: "idle_seconds")),
                absolute: .seconds(try row.decode(Int64.self, forColumn: "absolute_seconds")))
            guard session.expiresAt > now else {
                try db.execute(sql: "DELETE FROM dashboard_sessions WHERE digest = ?", arguments: [digest])
                return nil
            }
            session.lastSeen = now
            try db.execute(
                sql: "UPDATE dashboard_sessions SET last_seen = ?, expires_at = ? WHERE digest = ?",
                arguments: [Encoding.micros(now), Encoding.micros(session.expiresAt), digest])
            return session
        }
    }

    @discardableResult
    public func deleteSession(digest: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM dashboard_sessions WHERE digest = ?", arguments: [digest])
            return db.changesCount > 0
        }
    }

    public func searchAudit(_ query: AuditQuery) async throws -> [AuditRecord] {
        var conditions: [String] = []
        var arguments: [String] = []
        if let projects = query.projects {
            guard !projects.isEmpty else { return [] }
            conditions.append("project IN (\(Array(repeating: "?", count: projects.count).joined(separator: ", ")))")
            arguments += projects.sorted()
        }
        for (column, value) in [("actor", query.actor), ("action", query.action), ("outcome", query.outcome)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            arguments.append(value)
        }
        if let before = query.before {
            conditions.append("seq < \(before)")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(AuditTable.columns) FROM audit \(filter) ORDER BY seq DESC LIMIT \(query.limit)"
        let bound = arguments
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(bound)).map(AuditTable.record)
        }
    }
}
