import Foundation

/// Removes vendor credential values from text before the connector uses it anywhere
/// (errors, returned values, files): each value becomes `[REDACTED:<VAR_NAME>]`.
///
/// Values shorter than `minimumLength` are left alone (scrubbing `1` or `on` would shred every
/// message and protect nothing). Each value is matched as written and as terraform's JSON
/// (Go's encoder) spells it inside a string, and longer values are replaced first, so a value
/// that contains another is redacted under its own name.
struct Redactor: Sendable {
    /// The shortest value that is scrubbed.
    static let minimumLength = 4

    /// (spelling, replacement), longest spelling first.
    private(set) var rules: [(spelling: String, replacement: String)]

    /// A scrubber for the values of `secrets` (variable name → value).
    init(secrets: [String: String]) {
        var rules: [(spelling: String, replacement: String)] = []
        for (name, value) in secrets where value.count >= Self.minimumLength {
            let replacement = "[REDACTED:\(name)]"
            rules.append((value, replacement))
            let escaped = Self.jsonEscaped(value)
            if escaped != value { rules.append((escaped, replacement)) }
        }
        // Longest first; ties by spelling then name so the result never depends on dictionary order.
        self.rules = rules.sorted {
            if $0.spelling.utf8.count != $1.spelling.utf8.count { return $0.spelling.utf8.count > $1.spelling.utf8.count }
            if $0.spelling != $1.spelling { return $0.spelling < $1.spelling }
            return $0.replacement < $1.replacement
        }
    }

    /// Whether there is nothing to scrub.
    var isEmpty: Bool { rules.isEmpty }

    /// `text` with every secret value replaced by its variable's name.
    func scrub(_ text: String) -> String {
        var result = text
        for rule in rules {
            result = result.replacingOccurrences(of: rule.spelling, with: rule.replacement, options: .literal)
        }
        return result
    }

    /// How Go's `encoding/json` writes `value` between quotes: `"`, `\`, control characters,
    /// `<`, `>`, `&`, U+2028 and U+2029 escaped.
    static func jsonEscaped(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
