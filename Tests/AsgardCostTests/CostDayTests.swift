import AsgardCost
import Foundation
import Testing

struct CostDayTests {
    @Test(arguments: ["1970-01-01", "2024-02-29", "2026-12-31", "2000-02-29", "2100-03-01"])
    func aDayReadsAndWritesTheSameText(_ text: String) throws {
        let day = try CostDay(text)
        #expect(day.description == text)
        #expect(CostDay(day.start) == day)
        #expect(day.next.previous == day)
    }

    @Test(arguments: ["2026-02-30", "2100-02-29", "2026-13-01", "2026-00-10", "26-12-01", "2026-12-1", "2026/12/01", "", "1969-12-31", "２０２６-12-01"])
    func notADayIsRefusedByName(_ text: String) {
        #expect(throws: CostDay.ParseError(text: text)) { try CostDay(text) }
    }

    @Test func ordinalsFollowTheCalendar() throws {
        // Every day of 1970–2100 in order, each the day after the one before.
        var day = try CostDay("1970-01-01")
        var count = 0
        while day < (try CostDay("2100-12-31")) {
            let next = day.next
            #expect(try CostDay(next.description) == next)
            day = next
            count += 1
        }
        #expect(count == 47_846)
        #expect(try CostDay("2026-02-14").firstOfMonth == CostDay("2026-02-01"))
        #expect(try CostDay("2024-02-14").daysInMonth == 29)
        #expect(try CostDay("2026-11-30").daysInMonth == 30)
    }

    @Test func aPeriodIsOrderedAndBounded() throws {
        let from = try CostDay("2026-11-01"), to = try CostDay("2026-11-30")
        #expect(try CostPeriod(from: from, to: to).count == 30)
        #expect(throws: CostPeriod.Problem.reversed(from: to, to: from)) { try CostPeriod(from: to, to: from) }
        #expect(throws: CostPeriod.Problem.tooLong(days: 401, limit: 400)) { try CostPeriod(from: from, to: from.adding(days: 400)) }
    }
}
