public import AsgardCore
import Foundation
import GRDB

extension SQLiteStore {
    public func recordEnforcedPolicies(_ source: PolicySource, audit: AuditEntry) async throws -> Bool {
        let (clock, key) = (self.clock, auditKey)
        let digest = source.digest
        let json = String(decoding: try JSONEncoder().encode(source.files), as: UTF8.self)
        return try await pool.write { db in
            let recorded = try String.fetchOne(db, sql: "SELECT digest FROM enforced_policies WHERE singleton = 1")
            guard recorded != digest else { return false }
            try db.execute(
                sql: """
                    INSERT INTO enforced_policies (singleton, digest, files_json, recorded_at) VALUES (1, ?, ?, ?)
                    ON CONFLICT (singleton) DO UPDATE SET
                        digest = excluded.digest, files_json = excluded.files_json, recorded_at = excluded.recorded_at
                    """, arguments: [digest, json, Encoding.micros(clock())])
            _ = try AuditTable.append(audit, at: clock(), key: key, in: db)
            return true
        }
    }

    public func enforcedPolicies() async throws -> PolicySource? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT digest, files_json FROM enforced_policies WHERE singleton = 1") else { return nil }
            let json: String = try row.decode(forColumn: "files_json")
            let source = PolicySource(files: try JSONDecoder().decode([PolicySource.File].self, from: Data(json.utf8)))
            let digest: String = try row.decode(forColumn: "digest")
            guard source.digest == digest else {
                throw CorruptRow(table: "enforced_policies", column: "files_json", value: "files whose digest is not \(digest)")
            }
            return source
        }
    }
}
