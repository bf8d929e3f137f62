public import AsgardCore
import Foundation
import PostgresNIO

/// Leadership on PostgreSQL: a session-level advisory lock, held on a connection of its own
/// for as long as this replica leads. PostgreSQL releases it when that session ends, so a
/// replica killed outright loses it at once and a follower, trying every second, takes it.
extension PostgresStore: LeaderElection {
    /// The advisory lock key of leadership ("ASGLEAD" in ASCII).
    static let leaderLock: Int64 = 0x41_5347_4C45_4144

    public func leadership() -> AsyncStream<Bool> {
        let configuration = connectionSettings
        return AsyncStream { continuation in
            let task = Task {
                var id = 0
                while !Task.isCancelled {
                    id += 1
                    var leading = false
                    do {
                        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: Self.logger)
                        do {
                            while !Task.isCancelled {
                                if !leading {
                                    let row = try await connection.rows("SELECT pg_try_advisory_lock(\(Self.leaderLock)) AS won").first
                                    if try row?("won", as: Bool.self) == true {
                                        leading = true
                                        continuation.yield(true)
                                    }
                                } else {
                                    // Still connected, so still holding it.
                                    try await connection.run("SELECT 1")
                                }
                                try await Task.sleep(for: .seconds(1))
                            }
                        } catch {}
                        try? await connection.close()
                    } catch {}
                    if leading { continuation.yield(false) }
                    try? await Task.sleep(for: .seconds(1))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
