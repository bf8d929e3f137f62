import AsgardCore
public import Foundation

/// A UTC calendar day, the unit of the cost plane. Written `YYYY-MM-DD`.
public struct CostDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let ordinal: Int

    public init(ordinal: Int) { self.ordinal = ordinal }

    /// Why a text is not a day.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var text: String
        public init(text: String) { self.text = text }
        public var description: String { "'\(text.prefix(40))' is not a day: expected YYYY-MM-DD, e.g. 2026-12-01" }
    }

    /// Parses `YYYY-MM-DD` (`parseInstant`'s date form); the date must exist (no 2026-02-30)
    /// and be 1970-01-01 or later.
    public init(_ text: String) throws(ParseError) {
        guard text.utf8.count == 10, let midnight = parseInstant(text), midnight.timeIntervalSince1970 >= 0 else { throw ParseError(text: text) }
        self.init(midnight)
    }

    /// The UTC day `date` falls on.
    public init(_ date: Date) {
        ordinal = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// Midnight UTC at the start of the day.
    public var start: Date { Date(timeIntervalSince1970: Double(ordinal) * 86_400) }

    public var next: CostDay { CostDay(ordinal: ordinal + 1) }
    public var previous: CostDay { CostDay(ordinal: ordinal - 1) }
    public func adding(days: Int) -> CostDay { CostDay(ordinal: ordinal + days) }

    /// Year, month (1–12) and day of month.
    public var components: (year: Int, month: Int, day: Int) { CivilCalendar.date(days: ordinal) }

    /// The first day of this day's month.
    public var firstOfMonth: CostDay {
        let (year, month, _) = components
        return CostDay(ordinal: CivilCalendar.days(year: year, month: month, day: 1))
    }

    /// How many days this day's month has.
    public var daysInMonth: Int {
        let (year, month, _) = components
        return CivilCalendar.daysIn(month: month, year: year)
    }

    public var description: String {
        let (year, month, day) = components
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    public static func < (lhs: CostDay, rhs: CostDay) -> Bool { lhs.ordinal < rhs.ordinal }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try CostDay(text) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Days `from` through `to`, both included.
public struct CostPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    public var from: CostDay
    public var to: CostDay

    /// Why a period is not one.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case reversed(from: CostDay, to: CostDay)
        case tooLong(days: Int, limit: Int)

        public var description: String {
            switch self {
            case .reversed(let from, let to): "the period ends (\(to)) before it starts (\(from))"
            case .tooLong(let days, let limit): "the period has \(days) days; at most \(limit) are rolled up or reported at once"
            }
        }
    }

    /// The longest period one rollup or report covers.
    public static let maxDays = 400

    public init(from: CostDay, to: CostDay) throws(Problem) {
        guard from <= to else { throw .reversed(from: from, to: to) }
        let count = to.ordinal - from.ordinal + 1
        guard count <= Self.maxDays else { throw .tooLong(days: count, limit: Self.maxDays) }
        self.from = from
        self.to = to
    }

    public var days: [CostDay] { (from.ordinal...to.ordinal).map(CostDay.init(ordinal:)) }
    public var count: Int { to.ordinal - from.ordinal + 1 }
    public func contains(_ day: CostDay) -> Bool { from <= day && day <= to }
    public var description: String { "\(from)..\(to)" }
}
