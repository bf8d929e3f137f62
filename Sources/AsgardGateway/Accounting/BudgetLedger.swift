public import AsgardCore
public import Foundation
import Synchronization

/// A claim on part of a project's budget for one call in flight.
///
/// Only `BudgetLedger.reserve` makes one. It must be closed exactly once, by `settle` (the call
/// finished: charge what it cost) or `release` (the vendor was never reached or failed: charge
/// nothing); closing it a second time is a detected no-op.
public struct BudgetReservation: Sendable, Hashable, CustomStringConvertible {
    /// Unique within the ledger that made it.
    public let id: UInt64
    public let project: String
    /// The amount held back from the budget until the reservation is closed.
    public let amount: MicroDollars
    /// The period the reservation was made in.
    public let period: BudgetPeriod

    init(id: UInt64, project: String, amount: MicroDollars, period: BudgetPeriod) {
        self.id = id
        self.project = project
        self.amount = amount
        self.period = period
    }

    public var description: String { "reservation #\(id) of $\(amount) for \(project) in \(period)" }
}

/// Why a reservation was refused: the call could cost more than the project has left.
///
/// The gateway answers it with HTTP 402; `description` is the message.
public struct BudgetExceeded: Error, Sendable, Hashable, CustomStringConvertible {
    public let project: String
    /// False when the ledger holds no budget for the project at all (then `budget` is zero).
    public let hasBudget: Bool
    public let budget: MicroDollars
    /// Settled spend in the current period.
    public let spent: MicroDollars
    /// Held back for calls in flight.
    public let reserved: MicroDollars
    /// The refused reservation: the call's worst-case cost.
    public let requested: MicroDollars
    public let period: BudgetPeriod
    /// Spend measured with vendors this period (a cost rollup's figures: a warehouse, a job).
    public var vendorSpent: MicroDollars = .zero
    /// Held by other replicas sharing the budget (what they spent and reserve); zero alone.
    public var heldElsewhere: MicroDollars = .zero
    /// The project's budget is shared with other replicas and this one ran out of its grant:
    /// growing the grant (`BudgetLeaseKeeper`) may let the call through.
    public var grantShort = false

    /// What is left for new calls: the budget less spent (model calls and vendors), reserved
    /// and held by other replicas, never below zero.
    public var available: MicroDollars {
        let committed = Int128(spent.value) + Int128(vendorSpent.value) + Int128(reserved.value) + Int128(heldElsewhere.value)
        return MicroDollars(Int64(max(0, Int128(budget.value) - committed)))
    }

    public var description: String {
        guard hasBudget else { return "project \(project) has no budget in the gateway; no call can be charged to it" }
        let vendors = vendorSpent.value > 0 ? ", $\(vendorSpent) measured with vendors" : ""
        let elsewhere = heldElsewhere.value > 0 ? ", $\(heldElsewhere) spent or held by other replicas" : ""
        return "project \(project) has $\(available) left of its $\(budget) budget for \(period) "
            + "($\(spent) spent on model calls\(vendors)\(elsewhere), $\(reserved) reserved by calls in flight); "
            + "this call could cost up to $\(requested)"
    }
}

/// How closing a reservation with `BudgetLedger.settle` went.
public enum BudgetSettlement: Sendable, Hashable {
    /// Charged, within the reservation.
    case settled
    /// Charged, but the actual cost was above the reservation by this much, so the project's
    /// spend may now be above its budget. It means the prompt estimate or the `max_tokens` cap
    /// failed; worth a warning in the log.
    case exceededReservation(by: MicroDollars)
    /// The reservation had already been settled or released: nothing changed.
    case alreadyClosed
}

/// A project's figures in the ledger at one instant.
public struct BudgetSnapshot: Sendable, Hashable {
    public let budget: MicroDollars
    /// Settled spend in `period`.
    public let spent: MicroDollars
    /// Held back for calls in flight.
    public let reserved: MicroDollars
    /// The month `spent` belongs to; nil until the first `load` or `reserve` for the project.
    public let period: BudgetPeriod?
    /// Measured with vendors this month (the cost plane), counted against the budget too.
    public var vendorSpent: MicroDollars = .zero
    /// Spent or held by other replicas sharing the budget, as of this replica's last grant change.
    public var heldElsewhere: MicroDollars = .zero

    /// What is left: the budget less settled, vendor-measured, reserved and elsewhere-held spend
    /// (negative when overspent).
    public var left: MicroDollars { MicroDollars(budget.value - spent.value - vendorSpent.value - reserved.value - heldElsewhere.value) }
}

