import AsgardCore
import AsgardJSON
import Foundation
import GRDB

/// The audit log in SQLite: `audit` holds the chained records, `audit_head` the newest
/// sequence number and MAC, written in the same transaction as each record, and `audit_keying`
/// the sealed start of the keyed chain (`AuditKeying`).
enum AuditTable {
    /// Appends `entry` as the next record of the chain, inside the caller's write transaction.
    static func append(_ entry: AuditEntry, at now: Date, key: AuditKey, in db: Database) throws -> AuditRecord {
        var records = try append([entry], at: now, key: key, in: db)
        return records.removeLast()
    }

    /// Appends `entries`, in order, as the next records of the chain, each MAC'd under `key`,
    /// inside the caller's write transaction: the head is read once and written once, whatever
    /// the batch's size.
    ///
    /// The pool's single writer serializes transactions, so reading the head and writing the
    /// next records cannot interleave with another append.
    @discardableResult
    static func append(_ entries: [AuditEntry], at now: Date, key: AuditKey, in db: Database) throws -> [AuditRecord] {
        try append(entries, times: Array(repeating: Encoding.rfc3339Milliseconds(now), count: entries.count), key: key, in: db)
    }

    /// `append`, each entry with its own time (RFC 3339 text, as `AuditRecord.Content.time`).
    @discardableResult
    static func append(_ entries: [AuditEntry], times: [String], key: AuditKey, in db: Database) throws -> [AuditRecord] {
        guard !entries.isEmpty else { return [] }
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_head WHERE id = 1"))
        let records = AuditChain.records(
            after: (try head?.decode(forColumn: "seq") ?? 0, try head?.decode(forColumn: "hash") ?? AuditChain.genesis),
            appending: entries, times: times, key: key)
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for record in records {
            let content = record.content
            try insert.execute(arguments: [
                content.sequence, content.time, content.actor, content.action, content.target,
                content.outcome, content.detail, record.previousHash, record.hash,
            ])
        }
        guard let last = records.last else { return [] }
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
                """
        ).execute(arguments: [last.content.sequence, last.hash])
        return records
    }

    /// The columns of `audit`, in the order `record(_:)` reads them.
    static let columns = "seq, time, actor, action, target, outcome, detail, prev_hash, hash"

    /// Reads one `audit` row.
    static func record(_ row: Row) throws -> AuditRecord {
        AuditRecord(
            content: AuditRecord.Content(
                sequence: try row.decode(forColumn: "seq"),
                time: try row.decode(forColumn: "time"),
                actor: try row.decode(forColumn: "actor"),
                action: try row.decode(forColumn: "action"),
                target: try row.decode(forColumn: "target"),
                outcome: try row.decode(forColumn: "outcome"),
                detail: try row.decode(forColumn: "detail")
            ),
            previousHash: try row.decode(forColumn: "prev_hash"),
            hash: try row.decode(forColumn: "hash")
        )
    }

    /// Checks the whole log against itself, the recorded head, the sealed start of the keyed
    /// chain and `anchors`, inside one read transaction, one row at a time.
    ///
    /// A row that cannot even be read as a record (a value of the wrong type, written around the
    /// schema) is reported as broken at its sequence number, unless an earlier entry already is.
    static func verify(in db: Database, key: AuditKey, anchors: [AuditAnchor]) throws -> AuditVerification {
        var check = AuditChainCheck(keying: keying(in: db), key: key, anchors: anchors)
        var last: Int64 = 0
        let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM audit ORDER BY seq")
        while let row = try cursor.next() {
            guard let record = try? record(row) else {
                let sequence: Int64 = (try? row.decode(forColumn: "seq")) ?? last + 1
                let reason = "the entry cannot be read: a column holds a value of the wrong type"
                let unreadable = AuditVerification.broken(sequence: sequence, reason: reason)
                return check.keyingFailure ?? unreadable
            }
            if let broken = check.next(record) { return broken }
            last = record.content.sequence
        }
        let head: (sequence: Int64, hash: String)?
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1") {
            guard let sequence = try? row.decode(Int64.self, forColumn: "seq"),
                let hash = try? row.decode(String.self, forColumn: "hash")
            else {
                return check.keyingFailure ?? .broken(sequence: last, reason: "the recorded head cannot be read")
            }
            head = (sequence, hash)
        } else {
            head = nil
        }
        return check.end(head: head)
    }

    // MARK: Keying

    /// The sealed start of the keyed chain; nil when the row is missing or unreadable.
    static func keying(in db: Database) -> AuditKeying? {
        guard let row = try? Row.fetchOne(db, sql: "SELECT legacy_seq, legacy_hash, key_id, seal FROM audit_keying WHERE id = 1"),
            let legacyCount = try? row.decode(Int64.self, forColumn: "legacy_seq"),
            let legacyHead = try? row.decode(String.self, forColumn: "legacy_hash"),
            let keyID = try? row.decode(String.self, forColumn: "key_id"),
            let seal = try? row.decode(String.self, forColumn: "seal")
        else { return nil }
        return AuditKeying(legacyCount: legacyCount, legacyHead: legacyHead, keyID: keyID, seal: seal)
    }

    /// Keys the chain of a store that has none yet, inside the migration's transaction: seals the
    /// log as it stands (entries up to the recorded head become the unkeyed legacy segment) and,
    /// when there are such entries, appends `audit.keyed` as the first keyed entry, saying so.
    static func key(_ key: AuditKey, at now: Date, in db: Database) throws {
        let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1")
        let legacyCount = head.flatMap { try? $0.decode(Int64.self, forColumn: "seq") } ?? 0
        let legacyHead = head.flatMap { try? $0.decode(String.self, forColumn: "hash") } ?? AuditChain.genesis
        let keying = AuditKeying(legacyCount: legacyCount, legacyHead: legacyHead, key: key)
        try db.execute(
            sql: "INSERT INTO audit_keying (id, legacy_seq, legacy_hash, key_id, seal) VALUES (1, ?, ?, ?, ?)",
            arguments: [keying.legacyCount, keying.legacyHead, keying.keyID, keying.seal])
        guard legacyCount > 0 else { return }
        let entry = AuditEntry(
            actor: "asgard", action: "audit.keyed", target: nil, outcome: "applied",
            detail: ["legacy_entries": String(legacyCount), "legacy_head": legacyHead, "key_id": key.id])
        _ = try append(entry, at: now, key: key, in: db)
    }
}
