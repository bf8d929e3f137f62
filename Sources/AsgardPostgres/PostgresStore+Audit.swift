public import AsgardCore
import Foundation
import PostgresNIO

/// The audit log on PostgreSQL: `audit` holds the chained records, `audit_head` (always one
/// row) the newest sequence number and MAC, and `audit_keying` the sealed start of the keyed
/// chain. An append locks the head row first, so appends from every replica form one chain.
enum AuditTable {
    /// Locks the head row until the transaction ends and reads it.
    static let lockHead: PostgresQuery = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"

    /// The columns of `audit`, in the order `record(_:)` reads them.
    static let columns = "seq, time, actor, action, target, outcome, detail, prev_hash, hash"

    /// What appending `entries` after the head `head` writes: the records, MAC'd under `key`,
    /// and the two statements that store them and move the head (one round trip each, whatever
    /// the batch's size).
    static func chain(
        _ entries: [AuditEntry], times: [String], after head: [Record], key: AuditKey
    ) throws -> (records: [AuditRecord], statements: [PostgresQuery]) {
        guard let row = head.first else { throw CorruptRow(table: "audit_head", column: "seq", value: "no row") }
        let records = AuditChain.records(after: (try row("seq"), try row("hash")), appending: entries, times: times, key: key)
        guard let last = records.last else { return ([], []) }
        let contents = records.map(\.content)
        let insert: PostgresQuery = """
            INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash)
            SELECT seq, time, actor, action, CASE WHEN no_target THEN NULL ELSE target END, outcome, detail, prev_hash, hash
            FROM UNNEST(\(contents.map(\.sequence))::bigint[], \(contents.map(\.time))::text[], \(contents.map(\.actor))::text[],
                        \(contents.map(\.action))::text[], \(contents.map { $0.target ?? "" })::text[],
                        \(contents.map { $0.target == nil })::boolean[], \(contents.map(\.outcome))::text[],
                        \(contents.map(\.detail))::text[], \(records.map(\.previousHash))::text[], \(records.map(\.hash))::text[])
                AS batch (seq, time, actor, action, target, no_target, outcome, detail, prev_hash, hash)
            """
        let moveHead: PostgresQuery = "UPDATE audit_head SET seq = \(last.content.sequence), hash = \(last.hash) WHERE id = 1"
        return (records, [insert, moveHead])
    }

    /// Appends `entries`, each at its time, inside the caller's transaction.
    @discardableResult
    static func append(_ entries: [AuditEntry], times: [String], key: AuditKey, on db: PostgresConnection) async throws -> [AuditRecord] {
        guard !entries.isEmpty else { return [] }
        let (records, statements) = try chain(entries, times: times, after: try await db.rows(lockHead), key: key)
        for statement in statements { try await db.run(statement) }
        return records
    }

    /// Appends `entry` at `now`, inside the caller's transaction.
    static func append(_ entry: AuditEntry, at now: Date, key: AuditKey, on db: PostgresConnection) async throws -> AuditRecord {
        let records = try await append([entry], times: [StoreCoding.rfc3339Milliseconds(now)], key: key, on: db)
        // One entry in, one record out.
        return records[0]
    }

    /// Reads one `audit` row.
    static func record(_ row: Record) throws -> AuditRecord {
        AuditRecord(
            content: AuditRecord.Content(
                sequence: try row("seq"), time: try row("time"), actor: try row("actor"), action: try row("action"),
                target: try row("target"), outcome: try row("outcome"), detail: try row("detail")),
            previousHash: try row("prev_hash"), hash: try row("hash"))
    }
}

extension PostgresStore {
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord {
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in try await AuditTable.append(entry, at: clock(), key: key, on: db) }
    }

    public func auditTail(limit: Int) async throws -> [AuditRecord] {
        guard limit > 0 else { return [] }
        return try await read { db in
            try await db.rows("SELECT \(unescaped: AuditTable.columns) FROM audit ORDER BY seq DESC LIMIT \(limit)")
                .map(AuditTable.record).reversed()
        }
    }

    /// Walks the log in one snapshot, row by row, against the recorded head, the sealed start of
    /// the keyed chain and `anchors`, as `SQLiteStore.verifyAudit` does.
    public func verifyAudit(anchors: [AuditAnchor]) async throws -> AuditVerification {
        let key = auditKey
        return try await read { db in
            let keying = try await db.rows("SELECT legacy_seq, legacy_hash, key_id, seal FROM audit_keying WHERE id = 1").first.flatMap { row in
                try? AuditKeying(legacyCount: row("legacy_seq"), legacyHead: row("legacy_hash"), keyID: row("key_id"), seal: row("seal"))
            }
            var check = AuditChainCheck(keying: keying, key: key, anchors: anchors)
            var last: Int64 = 0
            for try await row in try await db.query("SELECT \(unescaped: AuditTable.columns) FROM audit ORDER BY seq", logger: Self.logger) {
                let row = Record(row)
                guard let record = try? AuditTable.record(row) else {
                    let unreadable = AuditVerification.broken(
                        sequence: (try? row("seq", as: Int64.self)) ?? last + 1,
                        reason: "the entry cannot be read: a column holds a value of the wrong type")
                    return check.keyingFailure ?? unreadable
                }
                if let broken = check.next(record) { return broken }
                last = record.content.sequence
            }
            guard let row = try await db.rows("SELECT seq, hash FROM audit_head WHERE id = 1").first else {
                return check.end(head: nil)
            }
            guard let sequence = try? row("seq", as: Int64.self), let hash = try? row("hash", as: String.self) else {
                return check.keyingFailure ?? .broken(sequence: last, reason: "the recorded head cannot be read")
            }
            // The head's row exists from the start: at sequence 0 it records an empty log.
            return check.end(head: sequence == 0 && hash == AuditChain.genesis ? nil : (sequence, hash))
        }
    }
}
