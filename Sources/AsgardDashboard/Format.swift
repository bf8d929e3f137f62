public import AsgardCore
public import Foundation

/// How figures read on the pages.
public enum Format {
    /// Dollars with cents and thousands separators, rounded half up to the cent from integer
    /// micro-dollars: `$1,234.57`. Amounts under a cent but not zero read `<$0.01`.
    public static func dollars(_ amount: MicroDollars) -> String {
        let negative = amount.value < 0
        let magnitude = amount.value.magnitude
        if magnitude > 0 && magnitude < 5_000 { return negative ? ">-$0.01" : "<$0.01" }
        let cents = (magnitude + 5_000) / 10_000
        let whole = String(cents / 100), fraction = cents % 100
        var grouped = ""
        for (index, digit) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return (negative ? "-$" : "$") + grouped + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    /// `text` for a URL's query, every character percent-encoded but RFC 3986's unreserved ones
    /// and those in `keeping` (the dashboard's redirects keep `/` readable).
    public static func queryEscape(_ text: String, keeping: String = "") -> String {
        let unreserved = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
        return text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: unreserved + keeping)) ?? ""
    }

    /// `2026-12-03 18:20 UTC`.
    public static func time(_ date: Date) -> String {
        let text = formatInstant(date)
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5)) + " UTC"
    }

    /// An audit time (RFC 3339 with milliseconds) as `2026-12-03 18:20:29 UTC`.
    public static func auditTime(_ text: String) -> String {
        guard text.count >= 19 else { return text }
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8)) + " UTC"
    }

    /// A percentage with one decimal, from integers: `12.5%`.
    public static func percent(_ part: MicroDollars, of whole: MicroDollars) -> String {
        guard whole.value > 0 else { return "—" }
        // Rounded half up on the magnitude, then signed: a credit reads as a negative share.
        let magnitude = (Int128(part.value).magnitude * 1000 + UInt128(whole.value) / 2) / UInt128(whole.value)
        return (part.value < 0 && magnitude > 0 ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)%"
    }
}
