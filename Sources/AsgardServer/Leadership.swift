public import AsgardCore
import Logging
import ServiceLifecycle
import Synchronization

/// Whether this replica leads: writes desired state into the store and provisions. Alone on
/// its store (SQLite) it always does; on a store that elects (`LeaderElection`) it does while
/// it holds the store's leadership, and follows otherwise, serving what the leader wrote.
public final class Leadership: Sendable {
    let election: (any LeaderElection)?
    private let leading: Atomic<Bool>

    public init(election: (any LeaderElection)?) {
        self.election = election
        leading = Atomic(election == nil)
    }

    public var isLeader: Bool { leading.load(ordering: .acquiring) }

    func set(_ leader: Bool) { leading.store(leader, ordering: .releasing) }
}

/// Campaigns for leadership for as long as the server runs, and hands the change to
/// `changed` (the controller's pass and round, asked for at once).
struct LeadershipService: ServiceLifecycle.Service {
    let leadership: Leadership
    let election: any LeaderElection
    let changed: @Sendable (Bool) -> Void
    private let logger = Logger(label: "asgard.leadership")

    init(leadership: Leadership, election: any LeaderElection, changed: @escaping @Sendable (Bool) -> Void) {
        self.leadership = leadership
        self.election = election
        self.changed = changed
    }

    func run() async throws {
        for await leader in election.leadership().cancelOnGracefulShutdown() {
            leadership.set(leader)
            logger.notice(
                leader
                    ? "this replica now leads: it writes desired state into the store and provisions"
                    : "this replica no longer leads: it serves what the leader writes")
            changed(leader)
        }
        leadership.set(false)
    }
}
