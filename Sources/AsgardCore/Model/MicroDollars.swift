/// An amount of US dollars as an integer count of micro-dollars (1 USD = 1,000,000).
///
/// Money never passes through a binary float: manifests are parsed from their decimal text.
public struct MicroDollars: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = MicroDollars(0)
    public static let perDollar: Int64 = 1_000_000

    /// Why a decimal text is not an amount of dollars.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case notANumber
        case negative
        case tooManyDecimals
        case tooLarge

        public var description: String {
            switch self {
            case .notANumber: "is not a decimal number"
            case .negative: "must not be negative"
            case .tooManyDecimals: "has more than 6 decimal places (the unit is one micro-dollar)"
            case .tooLarge: "is too large"
            }
        }
    }

    /// Parses a non-negative decimal amount of dollars such as `1500`, `0.50` or `12.345678`.
    ///
    /// - Throws: `ParseError` for signs, exponents, more than six decimals, or overflow.
    public init(dollars text: String) throws(ParseError) {
        var bytes = Array(text.utf8)[...]
        let isDigit = { (b: UInt8) in b >= 48 && b <= 57 }
        if bytes.first == UInt8(ascii: "-") {
            let rest = bytes.dropFirst()
            if rest.contains(where: isDigit), rest.allSatisfy({ $0 == UInt8(ascii: ".") || isDigit($0) }) { throw .negative }
            throw .notANumber
        }
        if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = bytes[..<(dot ?? bytes.endIndex)]
        let fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard !(whole.isEmpty && fraction.isEmpty), whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else {
            throw .notANumber
        }
        guard fraction.count <= 6 else { throw .tooManyDecimals }
        var micros: Int64 = 0
        for digit in whole {
            let (times, o1) = micros.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(digit - 48))
            guard !o1, !o2 else { throw .tooLarge }
            micros = plus
        }
        var scaledFraction: Int64 = 0
        for digit in fraction { scaledFraction = scaledFraction * 10 + Int64(digit - 48) }
        for _ in fraction.count..<6 { scaledFraction *= 10 }
        let (scaled, o3) = micros.multipliedReportingOverflow(by: Self.perDollar)
        let (total, o4) = scaled.addingReportingOverflow(scaledFraction)
        guard !o3, !o4 else { throw .tooLarge }
        value = total
    }

    /// `$1,500.000000`-free rendering: dollars with the needed decimals, e.g. `1500`, `0.5`, `12.345678`.
    public var description: String {
        let whole = value / Self.perDollar
        var fraction = value % Self.perDollar
        guard fraction != 0 else { return "\(whole)" }
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }

    public static func < (lhs: MicroDollars, rhs: MicroDollars) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
