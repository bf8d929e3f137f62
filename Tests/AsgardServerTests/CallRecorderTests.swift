import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct CallRecorderTests {
    static func entry(_ n: Int) -> LedgerEntry {
        LedgerEntry(requestID: "r\(n)", time: Date(timeIntervalSince1970: 1_795_608_000), project: "p", keyID: "k", vendor: "v",
                    model: "v/m", upstream: "u", promptTokens: 1, completionTokens: 1, cost: MicroDollars(1),
                    latencyMicroseconds: 1, status: "ok", estimated: false)
    }

    /// Every call returns only once its rows are committed, and concurrent calls share transactions.
    @Test func concurrentCallsAreDurableWhenTheyReturn() async throws {
        let root = try makeTemporaryDirectory("recorder")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let recorder = CallRecorder(store: store)
        try await withThrowingTaskGroup(of: Void.self) { calls in
            for n in 0..<500 {
                calls.addTask {
                    try await recorder.record(ledger: Self.entry(n), audit: AuditEntry(actor: "k", action: "gateway.invoke", target: "v/m", outcome: "allowed", detail: ["n": String(n)]))
                    // Durable on return: the row is readable now.
                    let rows = try await store.ledger(project: "p", from: .distantPast, to: .distantFuture)
                    #expect(rows.contains { $0.requestID == "r\(n)" })
                }
            }
            try await calls.waitForAll()
        }
        let summary = try await store.summary()
        #expect(summary.ledgerRows == 500 && summary.auditEntries == 500)
        guard case .intact(let count, _) = try await store.verifyAudit() else { Issue.record("audit chain broken"); return }
        #expect(count == 500)
    }

    @Test func aFailedBatchFailsEveryCallInIt() async throws {
        let root = try makeTemporaryDirectory("recorder-fail")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        try await store.appendLedger([Self.entry(1)])
        let recorder = CallRecorder(store: store)
        // A duplicate request id makes the transaction fail: the caller hears of it.
        await #expect(throws: (any Error).self) {
            try await recorder.record(ledger: Self.entry(1), audit: AuditEntry(actor: "k", action: "a", target: nil, outcome: "o"))
        }
        #expect(try await store.summary().auditEntries == 0)
        // The lead was given up: the next call commits.
        try await recorder.record(ledger: Self.entry(2), audit: AuditEntry(actor: "k", action: "a", target: nil, outcome: "o"))
        #expect(try await store.summary().ledgerRows == 2)
    }

    /// Calls that arrive while a commit runs wait, then share the next transaction, led by the
    /// first of them; the first leader returns as soon as its own batch is committed.
    @Test func callsArrivingDuringACommitShareTheNextOne() async throws {
        let batches = Mutex<[[String]]>([])
        let (firstCommitEntered, enter) = AsyncStream.makeStream(of: Void.self)
        let releaseFirstCommit = DispatchSemaphore(value: 0)
        let recorder = CallRecorder { ledger, _ in
            let isFirst = batches.withLock { batches in
                batches.append(ledger.map(\.requestID))
                return batches.count == 1
            }
            if isFirst {
                enter.yield()
                releaseFirstCommit.wait()
            }
        }
        let audit = AuditEntry(actor: "k", action: "a", target: nil, outcome: "o")
        // The leader blocks its thread in the commit: give it a thread of its own.
        let leader = Task.detached(executorPreference: DedicatedThreadExecutor()) {
            try await recorder.record(ledger: Self.entry(0), audit: audit)
        }
        for await _ in firstCommitEntered { break }
        let followers = (1...5).map { n in Task { try await recorder.record(ledger: Self.entry(n), audit: audit) } }
        while recorder.waitingCalls < 5 { try await Task.sleep(for: .milliseconds(1)) }
        releaseFirstCommit.signal()
        try await leader.value
        for follower in followers { try await follower.value }
        let committed = batches.withLock { $0 }
        #expect(committed.count == 2)
        #expect(committed.first == ["r0"])
        #expect(Set(committed.last ?? []) == Set((1...5).map { "r\($0)" }))
        #expect(recorder.waitingCalls == 0)
    }

    /// While `exclusively` runs, calls queue and nothing is committed; they commit once it returns.
    @Test func exclusivelyHoldsCommits() async throws {
        let batches = Mutex<[[String]]>([])
        let recorder = CallRecorder { ledger, _ in batches.withLock { $0.append(ledger.map(\.requestID)) } }
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            await recorder.exclusively {
                enter.yield()
                for await _ in released { break }
            }
        }
        for await _ in entered { break }
        let call = Task { try await recorder.record(ledger: Self.entry(1), audit: AuditEntry(actor: "k", action: "a", target: nil, outcome: "o")) }
        while recorder.waitingCalls < 1 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(batches.withLock { $0.isEmpty })
        release.yield()
        await holder.value
        try await call.value
        #expect(batches.withLock { $0 } == [["r1"]])
    }
}
