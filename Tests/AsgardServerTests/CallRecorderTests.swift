import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct CallRecorderTests {
    static func entry(_ n: Int) -> LedgerEntry {
        LedgerEntry(
            requestID: "r\(n)", time: Date(timeIntervalSince1970: 1_795_608_000), project: "p", keyID: "k", vendor: "v",
            model: "v/m", upstream: "u", promptTokens: 1, completionTokens: 1, cost: MicroDollars(1),
            latencyMicroseconds: 1, status: "ok", estimated: false)
    }

    static let audit = AuditEntry(actor: "k", action: "gateway.invoke", target: "v/m", outcome: "allowed")

    /// Every call returns only once its batch is committed, and concurrent calls share batches.
    @Test func concurrentCallsAreCommittedWhenTheyReturn() async throws {
        final class Committed: Sendable { let state = Mutex<(ids: Set<String>, batches: Int)>(([], 0)) }
        let committed = Committed()
        let recorder = CallRecorder { calls in
            committed.state.withLock { state in
                for call in calls { state.ids.insert(call.ledger!.requestID) }
                state.batches += 1
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<500 {
                group.addTask {
                    try await recorder.record(ledger: Self.entry(n), audit: Self.audit)
                    #expect(committed.state.withLock { $0.ids.contains("r\(n)") })
                }
            }
            try await group.waitForAll()
        }
        let (ids, batches) = committed.state.withLock { $0 }
        #expect(ids.count == 500 && batches <= 500)
        #expect(recorder.waitingCalls == 0)
    }

    /// A call's time is its ledger row's time, or the recorder's clock for an audit-only call.
    @Test func aCallIsRecordedAtItsLedgerTimeOrTheClock() async throws {
        let clock = Date(timeIntervalSince1970: 1_800_000_000)
        let recorded = Mutex<[RecordedCall]>([])
        let recorder = CallRecorder(clock: { clock }, commit: { calls in recorded.withLock { $0 += calls } })
        try await recorder.record(ledger: Self.entry(1), audit: Self.audit)
        try await recorder.record(ledger: nil, audit: Self.audit)
        #expect(recorded.withLock { $0.map(\.time) } == [Self.entry(1).time, clock])
    }

    @Test func aFailedBatchFailsEveryCallInItAndTheNextCallCommits() async throws {
        struct Full: Error {}
        let attempts = Mutex(0)
        let recorder = CallRecorder { _ in
            if attempts.withLock({
                $0 += 1
                return $0
            }) == 1 {
                throw Full()
            }
        }
        await #expect(throws: Full.self) { try await recorder.record(ledger: Self.entry(1), audit: Self.audit) }
        // The lead was given up: the next call commits.
        try await recorder.record(ledger: Self.entry(2), audit: Self.audit)
        #expect(attempts.withLock { $0 } == 2)
    }

    /// Calls that arrive while a commit runs wait, then share the next transaction, led by the
    /// first of them; the first leader returns as soon as its own batch is committed.
    @Test func callsArrivingDuringACommitShareTheNextOne() async throws {
        let batches = Mutex<[[String]]>([])
        let (firstCommitEntered, enter) = AsyncStream.makeStream(of: Void.self)
        let releaseFirstCommit = DispatchSemaphore(value: 0)
        let recorder = CallRecorder { calls in
            let isFirst = batches.withLock { batches in
                batches.append(calls.map { $0.ledger!.requestID })
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
}
