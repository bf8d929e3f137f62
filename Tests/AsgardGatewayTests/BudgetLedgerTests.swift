import AsgardCore
import AsgardTestSupport
import Foundation
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct BudgetLedgerTests {
    /// 2026-03-15T12:00:00Z.
    static let march = Date(timeIntervalSince1970: 1_773_576_000)
    /// 2026-04-02T00:00:00Z.
    static let april = Date(timeIntervalSince1970: 1_775_088_000)

    static func ledger(budget: Int64, project: String = "p") -> BudgetLedger {
        let ledger = BudgetLedger()
        ledger.setBudget(project: project, monthly: MicroDollars(budget))
        return ledger
    }

    static func figures(_ ledger: BudgetLedger, _ project: String = "p") -> (budget: Int64, spent: Int64, reserved: Int64) {
        let s = ledger.snapshot(project: project)
        return (s?.budget.value ?? -1, s?.spent.value ?? -1, s?.reserved.value ?? -1)
    }

    @Test func reserveSettleAndRelease() throws {
        let ledger = Self.ledger(budget: 1_000)
        let a = try ledger.reserve(project: "p", amount: MicroDollars(300), now: Self.march).get()
        let b = try ledger.reserve(project: "p", amount: MicroDollars(500), now: Self.march).get()
        #expect(Self.figures(ledger) == (1_000, 0, 800))
        #expect(ledger.openReservations == 2)
        #expect(ledger.settle(a, actual: MicroDollars(120)) == .settled)
        #expect(Self.figures(ledger) == (1_000, 120, 500))
        #expect(ledger.release(b))
        #expect(Self.figures(ledger) == (1_000, 120, 0))
        #expect(ledger.openReservations == 0)
        #expect(a.project == "p" && a.amount == MicroDollars(300) && a.id != b.id)
        #expect(a.period == BudgetPeriod(year: 2026, month: 3))
    }

    /// Spend measured with vendors (a cost rollup's) counts against the budget with model
    /// calls; it is the month's, so a new month starts without it, and a figure for another
    /// month changes nothing.
    @Test func vendorSpendCountsAgainstTheBudgetForItsMonth() throws {
        let ledger = Self.ledger(budget: 1_000)
        let march = BudgetPeriod(year: 2026, month: 3)
        #expect(ledger.setVendorSpend(project: "p", spent: MicroDollars(700), period: march))
        #expect(ledger.setVendorSpend(project: "nobody", spent: MicroDollars(700), period: march) == false)
        let refusal = try #require(ledger.reserve(project: "p", amount: MicroDollars(301), now: Self.march).failure)
        #expect(refusal.vendorSpent == MicroDollars(700) && refusal.available == MicroDollars(300))
        #expect(refusal.description.contains("$0.0007 measured with vendors"))
        let fits = try ledger.reserve(project: "p", amount: MicroDollars(300), now: Self.march).get()
        ledger.release(fits)
        // A rollup replaces the figure rather than adding to it.
        #expect(ledger.setVendorSpend(project: "p", spent: MicroDollars(100), period: march))
        #expect(ledger.reserve(project: "p", amount: MicroDollars(900), now: Self.march).success != nil)
        // April: March's vendor spend is gone, and a late March figure is ignored.
        let fresh = Self.ledger(budget: 1_000)
        #expect(fresh.setVendorSpend(project: "p", spent: MicroDollars(999), period: march))
        #expect(fresh.reserve(project: "p", amount: MicroDollars(1_000), now: Self.april).success != nil)
        #expect(fresh.setVendorSpend(project: "p", spent: MicroDollars(999), period: march) == false)
    }

    @Test func reservationThatFitsExactlySucceedsAndOneMoreMicroDollarDoesNot() throws {
        let ledger = Self.ledger(budget: 1_000)
        _ = try ledger.reserve(project: "p", amount: MicroDollars(400), now: Self.march).get()
        let settled = try ledger.reserve(project: "p", amount: MicroDollars(100), now: Self.march).get()
        ledger.settle(settled, actual: MicroDollars(100))
        let refusal = try #require(ledger.reserve(project: "p", amount: MicroDollars(501), now: Self.march).failure)
        #expect(
            refusal
                == BudgetExceeded(
                    project: "p", hasBudget: true, budget: MicroDollars(1_000), spent: MicroDollars(100),
                    reserved: MicroDollars(400), requested: MicroDollars(501),
                    period: BudgetPeriod(year: 2026, month: 3)))
        #expect(refusal.available == MicroDollars(500))
        #expect(
            refusal.description == "project p has $0.0005 left of its $0.001 budget for 2026-03 ($0.0001 spent on model calls, "
                + "$0.0004 reserved by calls in flight); this call could cost up to $0.000501")
        #expect(ledger.reserve(project: "p", amount: MicroDollars(500), now: Self.march).success != nil)
        #expect(Self.figures(ledger) == (1_000, 100, 900))
    }

    @Test func unknownProjectIsRefusedEvenForFreeCalls() throws {
        let ledger = Self.ledger(budget: 1_000)
        let refusal = try #require(ledger.reserve(project: "ghost", amount: .zero, now: Self.march).failure)
        #expect(!refusal.hasBudget && refusal.project == "ghost" && refusal.budget == .zero)
        #expect(refusal.description.contains("has no budget"))
        #expect(ledger.snapshot(project: "ghost") == nil)
    }

    @Test func settlingOrReleasingTwiceIsADetectedNoOp() throws {
        let ledger = Self.ledger(budget: 1_000)
        let r = try ledger.reserve(project: "p", amount: MicroDollars(300), now: Self.march).get()
        #expect(ledger.settle(r, actual: MicroDollars(200)) == .settled)
        #expect(ledger.settle(r, actual: MicroDollars(200)) == .alreadyClosed)
        #expect(!ledger.release(r))
        #expect(Self.figures(ledger) == (1_000, 200, 0))

        let s = try ledger.reserve(project: "p", amount: MicroDollars(300), now: Self.march).get()
        #expect(ledger.release(s))
        #expect(!ledger.release(s))
        #expect(ledger.settle(s, actual: MicroDollars(300)) == .alreadyClosed)
        #expect(Self.figures(ledger) == (1_000, 200, 0))
        #expect(ledger.openReservations == 0)
    }

    @Test func actualAboveTheReservationIsChargedAndReported() throws {
        let ledger = Self.ledger(budget: 1_000)
        let r = try ledger.reserve(project: "p", amount: MicroDollars(900), now: Self.march).get()
        #expect(ledger.settle(r, actual: MicroDollars(1_250)) == .exceededReservation(by: MicroDollars(350)))
        #expect(Self.figures(ledger) == (1_000, 1_250, 0))
        // Over budget now: even a free call is refused until the month rolls over.
        #expect(ledger.reserve(project: "p", amount: .zero, now: Self.march).failure?.available == .zero)
        #expect(ledger.reserve(project: "p", amount: MicroDollars(1_000), now: Self.april).success != nil)
    }

    @Test func negativeAmountsCountAsZero() throws {
        let ledger = Self.ledger(budget: 10)
        let r = try ledger.reserve(project: "p", amount: MicroDollars(-50), now: Self.march).get()
        #expect(r.amount == .zero)
        ledger.settle(r, actual: MicroDollars(-7))
        #expect(Self.figures(ledger) == (10, 0, 0))
    }

    @Test func hugeAmountsDoNotOverflow() throws {
        let ledger = Self.ledger(budget: Int64.max)
        let r = try ledger.reserve(project: "p", amount: MicroDollars(Int64.max), now: Self.march).get()
        #expect(ledger.reserve(project: "p", amount: MicroDollars(Int64.max), now: Self.march).failure != nil)
        #expect(ledger.settle(r, actual: MicroDollars(Int64.max)) == .settled)
        #expect(ledger.reserve(project: "p", amount: MicroDollars(1), now: Self.march).failure != nil)
        let free = try ledger.reserve(project: "p", amount: .zero, now: Self.march).get()
        #expect(ledger.settle(free, actual: MicroDollars(Int64.max)) == .exceededReservation(by: MicroDollars(Int64.max)))
        #expect(Self.figures(ledger) == (Int64.max, Int64.max, 0))
    }

    @Test func projectsAreIndependent() throws {
        let ledger = Self.ledger(budget: 100, project: "a")
        ledger.setBudget(project: "b", monthly: MicroDollars(100))
        _ = try ledger.reserve(project: "a", amount: MicroDollars(100), now: Self.march).get()
        #expect(ledger.reserve(project: "a", amount: MicroDollars(1), now: Self.march).failure != nil)
        #expect(ledger.reserve(project: "b", amount: MicroDollars(100), now: Self.march).success != nil)
    }

    @Test func setBudgetKeepsSpendAndReservations() throws {
        let ledger = Self.ledger(budget: 1_000)
        let r = try ledger.reserve(project: "p", amount: MicroDollars(600), now: Self.march).get()
        ledger.setBudget(project: "p", monthly: MicroDollars(500))
        #expect(Self.figures(ledger) == (500, 0, 600))
        #expect(ledger.reserve(project: "p", amount: .zero, now: Self.march).failure != nil)
        // The call in flight still settles.
        #expect(ledger.settle(r, actual: MicroDollars(450)) == .settled)
        #expect(Self.figures(ledger) == (500, 450, 0))
        #expect(ledger.reserve(project: "p", amount: MicroDollars(50), now: Self.march).success != nil)
    }

    @Test func newMonthResetsSpendButKeepsCallsInFlight() throws {
        let ledger = Self.ledger(budget: 1_000)
        ledger.load(project: "p", spent: MicroDollars(700), period: BudgetPeriod(year: 2026, month: 3))
        let inFlight = try ledger.reserve(project: "p", amount: MicroDollars(300), now: Self.march).get()
        #expect(ledger.reserve(project: "p", amount: MicroDollars(1), now: Self.march).failure != nil)

        // April: March's 700 no longer counts, the 300 in flight still does.
        let aprilCall = try ledger.reserve(project: "p", amount: MicroDollars(700), now: Self.april).get()
        #expect(aprilCall.period == BudgetPeriod(year: 2026, month: 4))
        #expect(
            ledger.snapshot(project: "p")
                == BudgetSnapshot(
                    budget: MicroDollars(1_000), spent: .zero,
                    reserved: MicroDollars(1_000),
                    period: BudgetPeriod(year: 2026, month: 4)))
        // The straddling call is charged to the month it settles in.
        ledger.settle(inFlight, actual: MicroDollars(250))
        #expect(Self.figures(ledger) == (1_000, 250, 700))
        // A clock stepped back to March neither resets April nor reopens March.
        #expect(
            ledger.reserve(project: "p", amount: MicroDollars(51), now: Self.march).failure?.period
                == BudgetPeriod(year: 2026, month: 4))
        #expect(
            ledger.reserve(project: "p", amount: MicroDollars(50), now: Self.march).success?.period
                == BudgetPeriod(year: 2026, month: 4))
    }

    @Test func staleLoadIsIgnored() throws {
        let ledger = Self.ledger(budget: 1_000)
        _ = try ledger.reserve(project: "p", amount: .zero, now: Self.april).get()
        #expect(!ledger.load(project: "p", spent: MicroDollars(900), period: BudgetPeriod(year: 2026, month: 3)))
        #expect(Self.figures(ledger) == (1_000, 0, 0))
        #expect(ledger.load(project: "p", spent: MicroDollars(900), period: BudgetPeriod(year: 2026, month: 4)))
        #expect(Self.figures(ledger) == (1_000, 900, 0))
        #expect(ledger.reserve(project: "p", amount: MicroDollars(101), now: Self.april).failure != nil)
    }

    // MARK: - Concurrency

    struct RaceOutcome {
        var successes = 0
        var refusals: [BudgetExceeded] = []
        var charged: Int64 = 0
    }

    static let racePricing = TokenPricing(inputPerMillion: MicroDollars(3_000_000), outputPerMillion: MicroDollars(15_000_000))
    static let raceWorst = Pricing.worstCase(
        promptTokens: Pricing.promptTokenBound(bodyBytes: 120, messages: 1, tools: 0), completionTokens: 1_024, pricing: racePricing)

    /// 200 concurrent calls, each reserving the worst case against a budget that fits exactly 50,
    /// then settling `actual(i)` (never above the reservation). With `retryWhileInFlight`, a
    /// refused call tries again as long as other calls are in flight (their settlement may free
    /// headroom), so its final refusal means the budget itself is used up.
    static func race(retryWhileInFlight: Bool, actual: @escaping @Sendable (Int) -> MicroDollars)
        async -> (BudgetLedger, RaceOutcome)
    {
        let worst = raceWorst
        let ledger = Self.ledger(budget: worst.value * 50)
        let outcome = await withTaskGroup(of: Result<MicroDollars, BudgetExceeded>.self) { group in
            for i in 0..<200 {
                group.addTask {
                    while true {
                        switch ledger.reserve(project: "p", amount: worst, now: Self.march) {
                        case .success(let reservation):
                            await Task.yield()  // the vendor call: let others interleave
                            let cost = actual(i)
                            #expect(cost <= reservation.amount)
                            #expect(ledger.settle(reservation, actual: cost) == .settled)
                            return .success(cost)
                        case .failure(let refusal):
                            guard retryWhileInFlight, refusal.reserved > .zero else { return .failure(refusal) }
                            await Task.yield()
                        }
                    }
                }
            }
            var outcome = RaceOutcome()
            for await result in group {
                switch result {
                case .success(let cost):
                    outcome.successes += 1
                    outcome.charged += cost.value
                case .failure(let refusal): outcome.refusals.append(refusal)
                }
            }
            return outcome
        }
        return (ledger, outcome)
    }

    static func expectRefusalsAreGenuine(_ outcome: RaceOutcome) {
        #expect(outcome.successes + outcome.refusals.count == 200)
        for refusal in outcome.refusals {
            #expect(refusal.project == "p" && refusal.hasBudget)
            #expect(refusal.requested == raceWorst && refusal.budget.value == raceWorst.value * 50)
            // Each was refused because the call truly did not fit at that moment.
            #expect(refusal.spent.value + refusal.reserved.value + raceWorst.value > refusal.budget.value)
        }
    }

    @Test func twoHundredConcurrentCallsAgainstABudgetForFifty() async {
        // Calls cost their whole reservation, so no headroom ever comes back.
        let (ledger, outcome) = await Self.race(retryWhileInFlight: false) { _ in Self.raceWorst }
        let budget = Self.raceWorst.value * 50
        #expect(outcome.successes <= 50)
        #expect(outcome.successes == 50)
        #expect(outcome.refusals.count == 150)
        Self.expectRefusalsAreGenuine(outcome)
        let (_, spent, reserved) = Self.figures(ledger)
        #expect(spent <= budget && spent == outcome.charged && reserved == 0)
        #expect(ledger.openReservations == 0)
    }

    @Test(arguments: [false, true])
    func headroomReleasedBySettlingBelowTheReservationIsReused(retry: Bool) async {
        // Calls cost between a fifth and a half of their worst case.
        let (ledger, outcome) = await Self.race(retryWhileInFlight: retry) { i in
            MicroDollars(Self.raceWorst.value / 5 + (Self.raceWorst.value * 3 / 10) * Int64(i % 7) / 6)
        }
        let worst = Self.raceWorst.value
        let budget = worst * 50
        Self.expectRefusalsAreGenuine(outcome)
        // Any refusal came with more than 49 worst cases committed: at least 50 calls got through.
        #expect(outcome.successes >= 50)
        if retry {
            // Final refusals happen only with nothing in flight, so the spend alone left no room
            // for a worst case: > 49 worst cases spent at ≤ ½ worst case per call is ≥ 99 calls.
            for refusal in outcome.refusals { #expect(refusal.reserved == .zero && refusal.spent.value > budget - worst) }
            #expect(outcome.successes >= 99)
        }
        let (_, spent, reserved) = Self.figures(ledger)
        #expect(spent <= budget && spent == outcome.charged && reserved == 0)
        #expect(ledger.openReservations == 0)
    }

    // MARK: - Properties

    enum Step {
        case reserve(Int64)
        case settle(pick: Int, fraction: Int64)
        case release(pick: Int)
    }

    /// Random interleavings of many calls' reserve / settle / release steps, checked against a
    /// model after every step: spent + reserved ≤ budget always, and the ledger's figures and
    /// decisions are exactly the model's.
    @Test func randomInterleavingsKeepSpentPlusReservedWithinBudget() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let budget = Int64.random(in: 0...10_000, using: &rng)
            let ledger = Self.ledger(budget: budget)
            var open: [BudgetReservation] = []
            var spent: Int64 = 0
            for _ in 0..<Int.random(in: 1...150, using: &rng) {
                let step: Step =
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<5: .reserve(Int64.random(in: 0...(budget / 3 + 1), using: &rng))
                    case 5..<8: .settle(pick: Int.random(in: 0..<1_000, using: &rng), fraction: Int64.random(in: 0...100, using: &rng))
                    default: .release(pick: Int.random(in: 0..<1_000, using: &rng))
                    }
                let reserved = open.reduce(0) { $0 + $1.amount.value }
                switch step {
                case .reserve(let amount):
                    let fits = spent + reserved + amount <= budget
                    let result = ledger.reserve(project: "p", amount: MicroDollars(amount), now: Self.march)
                    #expect((result.success != nil) == fits)
                    if let r = result.success { open.append(r) }
                case .settle(let pick, let fraction):
                    guard !open.isEmpty else { continue }
                    let r = open.remove(at: pick % open.count)
                    let actual = r.amount.value * fraction / 100
                    #expect(ledger.settle(r, actual: MicroDollars(actual)) == .settled)
                    spent += actual
                case .release(let pick):
                    guard !open.isEmpty else { continue }
                    #expect(ledger.release(open.remove(at: pick % open.count)))
                }
                let figures = Self.figures(ledger)
                #expect(figures.spent + figures.reserved <= budget)
                #expect(figures.spent == spent && figures.reserved == open.reduce(0) { $0 + $1.amount.value })
                #expect(ledger.openReservations == open.count)
            }
        }
    }

    /// The same invariant under real concurrency: tasks reserve, yield, and settle or release at
    /// random, while every task checks the invariant on atomic snapshots between its steps.
    @Test func concurrentRandomCallsKeepSpentPlusReservedWithinBudget() async {
        await propertyCheck(count: 30, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let budget = Int64.random(in: 1_000...50_000, using: &rng)
            let ledger = Self.ledger(budget: budget)
            let plans: [[(amount: Int64, percent: Int64)]] = (0..<8).map { _ in
                (0..<40).map { _ in (Int64.random(in: 0...(budget / 4), using: &rng), Int64.random(in: -1...100, using: &rng)) }
            }
            let charged = await withTaskGroup(of: Int64.self) { group in
                for plan in plans {
                    group.addTask {
                        var charged: Int64 = 0
                        for (amount, percent) in plan {
                            let result = ledger.reserve(project: "p", amount: MicroDollars(amount), now: Self.march)
                            await Task.yield()
                            if let r = result.success {
                                if percent < 0 {
                                    #expect(ledger.release(r))
                                } else {
                                    #expect(ledger.settle(r, actual: MicroDollars(amount * percent / 100)) == .settled)
                                    charged += amount * percent / 100
                                }
                            }
                            let figures = Self.figures(ledger)
                            #expect(figures.spent + figures.reserved <= budget)
                        }
                        return charged
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(Self.figures(ledger) == (budget, charged, 0))
            #expect(ledger.openReservations == 0)
        }
    }
}

extension Result {
    fileprivate var success: Success? { if case .success(let value) = self { value } else { nil } }
    fileprivate var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
