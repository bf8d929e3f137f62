public import AsgardCore
public import AsgardStore
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// Where finished calls are recorded: group commit into the call journal on the calls' own
/// threads, and a copy into the store behind them.
///
/// A call's ledger row and audit entry are durable when `recorder.record` returns: they are in
/// the journal (`CallJournal`), one `write` for everything the group commit gathered. The
/// `ingester` then copies them into the store's `ledger` and `audit` tables on a thread of its
/// own, so SQLite's transactions, B-tree updates and checkpoints never sit on a call's path.
/// Readers that must see every call a client saw succeed (the usage API, tests) wait for
/// `ingester.caughtUp()` first; the copy trails by a few milliseconds (the ingester gathers
/// calls for up to 5 ms, so that each transaction carries many).
///
/// `open` first copies whatever the journal holds beyond the store's recorded position (the
/// calls of a process that was killed), so the store is complete before the server serves.
///
/// One process at a time: `open` takes an exclusive lock on the journal directory (released by
/// `close`, or by the system when the process ends, however it ends), so a second server on
/// the same data directory is refused instead of copying the first one's calls as its own.
public struct CallLog: Sendable {
    public let journal: CallJournal
    public let recorder: CallRecorder
    public let ingester: CallIngester
    private let lock: DirectoryLock

    /// Opens the journal in `directory`, recovers what the store lacks, and starts the ingester.
    /// - Throws: `CallLogError.inUse` when another process has the journal open; `JournalError`
    ///   for an unreadable or damaged journal; the store's errors.
    public static func open(
        store: any Store, directory: String, segmentBytes: Int64 = 16 << 20,
        maxQueued: Int = CallIngester.maxQueued, lockPatience: Duration = .seconds(2)
    ) throws -> CallLog {
        let lock = try DirectoryLock(directory: directory, patience: lockPatience)
        let position = try store.journalPosition()
        let journal = try CallJournal(directory: directory, segmentBytes: segmentBytes, after: position?.segment ?? 0)
        let recovered = try journal.recover(after: position)
        var start = 0
        while start < recovered.count {
            let chunk = recovered[start..<min(start + CallIngester.maxBatch, recovered.count)]
            try store.ingest(chunk.map(\.call), through: chunk.last!.through)
            start += chunk.count
        }
        // Every segment before the new one is in the store now.
        try store.ingest([], through: journal.end)
        let ingester = CallIngester(store: store, journal: journal, maxQueued: maxQueued)
        ingester.retireSegments()
        let recorder = CallRecorder { calls in
            let through = try journal.append(calls)
            ingester.enqueue(calls, through: through)
        }
        return CallLog(journal: journal, recorder: recorder, ingester: ingester, lock: lock)
    }

    /// Stops the ingester (`CallIngester.stop`) and releases the directory for another `open`.
    public func close() async {
        await ingester.stop()
        lock.release()
    }
}

/// Copies journaled calls into the store, in journal order, on a thread of its own at the
/// lowest CPU priority (`LowPriorityThread`: it takes the cores only when the calls leave
/// them idle).
///
/// Each round waits for a call, gathers for up to `gather` more (less when `caughtUp` is
/// waiting or a full batch is queued), takes everything queued (up to `maxBatch` calls) and
/// writes it in one transaction that also records the journal position reached. A failed round is retried, with
/// a backoff of up to 30 s, forever: the calls succeeded, and the journal still holds them.
/// Once a whole segment is in the store and a checkpoint has made the store durable, the
/// segment is deleted.
///
/// The queue is bounded: when the store is `maxQueued` calls behind (a saturated machine
/// starving the low-priority thread, or a store refusing writes), `enqueue` blocks its caller,
/// the group commit's leader and so every call queued behind it, until a round goes in; so
/// memory stays bounded (a group may overshoot the bound by its own size) and calls slow down
/// instead.
public final class CallIngester: ServiceLifecycle.Service, @unchecked Sendable {
    public static let maxBatch = 4_096
    /// The default bound of the queue.
    public static let maxQueued = 65_536

    private struct Group {
        var calls: [RecordedCall]
        var through: JournalPosition
    }

