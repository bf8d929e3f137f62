public import AsgardCore

/// Carries out provisioning actions (resources and serving endpoints) at a vendor.
///
/// The terraform connector implements this; until it exists, `UnavailableProvisioner`
/// refuses every action with `ProvisioningError.connectorNotAvailable`, and the reconciler
/// records the action as pending or awaiting approval with that reason.
public protocol Provisioner: Sendable {
    /// Plans the change for `object` without applying it: what a person approves (human tier).
    func plan(_ action: Action, object: DesiredObject, in state: DesiredState) async throws -> ProvisioningPlan
    /// Creates or updates the vendor resource for `object` (auto tier, or an approved plan).
    func apply(_ action: Action, object: DesiredObject, in state: DesiredState) async throws
    /// Destroys the vendor resource named by `action.ref`.
    func destroy(_ action: Action) async throws
}

/// A planned provisioning change, as an approver sees it.
public struct ProvisioningPlan: Sendable, Hashable {
    /// SHA-256 of the canonical plan: an approval is bound to exactly this.
    public var digest: String
    /// What will be created, changed or destroyed, for people.
    public var summary: String

    public init(digest: String, summary: String) {
        self.digest = digest
        self.summary = summary
    }
}

/// Why provisioning did not happen.
public enum ProvisioningError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No terraform connector is wired in yet (it is a later step of the build: issue #5).
    case connectorNotAvailable

    public var description: String {
        switch self {
        case .connectorNotAvailable:
            "the terraform connector is not built yet (issue #5): provisioning actions are recorded, not carried out"
        }
    }
}

/// The provisioner in use until the terraform connector lands: it refuses, by name.
public struct UnavailableProvisioner: Provisioner {
    public init() {}

    public func plan(_ action: Action, object: DesiredObject, in state: DesiredState) async throws -> ProvisioningPlan {
        throw ProvisioningError.connectorNotAvailable
    }

    public func apply(_ action: Action, object: DesiredObject, in state: DesiredState) async throws {
        throw ProvisioningError.connectorNotAvailable
    }

    public func destroy(_ action: Action) async throws {
        throw ProvisioningError.connectorNotAvailable
    }
}
