import AsgardController
import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

/// A provisioner double that records what it was asked, for checking the reconciler's use of
/// the seam: auto tier applies at once; human tier only plans and asks for an approval.
final class RecordingProvisioner: Provisioner {
    let calls = Mutex<[String]>([])
    let failing: Set<String>

    init(failing: Set<String> = []) { self.failing = failing }

    struct Refused: Error, CustomStringConvertible { var description: String { "vendor said no" } }

    func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        calls.withLock { $0.append("plan \(request.ref)") }
        return ProvisioningPlan(digest: SHA256.hex("plan of \(request.ref)"), summary: "create \(request.ref)",
                                resources: [PlannedResource(address: "null_resource.this", type: "null_resource", actions: ["create"], after: nil)])
    }

    func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs {
        calls.withLock { $0.append("apply \(request.ref)") }
        if failing.contains(request.ref.description) { throw Refused() }
        return ProvisioningOutputs(values: [:])
    }

    func destroy(_ ref: ObjectRef) async throws {
        calls.withLock { $0.append("destroy \(ref)") }
    }

    func state(of ref: ObjectRef) throws -> WorkspaceState? { nil }
}

@Suite struct ProvisionerSeamTests {
    @Test func autoAppliesHumanOnlyPlansAndRequestsAnApproval() async throws {
        let root = try makeTemporaryDirectory("seam")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let provisioner = RecordingProvisioner()
        let reconciler = Reconciler(store: store, provisioner: provisioner)
        let report = try await reconciler.runOnce(directory: try copyShippedDesired(into: root))
        let results = Dictionary(uniqueKeysWithValues: report.outcomes.filter(\.action.isProvisioning).map { ($0.action.ref.description, $0.result) })
        #expect(results == ["Resource/fraud-features": .applied, "Resource/fraud-warehouse": .awaitingApproval, "ServingEndpoint/fraud-triage": .awaitingApproval])
        #expect(provisioner.calls.withLock { $0 }.sorted() == ["apply Resource/fraud-features", "plan Resource/fraud-features", "plan Resource/fraud-warehouse", "plan ServingEndpoint/fraud-triage"])
        let approvals = try await store.approvals(status: .pending)
        #expect(Set(approvals.map(\.ref.description)) == ["Resource/fraud-warehouse", "ServingEndpoint/fraud-triage"])
        let warehouse = try #require(approvals.first { $0.ref.id == "fraud-warehouse" })
        #expect(warehouse.planDigest == SHA256.hex("plan of Resource/fraud-warehouse"))
        #expect(warehouse.monthlyEstimate == MicroDollars(1_500_000_000) && warehouse.project == "fraud-detection")
        // Removing an applied resource destroys it through the provisioner.
        try FileManager.default.removeItem(atPath: root + "/desired/resources/fraud-detection.yaml")
        let removal = try await reconciler.runOnce(directory: root + "/desired")
        #expect(removal.outcomes.map { "\($0.action.verb.rawValue) \($0.action.ref) \($0.result.rawValue)" } == [
            "delete Resource/fraud-warehouse removed", "delete Resource/fraud-features removed",
        ])
        #expect(provisioner.calls.withLock { $0 }.last == "destroy Resource/fraud-features")
        // The warehouse's approval was for a change that no longer exists.
        let voided = try #require(try await store.approvals(status: .void).first)
        #expect(voided.id == warehouse.id && voided.reason == "Resource/fraud-warehouse was removed from desired state")
        #expect(try await store.approvals(status: .pending).map(\.ref.id) == ["fraud-triage"])
    }

    @Test func aFailingApplyIsRecordedAsFailedWithItsReason() async throws {
        let root = try makeTemporaryDirectory("seam-fail")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let reconciler = Reconciler(store: store, provisioner: RecordingProvisioner(failing: ["Resource/fraud-features"]))
        let report = try await reconciler.runOnce(directory: try copyShippedDesired(into: root))
        #expect(!report.succeeded)
        let failed = try #require(report.outcomes.first { $0.result == .failed })
        #expect(failed.action.ref == ObjectRef(.resource, "fraud-features") && failed.reason == "vendor said no")
        #expect(try await store.observedState().objects[ObjectRef(.resource, "fraud-features")]?.status == .failed)
    }
}
