public import AsgardCore
public import Foundation
import Synchronization

/// Keeps this replica's grants of shared budgets (`BudgetLeaseStore`) in step with its calls:
/// grows a project's grant when a call does not fit in it, gives back what a project left
/// unused since the last look, and everything at shutdown, so other replicas can spend it.
///
/// A grant grows by what the refused call lacked or a twentieth of the budget, whichever is
/// more, so a busy project goes to the store about once per twentieth of its budget, not per
/// call; concurrent calls short on one project share one trip (single flight).
public final class BudgetLeaseKeeper: Sendable {
    public let store: any BudgetLeaseStore
    let ledger: BudgetLedger
    private let trips = StoreTrips()
    /// Each project's reservation count at the last `trimIdle`.
    private let lastSeen = Mutex<[String: UInt64]>([:])
    private let failure = Mutex<String?>(nil)

    public init(store: any BudgetLeaseStore, ledger: BudgetLedger) {
        self.store = store
        self.ledger = ledger
    }

    /// The share of a budget a grant grows by at least.
    public static let sliceDivisor: Int64 = 20

    /// Leases `project` in the month containing `now`: resets this replica's grant in the store
    /// to what its own calls to the project cost this month, and takes that into the ledger as
    /// its spend and grant. Call once the call journal is in the store (`CallLog.open`).
    public func add(project: String, budget: MicroDollars, now: Date) async throws {
        let period = BudgetPeriod(containing: now)
        let spent = try await store.resetBudgetGrants(projects: [project], month: period.description, from: period.start, to: period.next.start)
        ledger.setBudget(project: project, monthly: budget)
        ledger.lease(project: project, period: period, spent: spent[project] ?? .zero)
    }

    /// Grows `project`'s grant after a refused call, by what it lacked or a slice of the budget.
    /// - Returns: whether the grant grew (then the call may be tried again); false when the
    ///   account is not leased, nothing was lacking, the store had nothing left, or could not
    ///   be reached (`lastFailure` says why).
    public func grow(project: String, now: Date) async -> Bool {
        await trips.shared(project) { await self.growOnce(project: project, now: now) }
    }

    /// How long a replica short of a budget waits for the others to give back what they hold
    /// unused, once it has asked (`StoreChange.budgetWanted`), before it asks the store again.
    public static let giveBackWait: Duration = .milliseconds(100)

    private func growOnce(project: String, now: Date) async -> Bool {
        guard let lease = ledger.lease(project: project, now: now), lease.shortfall.value > 0 else { return false }
        let want = MicroDollars(max(lease.shortfall.value, lease.budget.value / Self.sliceDivisor))
        do {
            var grant = try await grow(lease, want: want)
            // Not enough left in the store while other replicas hold some: ask them for what
            // they do not use, give them a moment, and ask the store once more.
            if grant.granted.value - lease.grant.value < lease.shortfall.value, grant.others.value > 0, let feed = store as? any StoreChangeFeed {
                try await feed.announce(.budgetWanted(project: project, replica: store.replica))
                try? await Task.sleep(for: Self.giveBackWait)
                grant = try await grow(lease, want: want)
            }
            return grant.granted.value > lease.grant.value
        } catch {
            failure.withLock { $0 = "growing the grant of \(project) failed: \(error)" }
            return false
        }
    }

    private func grow(_ lease: BudgetLedger.Lease, want: MicroDollars) async throws -> BudgetGrant {
        try await trips.serially {
            let grant = try await self.store.growBudgetGrant(
                project: lease.project, month: lease.period.description, vendorSpent: lease.vendorSpent, want: want)
            self.ledger.setGrant(project: lease.project, period: lease.period, grant)
            self.failure.withLock { $0 = nil }
            return grant
        }
    }

    /// Gives back what `project`'s grant holds beyond what this replica spent and reserves
    /// (another replica is short of it).
    public func giveBack(project: String) async {
        guard let lease = ledger.leases.first(where: { $0.project == project }), lease.grant.value > lease.committed.value else { return }
        await shrink(lease)
    }

    /// Gives back, for every leased project with no reservation since the last call, what its
    /// grant holds beyond what it spent and reserves. A busy project keeps its slack.
    public func trimIdle() async {
        for lease in ledger.leases {
            let idle = lastSeen.withLock { seen in
                defer { seen[lease.project] = lease.reservations }
                return seen[lease.project] == lease.reservations
            }
            guard idle, lease.grant.value > lease.committed.value else { continue }
            await shrink(lease)
        }
    }

    /// Gives back everything beyond what each project spent and reserves (at shutdown).
    public func returnAll() async {
        for lease in ledger.leases where lease.grant.value > lease.committed.value { await shrink(lease) }
    }

    /// Lowers the grant in the ledger first, then in the store: a call reserved while the store
    /// hears of it must fit in what is kept.
    private func shrink(_ lease: BudgetLedger.Lease) async {
        guard let keep = ledger.lowerGrantToCommitted(project: lease.project) else { return }
        do {
            try await trips.serially {
                let grant = try await self.store.shrinkBudgetGrant(project: lease.project, month: lease.period.description, to: keep)
                self.ledger.setGrant(project: lease.project, period: lease.period, grant)
                self.failure.withLock { $0 = nil }
            }
        } catch {
            failure.withLock { $0 = "giving back the slack of \(lease.project) failed: \(error)" }
        }
    }

    /// Why the last trip to the store failed, until one succeeds (`/healthz` shows it).
    public var lastFailure: String? { failure.withLock { $0 } }
}
