import AsgardCore

/// The result of applying a project's guardrail settings to one text.
public enum GuardrailOutcome: Sendable, Hashable {
    /// The text to forward (redacted when the action is `redact`, unchanged otherwise) and
    /// what was found in the original.
    case pass(text: String, findings: [GuardrailFinding])
    /// The request must be refused; only the detector is known, never the matched text.
    case blocked(detector: GuardrailDetector)

    /// The text to forward, `nil` when blocked.
    public var text: String? {
        if case .pass(let text, _) = self { return text }
        return nil
    }

    /// The error message of a blocked outcome (`nil` when passing); names the detector only.
    public var blockedMessage: String? {
        if case .blocked(let detector) = self { return detector.blockedMessage }
        return nil
    }
}