/// Every project's monthly budget, settled spend and in-flight reservations, in memory.
///
/// The gateway reserves a call's worst-case cost (`Pricing.worstCase`) before calling the vendor
/// and settles the reported cost afterwards, so concurrent calls can never together commit more
/// than the budget: `reserve` succeeds only if `spent + reserved + amount ≤ budget`, checked and
/// applied under one lock.
///
/// **Months.** `reserve` takes the current time. When it falls in a later UTC month
/// (`BudgetPeriod`) than the project's, the project's settled spend is reset to zero before the
/// check: the ledger rolls over by itself, with no scheduled job. Reservations in flight are kept
/// across the rollover, and a call settled after it is charged to the new month (the server
/// records usage at settle time too, so the store agrees). A time in an earlier month than the
/// project's (a clock stepped back) counts as the project's current month.
///
/// **Loading.** At start the server calls `setBudget` for every project and `load` with the
/// month's spend from the store, before serving calls. Budget changes from the reconciler go
/// through `setBudget`, which keeps spend and reservations: lowering a budget below what is
/// committed refuses new calls but does not cancel calls in flight.
///
/// **Shared budgets.** When several replicas share a store, a project's account is *leased*
/// (`lease`): `spent` is this replica's own spend, and a call must fit in this replica's grant
/// (`spent + reserved + amount ≤ grant`) rather than in the budget. The store keeps every
/// replica's grant within the budget less vendor spend (`BudgetLeaseStore`), so the check stays
/// in memory and the replicas together still never commit more than the budget; a refusal
/// marked `grantShort` is for `BudgetLeaseKeeper` to grow the grant and try again.
///
/// One `Mutex` guards the whole ledger: each operation is a few dictionary accesses, far
/// cheaper than the call it accounts for.
public final class BudgetLedger: Sendable {
    struct Account {
        var budget: MicroDollars = .zero
        var spent: MicroDollars = .zero
        var reserved: MicroDollars = .zero
        /// Measured vendor spend in `period`, from the last cost rollup (`setVendorSpend`).
        var vendorSpent: MicroDollars = .zero
        var period: BudgetPeriod?
        /// This replica's grant in `period` when the budget is shared; nil when it is not.
        var grant: MicroDollars?
        /// What other replicas held at the last grant change (shared budgets only).
        var heldElsewhere: MicroDollars = .zero
        /// Reservations made, ever: tells a lease keeper whether the account was used lately.
        var reservations: UInt64 = 0
        /// What the last refused reservation lacked of the grant (shared budgets only): what a
        /// lease keeper grows the grant by, at least.
        var shortfall: MicroDollars = .zero

        /// Rolls the account into `period` when that is later than its own.
        mutating func roll(into period: BudgetPeriod) {
            guard let current = self.period else {
                self.period = period
                return
            }
            guard current < period else { return }
            self.period = period
            spent = .zero
            vendorSpent = .zero
            if grant != nil {
                grant = .zero
                heldElsewhere = .zero
            }
        }
    }

    struct State {
        var accounts: [String: Account] = [:]
        /// Ids of the reservations not yet settled or released.
        var open: Set<UInt64> = []
        var nextID: UInt64 = 1
    }

    let state = Mutex(State())

    /// An empty ledger: every reservation is refused until `setBudget` is called for its project.
    public init() {}

    /// Sets a project's monthly budget, adding the project if it is new.
    ///
    /// Spend and reservations are kept, so it is safe while calls are in flight. There is no
    /// removal: a deleted project's budget is set to zero, which refuses every call that costs
    /// anything, while its calls in flight still settle.
    public func setBudget(project: String, monthly: MicroDollars) {
        state.withLock { $0.accounts[project, default: Account()].budget = monthly }
    }

    /// Replaces a project's settled spend for `period` with the store's figure.
    ///
    /// Called at start, before the project serves calls. A load for a period older than the one
    /// the project is already in is stale and ignored.
    ///
    /// - Returns: whether the figure was taken.
    @discardableResult
    public func load(project: String, spent: MicroDollars, period: BudgetPeriod) -> Bool {
        state.withLock { state in
            var account = state.accounts[project] ?? Account()
            if let current = account.period, period < current { return false }
            account.spent = MicroDollars(max(0, spent.value))
            account.period = period
            state.accounts[project] = account
            return true
        }
    }

