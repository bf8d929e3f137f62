import AsgardCore
import Foundation
import Synchronization
import Testing

@testable import AsgardGateway

/// A budget shared by replicas: the ledger checks a call against this replica's grant, and the
/// keeper grows, trims and returns the grant in a store that holds every replica's.
@Suite struct BudgetLeaseTests {
    /// 2026-03-15T12:00:00Z.
    static let march = Date(timeIntervalSince1970: 1_773_576_000)
    /// 2026-04-02T00:00:00Z.
    static let april = Date(timeIntervalSince1970: 1_775_088_000)

    /// Grants as a store keeps them, in memory, for one project: what the replicas hold
    /// together never exceeds the budget less vendor spend. Counts the trips to it.
    final class Grants: BudgetLeaseStore {
        let replica = "me"
        struct State {
            /// The store cannot be reached while set.
            var down = false
            var mine: Int64 = 0
            var others: Int64 = 0
            var grows = 0
            var shrinks = 0
            var spent: Int64 = 0
            /// A shrink takes this long to reach the store.
            var shrinkDelay: Duration = .zero
        }
        let state: Mutex<State>

        init(others: Int64 = 0, spent: Int64 = 0) { state = Mutex(State(others: others, spent: spent)) }

        /// The budget of the project as this store holds it.
        let budget = MicroDollars(20_000)

        func growBudgetGrant(project: String, month: String, vendorSpent: MicroDollars, want: MicroDollars) async throws -> BudgetGrant {
            try await Task.sleep(for: .milliseconds(20))
            return try state.withLock { state in
                guard !state.down else { throw Unreachable() }
                state.grows += 1
                let left = budget.value - vendorSpent.value - state.mine - state.others
                state.mine += max(0, min(want.value, left))
                return BudgetGrant(granted: MicroDollars(state.mine), others: MicroDollars(state.others), budget: budget)
            }
        }

        func shrinkBudgetGrant(project: String, month: String, to keep: MicroDollars) async throws -> BudgetGrant {
            try await Task.sleep(for: state.withLock { $0.shrinkDelay })
            return state.withLock { state in
                state.shrinks += 1
                state.mine = min(state.mine, max(0, keep.value))
                return BudgetGrant(granted: MicroDollars(state.mine), others: MicroDollars(state.others))
            }
        }

