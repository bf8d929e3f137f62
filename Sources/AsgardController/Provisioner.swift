public import AsgardCore

/// Carries out provisioning actions (resources and serving endpoints) at a vendor.
///
/// The terraform connector implements this; until it exists, `UnavailableProvisioner`
/// refuses every action with `ProvisioningError.connectorNotAvailable`, and the reconciler
/// records the action as pending or awaiting approval with that reason.
public protocol Provisioner: Sendable {
    /// Creates or updates the vendor resource for `object`.
    func apply(_ action: Action, object: DesiredObject, in state: DesiredState) async throws
    /// Destroys the vendor resource named by `action.ref`.
    func destroy(_ action: Action) async throws
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

    public func apply(_ action: Action, object: DesiredObject, in state: DesiredState) async throws {
        throw ProvisioningError.connectorNotAvailable
    }

    public func destroy(_ action: Action) async throws {
        throw ProvisioningError.connectorNotAvailable
    }
}
