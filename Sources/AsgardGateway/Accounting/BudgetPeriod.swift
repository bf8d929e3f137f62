public import Foundation

/// A budget period: one calendar month in UTC, e.g. `2026-03`.
///
/// Project budgets are monthly, and a month is the UTC calendar month whatever the server's time
/// zone, so every replica and the cost rollup agree on which month a call belongs to. The month is
/// computed with integer civil-calendar arithmetic (proleptic Gregorian) rather than `Calendar`,
/// because the ledger asks for it on every reservation.
public struct BudgetPeriod: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year, e.g. 2026.
    public let year: Int
    /// The month, 1 (January) through 12 (December).
    public let month: Int

    /// The period of a given year and month; `month` outside 1...12 is carried into the year.
    public init(year: Int, month: Int) {
        let zeroBased = month - 1
        let carry = zeroBased >= 0 ? zeroBased / 12 : (zeroBased - 11) / 12
        self.year = year + carry
        self.month = zeroBased - carry * 12 + 1
    }

    /// The UTC calendar month containing `date`.
    ///
    /// Dates beyond a billion days from 1970 (never a real clock) are clamped to that range.
    public init(containing date: Date) {
        let days = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        let clamped = days.isNaN ? 0 : Int(min(max(days, -1e9), 1e9))
        let (year, month) = Self.civil(fromDays: clamped)
        self.init(year: year, month: month)
    }

    /// The first instant of the period: midnight UTC on the 1st.
    public var start: Date {
        Date(timeIntervalSince1970: TimeInterval(Self.days(fromYear: year, month: month)) * 86_400)
    }

    /// The following month.
    public var next: BudgetPeriod { BudgetPeriod(year: year, month: month + 1) }

    /// `YYYY-MM`, the form used in the store and the dashboard.
    public var description: String {
        let m = month < 10 ? "0\(month)" : "\(month)"
        return "\(year)-\(m)"
    }

    public static func < (lhs: BudgetPeriod, rhs: BudgetPeriod) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    /// Year and month of the day `days` after 1970-01-01, counting in 400-year eras of
    /// 146,097 days that start on 1 March (so the leap day is the era year's last day).
    static func civil(fromDays days: Int) -> (year: Int, month: Int) {
        let shifted = days + 719_468  // days from 0000-03-01 to 1970-01-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let marchBasedMonth = (5 * dayOfYear + 2) / 153  // 0 = March ... 11 = February
        let month = marchBasedMonth < 10 ? marchBasedMonth + 3 : marchBasedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month)
    }

    /// Days from 1970-01-01 to the 1st of `month` in `year`; the inverse of `civil(fromDays:)`.
    static func days(fromYear year: Int, month: Int) -> Int {
        let marchBasedYear = month <= 2 ? year - 1 : year
        let era = (marchBasedYear >= 0 ? marchBasedYear : marchBasedYear - 399) / 400
        let yearOfEra = marchBasedYear - era * 400
        let marchBasedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * marchBasedMonth + 2) / 5  // the 1st of the month
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
