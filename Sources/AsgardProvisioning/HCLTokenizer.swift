/// A token of HCL native syntax, as coarse as the output scan needs.
enum HCLToken: Sendable, Hashable {
    case identifier(String)
    /// A quoted string without interpolation: its text (escapes `\"` and `\\` resolved).
    case string(String)
    /// A quoted string with `${…}`/`%{…}` inside, or a heredoc: never a block label.
    case template
    case open
    case close
    case equals
    /// Any other character that is not whitespace.
    case other

    /// The block label this token spells, if it can be one (a plain string or an identifier).
    var label: String? {
        switch self {
        case .string(let text), .identifier(let text): text
        default: nil
        }
    }
}

/// Splits HCL text into `HCLToken`s in one forward pass with no backtracking: comments
/// (`#`, `//`, `/* */`) are dropped, quoted strings are read to their closing quote with nested
/// `${ … }` interpolations (which may hold strings and braces of their own) skipped as wholes,
/// and heredocs (`<<EOT` / `<<-EOT`) are skipped to their closing marker line.
struct HCLTokenizer {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), newline = UInt8(ascii: "\n")
    private static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")

    /// Every token, in order.
    mutating func tokens() -> [HCLToken] {
        var result: [HCLToken] = []
        while let token = next() { result.append(token) }
        return result
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func next() -> HCLToken? {
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            case UInt8(ascii: "#"):
                skipLine()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                skipLine()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
                skipBlockComment()
            case Self.quote:
                index += 1
                return readString()
            case UInt8(ascii: "<") where peek(1) == UInt8(ascii: "<") && heredocStarts():
                skipHeredoc()
                return .template
            case Self.openBrace:
                index += 1
                return .open
            case Self.closeBrace:
                index += 1
                return .close
            case UInt8(ascii: "=") where peek(1) != UInt8(ascii: "=") && peek(1) != UInt8(ascii: ">"):
                index += 1
                return .equals
            default:
                if Self.isIdentifierStart(byte) { return .identifier(readIdentifier()) }
                index += 1
                // `==`, `=>`, `!=`, `<=`, `>=`: one `.other` per character is enough.
                return .other
            }
        }
        return nil
    }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
    }

    private mutating func readIdentifier() -> String {
        let start = index
        while index < bytes.count, Self.isIdentifierByte(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func skipLine() {
        while index < bytes.count, bytes[index] != Self.newline { index += 1 }
    }

    private mutating func skipBlockComment() {
        index += 2
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                index += 2
                return
            }
            index += 1
        }
    }

    /// Reads a quoted string whose opening quote was consumed, through its closing quote.
    private mutating func readString() -> HCLToken {
        var text: [UInt8] = []
        var templated = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Self.quote {
                index += 1
                return templated ? .template : .string(String(decoding: text, as: UTF8.self))
            }
            if byte == Self.newline { return .template }  // unterminated: HCL strings end at the line
            if byte == Self.backslash, let escaped = peek(1) {
                text.append(escaped)
                index += 2
                continue
            }
            if byte == UInt8(ascii: "$") || byte == UInt8(ascii: "%"), peek(1) == Self.openBrace {
                if index > 0, bytes[index - 1] == byte {
                    // `$${` / `%%{` is an escaped literal, not an interpolation.
                    text.append(Self.openBrace)
                    index += 2
                    continue
                }
                templated = true
                index += 2
                skipInterpolation()
                continue
            }
            text.append(byte)
            index += 1
        }
        return .template
    }

    /// Skips the inside of `${ … }` through its matching `}`: nested braces are counted and
    /// nested strings read whole, so a `}` inside a string does not end it.
    private mutating func skipInterpolation() {
        var depth = 1
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case Self.quote: _ = readString()
            case Self.openBrace: depth += 1
            case Self.closeBrace:
                depth -= 1
                if depth == 0 { return }
            default: break
            }
        }
    }

    /// Whether `<<` at the current position opens a heredoc (`<<ID` or `<<-ID`, then a newline).
    private func heredocStarts() -> Bool {
        var cursor = index + 2
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "-") { cursor += 1 }
        guard cursor < bytes.count, Self.isIdentifierStart(bytes[cursor]) else { return false }
        while cursor < bytes.count, Self.isIdentifierByte(bytes[cursor]) { cursor += 1 }
        while cursor < bytes.count, bytes[cursor] == 0x20 || bytes[cursor] == 0x09 || bytes[cursor] == 0x0D { cursor += 1 }
        return cursor < bytes.count && bytes[cursor] == Self.newline
    }

    /// Skips a heredoc from `<<` through the line that holds only its marker (leading spaces allowed).
    private mutating func skipHeredoc() {
        index += 2
        if peek() == UInt8(ascii: "-") { index += 1 }
        let marker = Array(readIdentifier().utf8)
        skipLine()
        while index < bytes.count {
            index += 1  // the newline ending the previous line
            let lineStart = index
            skipLine()
            let line = bytes[lineStart..<index].drop { $0 == 0x20 || $0 == 0x09 }
            let trimmed = line.reversed().drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }.reversed()
            if Array(trimmed) == marker { return }
        }
    }
}
