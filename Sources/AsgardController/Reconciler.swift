public import AsgardCore
public import AsgardStore
import Foundation

/// What one action came to in a reconcile pass.
public struct ActionOutcome: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Hashable, Codable {
        /// In effect now.
        case applied
        /// Removed from the store (and, for provisioned objects, nothing was left to destroy).
        case removed
        /// Recorded; an auto-tier provisioning action waiting for the provisioner.
        case pending
        /// Recorded; a human-tier provisioning action waiting for an approval.
        case awaitingApproval = "awaiting_approval"
        /// Could not be carried out; will be tried again on the next pass.
        case failed
    }

    public var action: Action
    public var result: Result
    /// Why, when the result is not `applied` or `removed`.
    public var reason: String?
    public var elapsedMilliseconds: Int
}

/// The report of one pass: validation problems, or what each planned action came to.
public struct ReconcileReport: Sendable, Codable {
    public var directory: String
    public var objects: Int
    public var files: Int
    public var diagnostics: [Diagnostic]
    public var outcomes: [ActionOutcome]

    public var isValid: Bool { diagnostics.isEmpty }
    /// Valid and no action failed.
    public var succeeded: Bool { isValid && !outcomes.contains { $0.result == .failed } }
}

/// One level-triggered reconcile pass: load and validate `desired/`, diff it against what
/// the store has recorded, and carry out each action through the store and the provisioner,
/// auditing every step. Running it twice changes nothing the second time.
public struct Reconciler<Store: AsgardStore, Provisioning: Provisioner>: Sendable {
    public var store: Store
    public var provisioner: Provisioning
    public var loader: DesiredStateLoader
    /// Who the audit log names as the actor.
    public var actor: String

    public init(store: Store, provisioner: Provisioning, loader: DesiredStateLoader = DesiredStateLoader(), actor: String = "reconciler") {
        self.store = store
        self.provisioner = provisioner
        self.loader = loader
        self.actor = actor
    }

    /// Runs one pass over the directory at `directory`.
    ///
    /// An invalid directory changes nothing but one audit entry (`validate.rejected`).
    /// - Throws: store errors; provisioning failures are reported per action instead.
    public func runOnce(directory: String) async throws -> ReconcileReport {
        try await runOnce(loaded: loader.load(directory: directory), directory: directory)
    }

    /// One pass over a directory already loaded (for callers that also need the loaded state).
    public func runOnce(loaded: LoadResult, directory: String) async throws -> ReconcileReport {
        var report = ReconcileReport(directory: directory, objects: loaded.state.count, files: loaded.files, diagnostics: loaded.diagnostics, outcomes: [])
        guard loaded.isValid else {
            try await store.appendAudit(AuditEntry(
                actor: actor, action: "validate.rejected", target: nil, outcome: "rejected",
                detail: ["directory": directory, "errors": String(loaded.diagnostics.count), "first_error": loaded.diagnostics[0].description]))
            return report
        }
        report.outcomes = try await apply(loaded.state)
        return report
    }

