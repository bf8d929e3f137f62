public import AsgardCore

/// Reads what a vendor itself reports, for drift: read-only calls only.
public protocol VendorObserver: Sendable {
    /// The serving endpoints `vendor` reports, by name, with their tags; nil when this
    /// observer cannot ask that vendor (it is not configured in the environment).
    func servingEndpoints(of vendor: Service) async throws -> [String: [String: String]]?

    /// The read-only request it makes for `vendor`, for a dry run to print; nil when it would
    /// make none (the vendor is not configured).
    func describeRead(of vendor: Service) -> String?
}

/// The vendor observers a running Asgard has, by the name a provisionable service's `observe`
/// gives: a value built at the composition root, not a global registry.
public struct VendorObservers: Sendable {
    private var observers: [String: any VendorObserver]

    public init(_ observers: [String: any VendorObserver] = [:]) { self.observers = observers }

    public subscript(name: String) -> (any VendorObserver)? { observers[name] }
}

/// Adds drift to observed state: what terraform state and the vendors say about every
/// applied resource and serving endpoint. Read-only: it runs no terraform (state files are
/// read from disk) and makes only the observers' read calls, so `reconcile --dry-run` uses it.
/// A serving endpoint is listed at its vendor by the observer its provisionable service names
/// (`observe`); without one, only its terraform state is compared.
public struct DriftObserver: Sendable {
    public var provisioner: any Provisioner
    public var observers: VendorObservers

    public init(provisioner: any Provisioner, observers: VendorObservers) {
        self.provisioner = provisioner
        self.observers = observers
    }

    /// `observed` with `drift` set on each provisioned object that was applied (now, or before
    /// a change still waiting for its approval) and no longer matches. Observation failures are
    /// returned as notes, never guessed into drift.
    public func observe(_ observed: ObservedState, records: [ObjectRef: ProvisioningRecord], desired: DesiredState) async -> (
        ObservedState, notes: [String]
    ) {
        var result = observed
        var notes: [String] = []
        var endpointsByVendor: [String: [String: [String: String]]?] = [:]
        for (ref, object) in observed.objects.sorted(by: { $0.key < $1.key })
        where ref.kind.isProvisioned && (object.status == .applied || records[ref]?.appliedPlan != nil) {
            // Only what Asgard applied through terraform has a workspace to compare against.
            if records[ref]?.appliedPlan != nil {
                do {
                    if let state = try provisioner.state(of: ref) {
                        if state.instances.isEmpty { result.objects[ref]?.drift = "terraform state holds no resources" }
                    } else {
                        result.objects[ref]?.drift = "terraform state is missing"
                    }
                } catch {
                    notes.append("\(ref): terraform state not compared: \(error)")
                }
            }
            guard result.objects[ref]?.drift == nil, ref.kind == .servingEndpoint,
                let endpoint = desired.servingEndpoints[ref.id], let service = desired.services[endpoint.service],
                let name = desired.provisionable[endpoint.provisioner]?.service.observer
            else { continue }
            guard let vendor = observers[name] else {
                if !notes.contains(where: { $0.hasPrefix("\(service.id): ") }) {
                    notes.append("\(service.id): no drift observer named \(name) in this Asgard, so its serving endpoints are not listed")
                }
                continue
            }
            if endpointsByVendor[service.id] == nil {
                do {
                    endpointsByVendor[service.id] = .some(try await vendor.servingEndpoints(of: service))
                } catch {
                    endpointsByVendor[service.id] = .some(nil)
                    notes.append("\(service.id): serving endpoints could not be listed: \(error)")
                }
            }
            guard let listed = endpointsByVendor[service.id] ?? nil else { continue }
            guard let tags = listed[endpoint.id] else {
                result.objects[ref]?.drift = "serving endpoint \(endpoint.id) does not exist at \(service.id)"
                continue
            }
            if tags["project"] != endpoint.project {
                result.objects[ref]?.drift =
                    "serving endpoint \(endpoint.id) carries "
                    + (tags["project"].map { "project=\($0)" } ?? "no project tag") + " at \(service.id), not project=\(endpoint.project)"
            }
        }
        return (result, notes)
    }
}
