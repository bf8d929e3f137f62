/// Where an object stands after the controller last acted on it.
public enum ObjectStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// In effect: in the store, the route table, the vendor.
    case applied
    /// An auto-tier provisioning action recorded but not yet carried out.
    case pending
    /// A human-tier provisioning action waiting for an approval.
    case awaitingApproval = "awaiting_approval"
    /// The last attempt failed; the reason is recorded beside it.
    case failed
}

/// What the controller knows of one object: the content it acted on and how that went.
public struct ObservedObject: Sendable, Hashable, Codable {
    public var ref: ObjectRef
    /// `DesiredObject.specDigest` of the content last acted on.
    public var specDigest: String
    public var tier: Tier
    public var status: ObjectStatus
    public var project: String?

    public init(ref: ObjectRef, specDigest: String, tier: Tier, status: ObjectStatus, project: String?) {
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

    public init(verb: Verb, ref: ObjectRef, tier: Tier, project: String?, specDigest: String?, observedDigest: String?) {
        self.verb = verb
        self.ref = ref
        self.tier = tier
        self.project = project
        self.specDigest = specDigest
        self.observedDigest = observedDigest
        self.digest = SHA256.hex([verb.rawValue, ref.kind.rawValue, ref.id, tier.rawValue, specDigest ?? "-", observedDigest ?? "-"].joined(separator: "\n"))
    }

    /// Whether applying it means running terraform (resources and serving endpoints).
    public var isProvisioning: Bool { ref.kind == .resource || ref.kind == .servingEndpoint }

    public var description: String { "\(verb.rawValue) \(ref) [\(tier.rawValue)]" }
}

/// Computes the actions that turn `observed` into `desired`. Pure: no I/O, no clock.
///
/// Creates and updates come in dependency order (services, projects, keys, serving endpoints,
/// resources), deletes after them in reverse; within a kind, by id. An object whose recorded
/// content digest equals the desired one needs nothing, whatever its status: retrying pending
/// provisioning work is the provisioner's job, not the diff's.
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
            changes.append(Action(verb: .update, ref: ref, tier: tier, project: object.projectID, specDigest: digest, observedDigest: seen.specDigest))
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
    /// The observed state after `actions` were carried out as planned: what a successful
    /// reconcile pass records. A model of the store's effect, used to prove convergence.
    public func applying(_ actions: [Action], from desired: DesiredState) -> ObservedState {
        var next = self
        let byRef = Dictionary(desired.objects.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
        for action in actions {
            switch action.verb {
            case .delete:
                next.objects[action.ref] = nil
            case .create, .update:
                guard let object = byRef[action.ref], let digest = action.specDigest else { continue }
                let status: ObjectStatus = action.isProvisioning ? (action.tier == .auto ? .pending : .awaitingApproval) : .applied
                next.objects[action.ref] = ObservedObject(ref: action.ref, specDigest: digest, tier: action.tier, status: status, project: object.projectID)
            }
        }
        return next
    }
}

extension DesiredStateLoader {
    /// Loads `directory` and plans it against `observed`, with no effect at all: what
    /// `reconcile --dry-run` shows. The plan is empty when the directory is invalid.
    public func plan(directory: String, against observed: ObservedState) -> (LoadResult, [Action]) {
        let loaded = load(directory: directory)
        guard loaded.isValid else { return (loaded, []) }
        return (loaded, AsgardCore.plan(desired: loaded.state, observed: observed))
    }
}
