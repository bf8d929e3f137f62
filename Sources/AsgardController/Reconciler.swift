public import AsgardCore
import AsgardJSON
public import AsgardPolicy
public import Foundation

/// What one action came to in a reconcile pass.
public struct ActionOutcome: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Hashable, Codable {
        /// In effect now.
        case applied
        /// Removed from the store (and destroyed at the vendor when it had been provisioned).
        case removed
        /// Recorded; provisioning could not start (no terraform connector), tried again later.
        case pending
        /// Recorded; a human-tier provisioning action waiting for an approval of its plan.
        case awaitingApproval = "awaiting_approval"
        /// Could not be carried out; tried again on a later pass, after a backoff.
        case failed
        /// The gate refused it, or its plan's approval was rejected; re-checked every pass.
        case refused
        /// Not tried in this pass: the backoff after an earlier failure has not run out.
        case deferred
    }

    public var action: Action
    public var result: Result
    /// Why, when the result is not plainly `applied` or `removed`.
    public var reason: String?
    /// The gate's decision, for provisioning actions that reached it.
    public var gate: GateOutcome?
    /// The digest of the terraform plan acted on, if one was made.
    public var planDigest: String?
    public var elapsedMilliseconds: Int

    public init(
        action: Action, result: Result, reason: String? = nil, gate: GateOutcome? = nil, planDigest: String? = nil,
        elapsedMilliseconds: Int = 0
    ) {
        self.action = action
        self.result = result
        self.reason = reason
        self.gate = gate
        self.planDigest = planDigest
        self.elapsedMilliseconds = elapsedMilliseconds
    }
}

/// The report of one pass: validation problems, or what each planned action came to.
public struct ReconcileReport: Sendable, Codable {
    public var directory: String
    public var objects: Int
    public var files: Int
    public var diagnostics: [Diagnostic]
    public var outcomes: [ActionOutcome]
    /// What observation could not find out (a vendor not reachable, say); never guessed.
    public var notes: [String] = []

    public init(directory: String, objects: Int, files: Int, diagnostics: [Diagnostic], outcomes: [ActionOutcome], notes: [String] = []) {
        self.directory = directory
        self.objects = objects
        self.files = files
        self.diagnostics = diagnostics
        self.outcomes = outcomes
        self.notes = notes
    }

    public var isValid: Bool { diagnostics.isEmpty }
    /// Valid and no action failed.
    public var succeeded: Bool { isValid && !outcomes.contains { $0.result == .failed } }
}

/// Progress of a pass as it happens, for `reconcile` to print.
public enum ReconcileEvent: Sendable {
    case started(Action)
    case gate(Action, GateOutcome)
    /// A terraform step began: `plan`, `apply` or `destroy`.
    case step(Action, String)
    case finished(ActionOutcome)
    /// Something went wrong outside any action's outcome (withdrawing a route), for logs.
    case problem(String)
}

/// How long to wait before trying a failed provisioning action again.
public struct Backoff: Sendable, Hashable {
    public var first: Duration
    public var maximum: Duration

    public init(first: Duration = .seconds(30), maximum: Duration = .seconds(3600)) {
        self.first = first
        self.maximum = maximum
    }

    /// The wait after `failures` consecutive failures: first, doubling, capped.
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = first
        for _ in 1..<max(1, min(failures, 30)) where delay < maximum { delay *= 2 }
        return min(delay, maximum)
    }
}

/// One level-triggered reconcile pass: load and validate `desired/`, diff it against what the
/// store has recorded (plus drift the observers found), and carry out each action, auditing
/// every step. Provisioning goes through the gate, terraform's plan, the project tag check on
/// that plan and the approval tier; what is applied is exactly the plan that was checked (and,
/// for the human tier, approved). Running it twice changes nothing the second time.
public struct Reconciler: Sendable {
    public var store: any Store
    public var provisioner: any Provisioner
    public var loader: DesiredStateLoader
    /// The enforced policies for the gate; nil refuses all provisioning (fail closed).
    public var policies: PolicyEngine?
    /// Ask vendors what really exists, for drift, by the names manifests give.
    public var observers: VendorObservers
    public var backoff: Backoff
    /// Who the audit log names as the actor.
    public var actor: String
    public var clock: @Sendable () -> Date
    public var onEvent: @Sendable (ReconcileEvent) -> Void

