public import AsgardStore
public import ServiceLifecycle

/// Keeps SQLite's write-ahead log short off the request path: automatic checkpoints are
/// turned off on the writer and a PASSIVE checkpoint runs every `interval` on a connection of
/// its own, so the disk syncs of copying the log never sit inside a call's group commit.
public final class Checkpointer: Service, Sendable {
    public let store: SQLiteStore
    public let interval: Duration

    public init(store: SQLiteStore, interval: Duration = .milliseconds(500)) {
        self.store = store
        self.interval = interval
    }

    public func run() async throws {
        try await store.disableAutomaticCheckpoints()
        while !Task.isCancelledOrShuttingDown {
            try? await Task.sleep(for: interval)
            // A checkpoint that could not run (a long reader, a busy disk) is simply tried again.
            _ = try? await store.checkpoint()
        }
        _ = try? await store.checkpoint()
    }
}
