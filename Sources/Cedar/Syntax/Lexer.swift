// The Cedar lexer: a hand-written scanner over the UTF-8 bytes of a policy text.

/// Punctuation and operator tokens.
enum Punct: Sendable, Hashable {
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma, semicolon, colon, doubleColon, dot, at, question
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
    case and, or, not, minus, plus, star

    /// The token as written, for messages.
    var spelling: String {
        switch self {
        case .leftParen: "("
        case .rightParen: ")"
        case .leftBrace: "{"
        case .rightBrace: "}"
        case .leftBracket: "["
        case .rightBracket: "]"
        case .comma: ","
        case .semicolon: ";"
        case .colon: ":"
        case .doubleColon: "::"
        case .dot: "."
        case .at: "@"
        case .question: "?"
        case .equal: "=="
        case .notEqual: "!="
        case .less: "<"
        case .lessOrEqual: "<="
        case .greater: ">"
        case .greaterOrEqual: ">="
        case .and: "&&"
        case .or: "||"
        case .not: "!"
        case .minus: "-"
        case .plus: "+"
        case .star: "*"
        }
    }
}

/// What a token is.
enum TokenKind: Sendable, Hashable {
    /// An identifier or keyword (`permit`, `if`, `true`, `principal`, `foo`, ...): the text is in `Token.text`.
    case identifier
    /// A non-negative integer literal; the magnitude is in `Token.integer` (nil when it exceeds `UInt64`).
    case integer
    /// A string literal; `Token.start + 1 ..< Token.end - 1` is its raw (still escaped) body.
    case string
    case punct(Punct)
    case endOfInput
    /// A lexical error; the message is in `Token.text`. Always the last token.
    case error
}

/// One token with the position of its first character.
struct Token: Sendable {
    var kind: TokenKind
    var position: SourcePosition
    /// UTF-8 offset one past the token's last byte.
    var end: Int
    /// Identifier text, or an error message.
    var text: String = ""
    /// Integer magnitude.
    var integer: UInt64? = nil

    var start: Int { position.offset }

    func isIdentifier(_ word: String) -> Bool { kind == .identifier && text == word }
    func isPunct(_ p: Punct) -> Bool { kind == .punct(p) }
}

/// Splits a text into tokens. Whitespace (any Unicode white space) and `//` comments are skipped.
/// A lexical error becomes a final `.error` token so that the parser reports errors in reading order.
struct Lexer {
    let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Tokenizes the whole input; the result always ends with `.endOfInput` or `.error`.
    static func tokenize(_ bytes: [UInt8]) -> [Token] {
        var lexer = Lexer(bytes: bytes)
        var tokens: [Token] = []
        tokens.reserveCapacity(bytes.count / 3 + 1)
        while true {
            let token = lexer.next()
            tokens.append(token)
            if token.kind == .endOfInput || token.kind == .error { return tokens }
        }
    }

    private var position: SourcePosition { SourcePosition(line: line, column: column, offset: index) }

