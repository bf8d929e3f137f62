import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The keyed audit chain against someone who can edit the SQLite file (with the `sqlite3` tool)
/// but cannot read the audit key: issue 13's attack, its variants, anchors, wrong keys and the
/// upgrade of a store written before the chain was keyed.
@Suite("Keyed audit chain")
struct AuditKeyingTests {
    /// How the attacker recomputes the hashes of the entries they changed.
    struct Recompute: Sendable, CustomTestStringConvertible {
        var name: String
        var hash: @Sendable (_ previous: String, _ entry: AuditRecord.Content) -> String
        var testDescription: String { name }
    }

    static let recomputations = [
        Recompute(name: "with the unkeyed SHA-256 of before") { AuditChain.hash(previous: $0, entry: $1) },
        Recompute(name: "with a key of their own") { AuditChain.mac(previous: $0, entry: $1, key: otherAuditKey) },
    ]

    @Test(
        "issue 13: an entry edited, three deleted, the chain recomputed and the head rewritten fails, at the edited entry",
        arguments: recomputations)
    func editDeleteRecompute(_ recompute: Recompute) async throws {
        try await withScratch { scratch in
            try await appendEntries(scratch, count: 10)
            try sqlite3(
                scratch.path,
                """
                UPDATE audit SET outcome = 'denied', detail = '{"n":"forged"}' WHERE seq = 4;
                DELETE FROM audit WHERE seq IN (6, 7, 8);
                UPDATE audit SET seq = seq - 3 WHERE seq > 8;
                """)
            // Entries 1…3 keep their MACs; from the edited entry on, every hash is recomputed and
            // the head points at the new last entry: the chain is consistent again, without the key.
            try await recomputeChain(scratch.path, from: 4, with: recompute.hash)
            #expect(try sqlite3(scratch.path, "SELECT count(*), max(seq) FROM audit") == "7|7")

            let verdict = try await scratch.open().verifyAudit()
            #expect(brokenSequence(verdict) == 4, "\(verdict)")
            guard case .broken(_, let reason) = verdict else { return }
            #expect(reason.contains("does not match its MAC under the audit key"))
        }
    }

    @Test("recomputing the whole chain from the first entry fails at entry 1", arguments: recomputations)
    func recomputeEverything(_ recompute: Recompute) async throws {
        try await withScratch { scratch in
            try await appendEntries(scratch, count: 6)
            try sqlite3(scratch.path, "DELETE FROM audit WHERE seq = 6")
            try await recomputeChain(scratch.path, from: 1, with: recompute.hash)
            #expect(brokenSequence(try await scratch.open().verifyAudit()) == 1)
        }
    }

    /// Ways of attacking the record of where the keyed chain starts.
    static let keyingTampers: [(name: String, sql: String, reason: String)] = [
        (
            "declare every entry unkeyed", "UPDATE audit_keying SET legacy_seq = 5, legacy_hash = (SELECT hash FROM audit WHERE seq = 5)",
            "does not match its MAC"
        ),
        ("delete the keying record", "DELETE FROM audit_keying", "is missing"),
        ("name another key", "UPDATE audit_keying SET key_id = '0123456789abcdef'", "not with this key"),
        ("edit the seal", "UPDATE audit_keying SET seal = (SELECT hash FROM audit WHERE seq = 1)", "does not match its MAC"),
    ]

    @Test("the sealed start of the keyed chain cannot be moved, deleted or re-keyed", arguments: keyingTampers)
    func keyingTamper(_ tamper: (name: String, sql: String, reason: String)) async throws {
        try await withScratch { scratch in
            try await appendEntries(scratch, count: 5)
            // Declaring the entries unkeyed only helps with their hashes recomputed unkeyed.
            try await recomputeChain(scratch.path, from: 1) { AuditChain.hash(previous: $0, entry: $1) }
            try sqlite3(scratch.path, tamper.sql)
            let store = try? scratch.open()
            if tamper.name == "name another key" {
                // The store refuses to open with a key that is not the one named…
                #expect(store == nil)
                return
            }
            let verdict = try await #require(store).verifyAudit()
            #expect(brokenSequence(verdict) == 1, "\(verdict)")
            guard case .broken(_, let reason) = verdict else { return }
            #expect(reason.contains(tamper.reason), "\(reason)")
        }
    }

    @Test("an untouched store verifies, with and without anchors, across reopening")
    func untouchedVerifies() async throws {
        try await withScratch { scratch in
            var anchors: [AuditAnchor] = []
            for round in 1...3 {
                let store = try scratch.open()
                for index in 1...4 { try await store.appendAudit(Fixture.audit(detail: ["round": "\(round)", "n": "\(index)"])) }
                anchors.append(AuditAnchor(head: try await store.auditTail(limit: 1).first, at: Date()))
            }
            let store = try scratch.open()
            let head = try #require(try await store.auditTail(limit: 1).first)
            #expect(try await store.verifyAudit() == .intact(count: 12, head: head.hash))
            #expect(try await store.verifyAudit(anchors: anchors) == .intact(count: 12, head: head.hash))
            #expect(anchors.map(\.sequence) == [4, 8, 12])
            // The MACs are the keyed chain's, not plain SHA-256.
            let first = try #require(try await store.auditTail(limit: 12).first)
            #expect(first.hash == AuditChain.mac(previous: AuditChain.genesis, entry: first.content, key: testAuditKey))
            #expect(first.hash != AuditChain.hash(previous: AuditChain.genesis, entry: first.content))
        }
    }

