import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite struct CallLogTests {
    static func call(_ n: Int) -> (LedgerEntry, AuditEntry) {
        let time = Date(timeIntervalSince1970: 1_795_608_000 + Double(n))
        return (LedgerEntry(requestID: "r\(n)", time: time, project: "p", keyID: "k", vendor: "v", model: "v/m", upstream: "u",
                            promptTokens: 1, completionTokens: 1, cost: MicroDollars(10), latencyMicroseconds: 1, status: "ok", estimated: false),
                AuditEntry(actor: "key:k", action: "gateway.invoke", target: "v/m", outcome: "allowed", detail: ["n": String(n)]))
    }

    /// Calls recorded concurrently reach the store in one piece: every ledger row, every audit
    /// entry at its call's time, an intact chain, and the journal position reached.
    @Test func recordedCallsReachTheStore() async throws {
        let root = try makeTemporaryDirectory("calllog")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let log = try CallLog.open(store: store, directory: root + "/journal")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<300 {
                group.addTask {
                    let (ledger, audit) = Self.call(n)
                    try await log.recorder.record(ledger: ledger, audit: audit)
                    await Task.yield()
                }
            }
            try await group.waitForAll()
        }
        await log.ingester.caughtUp()
        let summary = try await store.summary()
        #expect(summary.ledgerRows == 300 && summary.auditEntries == 300)
        guard case .intact(let count, _) = try await store.verifyAudit() else { Issue.record("audit chain broken"); return }
        #expect(count == 300)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for record in try await store.auditTail(limit: 300) {
            let n = Int(record.content.detail.split(separator: "\"")[3])!
            #expect(record.content.time == format.string(from: Self.call(n).0.time))
        }
        #expect(try store.journalPositionBlocking() == log.journal.end)
        await log.ingester.stop()
    }

    /// What a killed process left in the journal, and only that, is copied in when the log is
    /// opened again; a second open copies nothing twice.
    @Test func openingRecoversWhatTheStoreLacks() async throws {
        let root = try makeTemporaryDirectory("calllog-recover")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let first = try CallLog.open(store: store, directory: root + "/journal")
        for n in 0..<3 {
            let (ledger, audit) = Self.call(n)
            try await first.recorder.record(ledger: ledger, audit: audit)
        }
        await first.ingester.caughtUp()
        await first.ingester.stop()
        // The "killed" process: its records reached the journal, never the store.
        let journal = try CallJournal(directory: root + "/journal")
        try journal.append((3..<8).map { n in
            let (ledger, audit) = Self.call(n)
            return RecordedCall(time: ledger.time, ledger: ledger, audit: audit)
        })
        #expect(try await store.summary().ledgerRows == 3)
        let second = try CallLog.open(store: store, directory: root + "/journal")
        await second.ingester.stop()
        let rows = try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID)
        #expect(rows == (0..<8).map { "r\($0)" })
        let third = try CallLog.open(store: store, directory: root + "/journal")
        await third.ingester.stop()
        #expect(try await store.summary().ledgerRows == 8)
        guard case .intact(let count, _) = try await store.verifyAudit() else { Issue.record("audit chain broken"); return }
        #expect(count == 8)
        // The recovered segments are in the store and durable: only the open one is left.
        #expect(third.journal.retainedSegments == [third.journal.end.segment])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/journal").count == 1)
    }

    /// A call recorded after the ingester stopped is durable all the same: `caughtUp` says it
    /// is not in the store, and the next open copies it in.
    @Test func aCallRecordedAfterStopWaitsInTheJournal() async throws {
        let root = try makeTemporaryDirectory("calllog-stopped")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let log = try CallLog.open(store: store, directory: root + "/journal")
        await log.ingester.stop()
        let (ledger, audit) = Self.call(1)
        try await log.recorder.record(ledger: ledger, audit: audit)
        #expect(await log.ingester.caughtUp(within: .seconds(5)) == false)
        #expect(try await store.summary().ledgerRows == 0)
        let reopened = try CallLog.open(store: store, directory: root + "/journal")
        await reopened.ingester.stop()
        #expect(try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID) == ["r1"])
    }

    /// A round the store refuses (here a request id already in the ledger) is retried until it
    /// goes in: the call was answered, and nothing of it is dropped.
    @Test func aRefusedRoundIsRetriedUntilTheStoreTakesIt() async throws {
        let root = try makeTemporaryDirectory("calllog-retry")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let (ledger, audit) = Self.call(1)
        var squatter = ledger
        squatter.project = "squatter"
        try await store.appendLedger([squatter])
        let log = try CallLog.open(store: store, directory: root + "/journal")
        try await log.recorder.record(ledger: ledger, audit: audit)
        #expect(await log.ingester.caughtUp(within: .milliseconds(800)) == false)
        #expect(try await store.summary().auditEntries == 0)
        try sqlite3(root + "/asgard.sqlite", "DELETE FROM ledger WHERE project = 'squatter'")
        // The retries back off (0.5, 1, 2, 4, 8 s…) on a low-priority thread: on a busy machine
        // the next one can be many seconds away.
        var inStore = false
        for _ in 0..<90 where !inStore { inStore = await log.ingester.caughtUp(within: .seconds(1)) }
        #expect(inStore)
        #expect(try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID) == ["r1"])
        #expect(try await store.summary().auditEntries == 1)
        await log.ingester.stop()
    }
}
