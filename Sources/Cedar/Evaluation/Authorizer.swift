// Cedar's authorizer (cedar-spec `Spec/Authorizer.lean`, `Spec/Policy.lean`).

/// Decides requests against a policy set with Cedar's semantics.
public struct Authorizer: Sendable {
    /// The policy set, in order.
    public let policies: [Policy]
    /// The policies whose scope says `action == A`, by `A`: a request for another action passes
    /// them over unread. Most of a deployment's policies name one action, not the one asked,
    /// and reading a `Policy` out of the array copies it (a retain and a release for each of
    /// its strings and arrays).
    private let byAction: [(action: EntityUID, indices: [Int])]
    /// The others (`action`, `action in ...`): read for every request.
    private let unnamed: [Int]

    /// An authorizer for `policies`.
    public init(policies: [Policy]) {
        self.policies = policies
        var byAction: [(action: EntityUID, indices: [Int])] = []
        var unnamed: [Int] = []
        for (index, policy) in policies.enumerated() {
            guard case .equal(let action) = policy.action else {
                unnamed.append(index)
                continue
            }
            if let group = byAction.firstIndex(where: { Evaluator.uidsEqual($0.action, action) }) {
                byAction[group].indices.append(index)
            } else {
                byAction.append((action, [index]))
            }
        }
        self.byAction = byAction
        self.unnamed = unnamed
    }

    /// Decides `request` against `entities`: denied if any satisfied `forbid` (those are the
    /// reasons), else allowed if any satisfied `permit` (those are the reasons), else denied
    /// with no reasons. A policy whose conditions raise an error (including a non-boolean
    /// condition) is skipped and reported in `errors` whatever the decision.
    public func authorize(_ request: Request, entities: Entities) -> Response {
        let evaluator = Evaluator(request: request, entities: entities)
        var permits: Set<String> = []
        var forbids: Set<String> = []
        var errors: Set<String> = []
        var messages: [String: String] = [:]
        // A policy passed over would fail its action's scope in `isSatisfied`, which compares
        // with the same `uidsEqual`: the same answer.
        let named = byAction.first { Evaluator.uidsEqual($0.action, request.action) }?.indices ?? []
        for indices in [unnamed, named] {
            for index in indices {
                let policy = policies[index]
                do throws(EvaluationError) {
                    guard try Authorizer.isSatisfied(policy, by: evaluator) else { continue }
                    switch policy.effect {
                    case .permit: permits.insert(policy.id)
                    case .forbid: forbids.insert(policy.id)
                    }
                } catch {
                    errors.insert(policy.id)
                    messages[policy.id] = error.description
                }
            }
        }
        if forbids.isEmpty && !permits.isEmpty {
            return Response(decision: .allow, reasons: permits, errors: errors, errorMessages: messages)
        }
        return Response(decision: .deny, reasons: forbids, errors: errors, errorMessages: messages)
    }

    /// Whether `policy`'s scope matches and its conditions hold, in the specification's order:
    /// principal, action, resource, then each condition top to bottom, stopping at the first
    /// one that does not hold (so later conditions are not evaluated).
    public static func isSatisfied(_ policy: Policy, by evaluator: Evaluator) throws(EvaluationError) -> Bool {
        let request = evaluator.request
        let entities = evaluator.entities
        guard scopeMatches(policy.principal, request.principal, entities),
            actionMatches(policy.action, request.action, entities),
            scopeMatches(policy.resource, request.resource, entities)
        else { return false }
        for condition in policy.conditions {
            let value = try evaluator.evaluate(condition.body)
            guard case .bool(let holds) = value else { throw .typeError(expected: "bool", found: value.typeName) }
            if holds != (condition.kind == .when) { return false }
        }
        return true
    }

    static func scopeMatches(_ scope: ScopeConstraint, _ uid: EntityUID, _ entities: Entities) -> Bool {
        switch scope {
        case .any: true
        case .equal(let target): Evaluator.uidsEqual(uid, target)
        case .in(let target): entities.isDescendant(uid, of: target)
        case .is(let type): uid.type == type
        case .isIn(let type, let target): uid.type == type && entities.isDescendant(uid, of: target)
        }
    }

    static func actionMatches(_ scope: ActionConstraint, _ uid: EntityUID, _ entities: Entities) -> Bool {
        switch scope {
        case .any: return true
        case .equal(let target): return Evaluator.uidsEqual(uid, target)
        case .in(let target): return entities.isDescendant(uid, of: target)
        case .inSet(let targets):
            // `isDescendant` per target would look the action up once per target.
            if targets.contains(uid) { return true }
            guard let ancestors = entities[uid]?.ancestors, !ancestors.isEmpty else { return false }
            return targets.contains { ancestors.contains($0) }
        }
    }
}
