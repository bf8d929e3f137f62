public import AsgardCore
public import AsgardPolicy
public import Cedar
public import Foundation

/// Everything a call is decided against, as one immutable value: routes and their upstreams
/// resolved against the environment, keys by digest, projects, the Cedar entity store and
/// policies, guardrail settings. The controller builds it from what the store holds as applied
/// and swaps whole snapshots atomically, so a call never sees half an update and the gateway
/// serves exactly what was committed (and audited).
public struct GatewaySnapshot: Sendable {
    public var routes: RouteTable
    /// Each model's upstream, or the environment variable its vendor's manifest names and the
    /// environment lacks: resolved once here, not per call.
    public var upstreams: [String: Result<UpstreamEndpoint, Route.Unconfigured>]
    public var keysByDigest: [String: Key]
    /// People by the digest of their personal credential.
    public var peopleByCredential: [String: Person]
    public var projects: [String: Project]
    public var entities: Entities
    public var policy: PolicyEngine
    public var guardrails: [String: GuardrailSettings]

    /// The snapshot of the store's gateway configuration under `policies`, with vendor
    /// endpoints read from `environment` by the names the manifests give.
    public init(_ configuration: GatewayConfiguration, policies: PolicyBundle, environment: [String: String]) {
        let table = RouteTable(configuration.routes)
        routes = table
        upstreams = Dictionary(
            configuration.routes.map { route in
                (route.model, Result { () throws(Route.Unconfigured) in try route.resolve(in: environment) })
            }, uniquingKeysWith: { first, _ in first })
        keysByDigest = Dictionary(configuration.keys.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        peopleByCredential = Dictionary(configuration.people.map { ($0.credential, $0) }, uniquingKeysWith: { first, _ in first })
        projects = Dictionary(configuration.projects.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        entities = InvokeEntities.store(keys: configuration.keys, projects: configuration.projects, routes: table)
        policy = PolicyEngine(enforced: policies)
        guardrails = projects.compactMapValues(\.guardrails)
    }

    /// The snapshot of a desired state applied as it stands, for tests of the gateway alone;
    /// `guardrails`, when given, replaces the projects' own guardrail settings.
    public init(
        state: DesiredState, routes stored: [StoredRoute], policies: PolicyBundle, environment: [String: String],
        guardrails: [String: GuardrailSettings]? = nil
    ) {
        self.init(
            GatewayConfiguration(
                projects: Array(state.projects.values), keys: Array(state.keys.values), routes: stored, people: Array(state.people.values)),
            policies: policies, environment: environment)
        if let guardrails { self.guardrails = guardrails }
    }

    /// The key an `Authorization: Bearer asg_...` header presents, looked up by the SHA-256
    /// digest of the secret (the lookup's timing depends only on the digest, never the secret)
    /// and confirmed by a constant-time comparison.
    public func key(authorization: String?) -> Key? {
        guard let digest = bearerDigest(authorization) else { return nil }
        guard let key = keysByDigest[digest], constantTimeEqual(key.digest, digest) else { return nil }
        return key
    }

    /// The person whose personal credential has the SHA-256 `digest` (see `bearerDigest`),
    /// found the same way as a key (by digest, confirmed in constant time).
    public func person(credentialDigest digest: String) -> Person? {
        guard let person = peopleByCredential[digest], constantTimeEqual(person.credential, digest) else { return nil }
        return person
    }

    /// Vendors that cannot be called, each with the first variable it lacks, by vendor id.
    public var unconfiguredVendors: [String: String] {
        var vendors: [String: String] = [:]
        for (model, upstream) in upstreams {
            if case .failure(let missing) = upstream, let vendor = routes[model]?.vendor { vendors[vendor] = missing.variable }
        }
        return vendors
    }

    /// The guardrail settings of a project (redact everything by default).
    public func guardrails(of project: String) -> GuardrailSettings {
        guardrails[project] ?? GuardrailSettings()
    }
}

/// Who is calling: an authenticated key and its project, with the snapshot they were found in
/// (the rest of the call is decided against the same snapshot).
public struct Caller: Sendable {
    public var key: Key
    public var project: Project
    public var snapshot: GatewaySnapshot
}

/// Authentication, the same on every route that takes a key (`/v1/models`, usage, chat, and
/// later MCP and the dashboard): the bearer secret must be a key in effect, not expired, whose
/// project exists, and no global, project or key kill switch may be engaged for it. Vendor and
/// model switches depend on the model called, so the chat pipeline checks those itself. Cedar's
/// `expired-key-refused` stays as a second line.
public struct KeyAuthenticator: Sendable {
    public var snapshot: @Sendable () -> GatewaySnapshot?
    public var killSwitches: KillSwitchBoard
    public var clock: @Sendable () -> Date

    public init(
        snapshot: @escaping @Sendable () -> GatewaySnapshot?, killSwitches: KillSwitchBoard,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.snapshot = snapshot
        self.killSwitches = killSwitches
        self.clock = clock
    }

    /// The caller an `Authorization` header presents.
    /// - Throws: 503 `starting` before the first configuration is published; 401
    ///   `invalid_api_key` (no key, an unknown one, or one whose project is gone); 401
    ///   `expired_api_key`; 403 `killed` under a global, project or key kill switch.
    ///
    /// `identified` hears of the key as soon as it is found, before the checks that may still
    /// refuse it, so a refusal can be audited under the key's name.
    public func authenticate(_ authorization: String?, identified: (Key) -> Void = { _ in }) throws(GatewayError) -> Caller {
        guard let snapshot = snapshot() else { throw .starting }
        guard let key = snapshot.key(authorization: authorization) else { throw .invalidAPIKey }
        identified(key)
        guard let project = snapshot.projects[key.project] else { throw .invalidAPIKey }
        if let expires = key.expires, expires <= clock() { throw .expiredAPIKey(at: formatInstant(expires)) }
        if let kill = killSwitches.current.check(project: project.id, key: key.id) {
            throw .killed(scope: kill.scope.rawValue, target: kill.id, reason: kill.reason)
        }
        return Caller(key: key, project: project, snapshot: snapshot)
    }
}
