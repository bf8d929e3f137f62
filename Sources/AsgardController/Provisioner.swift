public import AsgardCore
public import AsgardJSON

/// Carries out provisioning (resources and serving endpoints) at a vendor: the terraform
/// connector (`AsgardProvisioning.TerraformConnector`) implements it.
///
/// The reconciler calls `plan` first, checks the gate on the plan it got back (the project
/// tag on every planned resource), then `apply`s exactly that saved plan by its digest, now
/// (auto tier) or on a later pass once a person approved that digest (human tier).
public protocol Provisioner: Sendable {
    /// Plans `request` and saves the plan under its digest; applies nothing.
    func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan
    /// Applies the plan saved by an earlier `plan(request)` whose digest is `planDigest`,
    /// and returns the workspace's outputs. Fails, applying nothing, if no such plan is saved
    /// or terraform finds it stale.
    func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs
    /// Destroys everything the workspace of `ref` manages, then removes the workspace.
    /// Nothing to destroy (no workspace) is success. The auto tier's removal.
    func destroy(_ ref: ObjectRef) async throws
    /// Plans destroying everything the workspace of `ref` manages and saves the plan under its
    /// digest; destroys nothing. Nil when there is nothing to destroy (no workspace, or a state
    /// that manages nothing). The human tier's removal: a person approves this plan.
    func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan?
    /// Applies the destroy plan saved by an earlier `planDestroy(ref)` whose digest is
    /// `planDigest`, then removes the workspace. Fails, destroying nothing, if no such plan is
    /// saved or it was made against another state than the workspace holds now.
    func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws
    /// What the workspace's terraform state records for `ref`, read from disk without
    /// running terraform (so `reconcile --dry-run` may call it); nil when there is none.
    func state(of ref: ObjectRef) throws -> WorkspaceState?

    /// `destroy(ref)` on a replica that may lack the workspace, because another leader made it:
    /// a provisioner whose state is shared by every replica makes the workspace again from
    /// `lastApplied` (the request for what the store last applied) and destroys what the state
    /// manages. Nil `lastApplied`, or a provisioner with nothing shared, is `destroy(ref)`.
    func destroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws
    /// `planDestroy(ref)`, the workspace made again from `lastApplied` as for `destroy`.
    func planDestroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws -> ProvisioningPlan?
}

extension Provisioner {
    public func destroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws {
        try await destroy(ref)
    }

    public func planDestroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws -> ProvisioningPlan? {
        try await planDestroy(ref)
    }
}

/// Everything the connector needs to plan one resource or serving endpoint.
public struct ProvisioningRequest: Sendable, Hashable {
    public var ref: ObjectRef
    public var project: String
    /// Passed to the module as `name`: the resource id, or the serving endpoint's name.
    public var name: String
    /// The provisionable service: its module, and where its resource types hold tags.
    public var service: ProvisionableService
    /// Passed to the module, one argument each.
    public var parameters: [String: ParameterValue]
    /// Passed to the module as `tags`; always holds `project=<project>`, which nothing overrides.
    public private(set) var tags: [String: String]
    /// The environment variables the vendor manifest names (the connector passes their
    /// values through to terraform, and scrubs them from everything it captures).
    public var environmentNames: [String]
    /// Resource types whose instances in state are planned for replacement: drift repair
    /// when the vendor lost or changed what terraform believes exists.
    public var replaceTypes: Set<String>

    public init(
        ref: ObjectRef, project: String, name: String, service: ProvisionableService, parameters: [String: ParameterValue],
        extraTags: [String: String] = [:], environmentNames: [String], replaceTypes: Set<String> = []
    ) {
        self.ref = ref
        self.project = project
        self.name = name
        self.service = service
        self.parameters = parameters
        var tags = extraTags
        tags["project"] = project
        self.tags = tags
        self.environmentNames = environmentNames
        self.replaceTypes = replaceTypes
    }
}

/// One resource instance in a terraform plan.
public struct PlannedResource: Sendable, Hashable {
    /// e.g. `module.service.databricks_sql_endpoint.this`.
    public var address: String
    /// e.g. `databricks_sql_endpoint`.
    public var type: String
    /// terraform's actions: `["create"]`, `["update"]`, `["delete", "create"]`, `["no-op"]`, `["delete"]`, `["read"]`.
    public var actions: [String]
    /// The planned values after the change (`change.after`); nil when the instance is deleted.
    /// Sensitive values are masked as `"(sensitive)"`.
    public var after: JSONValue?
    /// The values before the change (`change.before`); nil when the instance is created.
    /// Sensitive values are masked as `"(sensitive)"`.
    public var before: JSONValue?