    public init(
        store: any Store, provisioner: any Provisioner, loader: DesiredStateLoader = DesiredStateLoader(), policies: PolicyEngine? = nil,
        observers: VendorObservers = VendorObservers(), backoff: Backoff = Backoff(), actor: String = "reconciler",
        clock: @escaping @Sendable () -> Date = Date.init, onEvent: @escaping @Sendable (ReconcileEvent) -> Void = { _ in }
    ) {
        self.store = store
        self.provisioner = provisioner
        self.loader = loader
        self.policies = policies
        self.observers = observers
        self.backoff = backoff
        self.actor = actor
        self.clock = clock
        self.onEvent = onEvent
    }

    /// Runs one pass over the directory at `directory`.
    ///
    /// An invalid directory changes nothing but one audit entry (`validate.rejected`).
    /// - Throws: store errors reading what the pass plans against; an action's own failure,
    ///   a store error included, is reported as that action's outcome instead.
    public func runOnce(directory: String) async throws -> ReconcileReport {
        try await runOnce(loaded: loader.load(directory: directory), directory: directory)
    }

    /// One pass over a directory already loaded (for callers that also need the loaded state):
    /// the configuration path, then every provisioning action to completion, at most
    /// `concurrency` at once. Outcomes are reported in plan order.
    public func runOnce(loaded: LoadResult, directory: String, concurrency: Int = ProvisioningWorkers.defaultLimit) async throws -> ReconcileReport {
        var report = ReconcileReport(
            directory: directory, objects: loaded.state.count, files: loaded.files, diagnostics: loaded.diagnostics, outcomes: [])
        guard loaded.isValid else {
            try await rejected(loaded, directory: directory)
            return report
        }
        (report.outcomes, report.notes) = try await apply(loaded.state, concurrency: concurrency)
        return report
    }

    /// Diffs a validated desired state against the store and the observers and carries out
    /// every action: the configuration path, then the provisioning actions to completion, at
    /// most `concurrency` at once, each committed with its audit entry.
    /// - Returns: the outcomes in plan order, and what observation could not find out.
    public func apply(_ desired: DesiredState, concurrency: Int = ProvisioningWorkers.defaultLimit) async throws -> (
        outcomes: [ActionOutcome], notes: [String]
    ) {
        var configured = try await configure(desired)
        let round = try await provisioningRound(desired)
        let provisioned = await ProvisioningWorkers.runToCompletion(round.actions, limit: concurrency) { action in
            await carryOut(action, in: round)
        }
        // A project whose removal waited for its resources and endpoints goes now if they are gone.
        let waited = Set(configured.filter { $0.result == .deferred && $0.action.ref.kind == .project }.map(\.action.ref))
        if !waited.isEmpty {
            let late = try await configure(desired, only: waited)
            configured = configured.filter { !waited.contains($0.action.ref) } + late
        }
        return ((configured + provisioned).sorted { Action.inPlanOrder($0.action, $1.action) }, round.notes)
    }

    /// Records that `loaded` was refused: one `validate.rejected` audit entry naming the first error.
    public func rejected(_ loaded: LoadResult, directory: String) async throws {
        try await store.appendAudit(
            AuditEntry(
                actor: actor, action: "validate.rejected", target: nil, outcome: "rejected",
                detail: ["directory": directory, "errors": String(loaded.diagnostics.count), "first_error": loaded.diagnostics[0].description]))
    }

    // MARK: The configuration path

    /// The configuration path: services, projects and keys (what the gateway serves) are
    /// committed to the store, each with its audit entry, and every serving endpoint removed
    /// from desired state has its route withdrawn at once, before terraform destroys it. A
    /// removed project stays (`deferred`) while the store holds resources or serving endpoints
    /// of it: their destroy needs its approvers and obeys its kill switch. Fast: no terraform,
    /// no vendor call, so it never waits on provisioning.
    ///
    /// - Returns: the outcome of each configuration action, in plan order; a store error on one
    ///   is that action's `failed` outcome (the next pass tries it again), never the pass's.
    /// - Throws: store errors reading the observed state.
    public func configure(_ desired: DesiredState) async throws -> [ActionOutcome] {
        try await configure(desired, only: nil)
    }

