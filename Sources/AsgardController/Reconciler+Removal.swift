import AsgardCore
import Foundation

/// Removing a resource or serving endpoint that left desired state. A provisioned one is
/// destroyed first: the auto tier at once, the human tier through an approval of terraform's
/// destroy plan, bound to its digest like any other plan. A kill switch on its project (or the
/// global one) holds the destroy, whatever the tier, until it is released.
extension Reconciler {
    /// Removes an object; a provisioned one is destroyed first (removing its route, if any, with it).
    func remove(_ action: Action, in pass: Pass) async throws -> ActionOutcome {
        let provisioned =
            action.isProvisioning
            && ProvisioningRules.mustDestroy(
                observed: pass.observed.objects[action.ref], record: pass.records[action.ref],
                hasWorkspace: ((try? provisioner.state(of: action.ref)) ?? nil) != nil)
        guard provisioned else {
            let reason = action.isProvisioning ? "never provisioned, so nothing to destroy" : nil
            return try await commit(outcome(action, .removed, reason), [.remove(action.ref)])
        }
        let record = pass.records[action.ref] ?? ProvisioningRecord(ref: action.ref)
        if let until = record.backoff(at: clock()) { return deferred(action, record: record, until: until) }
        guard let stored = try await store.object(action.ref) else {
            // Gone since the round was planned (another pass removed it): nothing left to do.
            return outcome(action, .removed, "already removed")
        }
        if let stop = pass.gate.stopped(project: action.project) {
            // The approvals this removal already had stay named, so a rejection still stands after the release.
            let named = try await store.approvals(status: nil).filter { Self.belongs($0, to: action, in: pass) }.map(\.id)
            let reason =
                "destroy held: project \"\(action.project ?? "")\" is not active (kill switch: \(stop)); "
                + "it is destroyed once the switch is released" + (named.isEmpty ? "" : " (approvals: \(named.joined(separator: ", ")))")
            return try await settleRemoval(action, stored: stored, status: .refused, result: .refused, reason: reason, plan: nil, in: pass)
        }
        // What the store last applied, for a leader that lacks the workspace another one made.
        let lastApplied = try? pass.desired.provisioningRequest(for: stored)
        switch action.tier {
        case .auto:
            do {
                onEvent(.step(action, "destroy"))
                try await provisioner.destroy(action.ref, lastApplied: lastApplied)
            } catch {
                return try await fail(action, record: record, error: error, object: nil, gate: nil, plan: nil)
            }
            return try await commit(outcome(action, .removed), [.remove(action.ref)])
        case .human:
            return try await destroyThroughApproval(action, stored: stored, record: record, lastApplied: lastApplied, in: pass)
        }
    }

    /// The human tier's removal: plan the destroy, and apply that plan only once a project
    /// approver approved its exact digest; otherwise ask (once) and wait.
    private func destroyThroughApproval(
        _ action: Action, stored: DesiredObject, record: ProvisioningRecord, lastApplied: ProvisioningRequest?, in pass: Pass
    ) async throws -> ActionOutcome {
        let planned: ProvisioningPlan?
        do {
            onEvent(.step(action, "plan"))
            planned = try await provisioner.planDestroy(action.ref, lastApplied: lastApplied)
        } catch {
            return try await fail(action, record: record, error: error, object: nil, gate: nil, plan: nil)
        }
        let mine = try await store.approvals(status: nil).filter { $0.ref == action.ref && $0.operation == .destroy }
        guard let plan = planned, !plan.changesNothing else {
            // Nothing is left at the vendor to destroy (gone out of band): no approval is needed.
            for open in mine where open.isOpen {
                try await void(open, because: "the destroy plan changes nothing any more: \(action.ref) is gone at the vendor")
            }
            return try await destroyNow(action, record: record, plan: planned, approval: nil, lastApplied: lastApplied)
        }
        try await voidStale(mine, for: plan.digest, plan: "destroy plan", cause: "the vendor drifted")
        let current = mine.filter { $0.planDigest == plan.digest }
        if let approved = current.first(where: { $0.status == .approved }) {
            return try await destroyNow(action, record: record, plan: plan, approval: approved, lastApplied: lastApplied)
        }
        // A rejection stands for this removal; an object declared again and removed later asks anew.
        if let rejected = current.first(where: { $0.status == .rejected && Self.belongs($0, to: action, in: pass) }) {
            let reason =
                "approval \(rejected.id) of destroy plan \(plan.digest.prefix(12)) was rejected by \(rejected.decidedBy ?? "?")"
                + (rejected.reason.map { ": \($0)" } ?? "") + "; it stays until desired state declares it again"
            return try await settleRemoval(
                action, stored: stored, status: .refused, result: .refused, reason: reason, plan: plan.digest, in: pass)
        }
        let approval: Approval
        if let pending = current.first(where: { $0.status == .pending }) {
            approval = pending
        } else {
            approval = try await store.requestApproval(
                ApprovalRequest(
                    ref: action.ref, project: action.project ?? stored.projectID ?? "", actionDigest: action.digest,
                    planDigest: plan.digest, summary: plan.summary, operation: .destroy, changes: plan.changes,
                    estimate: pass.desired.estimate(of: stored), requestedBy: try await requester(of: stored, in: pass)))
        }
        let reason = "human tier: waiting for approval \(approval.id) of destroy plan \(plan.digest.prefix(12)) (\(plan.summary))"
        return try await settleRemoval(
            action, stored: stored, status: .awaitingApproval, result: .awaitingApproval, reason: reason, plan: plan.digest, in: pass)
    }