    /// Advances one byte, keeping line and column (columns count Unicode scalars, not bytes).
    private mutating func advance() {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    private mutating func advance(_ count: Int) {
        for _ in 0..<count { advance() }
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        let i = index + ahead
        return i < bytes.count ? bytes[i] : nil
    }

    /// Decodes the Unicode scalar starting at `index` (nil for malformed UTF-8) and its byte length.
    private func scalar(at i: Int) -> (Unicode.Scalar?, Int) {
        let lead = bytes[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int
        var value: UInt32
        if lead & 0xE0 == 0xC0 {
            length = 2
            value = UInt32(lead & 0x1F)
        } else if lead & 0xF0 == 0xE0 {
            length = 3
            value = UInt32(lead & 0x0F)
        } else if lead & 0xF8 == 0xF0 {
            length = 4
            value = UInt32(lead & 0x07)
        } else {
            return (nil, 1)
        }
        guard i + length <= bytes.count else { return (nil, 1) }
        for k in 1..<length {
            let b = bytes[i + k]
            guard b & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return (Unicode.Scalar(value), length)
    }

    private func makeError(_ message: String, at position: SourcePosition) -> Token {
        Token(kind: .error, position: position, end: position.offset, text: message)
    }

    /// Skips white space and comments.
    private mutating func skipTrivia() {
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                advance()
            case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { advance() }
            case 0x80...:
                let (decoded, length) = scalar(at: index)
                guard let decoded, decoded.properties.isWhitespace else { return }
                advance(length)
            default:
                return
            }
        }
    }

    private static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: "_")
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func next() -> Token {
        skipTrivia()
        let start = position
        guard index < bytes.count else { return Token(kind: .endOfInput, position: start, end: index) }
        let byte = bytes[index]

        if Self.isIdentifierStart(byte) {
            while let b = peek(), Self.isIdentifierStart(b) || Self.isDigit(b) { advance() }
            let text = String(decoding: bytes[start.offset..<index], as: UTF8.self)
            return Token(kind: .identifier, position: start, end: index, text: text)
        }
        if Self.isDigit(byte) {
            var value: UInt64? = 0
            while let b = peek(), Self.isDigit(b) {
                if let v = value {
                    let (times10, o1) = v.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
                    value = (o1 || o2) ? nil : sum
                }
                advance()
            }
            return Token(kind: .integer, position: start, end: index, integer: value)
        }
        if byte == UInt8(ascii: "\"") {
            advance()
            while true {
                guard let b = peek() else {
                    return makeError("unterminated string literal", at: start)
                }
                if b == UInt8(ascii: "\"") {
                    advance()
                    return Token(kind: .string, position: start, end: index)
                }
                if b == UInt8(ascii: "\\") && index + 1 < bytes.count {
                    advance()
                }
                advance()
            }
        }

        func punct(_ p: Punct, _ length: Int) -> Token {
            advance(length)
            return Token(kind: .punct(p), position: start, end: index)
        }
        let next = peek(1)
        switch byte {
        case UInt8(ascii: "("): return punct(.leftParen, 1)
        case UInt8(ascii: ")"): return punct(.rightParen, 1)
        case UInt8(ascii: "{"): return punct(.leftBrace, 1)
        case UInt8(ascii: "}"): return punct(.rightBrace, 1)
        case UInt8(ascii: "["): return punct(.leftBracket, 1)
        case UInt8(ascii: "]"): return punct(.rightBracket, 1)
        case UInt8(ascii: ","): return punct(.comma, 1)
        case UInt8(ascii: ";"): return punct(.semicolon, 1)
        case UInt8(ascii: ":"): return next == UInt8(ascii: ":") ? punct(.doubleColon, 2) : punct(.colon, 1)
        case UInt8(ascii: "."): return punct(.dot, 1)
        case UInt8(ascii: "@"): return punct(.at, 1)
        case UInt8(ascii: "?"): return punct(.question, 1)
        case UInt8(ascii: "+"): return punct(.plus, 1)
        case UInt8(ascii: "-"): return punct(.minus, 1)
        case UInt8(ascii: "*"): return punct(.star, 1)
        case UInt8(ascii: "<"): return next == UInt8(ascii: "=") ? punct(.lessOrEqual, 2) : punct(.less, 1)
        case UInt8(ascii: ">"): return next == UInt8(ascii: "=") ? punct(.greaterOrEqual, 2) : punct(.greater, 1)
        case UInt8(ascii: "!"): return next == UInt8(ascii: "=") ? punct(.notEqual, 2) : punct(.not, 1)
        case UInt8(ascii: "="):
            if next == UInt8(ascii: "=") { return punct(.equal, 2) }
            return makeError("unexpected '='; did you mean '=='?", at: start)
        case UInt8(ascii: "&"):
            if next == UInt8(ascii: "&") { return punct(.and, 2) }
            return makeError("unexpected '&'; did you mean '&&'?", at: start)
        case UInt8(ascii: "|"):
            if next == UInt8(ascii: "|") { return punct(.or, 2) }
            return makeError("unexpected '|'; did you mean '||'?", at: start)
        default:
            let (decoded, _) = scalar(at: index)
            guard let decoded else { return makeError("invalid UTF-8 in policy text", at: start) }
            let shown =
                decoded.value < 0x20 || decoded.value == 0x7F
                ? "U+\(String(decoded.value, radix: 16, uppercase: true))" : "'\(Character(decoded))'"
            return makeError("unexpected character \(shown)", at: start)
        }
    }
}

