public import AsgardCore
public import AsgardPolicy
import Foundation

/// Approving or rejecting a human-tier request, for the CLI and the admin API alike: only a
/// project approver may decide (Cedar `approve`), never the person who asked, and every
/// decision or refusal is audited. The plan is applied by the next reconcile pass.
public struct ApprovalDesk: Sendable {
    public var store: any Store
    /// The enforced policies; nil refuses every decision (fail closed).
    public var policies: PolicyEngine?

    public init(store: any Store, policies: PolicyEngine?) {
        self.store = store
        self.policies = policies
    }

    /// Why a decision was not recorded.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        /// Whether Cedar denied the approver (a permission refusal); false when the decision
        /// could not be made at all (not pending, no reason, no policy set, no project).
        public var denied: Bool

        public init(description: String, denied: Bool = false) {
            self.description = description
            self.denied = denied
        }
    }

    /// Records `approver`'s decision on approval `id`: approve, or reject with a reason.
    /// - Throws: `Refusal` (audited) when the approval is not pending or Cedar denies;
    ///   `StoreError.approvalNotFound` for an unknown id.
    @discardableResult
    public func decide(id: String, approve: Bool, by approver: String, reason: String?) async throws -> Approval {
        let approver = normalizedEmail(approver)
        let verb = approve ? "approve" : "reject"
        guard let approval = try await store.approvals(status: nil).first(where: { $0.id == id }) else {
            throw StoreError.approvalNotFound(id)
        }
        guard approval.status == .pending else {
            throw Refusal(description: "approval \(id) is \(approval.status.rawValue), not pending: nothing to \(verb)")
        }
        if !approve, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw Refusal(description: "a rejection needs a reason (--reason)")
        }
        let (decision, byCedar) = try await authorize(approver, approval)
        guard decision.allowed else {
            try await store.appendAudit(
                AuditEntry(
                    actor: approver, action: "approval.\(verb)", target: approval.ref.description, outcome: "denied",
                    detail: ["approval": id, "reason": decision.reason, "policies": decision.policies.joined(separator: ",")]))
            throw Refusal(description: decision.reason, denied: byCedar)
        }
        var detail = [
            "approval": id, "plan_digest": approval.planDigest ?? "", "policies": decision.policies.joined(separator: ","),
            "operation": approval.operation.rawValue,
        ]
        if let reason { detail["reason"] = reason }
        return try await store.decideApproval(
            id: id, status: approve ? .approved : .rejected, by: approver, reason: reason,
            audit: AuditEntry(
                actor: approver, action: "approval.\(verb)", target: approval.ref.description,
                outcome: approve ? "approved" : "rejected", detail: detail))
    }

    /// Cedar's `approve` for `approver` on the request, with its project as the store holds it;
    /// `byCedar` is false when the decision could not reach Cedar (no policy set, no project).
    private func authorize(_ approver: String, _ approval: Approval) async throws -> (outcome: GateOutcome, byCedar: Bool) {
        guard let policies else { return (.refused("no policy set is loaded, so no approval can be decided"), false) }
        if approval.ref.kind == .project {
            // A project proposal: the project is not in the store yet.
            let roles = try await store.gatewayConfiguration().people.first { $0.email == normalizedEmail(approver) }?.roles ?? []
            return (
                ApprovalPolicy.decideProposal(
                    approver: approver, roles: roles, project: approval.ref.id, requestedBy: approval.requestedBy, policies: policies), true
            )
        }
        guard case .project(let project)? = try await store.object(ObjectRef(.project, approval.project)) else {
            return (.refused("project \"\(approval.project)\" is not in the store"), false)
        }
        let service = try await store.object(approval.ref)?.provisionerName ?? ""
        return (
            ApprovalPolicy.decide(
                approver: approver, ref: approval.ref, project: project, requestedBy: approval.requestedBy,
                serviceName: service, policies: policies), true
        )
    }
}
