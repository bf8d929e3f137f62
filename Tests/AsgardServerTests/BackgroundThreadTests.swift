@testable import AsgardServer
import Foundation
import Testing

@Suite struct BackgroundThreadTests {
    /// Work runs on the named thread at nice 19, its result or error comes back, and work
    /// submitted from many tasks at once all completes.
    @Test func runsWorkAtTheLowestPriority() async throws {
        let thread = BackgroundThread(name: "test-background")
        let niceness = try await thread.run { () -> Int32 in
            errno = 0
            return getpriority(__priority_which_t(0), 0)
        }
        #expect(niceness == 19)
        let first = try await thread.run { Thread.current.name ?? "" }
        #expect(first == "test-background")
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await thread.run { () throws -> Int in throw Failure() } }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<20 { group.addTask { try await thread.run { n * n } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<20).map { $0 * $0 })
    }
}
