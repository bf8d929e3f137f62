public import AsgardStore
public import ServiceLifecycle
import Synchronization

/// Group commit for finished calls: each call hands over its ledger row and audit entry and
/// waits until they are durable; one background loop commits everything that arrived
/// meanwhile in a single transaction, so concurrent calls share one disk sync.
///
/// A `Service`: on graceful shutdown it commits what is queued before it returns.
public final class CallRecorder: Service, Sendable {
    private struct Item {
        var ledger: LedgerEntry?
        var audit: AuditEntry
        var done: CheckedContinuation<Void, any Error>
    }

    private let store: any AsgardStore
    private let queue = Mutex<[Item]>([])
    private let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    public init(store: any AsgardStore) {
        self.store = store
        (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once `ledger` (if any) and `audit` are committed.
    /// - Throws: the store's error when the batch could not be committed.
    public func record(ledger: LedgerEntry?, audit: AuditEntry) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            queue.withLock { $0.append(Item(ledger: ledger, audit: audit, done: done)) }
            ring.yield()
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in doorbell {
                await commitQueued()
            }
        } onGracefulShutdown: { [ring] in
            ring.finish()
        }
        await commitQueued()
    }

    /// Commits everything queued, in batches, until the queue is empty.
    private func commitQueued() async {
        while true {
            let batch = queue.withLock { items -> [Item] in
                defer { items.removeAll(keepingCapacity: true) }
                return items
            }
            guard !batch.isEmpty else { return }
            do {
                try await store.appendCalls(ledger: batch.compactMap(\.ledger), audit: batch.map(\.audit))
                for item in batch { item.done.resume() }
            } catch {
                for item in batch { item.done.resume(throwing: error) }
            }
        }
    }
}
