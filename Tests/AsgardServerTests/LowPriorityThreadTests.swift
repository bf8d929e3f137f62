import Foundation
import Testing

@testable import AsgardServer

@Suite struct LowPriorityThreadTests {
    /// The body runs on a thread of the given name, at nice 19.
    @Test func runsAtTheLowestPriority() async {
        let (name, niceness) = await withCheckedContinuation { (done: CheckedContinuation<(String, Int32), Never>) in
            LowPriorityThread.start(name: "test-low") {
                // The name the system shows for the thread (`/proc/<pid>/task/<tid>/comm`).
                let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                errno = 0
                done.resume(returning: (name.trimmingCharacters(in: .newlines), getpriority(__priority_which_t(0), 0)))
            }
        }
        #expect(name == "test-low")
        #expect(niceness == 19)
    }
}
