import Foundation

/// A thread of its own at the lowest CPU priority (nice 19), for background work that should
/// take the cores only when the calls leave them idle. Work runs one item at a time, in order.
/// On a saturated machine such work still runs (the scheduler never starves a thread), only
/// slower.
///
/// The server's background checkpoint runs here: measured at 2,000 RPS on 2 cores, the same
/// checkpoint at normal priority added about 0.35 ms to the calls' p99 by competing with them
/// for a core (BENCHMARKS.md, Gateway).
final class BackgroundThread: @unchecked Sendable {
    // `work` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var work: [@Sendable () -> Void] = []

    init(name: String) {
        let thread = Thread { [self] in
            Thread.current.name = name
            // On Linux a nice value belongs to a thread, and `who = 0` names the calling one.
            // Lowering priority needs no privilege; failing to is harmless (the work still runs).
            _ = setpriority(__priority_which_t(0) /* PRIO_PROCESS */, 0, 19)
            while true { take()() }
        }
        thread.start()
    }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
            condition.lock()
            work.append { done.resume(with: Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }

    private func take() -> @Sendable () -> Void {
        condition.lock()
        defer { condition.unlock() }
        while work.isEmpty { condition.wait() }
        return work.removeFirst()
    }
}