    /// `configure(_:)`, limited to the actions on `refs` when given.
    func configure(_ desired: DesiredState, only refs: Set<ObjectRef>?) async throws -> [ActionOutcome] {
        let observed = try await store.observedState()
        var outcomes: [ActionOutcome] = []
        for action in plan(desired: desired, observed: observed) where refs?.contains(action.ref) ?? true {
            if let waiting = ProvisioningRules.removalWaits(action, observed: observed) {
                outcomes.append(await timed(action) { outcome(action, .deferred, waiting) })
            } else if !action.isProvisioning {
                outcomes.append(await timed(action) { try await configureOne(action, desired: desired) })
            } else if action.verb == .delete, action.ref.kind == .servingEndpoint, observed.objects[action.ref]?.status == .applied {
                await withdrawRoute(of: action)
            }
        }
        return outcomes
    }

    /// Carries out one configuration action and commits it with its audit entry.
    private func configureOne(_ action: Action, desired: DesiredState) async throws -> ActionOutcome {
        if action.verb == .delete { return try await commit(outcome(action, .removed), [.remove(action.ref)]) }
        guard let object = desired.object(action.ref) else {
            preconditionFailure("plan produced \(action) for an object not in desired state")
        }
        return try await commit(outcome(action, .applied), [.put(object, tier: action.tier, status: .applied, reason: nil)])
    }

    /// Takes a removed serving endpoint's route out of the gateway at once: its status becomes
    /// `pending` (a route exists only while applied) until the provisioning path destroys it.
    /// A failure is reported as a `problem` event, and the next pass tries again.
    private func withdrawRoute(of action: Action) async {
        let reason = "removed from desired state: its route is withdrawn, and terraform destroys it next"
        do {
            guard let stored = try await store.object(action.ref) else { return }
            try await store.commit(
                [.put(stored, tier: action.tier, status: .pending, reason: reason)],
                audit: AuditEntry(
                    actor: actor, action: "route.withdraw", target: action.ref.description, outcome: "withdrawn", detail: ["reason": reason]))
        } catch {
            onEvent(.problem("withdrawing the route of \(action.ref) failed: \(error)"))
        }
    }

    // MARK: The provisioning path

    /// What one provisioning round found: its actions, in plan order, and what observation
    /// could not find out. Each action is carried out by `carryOut(_:in:)`, on its own.
    public struct ProvisioningRound: Sendable {
        public var actions: [Action]
        public var notes: [String]
        var pass: Pass

        /// What observation found each drifted object to be, by ref.
        public var drift: [ObjectRef: String] { pass.observed.objects.compactMapValues(\.drift) }
    }

    /// Plans the provisioning path: resources and serving endpoints diffed against the store,
    /// terraform state and the vendors (drift). Runs no terraform.
    /// - Throws: store errors reading what the round plans against.
    public func provisioningRound(_ desired: DesiredState) async throws -> ProvisioningRound {
        let records = try await store.provisioningRecords()
        let (observed, notes) = await DriftObserver(provisioner: provisioner, observers: observers)
            .observe(try await store.observedState(), records: records, desired: desired)
        let pass = Pass(
            desired: desired, observed: observed, records: records, gate: try await gate(),
            approvals: try await store.approvals(status: nil))
        return ProvisioningRound(actions: plan(desired: desired, observed: observed).filter(\.isProvisioning), notes: notes, pass: pass)
    }

    /// Carries out one provisioning action of `round` (gate, plan, tag check, tier, apply or
    /// destroy), committing each step with its audit entry. Never throws: a store error is the
    /// action's `failed` outcome, and its backoff (when it could be recorded) spaces the retries.
    public func carryOut(_ action: Action, in round: ProvisioningRound) async -> ActionOutcome {
        await timed(action) { try await carryOut(action, in: round.pass) }
    }

    /// Runs `body` for `action` with its events and elapsed time; an error it throws (the store
    /// refused a commit) becomes the action's `failed` outcome.
    private func timed(_ action: Action, _ body: () async throws -> ActionOutcome) async -> ActionOutcome {
        let started = ContinuousClock.now
        onEvent(.started(action))
        var result: ActionOutcome
        do {
            result = try await body()
        } catch {
            result = outcome(action, .failed, "the store refused it: \(error); tried again on the next pass")
        }
        result.elapsedMilliseconds = Int((ContinuousClock.now - started) / .milliseconds(1))
        onEvent(.finished(result))
        return result
    }

    /// The gate as of now: policies and the engaged kill switches.
    private func gate() async throws -> ProvisionGate {
        ProvisionGate(policies: policies, killSwitches: try await store.killSwitches())
    }

