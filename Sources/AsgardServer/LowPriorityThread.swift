import Foundation

/// Threads at the lowest CPU priority (nice 19), for background work that should take the cores
/// only when the calls leave them idle. On a saturated machine such work still runs (the
/// scheduler never starves a thread), only slower.
///
/// The server copies journaled calls into the store on one (`CallIngester`). Measured at 2,000
/// RPS on 2 cores, background store work at normal priority added about 0.35 ms to the calls'
/// p99 by competing with them for a core (BENCHMARKS.md, Gateway).
enum LowPriorityThread {
    /// Starts a thread named `name` that lowers its own priority and runs `body`.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            nameCurrentThread(name)
            // On Linux a nice value belongs to a thread, and `who = 0` names the calling one.
            // Lowering priority needs no privilege; failing to is harmless (the work still runs).
            // `__priority_which_t(0)` is PRIO_PROCESS.
            _ = setpriority(__priority_which_t(0), 0, 19)
            body()
        }
        thread.start()
    }

    /// Names the calling thread as the system shows it (15 bytes at most on Linux). Written to
    /// `/proc/thread-self/comm`: Foundation's `Thread.name` names the system thread only when
    /// the parent has already stored the thread's handle, a race the new thread can win, and
    /// then it keeps its creator's name (seen in CI as "…root.default-qos"); Glibc's
    /// `pthread_setname_np` is not visible to Swift. Failing to name is harmless.
    private static func nameCurrentThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
