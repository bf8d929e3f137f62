public import AsgardStore
import Synchronization

/// Group commit for finished calls, led by the callers themselves: each call hands over its
/// ledger row and audit entry and returns once they are committed.
///
/// The first call to arrive while no commit is running becomes the leader: it commits, on its
/// own thread, its rows together with everything queued, in one transaction. Calls that arrive
/// meanwhile queue up and wait. When the leader's batch is durable it wakes the calls in it and
/// hands the lead to the first call that queued since (which then commits the next batch), so no
/// leader commits for others after its own rows are safe and no call waits on a background task.
/// Uncontended, a call commits its own rows without a thread hand-off; under load, concurrent
/// calls share transactions (the classic group commit of LevelDB's writer queue).
///
/// A leader blocks the thread it runs on for one write transaction: a write-ahead-log append on
/// SQLite with no disk sync (the store runs with `synchronous = NORMAL`), except for the first
/// commit after the log starts over, which syncs the log's new header.
public final class CallRecorder: Sendable {
    /// What a queued call is woken with.
    private enum Turn { case committed, lead }

    private struct Waiter {
        var rows: Rows
        var woken: CheckedContinuation<Turn, any Error>
    }

    private struct Rows {
        var ledger: LedgerEntry?
        var audit: AuditEntry
    }

    private struct State {
        var leading = false
        var queue: [Waiter] = []
        /// `exclusively` callers waiting for the lead; served before queued calls.
        var exclusive: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let commit: @Sendable (_ ledger: [LedgerEntry], _ audit: [AuditEntry]) throws -> Void

    /// Commits through `store.appendCallsBlocking`.
    public convenience init(store: SQLiteStore) {
        self.init { ledger, audit in try store.appendCallsBlocking(ledger: ledger, audit: audit) }
    }

    /// - Parameter commit: writes a batch in one transaction, blocking until it is durable.
    public init(commit: @escaping @Sendable (_ ledger: [LedgerEntry], _ audit: [AuditEntry]) throws -> Void) {
        self.commit = commit
    }

    /// Returns once `ledger` (if any) and `audit` are committed.
    /// - Throws: the store's error when the batch they were in could not be committed (every
    ///   call in that batch hears of it; nothing of the batch was written).
    public func record(ledger: LedgerEntry?, audit: AuditEntry) async throws {
        let rows = Rows(ledger: ledger, audit: audit)
        if takeLead(orWait: { _ in }) { return try lead(with: rows) }
        let turn = try await withCheckedThrowingContinuation { (woken: CheckedContinuation<Turn, any Error>) in
            // The leader may have finished since the first try: then lead rather than wait for nobody.
            if takeLead(orWait: { $0.queue.append(Waiter(rows: rows, woken: woken)) }) { woken.resume(returning: .lead) }
        }
        if case .lead = turn { try lead(with: rows) }
    }

    /// Runs `body` while no call commits: it waits for the running commit, holds every call that
    /// arrives meanwhile in the queue, and passes the lead on when `body` returns. For work that
    /// needs the store's writer quiet, such as the checkpoint that lets the log start over.
    public func exclusively<T>(_ body: () async throws -> T) async rethrows -> T {
        if !takeLead(orWait: { _ in }) {
            await withCheckedContinuation { (granted: CheckedContinuation<Void, Never>) in
                if takeLead(orWait: { $0.exclusive.append(granted) }) { granted.resume() }
            }
        }
        defer { passLead() }
        return try await body()
    }

    /// Hands the lead to whoever waits for it (an `exclusively` caller first, then the oldest
    /// queued call, which commits the queue), or gives it up.
    private func passLead() {
        enum Next { case nobody, call(Waiter), exclusive(CheckedContinuation<Void, Never>) }
        let next = state.withLock { state -> Next in
            if !state.exclusive.isEmpty { return .exclusive(state.exclusive.removeFirst()) }
            if !state.queue.isEmpty { return .call(state.queue.removeFirst()) }
            state.leading = false
            return .nobody
        }
        switch next {
        case .nobody: break
        case .call(let waiter): waiter.woken.resume(returning: .lead)
        case .exclusive(let granted): granted.resume()
        }
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
    private func lead(with own: Rows) throws {
        let waiters = state.withLock { state in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        var ledger = own.ledger.map { [$0] } ?? []
        var audit = [own.audit]
        for waiter in waiters {
            if let row = waiter.rows.ledger { ledger.append(row) }
            audit.append(waiter.rows.audit)
        }
        let outcome = Result { try commit(ledger, audit) }
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

