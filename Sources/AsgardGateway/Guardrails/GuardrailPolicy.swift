public import AsgardCore

/// One project's guardrail settings: which detectors run, and the action per data class.
public struct GuardrailPolicy: Sendable, Hashable, Codable {
    /// The action for any data class without an override.
    public var defaultAction: GuardrailAction
    /// Per-data-class actions, e.g. `restricted: block` while `public: log`.
    public var overrides: [DataClass: GuardrailAction]
    /// The detectors that run; all of them unless narrowed.
    public var detectors: Set<GuardrailDetector>

    public init(defaultAction: GuardrailAction = .redact, overrides: [DataClass: GuardrailAction] = [:],
                detectors: Set<GuardrailDetector> = GuardrailDetector.all) {
        self.defaultAction = defaultAction
        self.overrides = overrides
        self.detectors = detectors
    }

    /// The policy a project's desired state asks for (all detectors).
    public init(_ settings: GuardrailSettings) {
        self.init(defaultAction: settings.defaultAction, overrides: settings.byDataClass)
    }

    /// The override for `dataClass`, else the default action.
    public func action(for dataClass: DataClass) -> GuardrailAction {
        overrides[dataClass] ?? defaultAction
    }
}

/// The result of applying a policy to one text.
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
