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

    /// Parses `YYYY-MM-DD`; the date must exist (no 2026-02-30).
    public init(_ text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { throw ParseError(text: text) }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1970,
            (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
        else { throw ParseError(text: text) }
        ordinal = Self.ordinal(year: year, month: month, day: day)
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
    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil-from-days algorithm.
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The first day of this day's month.
    public var firstOfMonth: CostDay {
        let (year, month, _) = components
        return CostDay(ordinal: Self.ordinal(year: year, month: month, day: 1))
    }

    /// How many days this day's month has.
    public var daysInMonth: Int {
        let (year, month, _) = components
        return Self.daysIn(month: month, year: year)
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

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func ordinal(year: Int, month: Int, day: Int) -> Int {
        // Howard Hinnant's days-from-civil algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
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
