import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct CheckpointerTests {
    /// Under a steady stream of commits the write-ahead log only starts over because the
    /// checkpointer holds the commits for a second checkpoint: after one round, the log holds
    /// only what was committed since, not everything since the store opened.
    @Test func aLongLogStartsOverWhileCallsKeepCommitting() async throws {
        let store = try SQLiteStore(path: try makeTemporaryDirectory("checkpointer") + "/asgard.sqlite")
        try await store.disableAutomaticCheckpoints()
        let recorder = CallRecorder(store: store)
        let checkpointer = Checkpointer(store: store, recorder: recorder, restartFrames: 100)
        let committed = Atomic<Int>(0)
        let stopAt = Atomic<Int>(.max)
        let writer = Task {
            var n = 0
            while n < stopAt.load(ordering: .relaxed) {
                try await recorder.record(ledger: CallRecorderTests.entry(n),
                                          audit: AuditEntry(actor: "k", action: "gateway.invoke", target: "v/m", outcome: "allowed"))
                n += 1
                committed.store(n, ordering: .relaxed)
                // A real call waits on the network between commits; this loop must not hold a
                // cooperative thread for the whole test either.
                await Task.yield()
            }
        }
        while committed.load(ordering: .relaxed) < 300 { try await Task.sleep(for: .milliseconds(1)) }
        let round = try await checkpointer.checkpoint()
        #expect(round.complete && round.logFrames >= 300)
        let before = committed.load(ordering: .relaxed)
        stopAt.store(before + 20, ordering: .relaxed)
        try await writer.value
        let after = try await store.checkpoint()
        // Each commit writes at least three pages: a log that had not started over would hold
        // over 900 frames here; one that did holds the last twenty-odd commits.
        #expect(after.logFrames < before, "the log did not start over: \(after.logFrames) frames after \(before) commits")
        #expect(try await store.summary().ledgerRows == before + 20)
    }
}
