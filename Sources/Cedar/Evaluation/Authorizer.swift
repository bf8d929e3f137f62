// STUB: replaced by the evaluator. Declares the API the other parts build against.

/// Decides requests against a policy set with Cedar's semantics.
public struct Authorizer: Sendable {
    public var policies: [Policy]

    public init(policies: [Policy]) { self.policies = policies }

    public func authorize(_ request: Request, entities: Entities) -> Response {
        Response(decision: .deny, reasons: [], errors: Set(policies.map(\.id)),
                 errorMessages: Dictionary(uniqueKeysWithValues: policies.map { ($0.id, "the Cedar evaluator is not built yet") }))
    }
}