    /// What one pass knows before it acts.
    struct Pass: Sendable {
        var desired: DesiredState
        var observed: ObservedState
        var records: [ObjectRef: ProvisioningRecord]
        var gate: ProvisionGate
        var approvals: [Approval]
    }

    /// An outcome under construction.
    func outcome(
        _ action: Action, _ result: ActionOutcome.Result, _ reason: String? = nil, gate: GateOutcome? = nil,
        plan: String? = nil
    ) -> ActionOutcome {
        ActionOutcome(action: action, result: result, reason: reason, gate: gate, planDigest: plan, elapsedMilliseconds: 0)
    }

    /// The audit entry of an action's outcome.
    private func audit(_ outcome: ActionOutcome) -> AuditEntry {
        let action = outcome.action
        var detail = ["action_digest": action.digest, "tier": action.tier.rawValue]
        if let digest = action.specDigest { detail["spec_digest"] = digest }
        if let note = action.note { detail["note"] = note }
        if let reason = outcome.reason { detail["reason"] = reason }
        if let gate = outcome.gate {
            detail["gate"] = gate.verdict
            if !gate.policies.isEmpty { detail["policies"] = gate.policies.joined(separator: ",") }
        }
        if let plan = outcome.planDigest { detail["plan_digest"] = plan }
        return AuditEntry(
            actor: actor, action: "reconcile.\(action.verb.rawValue)", target: action.ref.description,
            outcome: outcome.result.rawValue, detail: detail)
    }

    /// Commits `changes` with the audit entry of `outcome` and returns the outcome.
    func commit(_ outcome: ActionOutcome, _ changes: [ObjectChange]) async throws -> ActionOutcome {
        try await store.commit(changes, audit: audit(outcome))
        return outcome
    }

    /// Voids every open approval in `approvals` that is for another plan than `digest`: an
    /// approval is for one exact plan. `plan` names it in the reason, `cause` says why it changed.
    func voidStale(_ approvals: [Approval], for digest: String, plan: String, cause: String) async throws {
        for stale in approvals where stale.isOpen && stale.planDigest != digest {
            let why =
                "the \(plan) changed since it was \(stale.status == .approved ? "approved" : "requested"): "
                + "\(stale.planDigest.map { String($0.prefix(12)) } ?? "none") → \(digest.prefix(12)) (\(cause))"
            try await void(stale, because: why, detail: ["plan_digest": digest])
        }
    }

    /// Voids an open approval whose change no longer stands, audited as `approval.void` on its
    /// object with the approval, the reason and any `extra` detail.
    func void(_ approval: Approval, because why: String, detail extra: [String: String] = [:]) async throws {
        _ = try await store.decideApproval(
            id: approval.id, status: .void, by: actor, reason: why,
            audit: AuditEntry(
                actor: actor, action: "approval.void", target: approval.ref.description, outcome: "void",
                detail: ["approval": approval.id, "reason": why].merging(extra) { _, given in given }))
    }

    /// Carries out one action and commits it with its audit entry; returns what it came to.
    private func carryOut(_ action: Action, in pass: Pass) async throws -> ActionOutcome {
        let object = pass.desired.object(action.ref)
        if action.isProvisioning, action.verb == .update || action.verb == .delete {
            // An approval is for one exact change: a changed object voids it, and a removed one
            // voids every request to provision it (its destroy is approved on its own).
            let why = "\(action.ref) was \(action.verb == .delete ? "removed from" : "changed in") desired state"
            for approval in pass.approvals where approval.ref == action.ref && approval.isOpen {
                guard action.verb == .update || approval.operation == .provision else { continue }
                try await void(approval, because: why)
            }
        }
        switch (action.verb, object) {
        case (.delete, _):
            return try await remove(action, in: pass)
        case (_, let object?) where action.isProvisioning:
            return try await provision(action, object: object, in: pass)
        case (_, let object?):
            return try await commit(outcome(action, .applied), [.put(object, tier: action.tier, status: .applied, reason: nil)])
        case (_, nil):
            // plan() only creates, updates or converges objects it found in desired state.
            preconditionFailure("plan produced \(action) for an object not in desired state")
        }
    }

