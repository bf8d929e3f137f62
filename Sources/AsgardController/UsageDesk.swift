public import AsgardCore
public import AsgardPolicy
public import Cedar
public import Foundation

/// Reading a project's usage (spend by UTC day and model), for the HTTP API, MCP and the
/// dashboard alike: Cedar decides `read_cost` for the caller on the project (a key reads its
/// own project's, `keys-read-own-project-cost`; people by the admin policies), and a denial is
/// audited with the determining policies.
public struct UsageDesk: Sendable {
    public var store: any Store
    public var policies: PolicyEngine

    public init(store: any Store, policies: PolicyEngine) {
        self.store = store
        self.policies = policies
    }

    /// Why usage was not given.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        /// The policies that determined the denial (empty when none permitted it).
        public var policies: [String]
    }

    /// The usage of `project` with `from <= time < to`, for `principal`.
    /// - Parameters:
    ///   - principal: the caller as Cedar sees it, e.g. `Key::"fraud-scoring-agent"`.
    ///   - entities: an entity store holding the principal and the project.
    /// - Throws: `Refusal` (audited) when Cedar denies `read_cost`; the store's errors.
    public func usage(of project: String, from: Date, to: Date, principal: EntityUID, entities: Entities) async throws -> [UsageRow] {
        let decision = decide(project, principal: principal, entities: entities)
        guard decision.allowed else {
            let determining = decision.response.reasons.sorted()
            let why =
                determining.isEmpty
                ? "no policy lets \(principal) read the cost of project \(project)"
                : "forbidden by \(determining.joined(separator: ", "))"
            try await store.appendAudit(
                AuditEntry(
                    actor: "\(principal.type)/\(principal.id)", action: "usage.read", target: "Project/\(project)", outcome: "denied",
                    detail: ["policies": determining.joined(separator: ","), "reason": why]))
            throw Refusal(description: why, policies: determining)
        }
        return try await store.usage(project: project, from: from, to: to)
    }

    /// Whether Cedar lets `principal` read the cost of `project` (nothing is audited: a report
    /// over many projects shows the permitted ones and audits once).
    public func mayRead(_ project: String, principal: EntityUID, entities: Entities) -> Bool {
        decide(project, principal: principal, entities: entities).allowed
    }

    private func decide(_ project: String, principal: EntityUID, entities: Entities) -> PolicyDecision {
        policies.decide(
            Request(
                principal: principal, action: EntityUID(type: "Action", id: "read_cost"), resource: Project.entityUID(project), context: [:]),
            entities: entities)
    }
}
