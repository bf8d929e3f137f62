import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct CallLogTests {
    /// A ledger row of project `squatter` holding `requestID`, written behind the store's back,
    /// so the store refuses to copy the call of that id in until the row is deleted.
    static func squat(_ requestID: String, in path: String) throws {
        try sqlite3(
            path,
            """
            INSERT INTO ledger (request_id, time, project, key_id, vendor, model, upstream, prompt_tokens, completion_tokens,
                cost_micros, latency_us, status, estimated) VALUES ('\(requestID)', 0, 'squatter', 'k', 'v', 'v/m', 'u', 0, 0, 0, 0, 'ok', 0)
            """)
    }

    static func call(_ n: Int) -> (LedgerEntry, AuditEntry) {
        let time = Date(timeIntervalSince1970: 1_795_608_000 + Double(n))
        return (
            LedgerEntry(
                requestID: "r\(n)", time: time, project: "p", keyID: "k", vendor: "v", model: "v/m", upstream: "u",
                promptTokens: 1, completionTokens: 1, cost: MicroDollars(10), latencyMicroseconds: 1, status: "ok", estimated: false),
            AuditEntry(actor: "key:k", action: "gateway.invoke", target: "v/m", outcome: "allowed", detail: ["n": String(n)])
        )
    }

    /// Calls recorded concurrently reach the store in one piece: every ledger row, every audit
    /// entry at its call's time, an intact chain, and the journal position reached.
    @Test func recordedCallsReachTheStore() async throws {
        let root = try makeTemporaryDirectory("calllog")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
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
        guard case .intact(let count, _) = try await store.verifyAudit() else {
            Issue.record("audit chain broken")
            return
        }
        #expect(count == 300)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for record in try await store.auditTail(limit: 300) {
            let n = Int(record.content.detail.split(separator: "\"")[3])!
            #expect(record.content.time == format.string(from: Self.call(n).0.time))
        }
        #expect(try store.journalPosition() == log.journal.end)
        await log.close()
    }

    /// What a killed process left in the journal, and only that, is copied in when the log is
    /// opened again; a second open copies nothing twice.
    @Test func openingRecoversWhatTheStoreLacks() async throws {
        let root = try makeTemporaryDirectory("calllog-recover")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let first = try CallLog.open(store: store, directory: root + "/journal")
        for n in 0..<3 {
            let (ledger, audit) = Self.call(n)
            try await first.recorder.record(ledger: ledger, audit: audit)
        }
        await first.close()
        // The "killed" process: its records reached the journal, never the store.
        let journal = try CallJournal(directory: root + "/journal")
        try journal.append(
            (3..<8).map { n in
                let (ledger, audit) = Self.call(n)
                return RecordedCall(time: ledger.time, ledger: ledger, audit: audit)
            })
        #expect(try await store.summary().ledgerRows == 3)
        let second = try CallLog.open(store: store, directory: root + "/journal")
        await second.close()
        let rows = try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID)
        #expect(rows == (0..<8).map { "r\($0)" })
        let third = try CallLog.open(store: store, directory: root + "/journal")
        await third.close()
        #expect(try await store.summary().ledgerRows == 8)
        guard case .intact(let count, _) = try await store.verifyAudit() else {
            Issue.record("audit chain broken")
            return
        }
        #expect(count == 8)
        // The recovered segments are in the store and durable: only the open one is left.
        #expect(third.journal.retainedSegments == [third.journal.end.segment])
        #expect(try CallJournalFiles.segments(in: root + "/journal").count == 1)
    }

    /// A call recorded after the ingester stopped is durable all the same: `caughtUp` says it
    /// is not in the store, and the next open copies it in.
    @Test func aCallRecordedAfterStopWaitsInTheJournal() async throws {
        let root = try makeTemporaryDirectory("calllog-stopped")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let log = try CallLog.open(store: store, directory: root + "/journal")
        await log.ingester.stop()
        let (ledger, audit) = Self.call(1)
        try await log.recorder.record(ledger: ledger, audit: audit)
        #expect(await log.ingester.caughtUp(within: .seconds(5)) == false)
        #expect(try await store.summary().ledgerRows == 0)
        await log.close()
        let reopened = try CallLog.open(store: store, directory: root + "/journal")
        await reopened.close()
        #expect(try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID) == ["r1"])
    }

    /// A round the store refuses (here a request id already in the ledger) is retried until it
    /// goes in: the call was answered, and nothing of it is dropped.
    @Test func aRefusedRoundIsRetriedUntilTheStoreTakesIt() async throws {
        let root = try makeTemporaryDirectory("calllog-retry")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let (ledger, audit) = Self.call(1)
        try Self.squat(ledger.requestID, in: root + "/asgard.sqlite")
        let log = try CallLog.open(store: store, directory: root + "/journal")
        try await log.recorder.record(ledger: ledger, audit: audit)
        #expect(await log.ingester.caughtUp(within: .milliseconds(800)) == false)
        #expect(try await store.summary().auditEntries == 0)
        #expect(log.ingester.backlog == 1)
        try sqlite3(root + "/asgard.sqlite", "DELETE FROM ledger WHERE project = 'squatter'")
        // The retries back off (0.5, 1, 2, 4, 8 s…) on a low-priority thread: on a busy machine
        // the next one can be many seconds away.
        var inStore = false
        for _ in 0..<90 where !inStore { inStore = await log.ingester.caughtUp(within: .seconds(1)) }
        #expect(inStore)
        #expect(try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID) == ["r1"])
        #expect(try await store.summary().auditEntries == 1)
        #expect(log.ingester.backlog == 0)
        await log.close()
    }

    /// One process per journal: a second open is refused by name while the first holds it.
    @Test func aSecondOpenIsRefusedWhileTheFirstHoldsTheJournal() async throws {
        let root = try makeTemporaryDirectory("calllog-lock")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let first = try CallLog.open(store: store, directory: root + "/journal")
        #expect(throws: CallLogError.inUse(directory: root + "/journal")) {
            try CallLog.open(store: store, directory: root + "/journal")
        }
        await first.close()
        let second = try CallLog.open(store: store, directory: root + "/journal")
        await second.close()
    }

    /// A lock held for a moment by another process (as a child holds a copy of the lock's
    /// descriptor between its fork and its exec) is waited for, not taken for another server.
    @Test func aLockHeldForAMomentIsWaitedFor() async throws {
        let root = try makeTemporaryDirectory("calllog-lockmoment")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        try FileManager.default.createDirectory(atPath: root + "/journal", withIntermediateDirectories: true)
        // The holder takes the lock, says so, and keeps it until told to let go.
        let holder = ChildProcess()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [
            "--exclusive", root + "/journal/lock", "sh", "-c", "touch '\(root)/held'; while [ ! -e '\(root)/release' ]; do sleep 0.01; done",
        ]
        try holder.run()
        // On threads of its own: a test starving the shared pool must not hold back the release
        // (the open would then wait out its patience and fail, as it did in CI).
        let log = try await Task.detached(executorPreference: DedicatedThreadExecutor()) {
            var waited = 0
            while !FileManager.default.fileExists(atPath: root + "/held") && waited < 6_000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(waited < 6_000, "flock never took the lock")
            // The open starts while the lock is held, and waits; the holder lets go after 200 ms.
            let opening = Task.detached(executorPreference: DedicatedThreadExecutor()) {
                try CallLog.open(store: store, directory: root + "/journal", lockPatience: .seconds(60))
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(FileManager.default.createFile(atPath: root + "/release", contents: nil))
            return try await opening.value
        }.value
        await holder.exited()
        #expect(holder.terminationStatus == 0)
        await log.close()
    }

    /// When the store falls `maxQueued` calls behind, recording blocks until it catches up,
    /// and then every call goes in.
    @Test func aFullQueueHoldsCallsBackUntilTheStoreCatchesUp() async throws {
        let root = try makeTemporaryDirectory("calllog-backpressure")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        try Self.squat(Self.call(0).0.requestID, in: root + "/asgard.sqlite")
        let log = try CallLog.open(store: store, directory: root + "/journal", maxQueued: 3)
        // Call 0 collides with the squatter, so the store takes nothing until it is removed.
        // The calls come one after another (each its own group commit); a blocked call blocks
        // its thread, so they get a thread of their own.
        let recorded = Counter()
        let caller = Task.detached(executorPreference: DedicatedThreadExecutor()) {
            for n in 0..<12 {
                let (ledger, audit) = Self.call(n)
                try await log.recorder.record(ledger: ledger, audit: audit)
                _ = recorded.increment()
            }
        }
        // Call 0 is taken, refused and put back, then two more fill the queue to three.
        try await Task.sleep(for: .seconds(1))
        #expect(recorded.value == 3)
        #expect(log.ingester.backlog == 3)
        try sqlite3(root + "/asgard.sqlite", "DELETE FROM ledger WHERE project = 'squatter'")
        try await caller.value
        #expect(recorded.value == 12)
        var inStore = false
        for _ in 0..<90 where !inStore { inStore = await log.ingester.caughtUp(within: .seconds(1)) }
        #expect(
            try await store.ledger(project: "p", from: .distantPast, to: .distantFuture).map(\.requestID).sorted()
                == (0..<12).map { "r\($0)" }.sorted())
        #expect(log.ingester.backlog == 0)
        await log.close()
    }
}

/// A shared count.
final class Counter: Sendable {
    private let count = Mutex(0)
    /// Adds one; returns the new count.
    func increment() -> Int {
        count.withLock {
            $0 += 1
            return $0
        }
    }
    var value: Int { count.withLock { $0 } }
}

/// The journal's segment files, as `CallJournal` names them.
enum CallJournalFiles {
    static func segments(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".journal") }
    }
}