    /// Not tried in this pass: the backoff after the last failure runs until `until`.
    func deferred(_ action: Action, record: ProvisioningRecord, until: Date) -> ActionOutcome {
        outcome(action, .deferred, "retrying after \(formatInstant(until)) (\(record.failures) failed attempt\(record.failures == 1 ? "" : "s"))")
    }

    /// Records a failed provisioning step with its backoff.
    func fail(
        _ action: Action, record: ProvisioningRecord, error: any Error, object: DesiredObject?, gate: GateOutcome?,
        plan: String?
    ) async throws -> ActionOutcome {
        // Cancelled (the server is shutting down): not the object's failure, so no backoff. An
        // apply in flight stays recorded as such, and the next pass recovers it like a crash.
        if Task.isCancelled {
            return outcome(action, .deferred, "interrupted by shutdown: \(error)", gate: gate, plan: plan)
        }
        var record = record
        record.failures += 1
        record.applying = nil
        let wait = backoff.delay(afterFailures: record.failures)
        record.retryAfter = clock().addingTimeInterval(Double(wait.components.seconds))
        // Without a connector the work waits as pending; anything else is a failure.
        let unavailable = if case .connectorNotAvailable? = error as? ProvisioningError { true } else { false }
        let reason = "\(error) (attempt \(record.failures); next try after \(formatInstant(record.retryAfter ?? clock())))"
        let result: ActionOutcome.Result = unavailable ? .pending : .failed
        var changes: [ObjectChange] = [.record(record)]
        if let object { changes.insert(.put(object, tier: action.tier, status: unavailable ? .pending : .failed, reason: reason), at: 0) }
        let cause = "\(error)"
        do {
            return try await commit(outcome(action, result, reason, gate: gate, plan: plan), changes)
        } catch {
            // The failure stands whether or not the store took it; without the record there is
            // no backoff, and the next round tries again.
            return outcome(action, .failed, "\(cause) (the store refused to record this failure: \(error))", gate: gate, plan: plan)
        }
    }

    /// Gate, plan, tag check, tier: provisions one resource or serving endpoint.
    private func provision(_ action: Action, object: DesiredObject, in pass: Pass) async throws -> ActionOutcome {
        let ref = action.ref
        let record = pass.records[ref] ?? ProvisioningRecord(ref: ref)
        let seen = pass.observed.objects[ref]
        if ProvisioningRules.waitsOutBackoff(action, seen: seen), let until = record.backoff(at: clock()) {
            return deferred(action, record: record, until: until)
        }
        let gate = pass.gate.check(object, in: pass.desired)
        onEvent(.gate(action, gate))
        guard gate.allowed else {
            return try await settle(
                action, object: object, status: .refused, result: .refused, reason: gate.reason, gate: gate, plan: nil,
                record: record, seen: seen)
        }
        guard let service = pass.desired.provisionableService(of: object) else {
            preconditionFailure("the gate allowed \(ref) without a registered service")
        }
        var request = try pass.desired.provisioningRequest(for: object)
        if seen?.drift != nil {
            request.replaceTypes = Set(service.tagLocations.filter { $0.format != .inherited }.map(\.resourceType))
        }
        let planned: ProvisioningPlan
        do {
            onEvent(.step(action, "plan"))
            planned = try await provisioner.plan(request)
        } catch {
            return try await fail(action, record: record, error: error, object: object, gate: gate, plan: nil)
        }
        let violations = ProjectTagCheck.violations(of: planned, locations: service.tagLocations, project: request.project)
        guard violations.isEmpty else {
            let reason = "project tag check: " + violations.joined(separator: "; ")
            return try await settle(
                action, object: object, status: .refused, result: .refused, reason: reason,
                gate: GateOutcome(allowed: false, reason: reason, policies: gate.policies), plan: planned.digest,
                record: record, seen: seen)
        }
        if planned.changesNothing {
            // Already as desired: an apply that finished before the process died, or an adoption.
            var done = record
            done.failures = 0
            done.retryAfter = nil
            done.appliedPlan = record.applying ?? record.appliedPlan ?? planned.digest
            done.applying = nil
            var changes: [ObjectChange] = [.put(object, tier: action.tier, status: .applied, reason: nil), .record(done)]
            if let id = record.approval, pass.approvals.contains(where: { $0.id == id && $0.status == .approved }) {
                changes.append(.approvalApplied(id: id))
            }
            // Nothing is left to approve: open requests for this object are void.
            for open in try await store.approvals(status: nil) where open.ref == ref && open.id != record.approval && open.isOpen {
                try await void(open, because: "the plan changes nothing any more: \(ref) is already as desired")
            }
            let reason = record.applying != nil ? "the interrupted apply had completed: the plan now changes nothing" : "the plan changes nothing"
            return try await commit(outcome(action, .applied, reason, gate: gate, plan: planned.digest), changes)
        }
        switch action.tier {
        case .auto:
            return try await applyPlan(action, object: object, request: request, plan: planned, approval: nil, record: record, gate: gate)
        case .human:
            return try await throughApproval(action, object: object, request: request, plan: planned, record: record, gate: gate, in: pass)
        }
    }

