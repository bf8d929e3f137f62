public import AsgardCore
public import AsgardPolicy
public import Foundation

/// Objects asked for through MCP or the API, for every front end alike: a resource request or
/// a project proposal is written as the YAML document `desired/` would hold, checked by the
/// loader beside `desired/` and the requests in force (so the same rules hold), refused when
/// `desired/` or an open request already has its id, passed through the provisioning gate, and
/// stored with its origin and requester, audited. Who asks comes from the caller's credential.
public struct RequestDesk: Sendable {
    public var store: any Store
    /// The enforced policies for the gate; nil refuses every resource request (fail closed).
    public var policies: PolicyEngine?
    public var desiredDirectory: String
    public var loader = DesiredStateLoader()
    public var clock: @Sendable () -> Date = Date.init

    public init(store: any Store, policies: PolicyEngine?, desiredDirectory: String) {
        self.store = store
        self.policies = policies
        self.desiredDirectory = desiredDirectory
    }

    /// Why a request was not taken.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// The object is not valid beside `desired/` (the loader's diagnostics, one per line).
        case invalid(String)
        /// `desired/` or an open request already has an object with this reference.
        case conflict(String)
        /// The provisioning gate refused it (registration, floor, Cedar, kill switch).
        case gate(GateOutcome)
        /// The caller may not do this (a key acting outside its project, someone else's request).
        case denied(String)
        case notFound(String)
        /// `desired/` does not load now, so nothing can be checked against it.
        case unavailable(String)

