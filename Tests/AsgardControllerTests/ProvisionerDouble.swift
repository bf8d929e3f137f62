import AsgardController
import AsgardCore
import AsgardJSON
import AsgardPolicy
import AsgardTestSupport
import Foundation
import Synchronization

/// An in-memory provisioner for the reconciler's logic: plans carry the tags where the
/// manifest says they live (or a wrong tag when asked), digests follow the request and a
/// `revision` knob (drift), applies record what was applied, and faults can be switched on.
final class ProvisionerDouble: Provisioner {
    struct Fault: Error, CustomStringConvertible { var description: String }

    struct Knobs {
        /// Changes every plan's digest, as drift or a provider upgrade would.
        var revision = 0
        /// Refs whose plan or apply fails.
        var failPlan: Set<String> = []
        var failApply: Set<String> = []
        /// Refs whose plan stamps this project instead of the right one.
        var wrongTag: [String: String] = [:]
        /// Refs whose plan adds a resource of a type no manifest lists.
        var unlistedType: Set<String> = []
        /// Refs that exist at the vendor already: their plans change nothing.
        var upToDate: Set<String> = []
    }

    let knobs = Mutex(Knobs())
    let calls = Mutex<[String]>([])
    /// Saved plans, by digest; applied digests, by ref.
    let saved = Mutex<[String: ProvisioningRequest]>([:])
    let applied = Mutex<[String: [String]]>([:])
    /// Saved destroy plans, by digest.
    let destroyPlans = Mutex<Set<String>>([])

    func set(_ change: (inout Knobs) -> Void) { knobs.withLock { change(&$0) } }
    var callLog: [String] { calls.withLock { $0 } }
    func applies(of ref: String) -> [String] { applied.withLock { $0[ref] ?? [] } }

    func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        let ref = request.ref.description
        calls.withLock { $0.append("plan \(ref)" + (request.replaceTypes.isEmpty ? "" : " replace \(request.replaceTypes.sorted())")) }
        let knobs = self.knobs.withLock { $0 }
        if knobs.failPlan.contains(ref) { throw Fault(description: "terraform plan exited with status 1: provider refused") }
        let project = knobs.wrongTag[ref] ?? request.project
        var resources = request.service.tagLocations.map { location in
            PlannedResource(
                address: "module.service.\(location.resourceType).this", type: location.resourceType,
                actions: knobs.upToDate.contains(ref) ? ["no-op"] : ["create"],
                after: Self.values(tagged: project, at: location, name: request.name, parameters: request.parameters))
        }
        if knobs.unlistedType.contains(ref) {
            resources.append(
                PlannedResource(address: "module.service.aws_instance.sneaky", type: "aws_instance", actions: ["create"], after: .object([])))
        }
        let digest = SHA256.hex(
            "\(ref) \(request.parameters.sorted { $0.key < $1.key }) \(request.replaceTypes.sorted()) \(project) r\(knobs.revision)")
        saved.withLock { $0[digest] = request }
        return ProvisioningPlan(digest: digest, summary: "create \(resources.count): \(ref)", resources: resources)
    }

    func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs {
        let ref = request.ref.description
        calls.withLock { $0.append("apply \(ref)") }
        guard saved.withLock({ $0[planDigest] }) == request else { throw Fault(description: "no saved plan \(planDigest)") }
        if knobs.withLock({ $0.failApply.contains(ref) }) { throw Fault(description: "terraform apply exited with status 1: vendor said no") }
        applied.withLock { $0[ref, default: []].append(planDigest) }
        return ProvisioningOutputs(values: ["id": .string("id-\(request.name)")])
    }

    func destroy(_ ref: ObjectRef) async throws {
        calls.withLock { $0.append("destroy \(ref)") }
    }

    /// A plan deleting the applied instance, whose values hold a sensitive `password`; nil when
    /// nothing was applied. Its digest follows the ref and `revision`.
    func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan? {
        calls.withLock { $0.append("plan-destroy \(ref)") }
        let knobs = self.knobs.withLock { $0 }
        if knobs.failPlan.contains(ref.description) { throw Fault(description: "terraform plan exited with status 1: provider refused") }
        guard applied.withLock({ $0[ref.description] }) != nil else { return nil }
        let digest = SHA256.hex("destroy \(ref) r\(knobs.revision)")
        _ = destroyPlans.withLock { $0.insert(digest) }
        let before: JSONValue = .object([
            JSONMember(key: "name", value: .string(ref.id)), JSONMember(key: "password", value: .string("(sensitive)")),
        ])
        return ProvisioningPlan(
            digest: digest, summary: "destroy 1: \(ref)",
            resources: [PlannedResource(address: "module.service.x.this", type: "x", actions: ["delete"], after: nil, before: before)])
    }

    func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws {
        calls.withLock { $0.append("apply-destroy \(ref)") }
        guard destroyPlans.withLock({ $0.contains(planDigest) }) else { throw Fault(description: "no saved destroy plan \(planDigest)") }
        if knobs.withLock({ $0.failApply.contains(ref.description) }) {
            throw Fault(description: "terraform apply exited with status 1: vendor said no")
        }
        _ = applied.withLock { $0.removeValue(forKey: ref.description) }
    }

    func state(of ref: ObjectRef) throws -> WorkspaceState? {
        applied.withLock { $0[ref.description] } == nil
            ? nil
            : WorkspaceState(instances: [WorkspaceState.Instance(address: "module.service.x.this", type: "x")], serial: 1)
    }

    /// Planned values holding `project` where `location` says the tag lives, the name and each
    /// scalar parameter (as text, like the modules' triggers).
    static func values(tagged project: String, at location: TagLocation, name: String, parameters: [String: ParameterValue] = [:]) -> JSONValue {
        let values = plannedValues(tagging: project, at: location)
        guard case .object(var members) = values else { return values }
        members.append(JSONMember(key: "name", value: .string(name)))
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
            if let text = value.scalarText { members.append(JSONMember(key: key, value: .string(text))) }
        }
        return .object(members)
    }
}

/// The shipped policies, as the gate enforces them.
func shippedPolicies() -> PolicyEngine {
    PolicyEngine(enforced: PolicyBundle.load(directory: packageRoot + "/policies").0)
}
