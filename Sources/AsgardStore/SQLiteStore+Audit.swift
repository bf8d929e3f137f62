import AsgardCore
import AsgardJSON
import Foundation
import GRDB

/// The audit log in SQLite: `audit` holds the chained records, `audit_head` the newest
/// sequence number and hash, written in the same transaction as each record.
enum AuditTable {
    /// Appends `entry` as the next record of the chain, inside the caller's write transaction.
    static func append(_ entry: AuditEntry, at now: Date, in db: Database) throws -> AuditRecord {
        var records = try append([entry], at: now, in: db)
        return records.removeLast()
    }

    /// Appends `entries`, in order, as the next records of the chain, inside the caller's write
    /// transaction: the head is read once and written once, whatever the batch's size.
    ///
    /// The pool's single writer serializes transactions, so reading the head and writing the
    /// next records cannot interleave with another append.
    @discardableResult
    static func append(_ entries: [AuditEntry], at now: Date, in db: Database) throws -> [AuditRecord] {
        try append(entries, times: repeatElement(Encoding.rfc3339Milliseconds(now), count: entries.count), in: db)
    }

    /// `append`, each entry with its own time (RFC 3339 text, as `AuditRecord.Content.time`).
    @discardableResult
    static func append(_ entries: [AuditEntry], times: some Sequence<String>, in db: Database) throws -> [AuditRecord] {
        guard !entries.isEmpty else { return [] }
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_head WHERE id = 1"))
        var sequence: Int64 = try head?.decode(forColumn: "seq") ?? 0
        var previousHash: String = try head?.decode(forColumn: "hash") ?? AuditChain.genesis
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        var records: [AuditRecord] = []
        records.reserveCapacity(entries.count)
        for (entry, time) in zip(entries, times) {
            sequence += 1
            let content = AuditRecord.Content(
                sequence: sequence, time: time, actor: entry.actor, action: entry.action,
                target: entry.target, outcome: entry.outcome, detail: CanonicalJSON.encodeStrings(entry.detail))
            let record = AuditRecord(
                content: content, previousHash: previousHash,
                hash: AuditChain.hash(previous: previousHash, entry: content))
            try insert.execute(arguments: [
                content.sequence, content.time, content.actor, content.action, content.target,
                content.outcome, content.detail, record.previousHash, record.hash,
            ])
            records.append(record)
            previousHash = record.hash
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
                """
        ).execute(arguments: [sequence, previousHash])
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

    /// Checks the whole log against itself and the recorded head, inside one read transaction.
    ///
    /// A row that cannot even be read as a record (a value of the wrong type, written around the
    /// schema) is reported as broken at its sequence number, unless an earlier entry already is.
    static func verify(in db: Database) throws -> AuditVerification {
        var records: [AuditRecord] = []
        let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM audit ORDER BY seq")
        while let row = try cursor.next() {
            guard let record = try? record(row) else {
                let sequence: Int64 = (try? row.decode(forColumn: "seq")) ?? Int64(records.count + 1)
                return brokenAfter(records, at: sequence, reason: "the entry cannot be read: a column holds a value of the wrong type")
            }
            records.append(record)
        }
        let head: (sequence: Int64, hash: String)?
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_head WHERE id = 1") {
            guard let sequence = try? row.decode(Int64.self, forColumn: "seq"),
                let hash = try? row.decode(String.self, forColumn: "hash")
            else {
                let last = records.last?.content.sequence ?? 0
                return brokenAfter(records, at: last, reason: "the recorded head cannot be read")
            }
            head = (sequence, hash)
        } else {
            head = nil
        }
        return AuditChain.verify(records, head: head)
    }

    /// The verdict when the log is unreadable at `sequence`: the first break among the readable
    /// `prefix` if there is one, else a break at `sequence`.
    private static func brokenAfter(_ prefix: [AuditRecord], at sequence: Int64, reason: String) -> AuditVerification {
        let prefixHead = prefix.last.map { (sequence: $0.content.sequence, hash: $0.hash) }
        let verdict = AuditChain.verify(prefix, head: prefixHead)
        if case .broken = verdict { return verdict }
        return .broken(sequence: sequence, reason: reason)
    }
}
