public import AsgardCore
public import AsgardPolicy
import Cedar

/// What the gate said about one provisioning action.
public struct GateOutcome: Sendable, Hashable, Codable {
    public var allowed: Bool
    /// Why, for people: the refusal, or the policies that permitted it.
    public var reason: String
    /// The Cedar policies that determined the decision (empty when refused before Cedar).
    public var policies: [String]

    public init(allowed: Bool, reason: String, policies: [String] = []) {
        self.allowed = allowed
        self.reason = reason
        self.policies = policies
    }

    /// `allowed` or `refused`.
    public var verdict: String { allowed ? "allowed" : "refused" }

    static func refused(_ reason: String, policies: [String] = []) -> GateOutcome {
        GateOutcome(allowed: false, reason: reason, policies: policies)
    }
}

/// The gate every provisioning action passes before terraform plans it: the project is
/// registered and active (no kill switch on it), the service is registered, the project's
/// classification is at or above the service's floor, and Cedar permits `provision`.
/// Pure: desired state, policies and kill switches in, a decision out. The project tag
/// check, the last part of the gate, runs on the plan (`ProjectTagCheck`).
public struct ProvisionGate: Sendable {
    /// The enforced policies; nil refuses everything (fail closed: no policy set, no provisioning).
    public var policies: PolicyEngine?
    /// Projects stopped by a kill switch, with its reason; `globalStop` stops them all.
    public var stoppedProjects: [String: String]
    public var globalStop: String?

    public init(policies: PolicyEngine?, stoppedProjects: [String: String] = [:], globalStop: String? = nil) {
        self.policies = policies
        self.stoppedProjects = stoppedProjects
        self.globalStop = globalStop
    }

    /// The gate under `policies` and the engaged kill switches (global and project scopes stop provisioning).
    public init(policies: PolicyEngine?, killSwitches: [StoredKillSwitch]) {
        self.init(
            policies: policies,
            stoppedProjects: Dictionary(
                killSwitches.filter { $0.scope == .project }.map { ($0.target, $0.reason) }, uniquingKeysWith: { first, _ in first }),
            globalStop: killSwitches.first { $0.scope == .global }?.reason)
    }

    /// Why work for `project` is stopped (the global kill switch, or the project's), if it is:
    /// nothing of the project is provisioned or destroyed while it is.
    public func stopped(project: String?) -> String? {
        globalStop ?? project.flatMap { stoppedProjects[$0] }
    }

    /// Checks `object` (a resource or serving endpoint) against `state`.
    public func check(_ object: DesiredObject, in state: DesiredState) -> GateOutcome {
        guard let projectID = object.projectID, object.ref.kind.isProvisioned else {
            return .refused("\(object.ref) is not provisioned through the gate")
        }
        guard let project = state.projects[projectID] else {
            return .refused("registration: project \"\(projectID)\" is not registered")
        }
        if let reason = stopped(project: projectID) {
            return .refused("registration: project \"\(projectID)\" is not active (kill switch: \(reason))")
        }
        guard let service = state.provisionableService(of: object) else {
            return .refused("registration: service \"\(object.provisionerName ?? "")\" is not registered")
        }
        if case .servingEndpoint(let endpoint) = object, state.services[endpoint.service]?.inference == nil {
            return .refused("registration: vendor \"\(endpoint.service)\" is not registered for inference, so the endpoint could never be routed")
        }
        guard project.classification >= service.classificationFloor else {
            return .refused(
                "classification floor: project \"\(projectID)\" is \(project.classification.name), "
                    + "below \(service.name)'s floor \(service.classificationFloor.name)")
        }
        guard let policies else { return .refused("policy: no policy set is loaded, so nothing may be provisioned") }
        let decision = policies.decide(
            Request(
                principal: Project.entityUID(projectID), action: EntityUID(type: "Action", id: "provision"),
                resource: EntityUID(type: "Service", id: service.name), context: [:]),
            entities: Self.entities(project: project, service: service))
        let determining = decision.response.reasons.sorted()
        guard decision.allowed else {
            let why = determining.isEmpty ? "no policy permits it" : "forbidden by \(determining.joined(separator: ", "))"
            let closed = decision.failedClosedOn.isEmpty ? "" : " (failed closed on \(decision.failedClosedOn.sorted().joined(separator: ", ")))"
            return .refused("policy: Cedar denied provision of \(service.name) for project \"\(projectID)\": \(why)\(closed)", policies: determining)
        }
        return GateOutcome(allowed: true, reason: "allowed by \(determining.joined(separator: ", "))", policies: determining)
    }