    // Everything below is only touched with `condition` locked.
    private let condition = NSCondition()
    private var queue: [Group] = []
    /// Calls enqueued and not yet in the store (queued, or in the round being written).
    private var queued = 0
    /// The position after the last call enqueued, and after the last one in the store.
    private var enqueued: JournalPosition?
    private var ingested: JournalPosition?
    private var waiters: [(id: UUID, target: JournalPosition, resume: CheckedContinuation<Bool, Never>, timeout: Task<Void, Never>)] = []
    private var stopping = false
    private var stopped = false
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    /// Whether the ingester waits for an empty queue to fill.
    private var idle = false
    /// Whether a `caughtUp` caller waits, so the ingester should not gather.
    private var hurry = false
    /// Why the last round failed, while the store keeps refusing.
    private var failing: String?
    private let gather: TimeInterval
    private let maxQueued: Int

    private let store: any Store
    private let journal: CallJournal
    private let logger = Logger(label: "asgard.calls")

    init(store: any Store, journal: CallJournal, gather: Duration = .milliseconds(5), maxQueued: Int = CallIngester.maxQueued) {
        self.store = store
        self.journal = journal
        self.maxQueued = maxQueued
        self.gather = Double(gather.components.attoseconds) / 1e18 + Double(gather.components.seconds)
        LowPriorityThread.start(name: "asgard-ingest") { [self] in ingestUntilStopped() }
    }

    /// Queues calls just appended to the journal, ending at `through`. Blocks while `maxQueued`
    /// calls are already waiting.
    func enqueue(_ calls: [RecordedCall], through: JournalPosition) {
        condition.lock()
        while queued >= maxQueued && !stopped { condition.wait() }
        queue.append(Group(calls: calls, through: through))
        queued += calls.count
        enqueued = through
        // Wake the ingester only when it sleeps on an empty queue or a full batch is waiting:
        // otherwise it is gathering and takes these calls with the rest.
        if idle || queued >= Self.maxBatch {
            idle = false
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Waits until every call enqueued before it was called is in the store.
    /// - Returns: false if that took longer than `limit` (the store keeps failing, say), or the
    ///   ingester has stopped with calls still queued.
    @discardableResult
    public func caughtUp(within limit: Duration = .seconds(10)) async -> Bool {
        let id = UUID()
        return await withCheckedContinuation { (resume: CheckedContinuation<Bool, Never>) in
            condition.lock()
            defer { condition.unlock() }
            guard let target = enqueued, ingested.map({ $0 < target }) ?? true else { return resume.resume(returning: true) }
            guard !stopped else { return resume.resume(returning: false) }
            let timeout = Task { [self] in
                try? await Task.sleep(for: limit)
                giveUp(on: id)
            }
            waiters.append((id, target, resume, timeout))
            // Someone is waiting: no gathering.
            hurry = true
            condition.broadcast()
        }
    }

    private func giveUp(on id: UUID) {
        condition.lock()
        let index = waiters.firstIndex { $0.id == id }
        let waiter = index.map { waiters.remove(at: $0) }
        condition.unlock()
        waiter?.resume.resume(returning: false)
    }

    /// Why copying into the store fails, with how many calls wait, while it does; nil once a
    /// round goes in. (`/healthz` shows it: the calls are safe in the journal meanwhile.)
    public var failure: String? {
        condition.lock()
        defer { condition.unlock() }
        return failing.map { "\(queued) calls wait in the call journal: \($0)" }
    }

    /// Calls enqueued and not yet in the store.
    public var backlog: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    /// Until graceful shutdown; then copies what is queued and stops the thread.
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }

    /// Copies what is queued (for up to 10 s), then stops the thread, and returns once it has.
    /// Calls not copied by then, or enqueued later, stay in the journal for the next
    /// `CallLog.open`.
    public func stop() async {
        await caughtUp()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            condition.lock()
            defer { condition.unlock() }
            guard !stopped else { return done.resume() }
            stopping = true
            stopWaiters.append(done)
            condition.broadcast()
        }
    }

    private func ingestUntilStopped() {
        var backoff: Duration = .zero
        // Retiring needs a checkpoint: tried at most once a second while a segment waits for it.
        var lastRetirement = ContinuousClock.now - .seconds(2)
        while let (calls, through) = take() {
            do {
                try store.ingest(calls, through: through)
                backoff = .zero
            } catch {
                backoff = min(max(backoff * 2, .milliseconds(500)), .seconds(30))
                condition.lock()
                failing = "copying them into the store failed: \(error); retrying with backoff"
                condition.unlock()
                logger.error(
                    "copying \(calls.count) journaled calls into the store failed; retrying in \(backoff)",
                    metadata: ["error": "\(error)"])
                putBack(calls, through: through)
                Thread.sleep(forTimeInterval: Double(backoff.components.seconds) + Double(backoff.components.attoseconds) / 1e18)
                continue
            }
            finish(calls.count, through: through)
            if through.segment > journal.retainedSegments.first ?? through.segment, ContinuousClock.now - lastRetirement > .seconds(1) {
                lastRetirement = .now
                retireSegments()
            }
        }
    }

