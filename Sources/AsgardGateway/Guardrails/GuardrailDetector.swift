/// The data the gateway's guardrails recognise in prompts and completions.
///
/// The raw value is the name used on the wire: in `[REDACTED:<raw>]` markers and in
/// `guardrail_blocked` error messages. Declaration order is also the tie-break order when two
/// findings start at the same offset and have the same length (secrets before PII).
public enum GuardrailDetector: String, CaseIterable, Sendable, Codable, Hashable, Comparable {
    case databricksToken = "databricks_token"
    case openAIKey = "openai_key"
    case awsAccessKeyID = "aws_access_key_id"
    case privateKey = "private_key"
    case jwt = "jwt"
    case email = "email"
    case phone = "phone"
    case creditCard = "credit_card"
    case usSSN = "us_ssn"
    case iban = "iban"

    /// Every detector.
    public static let all: Set<GuardrailDetector> = Set(allCases)

    /// The secret detectors, backed by `AsgardCore.SecretDetector`.
    public static let secrets: Set<GuardrailDetector> = [.databricksToken, .openAIKey, .awsAccessKeyID, .privateKey, .jwt]

    /// The personal-data detectors.
    public static let pii: Set<GuardrailDetector> = [.email, .phone, .creditCard, .usSSN, .iban]

    /// What replaces a match: `[REDACTED:<raw value>]`.
    public var redactionMarker: String { "[REDACTED:\(rawValue)]" }

    /// The message of a `400 guardrail_blocked` answer. Names the detector, never the match.
    public var blockedMessage: String { "request blocked by guardrail: \(rawValue) detected" }

    /// Position in `allCases`, used as the final tie-break between overlapping findings.
    var order: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: GuardrailDetector, rhs: GuardrailDetector) -> Bool { lhs.order < rhs.order }
}

/// One match: which detector fired and the UTF-8 offsets it spans in the scanned text.
public struct GuardrailFinding: Sendable, Hashable, CustomStringConvertible {
    public var detector: GuardrailDetector
    /// UTF-8 offsets into the scanned text (for `StreamGuardrail`, into the whole stream so far).
    public var range: Range<Int>

    public init(detector: GuardrailDetector, range: Range<Int>) {
        self.detector = detector
        self.range = range
    }

    /// The detector and offsets only, never the matched text.
    public var description: String { "\(detector.rawValue)@\(range.lowerBound)..<\(range.upperBound)" }
}
