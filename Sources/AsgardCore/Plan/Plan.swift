/// Where an object stands after the controller last acted on it.
public enum ObjectStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// In effect: in the store, the route table, the vendor.
    case applied
    /// An auto-tier provisioning action recorded but not yet carried out.
    case pending
    /// A human-tier provisioning action waiting for an approval.
    case awaitingApproval = "awaiting_approval"
    /// The last attempt failed; the reason is recorded beside it. Retried with backoff.
    case failed
    /// The gate refused it (registration, classification floor, Cedar, the project tag on
    /// the plan) or its approval was rejected; the reason is recorded beside it. The gate is
    /// checked again on every pass.
    case refused
}

/// What the controller knows of one object: the content it acted on and how that went.
public struct ObservedObject: Sendable, Hashable, Codable {
    public var ref: ObjectRef
    /// `DesiredObject.specDigest` of the content last acted on.
    public var specDigest: String
    public var tier: Tier
    public var status: ObjectStatus
    public var project: String?
    /// Why the vendor no longer matches what was applied, when an observer found out (a
    /// serving endpoint deleted or re-tagged out of band, a terraform state gone). Not stored.
    public var drift: String?
    /// Why the status is what it is (the recorded reason), when not applied.
    public var reason: String?

    public init(ref: ObjectRef, specDigest: String, tier: Tier, status: ObjectStatus, project: String?, reason: String? = nil, drift: String? = nil) {
        self.drift = drift
        self.reason = reason
        self.ref = ref
        self.specDigest = specDigest
        self.tier = tier
        self.status = status
        self.project = project
    }
}

/// Observed state: everything the controller has acted on, by reference.
public struct ObservedState: Sendable, Hashable {
    public var objects: [ObjectRef: ObservedObject]

    public init(objects: [ObjectRef: ObservedObject] = [:]) { self.objects = objects }

    public init(_ list: [ObservedObject]) {
        self.objects = Dictionary(list.map { ($0.ref, $0) }, uniquingKeysWith: { _, last in last })
    }
}

/// One step that brings observed state to desired state.
public struct Action: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Verb: String, Sendable, Hashable, Codable, CaseIterable {
        case create
        case update
        case delete
        /// Bring a provisioned object whose content did not change to its desired state: it
        /// is not applied yet (pending, awaiting approval, failed, refused) or it drifted.
        case converge
    }

    public var verb: Verb
    public var ref: ObjectRef
    public var tier: Tier
    public var project: String?
    /// The desired content's digest (nil for deletes).
    public var specDigest: String?
    /// The digest of what was observed before (nil for creates).
    public var observedDigest: String?
    /// SHA-256 over verb, object, tier and both digests: names this exact action.
    public var digest: String
    /// Why a `converge` is needed, for people (not part of the digest).
    public var note: String?

    public init(verb: Verb, ref: ObjectRef, tier: Tier, project: String?, specDigest: String?, observedDigest: String?, note: String? = nil) {
        self.note = note
        self.verb = verb
        self.ref = ref
        self.tier = tier
        self.project = project
        self.specDigest = specDigest
        self.observedDigest = observedDigest
        self.digest = SHA256.hex(
            [verb.rawValue, ref.kind.rawValue, ref.id, tier.rawValue, specDigest ?? "-", observedDigest ?? "-"].joined(separator: "\n"))
    }

    /// Whether applying it means running terraform (resources and serving endpoints).
    public var isProvisioning: Bool { ref.kind.isProvisioned }

    public var description: String { "\(verb.rawValue) \(ref) [\(tier.rawValue)]" + (note.map { " (\($0))" } ?? "") }

    /// The order `plan(desired:observed:)` returns actions in: creates, updates and converges by
    /// reference (dependency order, then id), then deletes in reverse.
    public static func inPlanOrder(_ a: Action, _ b: Action) -> Bool {
        switch (a.verb == .delete, b.verb == .delete) {
        case (false, true): true
        case (true, false): false
        case (true, true): b.ref < a.ref
        case (false, false): a.ref < b.ref
        }
    }
}

/// Computes the actions that turn `observed` into `desired`. Pure: no I/O, no clock.
///
/// Creates and updates come in dependency order (services, projects, keys, serving endpoints,
/// resources), deletes after them in reverse; within a kind, by id. An object whose recorded
/// content digest equals the desired one needs nothing, unless it is provisioned and either
/// not applied yet or drifted: then it gets a `converge` (retried, approved or repaired
/// through its tier).
public func plan(desired: DesiredState, observed: ObservedState) -> [Action] {
    var changes: [Action] = []
    for object in desired.objects {
        let ref = object.ref
        let digest = object.specDigest
        let tier = desired.tier(of: object)
        guard let seen = observed.objects[ref] else {
            changes.append(Action(verb: .create, ref: ref, tier: tier, project: object.projectID, specDigest: digest, observedDigest: nil))
            continue
        }
        if seen.specDigest != digest {
            changes.append(
                Action(verb: .update, ref: ref, tier: tier, project: object.projectID, specDigest: digest, observedDigest: seen.specDigest))
        } else if ref.kind.isProvisioned, let why = seen.drift.map({ "drift: \($0)" }) ?? (seen.status == .applied ? nil : seen.status.rawValue) {
            changes.append(
                Action(verb: .converge, ref: ref, tier: tier, project: object.projectID, specDigest: digest, observedDigest: digest, note: why))
        }
    }
    let wanted = Set(desired.objects.map(\.ref))
    let deletes = observed.objects.values
        .filter { !wanted.contains($0.ref) }
        .map { Action(verb: .delete, ref: $0.ref, tier: $0.tier, project: $0.project, specDigest: nil, observedDigest: $0.specDigest) }
    changes.sort { $0.ref < $1.ref }
    return changes + deletes.sorted { $1.ref < $0.ref }
}

extension ObservedState {
    /// The observed state after `actions` were all carried out (every provisioning action
    /// applied, approvals given): what a fully successful pass records. A model of the
    /// store's effect, used to prove convergence.
    public func applying(_ actions: [Action], from desired: DesiredState) -> ObservedState {
        var next = self
        for action in actions {
            switch action.verb {
            case .delete:
                next.objects[action.ref] = nil
            case .converge:
                next.objects[action.ref]?.drift = nil
                next.objects[action.ref]?.status = .applied
            case .create, .update:
                guard let object = desired.object(action.ref), let digest = action.specDigest else { continue }
                next.objects[action.ref] = ObservedObject(
                    ref: action.ref, specDigest: digest, tier: action.tier, status: .applied, project: object.projectID)
            }
        }
        return next
    }
}