    @Test("the newest entries deleted and the head rewound pass without an anchor and fail against one, naming the first missing entry")
    func truncationAfterAnchor() async throws {
        try await withScratch { scratch in
            let anchor: AuditAnchor
            do {
                let store = try scratch.open()
                for index in 1...8 { try await store.appendAudit(Fixture.audit(detail: ["n": "\(index)"])) }
                anchor = AuditAnchor(head: try await store.auditTail(limit: 1).first, at: Date())
                for index in 9...12 { try await store.appendAudit(Fixture.audit(detail: ["n": "\(index)"])) }
            }
            #expect(anchor.sequence == 8)
            try sqlite3(
                scratch.path,
                """
                DELETE FROM audit WHERE seq > 6;
                UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit WHERE seq = 6);
                """)
            let store = try scratch.open()
            // The limit the anchor exists for: a consistent truncation is invisible from inside.
            guard case .intact(count: 6, _) = try await store.verifyAudit() else {
                Issue.record("a consistently truncated log verifies without an anchor")
                return
            }
            let verdict = try await store.verifyAudit(anchors: [anchor])
            #expect(brokenSequence(verdict) == 7, "\(verdict)")
            guard case .broken(_, let reason) = verdict else { return }
            #expect(reason.contains("entry 8 was anchored"))
            #expect(reason.contains("truncated"))
        }
    }

    @Test("an anchor catches even a rewrite made with the key, at the anchored entry")
    func anchorCatchesRewriteWithTheKey() async throws {
        try await withScratch { scratch in
            let anchor: AuditAnchor
            do {
                let store = try scratch.open()
                for index in 1...5 { try await store.appendAudit(Fixture.audit(detail: ["n": "\(index)"])) }
                anchor = AuditAnchor(head: try await store.auditTail(limit: 1).first, at: Date())
                try await store.appendAudit(Fixture.audit(detail: ["n": "6"]))
            }
            try sqlite3(scratch.path, "UPDATE audit SET outcome = 'denied' WHERE seq = 3")
            try await recomputeChain(scratch.path, from: 3) { AuditChain.mac(previous: $0, entry: $1, key: testAuditKey) }
            let store = try scratch.open()
            guard case .intact = try await store.verifyAudit() else {
                Issue.record("a rewrite with the key verifies without an anchor")
                return
            }
            #expect(brokenSequence(try await store.verifyAudit(anchors: [anchor])) == 5)
        }
    }