    /// Sets a project's spend measured with vendors in `period` (a cost rollup's month-to-date
    /// figures, every source but the gateway's own metering, which `spent` already counts), so
    /// a project whose warehouse used its budget is refused model calls. A figure for a period
    /// other than the project's current one is ignored: a new month starts at zero until the
    /// next rollup.
    /// - Returns: whether the figure was taken.
    @discardableResult
    public func setVendorSpend(project: String, spent: MicroDollars, period: BudgetPeriod) -> Bool {
        state.withLock { state in
            guard var account = state.accounts[project] else { return false }
            if account.period == nil { account.period = period }
            guard account.period == period else { return false }
            account.vendorSpent = MicroDollars(max(0, spent.value))
            state.accounts[project] = account
            return true
        }
    }

    /// Holds back `amount` of the project's budget for one call, if it fits.
    ///
    /// Succeeds only if `spent + reserved + amount ≤ budget` for the month containing `now`
    /// (rolling the project into that month first, see the type's documentation). A negative
    /// amount counts as zero. An unknown project is refused whatever the amount.
    ///
    /// - Returns: the reservation, to be settled or released exactly once, or why it was refused.
    public func reserve(project: String, amount: MicroDollars, now: Date) -> Result<BudgetReservation, BudgetExceeded> {
        let requested = MicroDollars(max(0, amount.value))
        let period = BudgetPeriod(containing: now)
        return state.withLock { state in
            guard var account = state.accounts[project] else {
                return .failure(
                    BudgetExceeded(
                        project: project, hasBudget: false, budget: .zero, spent: .zero,
                        reserved: .zero, requested: requested, period: period))
            }
            account.roll(into: period)
            let current = account.period ?? period
            // 128-bit sum: spent may sit far above the budget after an over-reservation settle.
            // A shared budget's vendor spend is counted by the store, in the grants.
            let committed =
                Int128(account.spent.value) + Int128(account.grant == nil ? account.vendorSpent.value : 0) + Int128(account.reserved.value)
                + Int128(requested.value)
            guard committed <= Int128((account.grant ?? account.budget).value) else {
                state.accounts[project] = account
                var exceeded = BudgetExceeded(
                    project: project, hasBudget: true, budget: account.budget,
                    spent: account.spent, reserved: account.reserved,
                    requested: requested, period: current, vendorSpent: account.vendorSpent)
                exceeded.heldElsewhere = account.heldElsewhere
                if let grant = account.grant {
                    exceeded.grantShort = true
                    account.shortfall = MicroDollars(Int64(clamping: committed - Int128(grant.value)))
                    state.accounts[project] = account
                }
                return .failure(exceeded)
            }
            account.reserved.value += requested.value  // ≤ budget or grant, so no overflow
            account.reservations &+= 1
            state.accounts[project] = account
            let id = state.nextID
            state.nextID += 1
            state.open.insert(id)
            return .success(BudgetReservation(id: id, project: project, amount: requested, period: current))
        }
    }

    /// Closes a reservation with the call's actual cost: releases the hold and charges `actual`.
    ///
    /// The gateway caps `max_tokens` upstream, so the actual cost should not exceed the
    /// reservation. If it does (the vendor ignored the cap, or the prompt estimate was low), the
    /// whole actual cost is charged anyway, since spend is what happened, even if that takes the
    /// project over its budget; the result says so. A negative actual counts as zero.
    ///
    /// - Returns: `.alreadyClosed`, changing nothing, if the reservation was settled or released
    ///   before.
    @discardableResult
    public func settle(_ reservation: BudgetReservation, actual: MicroDollars) -> BudgetSettlement {
        let charged = max(0, actual.value)
        return state.withLock { state in
            guard state.open.remove(reservation.id) != nil else { return .alreadyClosed }
            if var account = state.accounts[reservation.project] {
                account.reserved.value -= reservation.amount.value
                let (sum, overflow) = account.spent.value.addingReportingOverflow(charged)
                account.spent.value = overflow ? Int64.max : sum
                state.accounts[reservation.project] = account
            }
            return charged > reservation.amount.value
                ? .exceededReservation(by: MicroDollars(charged - reservation.amount.value)) : .settled
        }
    }

    /// Closes a reservation without charging anything: the vendor was never reached, or failed
    /// before doing billable work.
    ///
    /// - Returns: false, changing nothing, if the reservation was settled or released before.
    @discardableResult
    public func release(_ reservation: BudgetReservation) -> Bool {
        state.withLock { state in
            guard state.open.remove(reservation.id) != nil else { return false }
            state.accounts[reservation.project]?.reserved.value -= reservation.amount.value
            return true
        }
    }

