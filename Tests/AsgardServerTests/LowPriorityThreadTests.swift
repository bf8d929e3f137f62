@testable import AsgardServer
import Foundation
import Testing

@Suite struct LowPriorityThreadTests {
    /// The body runs on a thread of the given name, at nice 19.
    @Test func runsAtTheLowestPriority() async {
        let (name, niceness) = await withCheckedContinuation { (done: CheckedContinuation<(String, Int32), Never>) in
            LowPriorityThread.start(name: "test-low") {
                errno = 0
                done.resume(returning: (Thread.current.name ?? "", getpriority(__priority_which_t(0), 0)))
            }
        }
        #expect(name == "test-low")
        #expect(niceness == 19)
    }
}
