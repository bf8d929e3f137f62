/// A change one replica made to a store that other replicas act on at once, rather than at
/// their next periodic read.
public enum StoreChange: Sendable, Hashable {
    /// A kill switch was engaged or released: re-read them.
    case killSwitches
    /// The leader wrote applied objects (configuration): followers re-read and serve them.
    case configuration
    /// `replica` is short of `project`'s shared budget: the others give back what they hold
    /// unused (`BudgetLeaseKeeper`).
    case budgetWanted(project: String, replica: String)
    /// The feed (re)connected, so changes may have been missed: re-read everything.
    case resynchronize
}

/// A store several replicas share that tells each of them, as they commit, of the changes the
/// others make (PostgreSQL's LISTEN/NOTIFY). Delivery is prompt but not guaranteed: readers
/// keep their periodic re-reads as the fallback.
public protocol StoreChangeFeed: Sendable {
    /// The changes every replica announces from now on (this one's too), until the store closes.
    func changes() -> AsyncStream<StoreChange>

    /// Tells every replica of `change`.
    func announce(_ change: StoreChange) async throws
}

/// A store several replicas share that elects one of them to lead: the leader alone writes
/// desired state into the store and provisions; the others serve from what it wrote.
public protocol LeaderElection: Sendable {
    /// Campaigns for leadership until the stream's consumer stops: yields true when this
    /// replica becomes the leader, false when it stops being it (its session to the store was
    /// lost). A replica that dies loses leadership with its session, and another takes it.
    func leadership() -> AsyncStream<Bool>
}
