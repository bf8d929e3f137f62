public import AsgardCore
public import AsgardPolicy
public import Cedar
public import Foundation

/// Who pulls or releases a kill switch: a person acting through the admin API (authenticated
/// by the admin credential) or the CLI (by `--by`), as Cedar sees them.
public struct Operator: Sendable, Hashable {
    /// The Cedar `User` id and the audit log's actor; nil when the operator gave no identity.
    public var id: String?
    /// The Cedar `Role`s the operator is a member of.
    public var roles: [String]
    /// `api` or `cli`: where the order came from, for the audit log and the Cedar context.
    public var via: String

    public init(id: String?, roles: [String], via: String) {
        self.id = id
        self.roles = roles
        self.via = via
    }

    /// The holder of the admin credential, over HTTP.
    public static let adminCredential = Operator(id: "admin", roles: ["admin"], via: "api")

    /// A person running `asgard` on the store's host: whoever can write the store administers
    /// it, so a named operator is in `Role::"admin"`, like the admin credential. Without a name
    /// the operator is `User::"anonymous"` in no role, which the shipped policies refuse.
    public static func commandLine(by name: String?) -> Operator {
        guard let name, !name.trimmingCharacters(in: .whitespaces).isEmpty else { return Operator(id: nil, roles: [], via: "cli") }
        return Operator(id: name, roles: ["admin"], via: "cli")
    }

    /// The audit log's actor.
    var actor: String { "User/\(id ?? Self.anonymous)" }

    static let anonymous = "anonymous"
}

/// Engaging and releasing kill switches, for the admin API, the CLI and later MCP and the
/// dashboard alike: the request is checked, Cedar decides `kill` for the operator on the
/// switch's resource, and the outcome (engaged, released or denied, with the determining
/// policies) is audited in the same transaction as the change.
public struct KillSwitchDesk: Sendable {
    public var store: any Store
    /// The enforced policies; nil refuses every order (fail closed).
    public var policies: PolicyEngine?
    public var clock: @Sendable () -> Date

    public init(store: any Store, policies: PolicyEngine?, clock: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.policies = policies
        self.clock = clock
    }

    /// Why an order was not carried out.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// The order itself is malformed (an id where none belongs, none where one does, no reason).
        case invalid(String)
        /// Cedar denied `kill` (or no policy set is loaded); the determining policies, if any.
        case denied(String, policies: [String])
        /// A release of a switch that is not engaged.
        case notEngaged(target: String)

        public var description: String {
            switch self {
            case .invalid(let message): message
            case .denied(let message, _): message
            case .notEngaged(let target): "no kill switch is engaged for \(target)"
            }
        }
    }

    /// Engages (or re-engages, with a new reason) the switch for `scope` and `id`.
    /// - Throws: `Refusal` (a denial is audited); the store's errors.
    @discardableResult
    public func engage(scope: KillScope, id: String, reason: String, by person: Operator) async throws -> StoredKillSwitch {
        try Self.check(scope: scope, id: id)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Refusal.invalid("a kill switch needs a reason (for the audit log and the refused callers)")
        }
        let policies = try await authorize(person, scope: scope, id: id, verb: "engage")
        let engaged = StoredKillSwitch(scope: scope, target: id, reason: reason, engagedBy: person.id ?? Operator.anonymous, since: clock())
        try await store.engageKillSwitch(
            engaged,
            audit: AuditEntry(
                actor: person.actor, action: "kill.engage", target: scope.target(id), outcome: "engaged",
                detail: ["reason": reason, "via": person.via, "policies": policies.joined(separator: ",")]))
        return engaged
    }

    /// Releases the switch for `scope` and `id`.
    /// - Throws: `Refusal.notEngaged` when none is engaged (nothing is audited then); other
    ///   `Refusal`s (a denial is audited); the store's errors.
    public func release(scope: KillScope, id: String, by person: Operator) async throws {
        try Self.check(scope: scope, id: id)
        let policies = try await authorize(person, scope: scope, id: id, verb: "release")
        let released = try await store.releaseKillSwitch(
            scope: scope, target: id,
            audit: AuditEntry(
                actor: person.actor, action: "kill.release", target: scope.target(id), outcome: "released",
                detail: ["via": person.via, "policies": policies.joined(separator: ",")]))
        guard released else { throw Refusal.notEngaged(target: scope.target(id)) }
    }

    /// A global switch takes no id; every other scope needs one, of at most 256 characters
    /// without control characters.
    static func check(scope: KillScope, id: String) throws(Refusal) {
        if scope == .global {
            guard id.isEmpty else { throw .invalid("a global kill switch takes no id") }
            return
        }
        guard !id.isEmpty else { throw .invalid("a \(scope.rawValue) kill switch needs the \(scope.rawValue) id") }
        guard id.count <= 256, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid("the \(scope.rawValue) id must be at most 256 characters without control characters")
        }
    }

    /// Cedar's `kill` for `person` on the switch's resource; the determining policies when allowed.
    private func authorize(_ person: Operator, scope: KillScope, id: String, verb: String) async throws -> [String] {
        guard let policies else {
            throw Refusal.denied("no policy set is loaded, so no kill switch can be \(verb)d (fail closed)", policies: [])
        }
        let principal = EntityUID(type: "User", id: person.id ?? Operator.anonymous)
        let entities = Entities(closingParentsOf: [Entity(uid: principal, ancestors: Set(person.roles.map { EntityUID(type: "Role", id: $0) }))])
        let decision = policies.decide(
            Request(
                principal: principal, action: EntityUID(type: "Action", id: "kill"), resource: Self.resource(scope: scope, id: id),
                context: ["scope": .string(scope.rawValue), "via": .string(person.via)]),
            entities: entities)
        let determining = decision.response.reasons.sorted()
        guard decision.allowed else {
            let who = person.id.map { "User::\"\($0)\"" } ?? "an operator with no identity (give --by)"
            let why = decision.denialReason
            try await store.appendAudit(
                AuditEntry(
                    actor: person.actor, action: "kill.\(verb)", target: scope.target(id), outcome: "denied",
                    detail: ["via": person.via, "policies": determining.joined(separator: ","), "reason": why]))
            throw Refusal.denied("Cedar denied kill for \(who): \(why)", policies: determining)
        }
        return determining
    }

    /// The Cedar resource a switch acts on: the vendor's, model's, project's or key's entity;
    /// `Service::"*"` for the global switch.
    public static func resource(scope: KillScope, id: String) -> EntityUID {
        switch scope {
        case .global: EntityUID(type: "Service", id: "*")
        case .vendor: EntityUID(type: "Service", id: id)
        case .model: EntityUID(type: "Model", id: id)
        case .project: Project.entityUID(id)
        case .key: EntityUID(type: "Key", id: id)
        }
    }
}
