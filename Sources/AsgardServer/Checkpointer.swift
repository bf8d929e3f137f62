public import AsgardStore
public import ServiceLifecycle

/// Keeps SQLite's write-ahead log short and off the request path.
///
/// Automatic checkpoints are turned off on the writer, and a PASSIVE checkpoint runs every
/// `interval` on a connection of its own, on a thread of its own at the lowest CPU priority, so
/// the disk syncs of copying the log never sit inside a call's group commit and the copying
/// takes the cores only when the calls leave them idle. Under a steady stream of calls that
/// alone lets the log grow without bound (it starts over only at a commit that finds every
/// frame copied, and frames arrive while a checkpoint copies): once the log holds
/// `restartFrames` frames, the checkpointer holds the calls' commits for one more checkpoint,
/// which has only the frames of the last interval to copy, and the next commit starts the log
/// over.
public final class Checkpointer: Service, Sendable {
    public let store: SQLiteStore
    public let recorder: CallRecorder
    public let interval: Duration
    public let restartFrames: Int

    public init(store: SQLiteStore, recorder: CallRecorder, interval: Duration = .milliseconds(500), restartFrames: Int = 4_096) {
        self.store = store
        self.recorder = recorder
        self.interval = interval
        self.restartFrames = restartFrames
    }

    /// One thread for the process's background checkpoints, whatever the number of stores.
    private static let thread = BackgroundThread(name: "asgard-ckpt")

    public func run() async throws {
        try await store.disableAutomaticCheckpoints()
        while !Task.isCancelledOrShuttingDown {
            try? await Task.sleep(for: interval)
            // A checkpoint that could not run (a long reader, a busy disk) is simply tried again.
            _ = try? await checkpoint()
        }
        _ = try? await store.checkpoint()
    }

    /// One round: a PASSIVE checkpoint beside the commits, then, when the log is long, one with
    /// the commits held (it copies what arrived during the first). Returns the last result.
    @discardableResult
    public func checkpoint() async throws -> SQLiteCheckpoint {
        let beside = try await Self.thread.run { [store] in try store.checkpointBlocking() }
        // Complete or not, frames kept coming while it copied: a long log does not start over by itself.
        guard beside.logFrames >= restartFrames else { return beside }
        // At normal priority: the calls wait for this one.
        return try await recorder.exclusively { try await store.checkpoint() }
    }
}

