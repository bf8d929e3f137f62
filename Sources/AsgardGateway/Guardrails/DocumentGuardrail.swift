public import AsgardCore
public import AsgardJSON

/// A guardrail action applied to every string of a JSON document, object keys included: what
/// crosses the boundary is everything the other side's parser reads, not only the fields a
/// chat client shows.
///
/// - `block`: the first finding throws `GuardrailBlock` naming its detector (never the text);
/// - `redact`: every finding is replaced by `[REDACTED:<detector>]` in place;
/// - `log`: the document passes unchanged; the findings are kept for the audit entry.
public struct DocumentGuardrail: Sendable {
    public let action: GuardrailAction
    public let detectors: Set<GuardrailDetector>
    /// Detectors that fired, in document order.
    public private(set) var findings: [GuardrailDetector] = []

    public init(action: GuardrailAction, detectors: Set<GuardrailDetector> = GuardrailDetector.all) {
        self.action = action
        self.detectors = detectors
    }

    /// `value` with the action applied to each of its strings.
    /// - Throws: `GuardrailBlock` under `block` at the first finding.
    public mutating func apply(_ value: JSONValue) throws(GuardrailBlock) -> JSONValue {
        try value.rewritingStrings { (text: String) throws(GuardrailBlock) -> String? in try self.apply(text) }
    }

    /// `text` with the action applied, or nil when it stays as it is.
    /// - Throws: `GuardrailBlock` under `block` when anything is found.
    public mutating func apply(_ text: String) throws(GuardrailBlock) -> String? {
        guard !text.isEmpty else { return nil }
        let found = Guardrails.scan(text, detectors: detectors)
        guard let first = found.first else { return nil }
        findings += found.map(\.detector)
        switch action {
        case .block: throw GuardrailBlock(detector: first.detector)
        case .redact: return Guardrails.redact(text, findings: found)
        case .log: return nil
        }
    }
}

/// The `block` action fired: the detector of the first finding.
public struct GuardrailBlock: Error, Sendable, Hashable {
    public var detector: GuardrailDetector
}

/// The output guardrails of a whole (non-streamed) `chat.completion`.
enum CompletionGuardrail {
    /// `completion` as the caller may see it, and the detectors that fired.
    ///
    /// Every string of the reply is checked (content, content parts, refusal, reasoning, tool
    /// calls, logprobs tokens and their alternatives, ids, unknown fields). A choice's logprobs
    /// are also checked as the text they spell (their tokens joined, and their `bytes` decoded
    /// and joined), since a secret split over tokens is in no single one. Under `redact`, a
    /// choice with any finding loses its `logprobs` (tokens cannot be redacted consistently with
    /// the text); under `block`, any finding refuses the whole answer.
    static func apply(_ completion: JSONValue, action: GuardrailAction) throws(GuardrailBlock) -> (JSONValue, [GuardrailDetector]) {
        var scan = DocumentGuardrail(action: action)
        guard case .array(let choices)? = completion["choices"] else { return (try scan.apply(completion), scan.findings) }
        var guarded: [JSONValue] = []
        guarded.reserveCapacity(choices.count)
        for choice in choices {
            let before = scan.findings.count
            for spelled in LogprobsText.spelled(by: choice["logprobs"]) { _ = try scan.apply(spelled) }
            var replaced = try scan.apply(choice)
            if action == .redact, scan.findings.count > before, replaced["logprobs"] != nil { replaced["logprobs"] = .null }
            guarded.append(replaced)
        }
        let rest = try scan.apply(completion.removing("choices"))
        return (rest.setting("choices", to: .array(guarded)), scan.findings)
    }
}

/// The text a choice's `logprobs` spell: for `content` and `refusal`, the tokens joined, and
/// the tokens' `bytes` decoded and joined (a vendor could make the two disagree).
enum LogprobsText {
    static func spelled(by logprobs: JSONValue?) -> [String] {
        guard let logprobs, case .object(let members) = logprobs else { return [] }
        var out: [String] = []
        for member in members {
            guard case .array(let entries) = member.value else { continue }
            var tokens = ""
            var bytes: [UInt8] = []
            for entry in entries {
                if case .string(let token)? = entry["token"] { tokens += token }
                bytes += tokenBytes(entry)
            }
            out.append(tokens)
            out.append(String(decoding: bytes, as: UTF8.self))
        }
        return out
    }

    /// An entry's `bytes` (integers 0–255), or none.
    static func tokenBytes(_ entry: JSONValue) -> [UInt8] {
        guard case .array(let values)? = entry["bytes"] else { return [] }
        return values.compactMap { value in
            guard case .integer(let byte) = value, (0...255).contains(byte) else { return nil }
            return UInt8(byte)
        }
    }
}