    /// The human tier: apply the plan if this exact digest is approved, otherwise ask (once).
    private func throughApproval(
        _ action: Action, object: DesiredObject, request: ProvisioningRequest, plan: ProvisioningPlan,
        record: ProvisioningRecord, gate: GateOutcome, in pass: Pass
    ) async throws -> ActionOutcome {
        // Read afresh: this pass may have voided some already (a changed object).
        let all = try await store.approvals(status: nil).filter { $0.ref == action.ref }
        // Back in desired state: a destroy waiting for its approval is not wanted any more.
        for destroy in all where destroy.isOpen && destroy.operation == .destroy {
            try await void(destroy, because: "\(action.ref) is in desired state again, so it is not destroyed")
        }
        let mine = all.filter { $0.operation == .provision }
        try await voidStale(mine, for: plan.digest, plan: "plan", cause: "desired state changed or the vendor drifted")
        let current = mine.filter { $0.planDigest == plan.digest }
        if let approved = current.first(where: { $0.status == .approved }) {
            return try await applyPlan(action, object: object, request: request, plan: plan, approval: approved, record: record, gate: gate)
        }
        if let rejected = current.first(where: { $0.status == .rejected }) {
            let reason =
                "approval \(rejected.id) of plan \(plan.digest.prefix(12)) was rejected by \(rejected.decidedBy ?? "?")"
                + (rejected.reason.map { ": \($0)" } ?? "") + "; change desired state to ask again"
            return try await settle(
                action, object: object, status: .refused, result: .refused, reason: reason, gate: gate, plan: plan.digest,
                record: record, seen: pass.observed.objects[action.ref])
        }
        let approval: Approval
        if let pending = current.first(where: { $0.status == .pending }) {
            approval = pending
        } else {
            approval = try await store.requestApproval(
                ApprovalRequest(
                    ref: action.ref, project: request.project, actionDigest: action.digest, planDigest: plan.digest, summary: plan.summary,
                    operation: .provision, changes: plan.changes, estimate: pass.desired.estimate(of: object),
                    requestedBy: pass.desired.requester(of: object)))
        }
        let reason = "human tier: waiting for approval \(approval.id) of plan \(plan.digest.prefix(12)) (\(plan.summary))"
        return try await settle(
            action, object: object, status: .awaitingApproval, result: .awaitingApproval, reason: reason, gate: gate,
            plan: plan.digest, record: record, seen: pass.observed.objects[action.ref])
    }

    /// Applies the checked (and approved) plan: the intent is committed first, so a process
    /// that dies mid-apply is recognised on the next pass and never applies an approval twice.
    private func applyPlan(
        _ action: Action, object: DesiredObject, request: ProvisioningRequest, plan: ProvisioningPlan,
        approval: Approval?, record: ProvisioningRecord, gate: GateOutcome
    ) async throws -> ActionOutcome {
        var record = record
        record.applying = plan.digest
        record.approval = approval?.id ?? record.approval
        var detail = ["plan_digest": plan.digest, "summary": plan.summary]
        if let approval { detail["approval"] = approval.id }
        try await store.commit(
            [.record(record)],
            audit: AuditEntry(
                actor: actor, action: "provision.apply", target: action.ref.description, outcome: "started", detail: detail))
        let outputs: ProvisioningOutputs
        do {
            onEvent(.step(action, "apply"))
            outputs = try await provisioner.apply(request, planDigest: plan.digest)
        } catch {
            return try await fail(action, record: record, error: error, object: object, gate: gate, plan: plan.digest)
        }
        record.failures = 0
        record.retryAfter = nil
        record.appliedPlan = plan.digest
        record.applying = nil
        record.outputsJSON = outputs.jsonText
        var changes: [ObjectChange] = [.put(object, tier: action.tier, status: .applied, reason: nil), .record(record)]
        if let approval { changes.append(.approvalApplied(id: approval.id)) }
        let reason = approval.map { "applied plan \(plan.digest.prefix(12)) approved by \($0.decidedBy ?? "?") (\($0.id))" }
        return try await commit(outcome(action, .applied, reason, gate: gate, plan: plan.digest), changes)
    }