    /// Diffs a validated desired state against the store and carries out every action,
    /// in plan order, each committed with its audit entry before the next begins.
    public func apply(_ desired: DesiredState) async throws -> [ActionOutcome] {
        let observed = try await store.observedState()
        let byRef = Dictionary(desired.objects.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
        var outcomes: [ActionOutcome] = []
        for action in plan(desired: desired, observed: observed) {
            let started = ContinuousClock.now
            let (result, reason) = try await carryOut(action, object: byRef[action.ref], observed: observed.objects[action.ref], state: desired)
            let elapsed = Int((ContinuousClock.now - started) / .milliseconds(1))
            outcomes.append(ActionOutcome(action: action, result: result, reason: reason, elapsedMilliseconds: elapsed))
        }
        return outcomes
    }

    /// Marks every pending approval of `ref` void, recording why.
    private func voidPendingApprovals(of ref: ObjectRef, because reason: String) async throws {
        for approval in try await store.approvals(status: .pending) where approval.ref == ref {
            _ = try await store.decideApproval(id: approval.id, status: .void, by: actor, reason: reason)
        }
    }

    /// Carries out one action and commits it with its audit entry; returns what it came to.
    private func carryOut(_ action: Action, object: DesiredObject?, observed: ObservedObject?, state: DesiredState) async throws -> (ActionOutcome.Result, String?) {
        var detail = ["action_digest": action.digest, "tier": action.tier.rawValue]
        if let digest = action.specDigest { detail["spec_digest"] = digest }
        let audit = { (outcome: ActionOutcome.Result, reason: String?) in
            var details = detail
            if let reason { details["reason"] = reason }
            return AuditEntry(actor: actor, action: "reconcile.\(action.verb.rawValue)", target: action.ref.description,
                              outcome: outcome.rawValue, detail: details)
        }

        if action.isProvisioning, action.verb != .create {
            // An approval is for one exact change: a changed or removed object voids it.
            try await voidPendingApprovals(of: action.ref, because: "\(action.ref) was \(action.verb == .delete ? "removed from" : "changed in") desired state")
        }
        switch (action.verb, object) {
        case (.delete, _):
            guard action.isProvisioning, observed?.status == .applied else {
                let reason = action.isProvisioning ? "never provisioned, so nothing to destroy" : nil
                try await store.commit(.remove(action.ref), audit: audit(.removed, reason))
                return (.removed, reason)
            }
            do {
                try await provisioner.destroy(action.ref)
                try await store.commit(.remove(action.ref), audit: audit(.removed, nil))
                return (.removed, nil)
            } catch {
                let reason = "destroy did not run: \(error)"
                try await store.appendAudit(audit(.failed, reason))
                return (.failed, reason)
            }
        case (.create, let object?), (.update, let object?):
            guard action.isProvisioning else {
                try await store.commit(.put(object, tier: action.tier, status: .applied, reason: nil), audit: audit(.applied, nil))
                return (.applied, nil)
            }
            do {
                switch action.tier {
                case .auto:
                    let planned = try await provisioner.plan(state.provisioningRequest(for: object))
                    _ = try await provisioner.apply(state.provisioningRequest(for: object), planDigest: planned.digest)
                    try await store.commit(.put(object, tier: action.tier, status: .applied, reason: nil), audit: audit(.applied, nil))
                    return (.applied, nil)
                case .human:
                    // Nothing is applied before a person approves this exact plan.
                    let planned = try await provisioner.plan(state.provisioningRequest(for: object))
                    let approval = try await store.requestApproval(ApprovalRequest(
                        ref: action.ref, project: action.project ?? "", actionDigest: action.digest, planDigest: planned.digest,
                        summary: planned.summary, monthlyEstimate: state.monthlyEstimate(of: object), requestedBy: actor))
                    let reason = "human tier: approval \(approval.id) requested for plan \(planned.digest.prefix(12))"
                    try await store.commit(.put(object, tier: action.tier, status: .awaitingApproval, reason: reason), audit: audit(.awaitingApproval, reason))
                    return (.awaitingApproval, reason)
                }
            } catch let error as ProvisioningError {
                let (status, result, reason): (ObjectStatus, ActionOutcome.Result, String) = switch action.tier {
                case .auto: (.pending, .pending, "auto tier: \(error)")
                case .human: (.awaitingApproval, .awaitingApproval, "human tier: needs an approval bound to its terraform plan; \(error)")
                }
                try await store.commit(.put(object, tier: action.tier, status: status, reason: reason), audit: audit(result, reason))
                return (result, reason)
            } catch {
                let reason = "\(error)"
                try await store.commit(.put(object, tier: action.tier, status: .failed, reason: reason), audit: audit(.failed, reason))
                return (.failed, reason)
            }
        case (.create, nil), (.update, nil):
            // plan() only creates or updates objects it found in desired state.
            preconditionFailure("plan produced \(action) for an object not in desired state")
        }
    }
}

extension DesiredState {
    /// What the connector needs to plan `object` (a resource or serving endpoint).
    func provisioningRequest(for object: DesiredObject) throws -> ProvisioningRequest {
        guard let service = provisionableService(of: object) else {
            throw ProvisioningError.connectorNotAvailable(reason: "\(object.ref) names no registered provisionable service")
        }
        let vendor = provisionable[service.name].flatMap { services[$0.vendor] }
        let names = Set([vendor?.inference?.baseURLEnv, vendor?.inference?.tokenEnv].compactMap { $0 } + (vendor?.costSource?.env.values.map { $0 } ?? []))
        switch object {
        case .resource(let r):
            return ProvisioningRequest(ref: object.ref, project: r.project, name: r.id, service: service, parameters: r.parameters,
                                       environmentNames: names.sorted())
        case .servingEndpoint(let e):
            return ProvisioningRequest(ref: object.ref, project: e.project, name: e.id, service: service, parameters: e.parameters,
                                       environmentNames: names.sorted())
        case .service, .project, .key:
            throw ProvisioningError.connectorNotAvailable(reason: "\(object.ref) is not provisioned")
        }
    }
}
