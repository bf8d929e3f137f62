// Cedar's `decimal` extension type (cedar-spec `Spec/Ext/Decimal.lean`).

/// Parsing and formatting of Cedar decimals: a signed fixed-point number with four fractional
/// digits, stored as an `Int64` count of 1/10,000.
public enum CedarDecimal {
    /// Parses `[-]digits.digits` with one to four fractional digits (ASCII digits only, no `+`,
    /// no exponent). Returns nil for malformed text or a value outside the `Int64` range.
    public static func parse(_ text: String) -> Int64? {
        let bytes = text.utf8
        var index = bytes.startIndex
        let end = bytes.endIndex
        var negative = false
        if index < end, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index = bytes.index(after: index)
        }
        // Integer part: at least one digit. Magnitude is accumulated in UInt64; anything that
        // overflows it is certainly out of range.
        var integer: UInt64 = 0
        var integerDigits = 0
        var tooLarge = false
        while index < end, let digit = asciiDigit(bytes[index]) {
            if !tooLarge {
                let (shifted, o1) = integer.multipliedReportingOverflow(by: 10)
                let (sum, o2) = shifted.addingReportingOverflow(UInt64(digit))
                if o1 || o2 { tooLarge = true } else { integer = sum }
            }
            integerDigits += 1
            index = bytes.index(after: index)
        }
        guard integerDigits > 0, index < end, bytes[index] == UInt8(ascii: ".") else { return nil }
        index = bytes.index(after: index)
        var fraction: UInt64 = 0
        var fractionDigits = 0
        while index < end, let digit = asciiDigit(bytes[index]) {
            fraction = fraction * 10 + UInt64(digit)
            fractionDigits += 1
            guard fractionDigits <= 4 else { return nil }
            index = bytes.index(after: index)
        }
        guard index == end, fractionDigits >= 1, !tooLarge else { return nil }
        for _ in fractionDigits..<4 { fraction *= 10 }
        let (scaled, o1) = integer.multipliedReportingOverflow(by: 10_000)
        let (magnitude, o2) = scaled.addingReportingOverflow(fraction)
        guard !o1, !o2 else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Cedar's rendering: `-`, integer part, `.`, exactly four fractional digits.
    public static func format(_ value: Int64) -> String {
        let magnitude = value.magnitude
        let integer = magnitude / 10_000
        let fraction = String(magnitude % 10_000)
        return (value < 0 ? "-" : "") + String(integer) + "." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}

@inline(__always)
func asciiDigit(_ byte: UInt8) -> UInt8? {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
}