        func resetBudgetGrants(projects: [String]?, month: String, from: Date, to: Date) async throws -> [String: MicroDollars] {
            state.withLock { state in
                state.mine = state.spent
                return ["p": MicroDollars(state.spent)]
            }
        }
    }

    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "the store cannot be reached" }
    }

    /// A store that cannot be reached refuses the call (no grant grows) and says so until a
    /// trip succeeds.
    @Test func anUnreachableStoreIsReportedUntilItAnswers() async throws {
        let ledger = BudgetLedger()
        let store = Grants()
        let keeper = BudgetLeaseKeeper(store: store, ledger: ledger)
        try await keeper.add(project: "p", budget: MicroDollars(20_000), now: Self.march)
        store.state.withLock { $0.down = true }
        _ = ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march)
        #expect(await keeper.grow(project: "p", now: Self.march) == false)
        #expect(keeper.lastFailure == "growing the grant of p failed: the store cannot be reached")
        store.state.withLock { $0.down = false }
        #expect(await keeper.grow(project: "p", now: Self.march))
        #expect(keeper.lastFailure == nil)
    }

    @Test func aLeasedAccountSpendsItsGrantNotTheBudget() throws {
        let ledger = BudgetLedger()
        ledger.setBudget(project: "p", monthly: MicroDollars(1_000))
        ledger.lease(project: "p", period: BudgetPeriod(containing: Self.march), spent: MicroDollars(100))
        // The grant starts at the replica's own spend: nothing more fits until it grows.
        guard case .failure(let short) = ledger.reserve(project: "p", amount: MicroDollars(50), now: Self.march) else {
            Issue.record("a call fitted in an empty grant")
            return
        }
        #expect(short.grantShort && short.budget == MicroDollars(1_000))
        #expect(ledger.lease(project: "p", now: Self.march)?.shortfall == MicroDollars(50))
        ledger.setGrant(
            project: "p", period: BudgetPeriod(containing: Self.march), BudgetGrant(granted: MicroDollars(300), others: MicroDollars(600)))
        let call = try ledger.reserve(project: "p", amount: MicroDollars(200), now: Self.march).get()
        #expect(ledger.lease(project: "p", now: Self.march)?.shortfall == .zero)
        // Vendor spend is the store's to count, in the grants: not again here.
        ledger.setVendorSpend(project: "p", spent: MicroDollars(900), period: BudgetPeriod(containing: Self.march))
        guard case .failure(let over) = ledger.reserve(project: "p", amount: MicroDollars(1), now: Self.march) else {
            Issue.record("a call went past the grant")
            return
        }
        #expect(over.heldElsewhere == MicroDollars(600) && over.description.contains("$0.0006 spent or held by other replicas"))
        #expect(ledger.settle(call, actual: MicroDollars(150)) == .settled)
        #expect(ledger.lease(project: "p", now: Self.march)?.committed == MicroDollars(250))
        // A new month: no spend and no grant until the store grants one.
        let april = try #require(ledger.lease(project: "p", now: Self.april))
        #expect(april.grant == .zero && april.committed == .zero && april.period == BudgetPeriod(containing: Self.april))
    }

    @Test func concurrentCallsShortOfOneProjectShareOneTripAndGrowBySlice() async throws {
        let ledger = BudgetLedger()
        let store = Grants()
        let keeper = BudgetLeaseKeeper(store: store, ledger: ledger)
        try await keeper.add(project: "p", budget: MicroDollars(20_000), now: Self.march)
        _ = ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march)
        let grew = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 { group.addTask { await keeper.grow(project: "p", now: Self.march) } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(store.state.withLock { $0.grows } == 1)
        #expect(grew.allSatisfy { $0 })
        // A twentieth of the budget, not just the 10 the call lacked.
        #expect(ledger.lease(project: "p", now: Self.march)?.grant == MicroDollars(1_000))
    }

    /// A call reserved while a give-back is on its way to the store must fit in what is kept:
    /// the store may hand the rest to another replica the moment it has it.
    @Test func nothingIsReservedOutOfWhatIsBeingGivenBack() async throws {
        let ledger = BudgetLedger()
        let store = Grants()
        let keeper = BudgetLeaseKeeper(store: store, ledger: ledger)
        try await keeper.add(project: "p", budget: MicroDollars(20_000), now: Self.march)
        _ = ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march)
        #expect(await keeper.grow(project: "p", now: Self.march))
        _ = try ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march).get()
        store.state.withLock { $0.shrinkDelay = .milliseconds(200) }
        let givingBack = Task { await keeper.giveBack(project: "p") }
        try await Task.sleep(for: .milliseconds(50))
        guard case .failure(let refused) = ledger.reserve(project: "p", amount: MicroDollars(500), now: Self.march) else {
            Issue.record("a call was reserved out of a grant being given back")
            return
        }
        #expect(refused.grantShort)
        await givingBack.value
        let kept = store.state.withLock { $0.mine }
        #expect(kept == 10 && ledger.lease(project: "p", now: Self.march)?.committed.value ?? .max <= kept)
    }

    @Test func idleSlackGoesBackBusySlackStaysAndEverythingAtShutdown() async throws {
        let ledger = BudgetLedger()
        let store = Grants(spent: 40)
        let keeper = BudgetLeaseKeeper(store: store, ledger: ledger)
        try await keeper.add(project: "p", budget: MicroDollars(20_000), now: Self.march)
        #expect(ledger.lease(project: "p", now: Self.march)?.committed == MicroDollars(40))
        _ = ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march)
        #expect(await keeper.grow(project: "p", now: Self.march))
        let call = try ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march).get()
        await keeper.trimIdle()  // first look: used since (never looked before) → kept
        #expect(store.state.withLock { $0.mine } == 1_040)
        await keeper.trimIdle()  // nothing reserved since the last look → back to spent + reserved
        #expect(store.state.withLock { $0.mine } == 50)
        #expect(ledger.settle(call, actual: MicroDollars(7)) == .settled)
        await keeper.returnAll()
        #expect(store.state.withLock { $0.mine } == 47)
        // Asked by another replica: the same.
        _ = ledger.reserve(project: "p", amount: MicroDollars(100), now: Self.march)
        #expect(await keeper.grow(project: "p", now: Self.march))
        await keeper.giveBack(project: "p")
        #expect(store.state.withLock { $0.mine } == 47)
    }

    @Test func nothingLeftMeansNoGrowth() async throws {
        let ledger = BudgetLedger()
        let store = Grants(others: 20_000)
        let keeper = BudgetLeaseKeeper(store: store, ledger: ledger)
        try await keeper.add(project: "p", budget: MicroDollars(20_000), now: Self.march)
        _ = ledger.reserve(project: "p", amount: MicroDollars(10), now: Self.march)
        #expect(await keeper.grow(project: "p", now: Self.march) == false)
        // An account that is not leased, or lacked nothing, never goes to the store.
        #expect(await keeper.grow(project: "unknown", now: Self.march) == false)
        #expect(store.state.withLock { $0.grows } == 1)
    }
}