    /// Records a status that needs no terraform step; unchanged status and reason commit
    /// nothing (a request waiting for its approval is not audited again every pass).
    private func settle(
        _ action: Action, object: DesiredObject, status: ObjectStatus, result: ActionOutcome.Result, reason: String,
        gate: GateOutcome, plan: String?, record: ProvisioningRecord, seen: ObservedObject?
    ) async throws -> ActionOutcome {
        let done = outcome(action, result, reason, gate: gate, plan: plan)
        if action.verb == .converge, seen?.drift == nil, seen?.status == status, seen?.reason == reason { return done }
        var record = record
        record.applying = nil
        return try await commit(done, [.put(object, tier: action.tier, status: status, reason: reason), .record(record)])
    }
}

extension ProvisioningOutputs {
    /// The outputs as one JSON object, keys sorted.
    var jsonText: String {
        JSONValue.object(values.sorted { $0.key < $1.key }.map { JSONMember(key: $0.key, value: $0.value) }).jsonText
    }
}

extension DesiredState {
    /// What the connector needs to plan `object` (a resource or serving endpoint).
    public func provisioningRequest(for object: DesiredObject) throws -> ProvisioningRequest {
        guard let entry = provisionable[provisionableService(of: object)?.name ?? ""] else {
            throw ProvisioningError.notProvisionable(reason: "\(object.ref) names no registered provisionable service")
        }
        let vendor = services[entry.vendor]
        var names = Set(vendor?.costSource?.env.values.map { $0 } ?? [])
        if let inference = vendor?.inference { names.formUnion([inference.baseURLEnv, inference.tokenEnv]) }
        switch object {
        case .resource(let r):
            return ProvisioningRequest(
                ref: object.ref, project: r.project, name: r.id, service: entry.service, parameters: r.parameters,
                environmentNames: names.sorted())
        case .servingEndpoint(let e):
            return ProvisioningRequest(
                ref: object.ref, project: e.project, name: e.id, service: entry.service, parameters: e.parameters,
                environmentNames: names.sorted())
        case .service, .person, .project, .key:
            throw ProvisioningError.notProvisionable(reason: "\(object.ref) is not a resource or serving endpoint")
        }
    }
}

/// The rules a pass follows and a dry run previews, in one place.
enum ProvisioningRules {
    /// Whether removing a provisioned object must destroy something first: it was applied (its
    /// status says so, or its record has an applied plan: a withdrawn endpoint's status is
    /// `pending`), a workspace exists, or an apply was in flight when a process died.
    static func mustDestroy(observed: ObservedObject?, record: ProvisioningRecord?, hasWorkspace: Bool) -> Bool {
        observed?.status == .applied || hasWorkspace || record?.applying != nil || record?.appliedPlan != nil
    }

    /// Why removing a project waits, if it does: the store still holds resources or serving
    /// endpoints of it, whose destroy needs its approvers and obeys its kill switch. Nil for
    /// every other action.
    static func removalWaits(_ action: Action, observed: ObservedState) -> String? {
        guard action.verb == .delete, action.ref.kind == .project else { return nil }
        let left = observed.objects.values.filter { $0.ref.kind.isProvisioned && $0.project == action.ref.id }.map(\.ref).sorted()
        guard !left.isEmpty else { return nil }
        return "waits until its resources and serving endpoints are removed (\(left.map(\.description).joined(separator: ", "))): "
            + "their destroy needs its approvers"
    }

    /// Whether an action waits out the backoff of an earlier failure: a retry does, while drift
    /// is repaired at once and a changed object is planned afresh.
    static func waitsOutBackoff(_ action: Action, seen: ObservedObject?) -> Bool {
        action.verb == .converge && seen?.drift == nil
    }
}

extension ProvisioningRecord {
    /// The end of the backoff after the last failure, while it still runs at `now`.
    func backoff(at now: Date) -> Date? {
        retryAfter.flatMap { now < $0 ? $0 : nil }
    }
}
