public import AsgardCore
import Foundation
import PostgresNIO
import Synchronization

/// The change feed on PostgreSQL: every replica LISTENs on `asgard_changes` over a connection
/// of its own, and a change is a NOTIFY there, sent in the transaction that makes the change
/// (a kill switch) or on its own (a budget wanted), so it is delivered only once committed.
extension PostgresStore: StoreChangeFeed {
    static let changeChannel = "asgard_changes"

    public func changes() -> AsyncStream<StoreChange> { feed.subscribe() }

    public func announce(_ change: StoreChange) async throws {
        let payload = ChangeFeed.payload(change)
        try await write { db in try await db.run("SELECT pg_notify(\(Self.changeChannel), \(payload))") }
    }
}

/// One listening connection per store, shared by every subscriber; reconnected a second after
/// it fails, each (re)connection announced as `.resynchronize`.
final class ChangeFeed: Sendable {
    private let configuration: PostgresConnection.Configuration
    private struct State {
        var subscribers: [UUID: AsyncStream<StoreChange>.Continuation] = [:]
        var listener: Task<Void, Never>?
        var closed = false
    }
    private let state = Mutex(State())

    init(configuration: PostgresConnection.Configuration) { self.configuration = configuration }

    func subscribe() -> AsyncStream<StoreChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: StoreChange.self, bufferingPolicy: .bufferingNewest(256))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        state.withLock { state in
            guard !state.closed else {
                continuation.finish()
                return
            }
            state.subscribers[id] = continuation
            if state.listener == nil { state.listener = Task { [weak self] in await self?.listen() } }
        }
        return stream
    }

    private func broadcast(_ change: StoreChange) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(change) }
    }

    private func listen() async {
        var connectionID = 0
        while !Task.isCancelled {
            connectionID += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration, id: connectionID, logger: PostgresStore.logger)
                do {
                    try await connection.listen(on: PostgresStore.changeChannel) { notifications in
                        broadcast(.resynchronize)
                        for try await notification in notifications {
                            if let change = Self.change(notification.payload) { broadcast(change) }
                        }
                    }
                } catch {}
                try? await connection.close()
            } catch {}
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func close() {
        let (listener, subscribers) = state.withLock { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return (state.listener, Array(state.subscribers.values))
        }
        listener?.cancel()
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: Payloads

    static func payload(_ change: StoreChange) -> String {
        switch change {
        case .killSwitches: "kill"
        case .configuration: "config"
        case .budgetWanted(let project, let replica): "budget\t\(replica)\t\(project)"
        case .resynchronize: "resynchronize"
        }
    }

    static func change(_ payload: String) -> StoreChange? {
        let fields = payload.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "kill": return .killSwitches
        case "config": return .configuration
        case "resynchronize": return .resynchronize
        case "budget" where fields.count == 3: return .budgetWanted(project: fields[2], replica: fields[1])
        default: return nil
        }
    }
}
