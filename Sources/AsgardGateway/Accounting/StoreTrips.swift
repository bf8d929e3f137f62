import Synchronization

/// A lease keeper's trips to the store that every replica shares: one at a time, in the order
/// asked, so the answers are applied in the order the store gave them; and one per key for the
/// requests that run short of the same thing at once.
final class StoreTrips: Sendable {
    private let queue = Mutex<Task<Void, Never>?>(nil)
    private let flights = Mutex<[String: Task<Bool, Never>]>([:])

    /// Runs `work` after every trip queued before it.
    func serially<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = queue.withLock { tail -> Task<T, any Error> in
            let previous = tail
            let next = Task {
                await previous?.value
                return try await work()
            }
            tail = Task { _ = try? await next.value }
            return next
        }
        return try await task.value
    }

    /// Joins the trip under way for `key`, or makes `work` that trip.
    func shared(_ key: String, _ work: @escaping @Sendable () async -> Bool) async -> Bool {
        let task = flights.withLock { flights -> Task<Bool, Never> in
            if let running = flights[key] { return running }
            let task = Task { await work() }
            flights[key] = task
            return task
        }
        let result = await task.value
        flights.withLock { flights in
            if flights[key] == task { flights[key] = nil }
        }
        return result
    }
}
