import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite("Audit log")
struct AuditTests {
    @Test("records carry the sequence, RFC 3339 millisecond UTC time, canonical detail and chained hashes")
    func recordFields() async throws {
        try await withScratch { scratch in
            let clock = TestClock(Date(timeIntervalSince1970: 1_795_642_954.123_9))
            let store = try scratch.open(clock: clock)
            let first = try await store.appendAudit(
                AuditEntry(
                    actor: "cli", action: "validate.rejected", target: nil, outcome: "rejected",
                    detail: ["zeta": "last", "path": "desired/projects/fraud.yaml", "alpha": "\"quoted\""]
                ))
            #expect(
                first.content
                    == AuditRecord.Content(
                        sequence: 1, time: "2026-11-25T21:42:34.123Z", actor: "cli", action: "validate.rejected", target: nil,
                        outcome: "rejected", detail: #"{"alpha":"\"quoted\"","path":"desired/projects/fraud.yaml","zeta":"last"}"#
                    ))
            #expect(first.previousHash == AuditChain.genesis)
            #expect(first.hash == AuditChain.mac(previous: AuditChain.genesis, entry: first.content, key: testAuditKey))

            clock.advance(seconds: 0.5)
            let second = try await store.commit(Fixture.put(.project(Fixture.project())), audit: Fixture.audit())
            #expect(second.content.sequence == 2)
            #expect(second.content.time == "2026-11-25T21:42:34.623Z")
            #expect(second.content.detail == "{}")
            #expect(second.previousHash == first.hash)

            #expect(try await store.auditTail(limit: 10) == [first, second])
            #expect(try await store.verifyAudit() == .intact(count: 2, head: second.hash))
            #expect(try sqlite3(scratch.path, "SELECT seq, hash FROM audit_head") == "2|\(second.hash)")
        }
    }

    @Test(
        "times are UTC and zero-padded", arguments: StoreFactory.all,
        [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (951_782_400.007, "2000-02-29T00:00:00.007Z"),
            (1_767_225_599.999_999, "2025-12-31T23:59:59.999Z"),
        ])
    func timeFormat(factory: StoreFactory, instant: (seconds: Double, expected: String)) async throws {
        try await withStore(factory, clock: TestClock(Date(timeIntervalSince1970: instant.seconds))) { store, _ in
            let record = try await store.appendAudit(Fixture.audit())
            #expect(record.content.time == instant.expected)
        }
    }

    @Test("times agree with Foundation's Gregorian calendar from 1670 to 2270", arguments: StoreFactory.all)
    func timesAgreeWithTheCalendar(factory: StoreFactory) async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        func pad(_ value: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
        let clock = TestClock()
        try await withStore(factory, clock: clock) { store, reopen in
            var random = SystemRandomNumberGenerator()
            for _ in 0..<300 {
                let millis = Int64.random(in: -9_467_000_000_000...9_467_000_000_000, using: &random)
                let seconds = millis >= 0 ? millis / 1000 : -((-millis + 999) / 1000)
                // 0.4 ms into the millisecond: far from its edges, whatever a Double's rounding.
                let date = Date(timeIntervalSince1970: Double(millis) / 1000 + 0.000_4)
                let parts = calendar.dateComponents(
                    [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
                let expected =
                    "\(pad(parts.year!, 4))-\(pad(parts.month!, 2))-\(pad(parts.day!, 2))T\(pad(parts.hour!, 2)):\(pad(parts.minute!, 2)):"
                    + "\(pad(parts.second!, 2)).\(pad(Int(millis - seconds * 1000), 3))Z"
                clock.set(date)
                let time = try await store.appendAudit(Fixture.audit()).content.time
                #expect(time == expected, "at \(millis) ms since 1970")
            }
        }
    }

    @Test("auditTail returns the newest entries oldest first", arguments: StoreFactory.all)
    func tail(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            #expect(try await store.auditTail(limit: 5).isEmpty)
            var written: [AuditRecord] = []
            for index in 1...10 {
                written.append(try await store.appendAudit(Fixture.audit(detail: ["n": "\(index)"])))
            }
            #expect(try await store.auditTail(limit: 3) == Array(written[7...]))
            #expect(try await store.auditTail(limit: 1).map(\.content.sequence) == [10])
            #expect(try await store.auditTail(limit: 100) == written)
            #expect(try await store.auditTail(limit: 0).isEmpty)
            #expect(try await store.auditTail(limit: -1).isEmpty)
        }
    }

    @Test("an empty log verifies intact with the genesis head", arguments: StoreFactory.all)
    func emptyLog(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let verification = try await store.verifyAudit()
            #expect(verification == .intact(count: 0, head: AuditChain.genesis))
            #expect(try await store.summary().auditHead == nil)
        }
    }

    @Test("the chain stays intact over many appends and commits", arguments: StoreFactory.all)
    func manyAppends(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            var last: AuditRecord?
            for index in 1...150 {
                if index.isMultiple(of: 3) {
                    last = try await store.commit(
                        Fixture.put(.project(Fixture.project("p\(index)"))), audit: Fixture.audit(target: "Project/p\(index)"))
                } else {
                    last = try await store.appendAudit(Fixture.audit("tick", detail: ["n": "\(index)"]))
                }
            }
            let head = try #require(last)
            #expect(head.content.sequence == 150)
            #expect(try await store.verifyAudit() == .intact(count: 150, head: head.hash))
            // And from a fresh connection.
            #expect(try await reopen().verifyAudit() == .intact(count: 150, head: head.hash))
        }
    }

    @Test("50 concurrent appends get sequences 1...50 with no gaps and an intact chain", arguments: StoreFactory.all)
    func concurrentAppends(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let records = try await withThrowingTaskGroup(of: AuditRecord.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        if index.isMultiple(of: 5) {
                            return try await store.commit(
                                Fixture.put(.project(Fixture.project("p\(index)"))),
                                audit: Fixture.audit(target: "Project/p\(index)"))
                        }
                        return try await store.appendAudit(Fixture.audit("concurrent", detail: ["task": "\(index)"]))
                    }
                }
                var all: [AuditRecord] = []
                for try await record in group { all.append(record) }
                return all
            }
            #expect(records.map(\.content.sequence).sorted() == Array(1...50))
            #expect(Set(records.map(\.hash)).count == 50)
            let tail = try await store.auditTail(limit: 100)
            #expect(tail.map(\.content.sequence) == Array(1...50))
            #expect(Set(tail) == Set(records))
            let head = try #require(tail.last)
            #expect(try await store.verifyAudit() == .intact(count: 50, head: head.hash))
            #expect(try await store.observedState().objects.count == 10)
        }
    }

    /// One way of tampering with the log through the `sqlite3` tool, and where verification must see it.
    struct Tamper: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String
        /// The sequence number `verifyAudit` must report as the first bad entry.
        var brokenAt: Int64
        var testDescription: String { name }
    }

    /// Every tamper runs against a log of five entries, seq 1...5.
    static let tampers: [Tamper] = [
        Tamper(name: "edit outcome", sql: "UPDATE audit SET outcome = 'x' WHERE seq = 2", brokenAt: 2),
        Tamper(name: "edit time", sql: "UPDATE audit SET time = '2020-01-01T00:00:00.000Z' WHERE seq = 2", brokenAt: 2),
        Tamper(name: "edit actor", sql: "UPDATE audit SET actor = 'someone-else' WHERE seq = 3", brokenAt: 3),
        Tamper(name: "edit action", sql: "UPDATE audit SET action = 'reconcile.noop' WHERE seq = 4", brokenAt: 4),
        Tamper(name: "null target", sql: "UPDATE audit SET target = NULL WHERE seq = 2", brokenAt: 2),
        Tamper(name: "edit detail", sql: #"UPDATE audit SET detail = '{"n":"9"}' WHERE seq = 2"#, brokenAt: 2),
        Tamper(name: "edit prev_hash", sql: "UPDATE audit SET prev_hash = hash WHERE seq = 2", brokenAt: 2),
        Tamper(name: "edit hash", sql: "UPDATE audit SET hash = prev_hash WHERE seq = 2", brokenAt: 2),
        Tamper(name: "edit newest outcome", sql: "UPDATE audit SET outcome = 'x' WHERE seq = 5", brokenAt: 5),
        Tamper(name: "delete first", sql: "DELETE FROM audit WHERE seq = 1", brokenAt: 2),
        Tamper(name: "delete middle", sql: "DELETE FROM audit WHERE seq = 2", brokenAt: 3),
        Tamper(name: "delete newest", sql: "DELETE FROM audit WHERE seq = 5", brokenAt: 5),
        Tamper(name: "delete two newest", sql: "DELETE FROM audit WHERE seq >= 4", brokenAt: 4),
        Tamper(name: "delete everything but the head", sql: "DELETE FROM audit", brokenAt: 1),
        Tamper(
            name: "swap contents of 2 and 3",
            sql: """
                CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE seq IN (2, 3);
                UPDATE audit SET (time, actor, action, target, outcome, detail, prev_hash, hash) =
                    (SELECT time, actor, action, target, outcome, detail, prev_hash, hash FROM saved WHERE saved.seq = 5 - audit.seq)
                WHERE seq IN (2, 3);
                """, brokenAt: 2),
        Tamper(
            name: "swap unhashed contents of 3 and 4, keeping hashes",
            sql: """
                CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE seq IN (3, 4);
                UPDATE audit SET (time, actor, action, target, outcome, detail) =
                    (SELECT time, actor, action, target, outcome, detail FROM saved WHERE saved.seq = 7 - audit.seq)
                WHERE seq IN (3, 4);
                """, brokenAt: 3),
        Tamper(
            name: "swap seq of 2 and 3",
            sql: """
                UPDATE audit SET seq = -2 WHERE seq = 2;
                UPDATE audit SET seq = 2 WHERE seq = 3;
                UPDATE audit SET seq = 3 WHERE seq = -2;
                """, brokenAt: 2),
        Tamper(name: "renumber newest", sql: "UPDATE audit SET seq = 7 WHERE seq = 5", brokenAt: 7),
        Tamper(
            name: "append a forged row",
            sql: """
                INSERT INTO audit (seq, time, actor, action, target, outcome, detail, prev_hash, hash)
                SELECT 6, time, actor, action, target, outcome, detail, hash, hash FROM audit WHERE seq = 5;
                """, brokenAt: 6),
        Tamper(name: "edit head hash", sql: "UPDATE audit_head SET hash = (SELECT hash FROM audit WHERE seq = 4)", brokenAt: 5),
        Tamper(name: "rewind head", sql: "UPDATE audit_head SET seq = 4", brokenAt: 4),
        Tamper(name: "delete head", sql: "DELETE FROM audit_head", brokenAt: 5),
    ]

    @Test("tampering through the sqlite3 tool is detected at the exact entry", arguments: tampers)
    func tamper(_ tamper: Tamper) async throws {
        try await withScratch { scratch in
            do {
                let store = try scratch.open()
                for index in 1...5 {
                    try await store.appendAudit(Fixture.audit("step", target: "Project/p\(index)", detail: ["n": "\(index)"]))
                }
                guard case .intact(count: 5, _) = try await store.verifyAudit() else {
                    Issue.record("the untouched log should verify")
                    return
                }
            }
            try sqlite3(scratch.path, tamper.sql)
            let store = try scratch.open()
            let verdict = try await store.verifyAudit()
            #expect(brokenSequence(verdict) == tamper.brokenAt, "\(verdict)")
        }
    }

    @Test("tampering while the store stays open is detected too")
    func tamperWhileOpen() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            for _ in 1...4 { try await store.appendAudit(Fixture.audit()) }
            #expect(try await store.auditTail(limit: 1).first?.content.sequence == 4)
            try sqlite3(scratch.path, "UPDATE audit SET outcome = 'denied' WHERE seq = 3")
            #expect(brokenSequence(try await store.verifyAudit()) == 3)
            try sqlite3(scratch.path, "UPDATE audit SET outcome = 'applied' WHERE seq = 3")
            let head = try #require(try await store.summary().auditHead)
            #expect(try await store.verifyAudit() == .intact(count: 4, head: head))
        }
    }
}