    public init(address: String, type: String, actions: [String], after: JSONValue?, before: JSONValue? = nil) {
        self.address = address
        self.type = type
        self.actions = actions
        self.after = after
        self.before = before
    }

    /// Whether the plan leaves this instance as it is.
    public var isNoOp: Bool { actions == ["no-op"] || actions == ["read"] }
    /// Whether the plan destroys this instance and creates nothing in its place.
    public var isDelete: Bool { actions == ["delete"] }
}

/// A saved terraform plan, as the gate checks it and an approver sees it.
public struct ProvisioningPlan: Sendable, Hashable {
    /// SHA-256 of the canonical plan JSON (`terraform show -json`): an approval is bound to exactly this.
    public var digest: String
    /// What will be created, changed or destroyed, for people: e.g. `create 2, update 0, replace 0, destroy 0: …`.
    public var summary: String
    /// Every resource instance the plan touches or keeps, in address order.
    public var resources: [PlannedResource]

    public init(digest: String, summary: String, resources: [PlannedResource]) {
        self.digest = digest
        self.summary = summary
        self.resources = resources
    }

    /// Whether applying it would change nothing.
    public var changesNothing: Bool { resources.allSatisfy(\.isNoOp) }

    /// What an approver sees: every instance the plan creates, updates, replaces or destroys,
    /// with its attribute values before and after (sensitive ones already masked). As a last
    /// line of defence, a credential-looking run in any value terraform did not mark sensitive
    /// is shown as `<not shown>` too.
    public var changes: [PlannedChange] {
        resources.compactMap { resource in
            resource.change.map {
                PlannedChange(
                    address: resource.address, type: resource.type, action: $0, before: resource.before.map(Self.unsecret),
                    after: resource.after.map(Self.unsecret))
            }
        }
    }

    /// `values` with every secret-looking run in a string redacted.
    static func unsecret(_ values: JSONValue) -> JSONValue {
        values.rewritingStrings { text in SecretDetector.mayContainSecret(text) ? SecretDetector.redacting(text) : nil }
    }
}

extension PlannedResource {
    /// `create`, `update`, `replace` or `destroy`; nil when the plan keeps the instance as it is.
    public var change: String? {
        switch actions {
        case ["create"]: "create"
        case ["update"]: "update"
        case ["delete", "create"], ["create", "delete"]: "replace"
        case ["delete"]: "destroy"
        default: nil
        }
    }
}

/// `terraform output -json` after an apply; sensitive outputs are kept only as `"(sensitive)"`.
public struct ProvisioningOutputs: Sendable, Hashable {
    public var values: [String: JSONValue]

    public init(values: [String: JSONValue]) { self.values = values }
}

/// What a workspace's terraform state file holds, read without running terraform.
public struct WorkspaceState: Sendable, Hashable {
    public struct Instance: Sendable, Hashable {
        public var address: String
        public var type: String
        public init(address: String, type: String) {
            self.address = address
            self.type = type
        }
    }

    /// Managed resource instances, in address order.
    public var instances: [Instance]
    /// The state's serial: it grows with every write.
    public var serial: Int

    public init(instances: [Instance], serial: Int) {
        self.instances = instances
        self.serial = serial
    }
}

/// Why provisioning did not happen.
public enum ProvisioningError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No terraform connector is configured for this process.
    case connectorNotAvailable(reason: String)
    /// The object is not something the connector provisions (not a resource or serving
    /// endpoint, or its provisionable service is not registered).
    case notProvisionable(reason: String)

    public var description: String {
        switch self {
        case .connectorNotAvailable(let reason): "no terraform connector: \(reason)"
        case .notProvisionable(let reason): "not provisionable: \(reason)"
        }
    }
}

/// The provisioner for a process that has no terraform: it refuses every action, by name.
public struct UnavailableProvisioner: Provisioner {
    public var reason: String

    public init(reason: String = "no terraform binary configured (set ASGARD_TERRAFORM_BIN, or run `make setup`)") {
        self.reason = reason
    }

    public func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        throw ProvisioningError.connectorNotAvailable(reason: reason)
    }

    public func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs {
        throw ProvisioningError.connectorNotAvailable(reason: reason)
    }

    public func destroy(_ ref: ObjectRef) async throws {
        throw ProvisioningError.connectorNotAvailable(reason: reason)
    }

    public func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan? {
        throw ProvisioningError.connectorNotAvailable(reason: reason)
    }

    public func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws {
        throw ProvisioningError.connectorNotAvailable(reason: reason)
    }

    public func state(of ref: ObjectRef) throws -> WorkspaceState? { nil }
}
