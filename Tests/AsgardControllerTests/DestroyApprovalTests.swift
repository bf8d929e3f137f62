import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// What an approver is shown, and destroying human-tier objects: removing one from desired
/// state plans its destroy and waits for an approval of that plan, like any other plan, and a
/// kill switch holds every destroy of its project (or all of them) until it is released.
@Suite struct DestroyApprovalTests {
    let world: ProvisioningReconcilerTests

    init() throws { world = try ProvisioningReconcilerTests() }

    var provisioner: ProvisionerDouble { world.provisioner }
    var store: SQLiteStore { world.store }

    /// Applies the warehouse (approved by Lars) and the auto-tier volume.
    func applyWarehouse() async throws {
        _ = try await world.pass()
        let request = try await world.approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: request.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        #expect(try await world.pass()["Resource/fraud-warehouse"]?.result == .applied)
    }

    /// Takes the resources file (warehouse and volume) out of desired state.
    func removeResources() throws {
        try FileManager.default.removeItem(atPath: world.desired + "/resources/fraud-detection.yaml")
    }

    func edit(_ file: String, _ old: String, _ new: String) throws {
        let path = world.desired + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(old))
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
    }

    func engage(_ scope: KillScope, _ target: String = "") async throws {
        try await store.engageKillSwitch(
            StoredKillSwitch(scope: scope, target: target, reason: "incident 7", engagedBy: "ops", since: Date()),
            audit: AuditEntry(actor: "ops", action: "kill.engage", target: "\(scope.rawValue):\(target)", outcome: "engaged"))
    }

    func release(_ scope: KillScope, _ target: String = "") async throws {
        _ = try await store.releaseKillSwitch(
            scope: scope, target: target, audit: AuditEntry(actor: "ops", action: "kill.release", target: target, outcome: "released"))
    }

    @Test func aFourXLargeWarehouseEstimatesByTheRuleNotAsATwoXSmall() async throws {
        try edit("resources/fraud-detection.yaml", "cluster_size: 2X-Small", "cluster_size: 4X-Large")
        try edit("resources/fraud-detection.yaml", "max_num_clusters: 1", "max_num_clusters: 2")
        _ = try await world.pass()
        let large = try await world.approval(of: "fraud-warehouse")
        #expect(large.estimate.basis == .rule && large.estimate.monthly == MicroDollars(79_200_000_000))
        #expect(large.estimate.detail == "cluster_size 4X-Large: $39600/month × max_num_clusters 2")
        #expect(large.changes.first?.after?["cluster_size"] == .string("4X-Large"))
        // A size the rule does not list is unknown, never a made-up or fixed figure.
        try edit("resources/fraud-detection.yaml", "cluster_size: 4X-Large", "cluster_size: 6X-Large")
        _ = try await world.pass()
        let unlisted = try await world.approval(of: "fraud-warehouse")
        #expect(unlisted.id != large.id && unlisted.estimate.basis == .unknown && unlisted.estimate.monthly == nil)
        #expect(unlisted.estimate.detail.hasPrefix("the manifest's cost rule has no figure for cluster_size 6X-Large (it lists 2X-Large, "))
        // A service without a rule says its figure is the manifest's fixed one.
        let endpoint = try await world.approval(of: "fraud-triage")
        #expect(endpoint.estimate.basis == .fixed && endpoint.estimate.monthly == MicroDollars(2_000_000_000))
        #expect(endpoint.estimate.detail == "the manifest's fixed figure for databricks-model-serving, which has no cost rule")
    }

    @Test func removingAHumanTierObjectQueuesAnApprovalOfItsDestroyPlanAndDestroysNothingUntilApproved() async throws {
        try await applyWarehouse()
        try removeResources()
        let first = try await world.pass()
        #expect(first["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        #expect(first["Resource/fraud-features"]?.result == .removed)  // the auto tier goes at once
        let destroy = try await world.approval(of: "fraud-warehouse")
        #expect(destroy.operation == .destroy && destroy.planDigest == first["Resource/fraud-warehouse"]?.planDigest)
        #expect(destroy.requestedBy == "maria.silva@example.com" && destroy.project == "fraud-detection")
        #expect(destroy.estimate.monthly == MicroDollars(300_000_000), "a destroy shows what stops being spent")
        let change = try #require(destroy.changes.first)
        #expect(change.action == "destroy" && change.after == nil && change.before?["password"] == .string("(sensitive)"))
        #expect(try await world.status("Resource/fraud-warehouse")?.status == .awaitingApproval)
        // Waiting is not news: nothing destroyed, nothing asked again, nothing audited.
        let audits = try await store.summary().auditEntries
        for _ in 0..<2 {
            #expect(try await world.pass()["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        }
        #expect(try await store.summary().auditEntries == audits)
        #expect(try await store.approvals(status: nil).filter { $0.operation == .destroy }.map(\.id) == [destroy.id])
        #expect(!provisioner.callLog.contains { $0.hasPrefix("apply-destroy") || $0 == "destroy Resource/fraud-warehouse" })
        // The requester may not approve it; an approver may, and the next pass destroys exactly that plan.
        let desk = ApprovalDesk(store: store, policies: shippedPolicies())
        await #expect(throws: ApprovalDesk.Refusal.self) {
            try await desk.decide(id: destroy.id, approve: true, by: "maria.silva@example.com", reason: nil)
        }
        try await desk.decide(id: destroy.id, approve: true, by: "priya.natarajan@example.com", reason: nil)
        let done = try await world.pass()
        #expect(done["Resource/fraud-warehouse"]?.result == .removed)
        #expect(done["Resource/fraud-warehouse"]?.reason?.contains("approved by priya.natarajan@example.com (\(destroy.id))") == true)
        #expect(provisioner.callLog.filter { $0.hasPrefix("apply-destroy") } == ["apply-destroy Resource/fraud-warehouse"])
        #expect(try await store.approvals(status: .applied).map(\.id).contains(destroy.id))
        #expect(try await world.status("Resource/fraud-warehouse") == nil)
        #expect(try await world.pass()["Resource/fraud-warehouse"] == nil)
    }

    @Test func aRejectedDestroyIsNeverAppliedAndBringingTheObjectBackVoidsAPendingOne() async throws {
        try await applyWarehouse()
        let resources = try String(contentsOfFile: world.desired + "/resources/fraud-detection.yaml", encoding: .utf8)
        try removeResources()
        _ = try await world.pass()
        let destroy = try await world.approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: destroy.id, status: .rejected, by: "lars.berg@example.com", reason: "still needed", audit: nil)
        for _ in 0..<2 {
            let refused = try await world.pass()["Resource/fraud-warehouse"]
            #expect(refused?.result == .refused && refused?.reason?.contains("rejected by lars.berg@example.com: still needed") == true)
        }
        #expect(!provisioner.callLog.contains { $0.hasPrefix("apply-destroy") })
        // Declared again, it is as desired (the vendor still has it): applied, with nothing to approve.
        provisioner.set { $0.upToDate.insert("Resource/fraud-warehouse") }
        try resources.write(toFile: world.desired + "/resources/fraud-detection.yaml", atomically: true, encoding: .utf8)
        #expect(try await world.pass()["Resource/fraud-warehouse"]?.result == .applied)
        // Removed again: the old rejection was of the earlier removal, so an approver is asked anew.
        try removeResources()
        #expect(try await world.pass()["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        let second = try await world.approval(of: "fraud-warehouse")
        #expect(second.operation == .destroy && second.status == .pending && second.id != destroy.id)
        #expect(second.planDigest == destroy.planDigest)
        // Declared again before anyone decided: the pending destroy is void.
        try resources.write(toFile: world.desired + "/resources/fraud-detection.yaml", atomically: true, encoding: .utf8)
        #expect(try await world.pass()["Resource/fraud-warehouse"]?.result == .applied)
        #expect(try await store.approvals(status: .void).map(\.id).contains(second.id))
        #expect(!provisioner.callLog.contains { $0.hasPrefix("apply-destroy") })
    }

    @Test(arguments: [KillScope.project, .global])
    func aKillSwitchHoldsDestroysOfEveryTierEvenAnApprovedOne(scope: KillScope) async throws {
        try await applyWarehouse()
        try removeResources()
        _ = try await world.pass()  // the volume goes at once (auto); the warehouse asks
        let destroy = try await world.approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: destroy.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        try await engage(scope, scope == .project ? "fraud-detection" : "")
        let calls = provisioner.callLog.count
        for _ in 0..<2 {
            let warehouse = try #require(try await world.pass()["Resource/fraud-warehouse"])
            #expect(warehouse.result == .refused)
            #expect(
                warehouse.reason
                    == "destroy held: project \"fraud-detection\" is not active (kill switch: incident 7); "
                    + "it is destroyed once the switch is released (approvals: \(destroy.id))")
        }
        // Not even terraform's plan ran: nothing of the project is touched while the switch is engaged.
        #expect(provisioner.callLog.count == calls, "\(provisioner.callLog.suffix(3))")
        #expect(try await world.status("Resource/fraud-warehouse")?.status == .refused)
        #expect(try await store.approvals(status: .approved).map(\.id) == [destroy.id])
        // Released: the approved plan is destroyed on the next pass.
        try await release(scope, scope == .project ? "fraud-detection" : "")
        let released = try await world.pass()
        #expect(released["Resource/fraud-warehouse"]?.result == .removed)
        #expect(provisioner.callLog.contains("apply-destroy Resource/fraud-warehouse"))
    }

    /// What `reconcile --dry-run` says a removal runs next, without running anything.
    func previewedDestroy() async throws -> String? {
        let desired = DesiredStateLoader().load(directory: world.desired).state
        let observed = try await store.observedState()
        let actions = plan(desired: desired, observed: observed).filter { $0.ref == ObjectRef(.resource, "fraud-warehouse") }
        return Preview.actions(
            actions, desired: desired, observed: observed, records: try await store.provisioningRecords(),
            approvals: try await store.approvals(status: nil),
            gate: ProvisionGate(policies: shippedPolicies(), killSwitches: try await store.killSwitches()),
            hasWorkspace: { _ in true }, now: Date()
        ).first?.next
    }

    @Test func aDryRunPreviewsTheDestroyPlanItsApprovalAndAHold() async throws {
        try await applyWarehouse()
        try removeResources()
        #expect(try await previewedDestroy() == "terraform plan -destroy, then ask a project approver to approve that plan")
        _ = try await world.pass()
        let destroy = try await world.approval(of: "fraud-warehouse")
        #expect(try await previewedDestroy() == "terraform plan -destroy; approval \(destroy.id) is pending")
        try await engage(.global)
        #expect(try await previewedDestroy() == "held: kill switch (incident 7); nothing runs")
    }

    @Test func anAutoTierDestroyIsHeldByAKillSwitchToo() async throws {
        _ = try await world.pass()
        #expect(provisioner.applies(of: "Resource/fraud-features").count == 1)
        try removeResources()
        try await engage(.project, "fraud-detection")
        let held = try await world.pass()
        #expect(held["Resource/fraud-features"]?.result == .refused)
        #expect(held["Resource/fraud-features"]?.reason?.hasPrefix("destroy held: project \"fraud-detection\" is not active") == true)
        #expect(!provisioner.callLog.contains("destroy Resource/fraud-features"))
        try await release(.project, "fraud-detection")
        #expect(try await world.pass()["Resource/fraud-features"]?.result == .removed)
        #expect(provisioner.callLog.contains("destroy Resource/fraud-features"))
    }

    @Test func aRemovedProjectStaysUntilItsObjectsAreDestroyedSoItsApproversCanApprove() async throws {
        try await applyWarehouse()
        for file in ["projects/fraud-detection.yaml", "keys/fraud-detection.yaml", "endpoints/fraud-triage.yaml", "resources/fraud-detection.yaml"] {
            try FileManager.default.removeItem(atPath: world.desired + "/" + file)
        }
        let report = try await world.reconciler().runOnce(directory: world.desired)
        #expect(report.isValid, "\(report.diagnostics)")
        let project = try #require(report.outcomes.first { $0.action.ref == ObjectRef(.project, "fraud-detection") })
        #expect(project.result == .deferred && project.reason?.contains("Resource/fraud-warehouse") == true)
        // A dry run says so too.
        let desired = DesiredStateLoader().load(directory: world.desired).state
        let observed = try await store.observedState()
        let previewed = Preview.actions(
            plan(desired: desired, observed: observed), desired: desired, observed: observed, records: [:], approvals: [],
            gate: ProvisionGate(policies: nil), hasWorkspace: { _ in true }, now: Date())
        #expect(previewed.first { $0.action.ref == ObjectRef(.project, "fraud-detection") }?.next == "deferred: \(project.reason ?? "")")
        #expect(try await store.object(ObjectRef(.project, "fraud-detection")) != nil)
        let destroy = try await world.approval(of: "fraud-warehouse")
        try await ApprovalDesk(store: store, policies: shippedPolicies())
            .decide(id: destroy.id, approve: true, by: "lars.berg@example.com", reason: nil)
        let done = try await world.reconciler().runOnce(directory: world.desired)
        #expect(done.outcomes.first { $0.action.ref.id == "fraud-warehouse" }?.result == .removed)
        #expect(done.outcomes.first { $0.action.ref == ObjectRef(.project, "fraud-detection") }?.result == .removed)
        #expect(try await store.object(ObjectRef(.project, "fraud-detection")) == nil)
    }
}