    @Test("a store keyed with one key does not open with another, and says which")
    func wrongKey() async throws {
        try await withScratch { scratch in
            try await appendEntries(scratch, count: 3)
            #expect(throws: AuditKeyError.wrongKey(store: scratch.path, storeKeyID: testAuditKey.id, keyID: otherAuditKey.id)) {
                try SQLiteStore(path: scratch.path, auditKey: otherAuditKey)
            }
            // The chain itself, checked with the wrong key, is broken from its start.
            let records = try await scratch.open().auditTail(limit: 10)
            let keying = AuditKeying(legacyCount: 0, legacyHead: AuditChain.genesis, key: otherAuditKey)
            let verdict = AuditChain.verify(records, head: (3, records[2].hash), keying: keying, key: otherAuditKey)
            #expect(brokenSequence(verdict) == 1)
            #expect(!"\(AuditKeyError.wrongKey(store: "s", storeKeyID: testAuditKey.id, keyID: otherAuditKey.id))".contains(testAuditKeyHex))
        }
    }

    @Test("a store written before the chain was keyed keeps its entries as a sealed legacy segment, and the keyed chain continues from it")
    func legacyStoreMigrates() async throws {
        try await withScratch { scratch in
            let legacy = try makeLegacyStore(scratch, entries: 5)
            let store = try scratch.open()
            // Untouched: the old entries and their hashes are exactly as written.
            let records = try await store.auditTail(limit: 100)
            #expect(Array(records.prefix(5)) == legacy)
            let keyed = records[5]
            #expect(keyed.content.sequence == 6)
            #expect(keyed.content.action == "audit.keyed")
            #expect(keyed.content.detail.contains(#""legacy_entries":"5""#))
            #expect(keyed.previousHash == legacy[4].hash)
            #expect(keyed.hash == AuditChain.mac(previous: legacy[4].hash, entry: keyed.content, key: testAuditKey))
            #expect(try sqlite3(scratch.path, "SELECT legacy_seq, legacy_hash, key_id FROM audit_keying") == "5|\(legacy[4].hash)|\(testAuditKey.id)")

            let appended = try await store.appendAudit(Fixture.audit("after"))
            #expect(try await store.verifyAudit() == .intact(count: 7, head: appended.hash))
            // Reopening does not key it again.
            #expect(try await scratch.open().verifyAudit() == .intact(count: 7, head: appended.hash))
            #expect(try sqlite3(scratch.path, "SELECT count(*) FROM audit WHERE action = 'audit.keyed'") == "1")
        }
    }

    @Test("tampering with a legacy segment after the upgrade is still detected")
    func legacyTamper() async throws {
        for (sql, brokenAt) in [
            ("UPDATE audit SET outcome = 'x' WHERE seq = 2", Int64(2)),
            ("DELETE FROM audit WHERE seq = 3", 4),
            // Extending the legacy segment over the keyed entries breaks the seal.
            ("UPDATE audit_keying SET legacy_seq = 7", 1),
        ] {
            try await withScratch { scratch in
                _ = try makeLegacyStore(scratch, entries: 5)
                try await scratch.open().appendAudit(Fixture.audit("after"))
                try sqlite3(scratch.path, sql)
                #expect(brokenSequence(try await scratch.open().verifyAudit()) == brokenAt, "\(sql)")
            }
        }
        // Rewriting an unkeyed entry and recomputing the unkeyed chain is caught where it meets the seal.
        try await withScratch { scratch in
            _ = try makeLegacyStore(scratch, entries: 5)
            try await scratch.open().appendAudit(Fixture.audit("after"))
            try sqlite3(scratch.path, "UPDATE audit SET outcome = 'x' WHERE seq = 2")
            try await recomputeChain(scratch.path, from: 2, through: 5) { AuditChain.hash(previous: $0, entry: $1) }
            #expect(brokenSequence(try await scratch.open().verifyAudit()) == 5)
        }
    }

    // MARK: Helpers

    private func appendEntries(_ scratch: Scratch, count: Int) async throws {
        let store = try scratch.open()
        for index in 1...count {
            try await store.appendAudit(Fixture.audit("step", target: "Project/p\(index)", detail: ["n": "\(index)"]))
        }
        guard case .intact(count: count, _) = try await store.verifyAudit() else {
            Issue.record("the untouched log should verify")
            return
        }
    }

    /// Rewrites, as someone with the file but not the key would, the hashes of entries `from`…
    /// `through` (default: the last), each chained from its predecessor's and computed by
    /// `hash`; when it reaches the last entry, points the head at it.
    private func recomputeChain(
        _ path: String, from first: Int64, through last: Int64? = nil, with hash: @Sendable (String, AuditRecord.Content) -> String
    ) async throws {
        let records = try await SQLiteStore(path: path, auditKey: testAuditKey).auditTail(limit: 1_000)
        var previous = records.first { $0.content.sequence == first - 1 }?.hash ?? AuditChain.genesis
        var statements: [String] = []
        let end = last ?? records.last?.content.sequence ?? 0
        for record in records where record.content.sequence >= first && record.content.sequence <= end {
            let new = hash(previous, record.content)
            statements.append("UPDATE audit SET prev_hash = '\(previous)', hash = '\(new)' WHERE seq = \(record.content.sequence);")
            previous = new
        }
        if end == records.last?.content.sequence { statements.append("UPDATE audit_head SET seq = \(end), hash = '\(previous)';") }
        try sqlite3(path, statements.joined(separator: "\n"))
    }

    /// A store as an Asgard from before the keyed chain left it: `entries` entries hashed with
    /// plain SHA-256, the head, and no `audit_keying` or `v8-audit-hmac` migration.
    private func makeLegacyStore(_ scratch: Scratch, entries: Int) throws -> [AuditRecord] {
        _ = try scratch.open()
        var records: [AuditRecord] = []
        var previous = AuditChain.genesis
        var statements = [
            "DROP TABLE audit_keying;", "DELETE FROM grdb_migrations WHERE identifier = 'v8-audit-hmac';",
        ]
        for sequence in 1...Int64(entries) {
            let content = AuditRecord.Content(
                sequence: sequence, time: "2026-01-0\(sequence)T00:00:00.000Z", actor: "reconciler", action: "reconcile.create",
                target: "Project/p\(sequence)", outcome: "applied", detail: #"{"n":"\#(sequence)"}"#)
            let record = AuditRecord(content: content, previousHash: previous, hash: AuditChain.hash(previous: previous, entry: content))
            records.append(record)
            previous = record.hash
            statements.append(
                "INSERT INTO audit VALUES (\(sequence), '\(content.time)', 'reconciler', 'reconcile.create', 'Project/p\(sequence)', 'applied', "
                    + "'\(content.detail)', '\(record.previousHash)', '\(record.hash)');")
        }
        statements.append("INSERT INTO audit_head (id, seq, hash) VALUES (1, \(entries), '\(previous)');")
        try sqlite3(scratch.path, statements.joined(separator: "\n"))
        return records
    }
}