    /// A project's budget, spend and reservations, or nil if the ledger does not know it.
    public func snapshot(project: String) -> BudgetSnapshot? {
        state.withLock { state in
            state.accounts[project].map {
                BudgetSnapshot(
                    budget: $0.budget, spent: $0.spent, reserved: $0.reserved, period: $0.period, vendorSpent: $0.vendorSpent,
                    heldElsewhere: $0.heldElsewhere)
            }
        }
    }

    // MARK: Shared budgets

    /// Makes `project`'s account leased for `period`: `spent` is this replica's own spend, and
    /// its grant (reset in the store to exactly that) is all it may commit until it grows.
    /// Reservations in flight are kept. A lease for a period older than the account's is stale
    /// and ignored.
    /// - Returns: whether the figures were taken.
    @discardableResult
    public func lease(project: String, period: BudgetPeriod, spent: MicroDollars) -> Bool {
        state.withLock { state in
            var account = state.accounts[project] ?? Account()
            if let current = account.period, period < current { return false }
            account.period = period
            account.spent = MicroDollars(max(0, spent.value))
            account.grant = account.spent
            account.heldElsewhere = .zero
            state.accounts[project] = account
            return true
        }
    }

    /// Takes the grant the store now holds for this replica (`BudgetLeaseStore`), and what the
    /// other replicas hold, for `project` in `period`; ignored unless the account is leased and in that period.
    public func setGrant(project: String, period: BudgetPeriod, _ grant: BudgetGrant) {
        state.withLock { state in
            guard var account = state.accounts[project], account.grant != nil, account.period == period else { return }
            account.grant = grant.granted
            account.heldElsewhere = grant.others
            account.shortfall = .zero
            // The store's budget is the one in force, ahead of this replica's next pass.
            if let budget = grant.budget { account.budget = budget }
            state.accounts[project] = account
        }
    }

    /// Lowers `project`'s grant to what it has spent and reserved, at once: before the store
    /// hears of it, so that no call is reserved meanwhile out of what is being given back (the
    /// other replicas may take it the moment the store has it).
    /// - Returns: the grant kept, or nil when the account is not leased or holds nothing beyond.
    public func lowerGrantToCommitted(project: String) -> MicroDollars? {
        state.withLock { state in
            guard var account = state.accounts[project], let grant = account.grant else { return nil }
            let committed = account.spent.value &+ account.reserved.value
            guard grant.value > committed else { return nil }
            account.grant = MicroDollars(committed)
            state.accounts[project] = account
            return account.grant
        }
    }

    /// A leased account as its lease keeper sees it.
    public struct Lease: Sendable, Hashable {
        public var project: String
        public var period: BudgetPeriod
        public var budget: MicroDollars
        public var vendorSpent: MicroDollars
        public var grant: MicroDollars
        /// What the grant must keep covering: spent and reserved.
        public var committed: MicroDollars
        /// Reservations made, ever.
        public var reservations: UInt64
        /// What the last refused reservation lacked of the grant.
        public var shortfall: MicroDollars
    }

    /// Every leased account, in project order.
    public var leases: [Lease] {
        state.withLock { state in
            state.accounts.compactMap { project, account -> Lease? in
                guard let grant = account.grant, let period = account.period else { return nil }
                return Lease(
                    project: project, period: period, budget: account.budget, vendorSpent: account.vendorSpent, grant: grant,
                    committed: MicroDollars(account.spent.value &+ account.reserved.value), reservations: account.reservations,
                    shortfall: account.shortfall)
            }.sorted { $0.project < $1.project }
        }
    }

    /// The lease of `project` in the month containing `now` (rolled into it first), if its account is leased.
    public func lease(project: String, now: Date) -> Lease? {
        let period = BudgetPeriod(containing: now)
        return state.withLock { state in
            guard var account = state.accounts[project], account.grant != nil else { return nil }
            account.roll(into: period)
            state.accounts[project] = account
            guard let grant = account.grant, let current = account.period else { return nil }
            return Lease(
                project: project, period: current, budget: account.budget, vendorSpent: account.vendorSpent, grant: grant,
                committed: MicroDollars(account.spent.value &+ account.reserved.value), reservations: account.reservations,
                shortfall: account.shortfall)
        }
    }

    /// How many reservations are neither settled nor released; zero when no call is in flight.
    public var openReservations: Int {
        state.withLock { $0.open.count }
    }
}