        public var description: String {
            switch self {
            case .invalid(let text), .conflict(let text), .denied(let text), .notFound(let text), .unavailable(let text): text
            case .gate(let outcome): "the provisioning gate refused it: \(outcome.reason)"
            }
        }
    }

    /// A stored request and what the gate and the tier say of it now.
    public struct Submitted: Sendable {
        public var request: ObjectRequest
        public var tier: Tier
        public var gate: GateOutcome?
        public var estimate: CostEstimate?
        /// The approval opened with it (a project proposal's).
        public var approval: Approval?
    }

    /// Asks for `service` with `parameters` for `project`, as `requester` (for a key:
    /// `keyProject`, the project it acts for, which must be `project`).
    /// - Throws: `Refusal`; the store's errors.
    public func requestResource(
        id: String?, project: String, service: String, parameters: [String: ParameterValue], by requester: Requester, keyProject: String?,
        origin: ObjectRequest.Origin
    ) async throws -> Submitted {
        if let keyProject, keyProject != project {
            throw Refusal.denied("a key acts for its own project (\(keyProject)), not for \(project)")
        }
        let objectID = id ?? Self.generatedID(prefix: project)
        let requestedBy: String? = if case .person(let email) = requester { email } else { nil }
        let document = RequestDocument.resource(id: objectID, project: project, service: service, parameters: parameters, requestedBy: requestedBy)
        let request = ObjectRequest(
            id: ObjectRequest.newID(), ref: ObjectRef(.resource, objectID), document: document, origin: origin, requester: requester, createdAt: clock())
        let (state, _) = try await check(request)
        guard let object = state.object(request.ref) else { throw Refusal.invalid("the request does not declare \(request.ref)") }
        let gate = ProvisionGate(policies: policies, killSwitches: try await store.killSwitches()).check(object, in: state)
        guard gate.allowed else { throw Refusal.gate(gate) }
        let tier = state.tier(of: object)
        try await submit(request, approval: nil, detail: ["tier": tier.rawValue, "policies": gate.policies.joined(separator: ",")])
        return Submitted(request: request, tier: tier, gate: gate, estimate: state.estimate(of: object), approval: nil)
    }

    /// Proposes a project: stored with a pending approval that an admin decides (never its
    /// requester); it joins desired state only once approved.
    /// - Throws: `Refusal`; the store's errors.
    public func proposeProject(
        id: String, name: String, owner: String, classification: DataClass, monthlyBudgetUSD: String, approvers: [String], by requester: Requester,
        origin: ObjectRequest.Origin
    ) async throws -> Submitted {
        let document = RequestDocument.project(
            id: id, name: name, owner: normalizedEmail(owner), classification: classification, monthlyBudgetUSD: monthlyBudgetUSD,
            approvers: approvers.map(normalizedEmail))
        let request = ObjectRequest(
            id: ObjectRequest.newID(), ref: ObjectRef(.project, id), document: document, origin: origin, requester: requester, createdAt: clock())
        let (state, _) = try await check(request)
        guard let project = state.projects[id] else { throw Refusal.invalid("the proposal does not declare \(request.ref)") }
        let approval = ApprovalRequest(
            ref: request.ref, project: id, actionDigest: request.documentDigest, planDigest: nil,
            summary:
                "register project \(id) (\(project.name)): owner \(project.owner), \(project.classification.name), "
                + "budget $\(project.monthlyBudget) a month, approvers \(project.approvers.joined(separator: ", "))",
            estimate: CostEstimate(basis: .unknown, monthly: nil, detail: "a project spends what its services and calls cost, within its budget"),
            requestedBy: requester.approvalName)
        let opened = try await submit(request, approval: approval, detail: ["tier": Tier.human.rawValue])
        return Submitted(request: request, tier: .human, gate: nil, estimate: nil, approval: opened)
    }

    /// Withdraws an open request: its object leaves desired state at the next pass, as a
    /// deleted file would (what was provisioned is destroyed through its tier). Only its
    /// requester, or a person in `Role::"admin"`, may; a proposal's pending approval is voided.
    /// - Throws: `Refusal`; the store's errors.
    public func cancel(id: String, by requester: Requester, isAdmin: Bool, reason: String?) async throws -> ObjectRequest {
        guard let request = try await store.objectRequests(status: nil).first(where: { $0.id == id }) else {
            throw Refusal.notFound("no request with id \(id)")
        }
        guard request.requester == requester || isAdmin else {
            throw Refusal.denied("request \(id) was made by \(request.requester): only its requester or an admin may cancel it")
        }
        guard request.status == .open else { throw Refusal.conflict("request \(id) is \(request.status.rawValue), not open: nothing to cancel") }
        let why = reason ?? "cancelled by \(requester)"
        let closed = try await store.closeRequest(
            id: id, status: .cancelled, reason: why,
            audit: AuditEntry(
                actor: requester.description, action: "request.cancel", target: request.ref.description, outcome: "cancelled",
                detail: ["request": id, "reason": why]))
        for approval in try await store.approvals(status: .pending)
        where approval.ref == request.ref && approval.actionDigest == request.documentDigest {
            _ = try await store.decideApproval(
                id: approval.id, status: .void, by: requester.description, reason: "its request \(id) was cancelled",
                audit: AuditEntry(
                    actor: requester.description, action: "approval.void", target: approval.ref.description, outcome: "void",
                    detail: ["approval": approval.id, "reason": "its request \(id) was cancelled"]))
        }
        return closed
    }

    /// Checks `request` beside `desired/` and the requests in force; the merged state.
    private func check(_ request: ObjectRequest) async throws -> (DesiredState, [ObjectRequest]) {
        let current = try await DesiredWithRequests.load(directory: desiredDirectory, store: store, loader: loader)
        guard current.loaded.isValid, let merged = current.requests else {
            throw Refusal.unavailable(
                "desired/ does not load now (\(current.loaded.diagnostics.first?.description ?? "unreadable")), so no request can be checked against it")
        }
        if current.loaded.state.object(request.ref) != nil, merged.requested[request.ref] == nil {
            throw Refusal.conflict("desired/ already declares \(request.ref): change it there, by a commit")
        }
        if let other = current.open.first(where: { $0.ref == request.ref }) {
            throw Refusal.conflict("request \(other.id) already asks for \(request.ref)")
        }
        let inForce = Array(merged.requested.values)
        let (diagnostics, state) = RequestedState.check(request, sources: current.sources, inForce: inForce, loader: loader)
        guard diagnostics.isEmpty else {
            throw Refusal.invalid(diagnostics.map { $0.description }.joined(separator: "\n"))
        }
        return (state, inForce)
    }

    @discardableResult
    private func submit(_ request: ObjectRequest, approval: ApprovalRequest?, detail: [String: String]) async throws -> Approval? {
        do {
            return try await store.submitRequest(
                request, approval: approval,
                audit: AuditEntry(
                    actor: request.requester.description, action: "request.submit", target: request.ref.description, outcome: "submitted",
                    detail: detail.merging(["request": request.id, "origin": request.origin.rawValue, "document_digest": request.documentDigest]) { a, _ in a }))
        } catch StoreError.requestConflict(let ref, let other) {
            throw Refusal.conflict("request \(other) already asks for \(ref)")
        }
    }

    /// `<prefix>-` and 8 random hex digits, cut to a valid id.
    static func generatedID(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt32, radix: 16)
        let suffix = String(repeating: "0", count: 8 - hex.count) + hex
        return String(prefix.prefix(63 - 9)) + "-" + suffix
    }
}