    /// The next batch, waiting for one; nil once stopping with nothing queued.
    private func take() -> (calls: [RecordedCall], through: JournalPosition)? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping {
            idle = true
            condition.wait()
        }
        idle = false
        // Gather for a moment: fewer, larger transactions cost less per call.
        let deadline = Date(timeIntervalSinceNow: gather)
        while !stopping && !hurry && queued < Self.maxBatch && condition.wait(until: deadline) {}
        hurry = false
        guard !queue.isEmpty else {
            stopped = true
            condition.broadcast()
            for waiter in waiters { waiter.resume.resume(returning: false) }
            waiters = []
            for done in stopWaiters { done.resume() }
            stopWaiters = []
            return nil
        }
        var calls: [RecordedCall] = []
        var taken = 0
        while taken < queue.count, calls.isEmpty || calls.count + queue[taken].calls.count <= Self.maxBatch {
            calls += queue[taken].calls
            taken += 1
        }
        let through = queue[taken - 1].through
        queue.removeFirst(taken)
        return (calls, through)
    }

    /// Puts a batch that could not be written back at the head of the queue.
    private func putBack(_ calls: [RecordedCall], through: JournalPosition) {
        condition.lock()
        queue.insert(Group(calls: calls, through: through), at: 0)
        condition.unlock()
    }

    /// Records `count` calls through `through` as in the store, wakes whoever waited for them,
    /// and calls held back by a full queue.
    private func finish(_ count: Int, through: JournalPosition) {
        condition.lock()
        failing = nil
        ingested = through
        queued -= count
        var done: [CheckedContinuation<Bool, Never>] = []
        waiters.removeAll { waiter in
            guard waiter.target <= through else { return false }
            waiter.timeout.cancel()
            done.append(waiter.resume)
            return true
        }
        condition.broadcast()
        condition.unlock()
        for resume in done { resume.resume(returning: true) }
    }

    /// Deletes the journal segments the store holds entirely, once a complete checkpoint has
    /// written the store's log into the database file and synced it: a segment must not
    /// outlive its only durable copy. An incomplete checkpoint (a long reader) leaves them for
    /// the next segment's turn.
    func retireSegments() {
        guard let position = try? store.journalPosition(),
            let oldest = journal.retainedSegments.first, oldest < position.segment,
            (try? store.makeDurable()) == true
        else { return }
        journal.removeSegments(before: position.segment)
    }
}

public enum CallLogError: Error, Equatable, CustomStringConvertible {
    case inUse(directory: String)
    case cannotLock(directory: String, errno: Int32)

    public var description: String {
        switch self {
        case .inUse(let directory):
            "another process (an Asgard server on the same data directory) has the call journal \(directory) open"
        case .cannotLock(let directory, let errno):
            "cannot lock the call journal \(directory): \(String(cString: strerror(errno)))"
        }
    }
}

/// An exclusive `flock` on `<directory>/lock`, held until `release` or the process ends.
///
/// A lock that is taken is tried again for up to `patience` before `inUse` is thrown. A lock
/// belongs to the open file, not to the descriptor: a process that another thread of this one
/// is spawning holds a copy of the descriptor from its fork until its exec closes it, so a
/// lock just released here can look held for that moment. Another server holds it for good.
final class DirectoryLock: Sendable {
    private let descriptor: Mutex<Int32?>

    init(directory: String, patience: Duration = .seconds(2)) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CallLogError.cannotLock(directory: directory, errno: EACCES)
        }
        let descriptor = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CallLogError.cannotLock(directory: directory, errno: errno) }
        let deadline = ContinuousClock.now + patience
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            if failure == EINTR { continue }
            if failure == EWOULDBLOCK && ContinuousClock.now < deadline {
                usleep(10_000)
                continue
            }
            close(descriptor)
            throw failure == EWOULDBLOCK ? CallLogError.inUse(directory: directory) : CallLogError.cannotLock(directory: directory, errno: failure)
        }
        self.descriptor = Mutex(descriptor)
    }

    /// Closing the descriptor drops the lock; a second release does nothing.
    func release() {
        if let descriptor = descriptor.withLock({ $0.take() }) { close(descriptor) }
    }
}
