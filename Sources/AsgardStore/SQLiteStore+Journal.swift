public import AsgardCore
import Foundation
import GRDB

/// Copying the gateway's call journal into the ledger and the audit log.
extension SQLiteStore {
    /// A PASSIVE checkpoint on the calling thread (`checkpointBlocking`): true when every frame
    /// of the write-ahead log is now in the database file, synced.
    public func makeDurable() throws -> Bool {
        try checkpointBlocking().complete
    }

    /// Inserts the ledger rows and appends the audit entries of `calls`, in order (each audit
    /// entry at its call's time), and records `position` as ingested, in one write transaction
    /// on the calling thread.
    /// - Throws: GRDB's `DatabaseError`; nothing is written then.
    public func ingest(_ calls: [RecordedCall], through position: JournalPosition) throws {
        try pool.write { db in
            try LedgerTable.insert(calls.compactMap(\.ledger), in: db)
            try AuditTable.append(calls.map(\.audit), times: calls.map { Encoding.rfc3339Milliseconds($0.time) }, key: auditKey, in: db)
            try db.cachedStatement(
                sql: """
                    INSERT INTO journal_position (id, segment, offset) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET segment = excluded.segment, offset = excluded.offset
                    """
            ).execute(arguments: [Int64(bitPattern: position.segment), position.offset])
        }
    }

    /// The journal position the store has ingested through, nil if it never ingested any.
    public func journalPosition() throws -> JournalPosition? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT segment, offset FROM journal_position WHERE id = 1").map { row in
                JournalPosition(segment: UInt64(bitPattern: row["segment"] as Int64), offset: row["offset"])
            }
        }
    }
}
