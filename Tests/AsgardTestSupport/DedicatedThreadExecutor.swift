import Foundation

/// A task executor with one thread of its own, for a test whose task must block (a commit held
/// on a semaphore, say) without taking a thread from Swift's cooperative pool, which has only as
/// many threads as the machine has cores and is shared by every test running in parallel.
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // `jobs` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    public init() {
        let thread = Thread { [self] in run() }
        thread.name = "DedicatedThreadExecutor"
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
