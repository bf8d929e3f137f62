public import AsgardCore
public import AsgardGateway
public import Foundation
import Synchronization

/// Group commit for finished calls, led by the callers themselves: each call hands over its
/// ledger row and audit entry and returns once they are durable.
///
/// The first call to arrive while no commit is running becomes the leader: it commits, on its
/// own thread, its rows together with everything queued, in one write. Calls that arrive
/// meanwhile queue up and wait. When the leader's batch is durable it wakes the calls in it and
/// hands the lead to the first call that queued since (which then commits the next batch), so no
/// leader commits for others after its own rows are safe and no call waits on a background task.
/// Uncontended, a call commits its own rows without a thread hand-off; under load, concurrent
/// calls share writes (the classic group commit of LevelDB's writer queue).
///
/// The server commits into the call journal (`CallLog`): a leader blocks the thread it runs on
/// for one `write` system call.
public final class CallRecorder: CallRecording {
    /// What a queued call is woken with.
    private enum Turn { case committed, lead }

    private struct Waiter {
        var call: RecordedCall
        var woken: CheckedContinuation<Turn, any Error>
    }

    private struct State {
        var leading = false
        var queue: [Waiter] = []
    }

    private let state = Mutex(State())
    private let commit: @Sendable ([RecordedCall]) throws -> Void
    private let clock: @Sendable () -> Date

    /// - Parameters:
    ///   - clock: the time recorded with each call (its audit entry's time).
    ///   - commit: writes a batch, in order, blocking until it is durable; all or nothing.
    public init(clock: @escaping @Sendable () -> Date = { Date() }, commit: @escaping @Sendable ([RecordedCall]) throws -> Void) {
        self.clock = clock
        self.commit = commit
    }

    /// Returns once `ledger` (if any) and `audit` are committed.
    /// - Throws: the commit's error when the batch they were in could not be committed (every
    ///   call in that batch hears of it; nothing of the batch was written).
    public func record(ledger: LedgerEntry?, audit: AuditEntry) async throws {
        let call = RecordedCall(time: ledger?.time ?? clock(), ledger: ledger, audit: audit)
        if takeLead(orWait: { _ in }) { return try lead(with: call) }
        let turn = try await withCheckedThrowingContinuation { (woken: CheckedContinuation<Turn, any Error>) in
            // The leader may have finished since the first try: then lead rather than wait for nobody.
            if takeLead(orWait: { $0.queue.append(Waiter(call: call, woken: woken)) }) { woken.resume(returning: .lead) }
        }
        if case .lead = turn { try lead(with: call) }
    }

    /// Hands the lead to the oldest queued call (which commits the queue), or gives it up.
    private func passLead() {
        let next = state.withLock { state -> Waiter? in
            if !state.queue.isEmpty { return state.queue.removeFirst() }
            state.leading = false
            return nil
        }
        next?.woken.resume(returning: .lead)
    }

    /// Calls queued behind the running commit.
    public var waitingCalls: Int { state.withLock { $0.queue.count } }

    /// Takes the lead if nobody has it; otherwise `wait` queues the caller, under the same lock.
    /// Returns whether the caller leads.
    private func takeLead(orWait wait: (inout State) -> Void) -> Bool {
        state.withLock { state in
            if state.leading {
                wait(&state)
                return false
            }
            state.leading = true
            return true
        }
    }

    /// Commits `own` with everything queued, wakes the batch, and passes the lead on.
    private func lead(with own: RecordedCall) throws {
        let waiters = state.withLock { state in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        let outcome = Result { try commit([own] + waiters.map(\.call)) }
        for waiter in waiters {
            switch outcome {
            case .success: waiter.woken.resume(returning: .committed)
            case .failure(let error): waiter.woken.resume(throwing: error)
            }
        }
        passLead()
        try outcome.get()
    }
}