// MARK: - String literal bodies

/// Decodes the escapes of a string literal body (the bytes between the quotes). With
/// `pattern`, `\*` is a literal star and a bare `*` is a wildcard.
/// Escapes: `\n \r \t \\ \0 \' \"`, `\xHH` (ASCII, at most 7F) and `\u{H...}` (1 to 6 hex digits,
/// a Unicode scalar value). Anything else after a backslash is an error.
struct StringBody {
    enum Element {
        case scalar(Unicode.Scalar)
        case wildcard
    }

    /// The decoding failed at byte `offset` (of the whole text) for `message`.
    struct Failure: Error {
        var offset: Int
        var message: String
    }

    static func decode(_ bytes: [UInt8], from start: Int, to end: Int, pattern: Bool) throws(Failure) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(end - start)
        // Decode UTF-8 scalars; the text came from a Swift String so it is valid UTF-8.
        var scalars: [(Unicode.Scalar, Int)] = []
        scalars.reserveCapacity(end - start)
        var i = start
        var iterator = bytes[start..<end].makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                scalars.append((s, i))
                i += UTF8.width(s)
            case .emptyInput:
                break loop
            case .error:
                throw Failure(offset: i, message: "invalid UTF-8 in string literal")
            }
        }
        var k = 0
        while k < scalars.count {
            let (s, offset) = scalars[k]
            k += 1
            if s == "*" && pattern {
                out.append(.wildcard)
                continue
            }
            guard s == "\\" else {
                out.append(.scalar(s))
                continue
            }
            guard k < scalars.count else { throw Failure(offset: offset, message: "unterminated escape sequence") }
            let (e, _) = scalars[k]
            k += 1
            switch e {
            case "n": out.append(.scalar("\n"))
            case "r": out.append(.scalar("\r"))
            case "t": out.append(.scalar("\t"))
            case "0": out.append(.scalar("\0"))
            case "\\": out.append(.scalar("\\"))
            case "'": out.append(.scalar("'"))
            case "\"": out.append(.scalar("\""))
            case "*" where pattern: out.append(.scalar("*"))
            case "x":
                var value: UInt32 = 0
                for _ in 0..<2 {
                    guard k < scalars.count, let digit = hexValue(scalars[k].0) else {
                        throw Failure(offset: offset, message: "invalid escape '\\x': expected two hex digits")
                    }
                    value = value * 16 + digit
                    k += 1
                }
                guard value <= 0x7F, let scalar = Unicode.Scalar(value) else {
                    throw Failure(offset: offset, message: "invalid escape '\\x': the value must be at most 7F")
                }
                out.append(.scalar(scalar))
            case "u":
                guard k < scalars.count, scalars[k].0 == "{" else {
                    throw Failure(offset: offset, message: "invalid escape '\\u': expected '{'")
                }
                k += 1
                var value: UInt32 = 0
                var digits = 0
                while k < scalars.count, let digit = hexValue(scalars[k].0) {
                    guard digits < 6 else {
                        throw Failure(offset: offset, message: "invalid escape '\\u': at most 6 hex digits")
                    }
                    value = value * 16 + digit
                    digits += 1
                    k += 1
                }
                guard digits > 0, k < scalars.count, scalars[k].0 == "}" else {
                    throw Failure(offset: offset, message: "invalid escape '\\u': expected 1 to 6 hex digits and '}'")
                }
                k += 1
                guard let scalar = Unicode.Scalar(value) else {
                    throw Failure(offset: offset, message: "invalid escape '\\u': not a Unicode scalar value")
                }
                out.append(.scalar(scalar))
            default:
                throw Failure(offset: offset, message: "invalid escape '\\\(Character(e))'")
            }
        }
        return out
    }

    private static func hexValue(_ s: Unicode.Scalar) -> UInt32? {
        switch s {
        case "0"..."9": s.value - 0x30
        case "a"..."f": s.value - 0x61 + 10
        case "A"..."F": s.value - 0x41 + 10
        default: nil
        }
    }
}
