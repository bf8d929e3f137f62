public import AsgardCore
public import AsgardGateway
public import AsgardPolicy
public import AsgardStore
public import Cedar

/// Everything a call is decided against, as one immutable value: routes, keys by digest,
/// projects, the Cedar entity store and policies, guardrail policies. The server swaps whole
/// snapshots atomically when desired state changes, so a call never sees half an update.
public struct GatewaySnapshot: Sendable {
    public var routes: RouteTable
    public var keysByDigest: [String: Key]
    public var projects: [String: Project]
    public var entities: Entities
    public var policy: PolicyEngine
    public var guardrails: [String: GuardrailPolicy]

    /// Builds the snapshot of an applied desired state and the store's route table.
    public init(state: DesiredState, routes stored: [StoredRoute], policies: PolicyBundle, guardrails: [String: GuardrailPolicy] = [:]) {
        let table = RouteTable(stored)
        routes = table
        keysByDigest = Dictionary(state.keys.values.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        projects = state.projects
        entities = InvokeEntities.store(keys: Array(state.keys.values), projects: Array(state.projects.values), routes: table)
        policy = PolicyEngine(enforced: policies)
        self.guardrails = guardrails
    }

    /// The key an `Authorization: Bearer asg_...` header presents, looked up by the SHA-256
    /// digest of the secret (the lookup's timing depends only on the digest, never the secret)
    /// and confirmed by a constant-time comparison.
    public func key(authorization: String?) -> Key? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let digest = SHA256.hex(String(authorization.dropFirst(7)))
        guard let key = keysByDigest[digest], constantTimeEqual(key.digest, digest) else { return nil }
        return key
    }

    /// The guardrail policy of a project (redact everything by default).
    public func guardrailPolicy(of project: String) -> GuardrailPolicy {
        guardrails[project] ?? GuardrailPolicy()
    }
}
