public import AsgardCore
public import Foundation

/// One planned action as `reconcile --dry-run` shows it: for provisioning, the gate's
/// decision as of now and what a pass would run next. Computed without any effect.
public struct PreviewedAction: Sendable, Hashable, Codable {
    public var action: Action
    /// The gate's decision (registration, floor, Cedar); the tag check needs a plan, so it comes later.
    public var gate: GateOutcome?
    /// What a pass would do next, for people, e.g. `terraform plan, project tag check, then ask for an approval`.
    public var next: String?
}

public enum Preview {
    /// Annotates `actions` with the gate and the next step, from a read-only view of the store.
    public static func actions(
        _ actions: [Action], desired: DesiredState, observed: ObservedState, records: [ObjectRef: ProvisioningRecord],
        approvals: [Approval], gate: ProvisionGate, hasWorkspace: (ObjectRef) -> Bool, now: Date
    ) -> [PreviewedAction] {
        actions.map { action in
            if let waiting = ProvisioningRules.removalWaits(action, observed: observed) {
                return PreviewedAction(action: action, next: "deferred: \(waiting)")
            }
            guard action.isProvisioning else { return PreviewedAction(action: action) }
            let record = records[action.ref]
            if action.verb == .delete {
                let provisioned = ProvisioningRules.mustDestroy(
                    observed: observed.objects[action.ref], record: record,
                    hasWorkspace: hasWorkspace(action.ref))
                return PreviewedAction(
                    action: action, next: provisioned ? destroyStep(action, approvals: approvals, gate: gate) : "remove (never provisioned)")
            }
            guard let object = desired.object(action.ref) else { return PreviewedAction(action: action) }
            if ProvisioningRules.waitsOutBackoff(action, seen: observed.objects[action.ref]), let until = record?.backoff(at: now) {
                return PreviewedAction(action: action, next: "deferred: retrying after \(formatInstant(until))")
            }
            let outcome = gate.check(object, in: desired)
            guard outcome.allowed else { return PreviewedAction(action: action, gate: outcome, next: "refused: nothing runs") }
            let checked = "terraform plan, project tag check on the plan"
            switch action.tier {
            case .auto:
                return PreviewedAction(action: action, gate: outcome, next: "\(checked), apply")
            case .human:
                let open = approvals.filter { $0.ref == action.ref && $0.operation == .provision && $0.isOpen }
                let next =
                    if let approved = open.first(where: { $0.status == .approved }) {
                        "\(checked); apply it if its digest is \(approved.planDigest.map { String($0.prefix(12)) } ?? "?") (approval \(approved.id)), else ask again"
                    } else if let pending = open.first {
                        "\(checked); approval \(pending.id) is pending"
                    } else {
                        "\(checked), then ask a project approver to approve that plan"
                    }
                return PreviewedAction(action: action, gate: outcome, next: next)
            }
        }
    }

    /// What removing a provisioned object runs next: held by a kill switch, destroyed at once
    /// (auto tier), or its destroy plan approved first (human tier).
    private static func destroyStep(_ action: Action, approvals: [Approval], gate: ProvisionGate) -> String {
        if let stop = gate.stopped(project: action.project) { return "held: kill switch (\(stop)); nothing runs" }
        guard action.tier == .human else { return "terraform destroy, then remove" }
        let open = approvals.filter { $0.ref == action.ref && $0.operation == .destroy && $0.isOpen }
        let checked = "terraform plan -destroy"
        if let approved = open.first(where: { $0.status == .approved }) {
            return "\(checked); apply it if its digest is \(approved.planDigest.map { String($0.prefix(12)) } ?? "?") "
                + "(approval \(approved.id)), else ask again; then remove"
        }
        if let pending = open.first { return "\(checked); approval \(pending.id) is pending" }
        return "\(checked), then ask a project approver to approve that plan"
    }
}
