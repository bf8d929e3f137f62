public import Cedar

/// A decision as Asgard enforces it.
public struct PolicyDecision: Sendable, Hashable {
    /// Whether the action may proceed. False whenever Cedar denied, and also when a `forbid`
    /// policy errored: it might have forbidden, so Asgard fails closed.
    public var allowed: Bool
    /// Cedar's own answer (decision, determining policies, erring policies and their errors).
    public var response: Response
    /// The erring forbid policies that turned a Cedar allow into a deny.
    public var failedClosedOn: Set<String>
    /// The shadow policy set's answer, when one is loaded; it never enforces.
    public var shadow: Response?

    /// Why a denial was one, for people and the audit log: a `forbid` that erred (so Asgard
    /// failed closed), no policy permitting it, or the policies that forbade it.
    public var denialReason: String {
        if !failedClosedOn.isEmpty { return "a forbid policy erred: \(failedClosedOn.sorted().joined(separator: ", "))" }
        let determining = response.reasons.sorted()
        return determining.isEmpty ? "no policy permits it" : "forbidden by \(determining.joined(separator: ", "))"
    }

    /// True when a shadow set is loaded and decided differently: to be recorded, never enforced.
    public var shadowDisagrees: Bool {
        guard let shadow else { return false }
        return shadow.decision != response.decision || shadow.reasons != response.reasons
    }
}

/// Decides requests for Asgard: the enforced policy set with fail-closed semantics, and
/// optionally a shadow set decided alongside it, for rolling out a policy change safely.
public struct PolicyEngine: Sendable {
    public var enforced: PolicyBundle
    public var shadow: PolicyBundle?
    private let authorizer: Authorizer
    private let shadowAuthorizer: Authorizer?

    public init(enforced: PolicyBundle, shadow: PolicyBundle? = nil) {
        self.enforced = enforced
        self.shadow = shadow
        authorizer = Authorizer(policies: enforced.policies)
        shadowAuthorizer = shadow.map { Authorizer(policies: $0.policies) }
    }

    public func decide(_ request: Request, entities: Entities) -> PolicyDecision {
        let response = authorizer.authorize(request, entities: entities)
        let erringForbids = Set(response.errors.filter(enforced.isForbid))
        let allowed = response.decision == .allow && erringForbids.isEmpty
        return PolicyDecision(
            allowed: allowed, response: response, failedClosedOn: response.decision == .allow ? erringForbids : [],
            shadow: shadowAuthorizer?.authorize(request, entities: entities))
    }
}