    /// The project and the service as Cedar entities, after `policies/asgard.cedarschema`.
    static func entities(project: Project, service: ProvisionableService) -> Entities {
        Entities(closingParentsOf: [
            project.cedarEntity,
            Entity(
                uid: EntityUID(type: "Service", id: service.name),
                attributes: [
                    "registered": .bool(true),
                    "floor_level": .long(Int64(service.classificationFloor.rawValue)),
                    "tier": .string(service.tier.rawValue),
                ]),
        ])
    }
}

/// Who may approve a human-tier request: Cedar's `approve` on the request as a `Resource`
/// entity (its project with the approvers, and who requested it).
public enum ApprovalPolicy {
    /// Decides whether `approver` may approve (or reject) a request of `project` made by `requestedBy`.
    public static func decide(
        approver: String, ref: ObjectRef, project: Project, requestedBy: String, serviceName: String,
        policies: PolicyEngine
    ) -> GateOutcome {
        let resource = EntityUID(type: "Resource", id: ref.description)
        let entities = Entities(closingParentsOf: [
            project.cedarEntity,
            Entity(
                uid: resource,
                attributes: [
                    "project": .entity(Project.entityUID(project.id)),
                    "service": .entity(EntityUID(type: "Service", id: serviceName)),
                    "requested_by": .entity(requesterUID(requestedBy)),
                ]),
            Entity(uid: Project.userUID(approver), attributes: ["email": .string(normalizedEmail(approver))]),
        ])
        let decision = policies.decide(
            Request(
                principal: Project.userUID(approver), action: EntityUID(type: "Action", id: "approve"),
                resource: resource, context: [:]),
            entities: entities)
        let determining = decision.response.reasons.sorted()
        guard decision.allowed else {
            let why =
                determining.isEmpty
                ? "\(approver) is not an approver of project \"\(project.id)\"" : "forbidden by \(determining.joined(separator: ", "))"
            return .refused("Cedar denied approve for \(approver): \(why)", policies: determining)
        }
        return GateOutcome(allowed: true, reason: "allowed by \(determining.joined(separator: ", "))", policies: determining)
    }

    /// Decides whether `approver` (a person in `roles`) may approve (or reject) the proposal of
    /// project `id` made by `requestedBy`: Cedar's `approve` on `ProjectProposal::"<id>"`. The
    /// proposal names its own approvers, so they are not asked: the shipped policies leave it to admins.
    public static func decideProposal(approver: String, roles: [String], project id: String, requestedBy: String, policies: PolicyEngine) -> GateOutcome {
        let resource = EntityUID(type: "ProjectProposal", id: id)
        let entities = Entities(closingParentsOf: [
            Entity(uid: resource, attributes: ["requested_by": .entity(requesterUID(requestedBy))]),
            Entity(
                uid: Project.userUID(approver), attributes: ["email": .string(normalizedEmail(approver))],
                ancestors: Set(roles.map { EntityUID(type: "Role", id: $0) })),
        ])
        let decision = policies.decide(
            Request(principal: Project.userUID(approver), action: EntityUID(type: "Action", id: "approve"), resource: resource, context: [:]),
            entities: entities)
        let determining = decision.response.reasons.sorted()
        guard decision.allowed else {
            let why = determining.isEmpty ? "no policy lets \(approver) approve a project proposal" : "forbidden by \(determining.joined(separator: ", "))"
            return .refused("Cedar denied approve for \(approver): \(why)", policies: determining)
        }
        return GateOutcome(allowed: true, reason: "allowed by \(determining.joined(separator: ", "))", policies: determining)
    }

    /// The requester as Cedar sees it: `Key::"<id>"` for a key (`Key/<id>`), else `User::"<email>"`.
    static func requesterUID(_ requestedBy: String) -> EntityUID {
        if case .key(let id)? = Requester(stored: requestedBy) { return EntityUID(type: "Key", id: id) }
        return Project.userUID(requestedBy)
    }
}