    /// Destroys now: the approved destroy plan, or (nothing left to destroy) the empty workspace;
    /// then the object leaves the store, and the approval is spent.
    private func destroyNow(
        _ action: Action, record: ProvisioningRecord, plan: ProvisioningPlan?, approval: Approval?, lastApplied: ProvisioningRequest?
    ) async throws -> ActionOutcome {
        do {
            onEvent(.step(action, "destroy"))
            if approval != nil, let plan {
                try await provisioner.applyDestroy(action.ref, planDigest: plan.digest)
            } else {
                try await provisioner.destroy(action.ref, lastApplied: lastApplied)
            }
        } catch {
            return try await fail(action, record: record, error: error, object: nil, gate: nil, plan: plan?.digest)
        }
        var changes: [ObjectChange] = [.remove(action.ref)]
        if let approval { changes.append(.approvalApplied(id: approval.id)) }
        let reason =
            approval.map { "destroyed by plan \(plan?.digest.prefix(12) ?? "?") approved by \($0.decidedBy ?? "?") (\($0.id))" }
            ?? "nothing was left at the vendor to destroy"
        return try await commit(outcome(action, .removed, reason, plan: plan?.digest), changes)
    }

    /// Whether a destroy approval is this removal's: the status the removal last recorded for
    /// the object names it (waiting for it, rejected by it, or held with it). Declaring the
    /// object again records another status, so a later removal starts afresh.
    static func belongs(_ approval: Approval, to action: Action, in pass: Pass) -> Bool {
        guard approval.ref == action.ref, approval.operation == .destroy, let reason = pass.observed.objects[action.ref]?.reason else {
            return false
        }
        return reason.contains(approval.id)
    }

    /// Records where a removal stands while the object stays (awaiting approval, rejected,
    /// held); an unchanged status and reason commit nothing, so waiting is not audited every pass.
    private func settleRemoval(
        _ action: Action, stored: DesiredObject, status: ObjectStatus, result: ActionOutcome.Result, reason: String, plan: String?,
        in pass: Pass
    ) async throws -> ActionOutcome {
        let done = outcome(action, result, reason, plan: plan)
        let seen = pass.observed.objects[action.ref]
        if seen?.status == status, seen?.reason == reason { return done }
        return try await commit(done, [.put(stored, tier: action.tier, status: status, reason: reason)])
    }

    /// Who asked for a removed object: its `requested_by`, else its project's owner (from
    /// desired state, or the store when the project is being removed too).
    private func requester(of stored: DesiredObject, in pass: Pass) async throws -> String {
        var known = pass.desired
        if let id = stored.projectID, known.projects[id] == nil, let project = try await store.object(ObjectRef(.project, id)) {
            known.insert(project)
        }
        return known.requester(of: stored)
    }
}
