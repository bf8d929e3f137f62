public import AsgardCore

/// Reads vendors' decimal amounts exactly. Databricks returns DECIMAL sums as strings with up to
/// 38 digits (e.g. `12.345678901234567890`), OpenAI returns JSON numbers; neither may pass
/// through a binary float on its way to micro-dollars.
public enum DecimalAmount {
    /// Why a text is not a decimal amount.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var text: String
        public var reason: String
        public init(text: String, reason: String) {
            self.text = text
            self.reason = reason
        }
        public var description: String { "'\(text.prefix(60))' is not a decimal amount: \(reason)" }
    }

    /// Micro-dollars in the dollar amount `text` (`-?digits[.digits]`, optionally with an
    /// exponent as JSON numbers may have), rounded to the nearest micro-dollar, halves away
    /// from zero.
    /// - Throws: `ParseError` for anything else, or an amount beyond ±9.2 trillion dollars.
    public static func micros(_ text: String) throws(ParseError) -> MicroDollars {
        let value = try scaled(text, places: 6)
        guard let micros = Int64(exactly: value) else { throw ParseError(text: text, reason: "too large") }
        return MicroDollars(micros)
    }

    /// The amount `text` in units of 10^-`places` dollars, rounded to the nearest unit, halves
    /// away from zero: `micros` at six places, `DecimalSum` at finer ones.
    /// - Throws: `ParseError` for a text that is not a decimal number, or one beyond `Int128`.
    static func scaled(_ text: String, places: Int) throws(ParseError) -> Int128 {
        var bytes = Array(text.utf8)[...]
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        // Digits of the mantissa, and where the decimal point sits among them.
        var digits: [UInt8] = []
        var fractionDigits = 0
        var seenPoint = false
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= 48 && byte <= 57 {
                digits.append(byte - 48)
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                break
            }
            index += 1
        }
        guard !digits.isEmpty else { throw fail("expected digits") }
        var exponent = 0
        if index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") else {
                throw fail("unexpected '\(String(decoding: [bytes[index]], as: UTF8.self))'")
            }
            index += 1
            var exponentNegative = false
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.endIndex else { throw fail("an exponent needs digits") }
            while index < bytes.endIndex {
                let byte = bytes[index]
                guard byte >= 48 && byte <= 57 else { throw fail("unexpected character in the exponent") }
                exponent = exponent * 10 + Int(byte - 48)
                guard exponent < 1000 else { throw fail("the exponent is out of range") }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        // value = digits × 10^(exponent − fractionDigits); units = value × 10^places.
        let shift = exponent - fractionDigits + places
        var whole: [UInt8]
        var dropped: [UInt8] = []
        if shift >= 0 {
            whole = digits + Array(repeating: 0, count: shift)
        } else if -shift >= digits.count {
            whole = []
            dropped = Array(repeating: 0, count: -shift - digits.count) + digits
        } else {
            whole = Array(digits[..<(digits.count + shift)])
            dropped = Array(digits[(digits.count + shift)...])
        }
        while whole.first == 0 { whole.removeFirst() }
        guard whole.count <= 39 else { throw fail("too large") }
        var value: Int128 = 0
        for digit in whole {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int128(digit))
            guard !overflow, !overflow2 else { throw fail("too large") }
            value = sum
        }
        if let first = dropped.first, first >= 5 {
            guard value < Int128.max else { throw fail("too large") }
            value += 1
        }
        return negative ? -value : value
    }

    /// `micros` as a dollar amount with six decimals, e.g. `-12.500000`.
    public static func dollars(_ amount: MicroDollars) -> String {
        let magnitude = amount.value.magnitude
        let whole = magnitude / 1_000_000, fraction = magnitude % 1_000_000
        let digits = String(fraction)
        return (amount.value < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 6 - digits.count) + digits
    }
}
