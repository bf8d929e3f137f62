/// Finds values that look like credentials, in linear time and without regular expressions.
///
/// Used by desired-state validation (manifests name env vars, never values) and by anything
/// else that must refuse or redact secrets. Each detector is anchored on a fixed prefix and
/// checks a bounded or precomputed run of characters, so the scan is O(n) for any input.
public enum SecretDetector {
    /// The kinds of secret recognised.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case databricksToken = "databricks_token"
        case openAIKey = "openai_key"
        case awsAccessKeyID = "aws_access_key_id"
        case privateKey = "private_key"
        case jwt = "jwt"

        public var displayName: String {
            switch self {
            case .databricksToken: "Databricks token"
            case .openAIKey: "OpenAI API key"
            case .awsAccessKeyID: "AWS access key id"
            case .privateKey: "PEM private key"
            case .jwt: "JSON Web Token"
            }
        }

        var article: String { self == .openAIKey || self == .awsAccessKeyID ? "an" : "a" }
    }

    /// One match: its kind and the UTF-8 offsets it spans.
    public struct Match: Sendable, Hashable {
        public var kind: Kind
        public var range: Range<Int>
    }

    /// The first secret-looking run in `text`, if any.
    public static func firstMatch(in text: String) -> Match? {
        matches(in: text, stopAtFirst: true).first
    }

    /// Whether `text` might contain a secret anywhere, even glued to other characters
    /// (`x-dapi…`). Deliberately over-eager: it decides what is never echoed back.
    public static func mayContainSecret(_ text: String) -> Bool {
        !matches(in: text, stopAtFirst: true, requireBoundary: false).isEmpty
    }

    /// `text` with every secret-looking run (even glued to other characters) replaced by
    /// `<not shown>`: the last line of defence for anything echoed back to people.
    public static func redacting(_ text: String) -> String {
        let found = matches(in: text, requireBoundary: false)
        guard !found.isEmpty else { return text }
        var bytes = Array(text.utf8)
        for match in found.reversed() { bytes.replaceSubrange(match.range, with: Array("<not shown>".utf8)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Every non-overlapping secret-looking run in `text`, left to right.
    ///
    /// - Parameter requireBoundary: only count runs that start a word (not preceded by a
    ///   letter, digit, `-` or `_`), which keeps words like `task-runner-...` from matching.
    public static func matches(in text: String, stopAtFirst: Bool = false, requireBoundary: Bool = true) -> [Match] {
        let bytes = Array(text.utf8)
        let n = bytes.count
        guard n >= 16, containsTrigger(bytes) else { return [] }
        // tokenRun[i]: how many bytes from i on are in [A-Za-z0-9_-]; base64URLRun likewise.
        var tokenRun = [Int](repeating: 0, count: n + 1)
        var hexRun = [Int](repeating: 0, count: n + 1)
        var upperAlnumRun = [Int](repeating: 0, count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let b = bytes[i]
            tokenRun[i] = isToken(b) ? tokenRun[i + 1] + 1 : 0
            hexRun[i] = isLowerHex(b) ? hexRun[i + 1] + 1 : 0
            upperAlnumRun[i] = (isUpper(b) || isDigit(b)) ? upperAlnumRun[i + 1] + 1 : 0
        }
        var found: [Match] = []
        var i = 0
        while i < n {
            let boundary = !requireBoundary || i == 0 || !isToken(bytes[i - 1])
            var match: Match?
            if has(bytes, at: i, "dapi"), hexRun[i + 4] >= 32 {
                match = Match(kind: .databricksToken, range: i..<(i + 4 + tokenRun[i + 4]))
            } else if boundary, has(bytes, at: i, "sk-"), tokenRun[i + 3] >= 20 {
                match = Match(kind: .openAIKey, range: i..<(i + 3 + tokenRun[i + 3]))
            } else if boundary, awsPrefix(bytes, at: i), upperAlnumRun[i] >= 20, tokenRun[i] == 20 || !isToken(at(bytes, i + 20)) {
                match = Match(kind: .awsAccessKeyID, range: i..<(i + 20))
            } else if has(bytes, at: i, "-----BEGIN "), let end = privateKeyEnd(bytes, from: i) {
                match = Match(kind: .privateKey, range: i..<end)
            } else if boundary, has(bytes, at: i, "eyJ"), let end = jwtEnd(bytes, from: i, tokenRun: tokenRun) {
                match = Match(kind: .jwt, range: i..<end)
            }
            if let match {
                found.append(match)
                if stopAtFirst { return found }
                i = match.range.upperBound
            } else {
                i += 1
            }
        }
        return found
    }

    /// Whether any detector's fixed prefix occurs at all: most text has none, and then the
    /// run tables are never built.
    private static func containsTrigger(_ bytes: [UInt8]) -> Bool {
        for i in bytes.indices {
            switch bytes[i] {
            case UInt8(ascii: "d"): if has(bytes, at: i, "dapi") { return true }
            case UInt8(ascii: "s"): if has(bytes, at: i, "sk-") { return true }
            case UInt8(ascii: "A"): if awsPrefix(bytes, at: i) { return true }
            case UInt8(ascii: "-"): if has(bytes, at: i, "-----BEGIN ") { return true }
            case UInt8(ascii: "e"): if has(bytes, at: i, "eyJ") { return true }
            default: continue
            }
        }
        return false
    }

    private static func isToken(_ b: UInt8) -> Bool { isDigit(b) || isUpper(b) || (b >= 97 && b <= 122) || b == 45 || b == 95 }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    private static func isLowerHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 97 && b <= 102) }
    private static func at(_ bytes: [UInt8], _ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    private static func has(_ bytes: [UInt8], at i: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard i + count <= bytes.count else { return false }
        return prefix.withUTF8Buffer { p in (0..<count).allSatisfy { bytes[i + $0] == p[$0] } }
    }

    private static func awsPrefix(_ bytes: [UInt8], at i: Int) -> Bool {
        has(bytes, at: i, "AKIA") || has(bytes, at: i, "ASIA") || has(bytes, at: i, "ABIA") || has(bytes, at: i, "ACCA")
    }

    /// A PEM block counts when its BEGIN line names a PRIVATE KEY within the line.
    private static func privateKeyEnd(_ bytes: [UInt8], from i: Int) -> Int? {
        var j = i + 11
        let limit = min(bytes.count, i + 80)
        while j < limit, bytes[j] != 10 {
            if has(bytes, at: j, "PRIVATE KEY-----") { return j + 16 }
            j += 1
        }
        return nil
    }

    /// `eyJ<header>.<payload>.<signature>`: three base64url segments, the first two at least 10 long.
    private static func jwtEnd(_ bytes: [UInt8], from i: Int, tokenRun: [Int]) -> Int? {
        let header = tokenRun[i]
        var j = i + header
        guard header >= 10, at(bytes, j) == 46 else { return nil }
        let payload = tokenRun[j + 1]
        guard payload >= 10 else { return nil }
        j += 1 + payload
        guard at(bytes, j) == 46 else { return nil }
        return j + 1 + tokenRun[min(j + 1, bytes.count)]
    }
}
