public import AsgardCore

/// A running sum of decimal dollar amounts, rounded to the micro-dollar once, at the end.
///
/// Rounding each term first would lose up to half a micro-dollar per term: OpenAI reports a
/// day's cost per line item, and thousands of sub-micro-dollar items would vanish or double.
/// The sum is kept in units of 10^-24 dollars: exact for every amount written with at most 24
/// decimal places (any JSON number of at least 10^-8 dollars with a float's 17 significant
/// digits), and otherwise rounded at the 24th place, 18 places below the rounding at the end.
public struct DecimalSum: Sendable, Hashable {
    /// Decimal places the sum keeps.
    public static let places = 24
    /// The sum, in units of 10^-24 dollars.
    public private(set) var units: Int128 = 0
    /// Every running total stays within what `MicroDollars` can hold.
    static let limit = Int128(Int64.max) * 1_000_000_000_000_000_000

    public init() {}

    /// Adds the dollar amount `text` (as `DecimalAmount.micros` reads it).
    /// - Throws: `DecimalAmount.ParseError` for a text that is not an amount, or a total beyond
    ///   ±9.2 trillion dollars.
    public mutating func add(_ text: String) throws(DecimalAmount.ParseError) {
        let term = try DecimalAmount.scaled(text, places: Self.places)
        let (total, overflow) = units.addingReportingOverflow(term)
        guard !overflow, total.magnitude < Self.limit.magnitude else {
            throw DecimalAmount.ParseError(text: text, reason: "the running total would be beyond ±9.2 trillion dollars")
        }
        units = total
    }

    /// The sum rounded to the nearest micro-dollar, halves away from zero.
    public var micros: MicroDollars {
        let unit: Int128 = 1_000_000_000_000_000_000  // 10^(24 − 6)
        let (quotient, remainder) = units.magnitude.quotientAndRemainder(dividingBy: unit.magnitude)
        let rounded = Int64(quotient + (remainder * 2 >= unit.magnitude ? 1 : 0))
        return MicroDollars(units < 0 ? -rounded : rounded)
    }
}
