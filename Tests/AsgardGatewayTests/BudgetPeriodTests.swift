import AsgardTestSupport
import Foundation
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct BudgetPeriodTests {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    struct Case: Sendable, CustomTestStringConvertible {
        var instant: TimeInterval
        var year: Int
        var month: Int
        var testDescription: String { "\(instant) → \(year)-\(month)" }
    }

    @Test(arguments: [
        Case(instant: 0, year: 1970, month: 1),
        Case(instant: -1, year: 1969, month: 12),
        // The last second of February in a leap year, and the first of March.
        Case(instant: 1_709_251_199, year: 2024, month: 2),
        Case(instant: 1_709_251_200, year: 2024, month: 3),
        // 2100 is not a leap year: 1 March 2100 follows 28 February.
        Case(instant: 4_107_542_399, year: 2100, month: 2),
        Case(instant: 4_107_542_400, year: 2100, month: 3),
        // New Year in UTC, whatever the local zone.
        Case(instant: 1_798_761_599.999, year: 2026, month: 12),
        Case(instant: 1_798_761_600, year: 2027, month: 1),
    ])
    func monthOfAnInstant(_ c: Case) {
        let period = BudgetPeriod(containing: Date(timeIntervalSince1970: c.instant))
        #expect(period.year == c.year && period.month == c.month)
    }

    @Test func agreesWithFoundationsUTCCalendar() async {
        await propertyCheck(count: 1_000, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            // 1600 to 2400, to the millisecond.
            let instant = TimeInterval(Int64.random(in: -11_676_096_000_000...13_574_563_200_000, using: &rng)) / 1_000
            let date = Date(timeIntervalSince1970: instant)
            let components = Self.utc.dateComponents([.year, .month], from: date)
            let period = BudgetPeriod(containing: date)
            #expect(period.year == components.year && period.month == components.month)
            #expect(period.start <= date && date < period.next.start)
            #expect(period.start == Self.utc.date(from: DateComponents(year: period.year, month: period.month, day: 1)))
        }
    }

    @Test func orderingNextAndDescription() {
        let december = BudgetPeriod(year: 2026, month: 12)
        #expect(december.next == BudgetPeriod(year: 2027, month: 1))
        #expect(december < december.next && BudgetPeriod(year: 2026, month: 3) < december)
        #expect(BudgetPeriod(year: 2026, month: 13) == BudgetPeriod(year: 2027, month: 1))
        #expect(BudgetPeriod(year: 2026, month: 0) == BudgetPeriod(year: 2025, month: 12))
        #expect(BudgetPeriod(year: 2026, month: -11) == BudgetPeriod(year: 2025, month: 1))
        #expect(december.description == "2026-12" && BudgetPeriod(year: 2026, month: 3).description == "2026-03")
    }

    @Test func absurdDatesAreClamped() {
        #expect(BudgetPeriod(containing: .distantFuture) > BudgetPeriod(year: 3000, month: 1))
        _ = BudgetPeriod(containing: Date(timeIntervalSince1970: .infinity))
        _ = BudgetPeriod(containing: Date(timeIntervalSince1970: -.infinity))
        _ = BudgetPeriod(containing: Date(timeIntervalSince1970: .nan))
    }
}
