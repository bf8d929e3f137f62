import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

/// The reconciler's provisioning logic on a real SQLite store, with an in-memory provisioner:
/// gate, tag check on the plan, tiers, approvals bound to the plan digest, faults and backoff,
/// crash recovery, removal and drift. (`TerraformFlowTests` runs the same flows on real terraform.)
@Suite struct ProvisioningReconcilerTests {
    let root: String
    let desired: String
    let store: SQLiteStore
    let provisioner = ProvisionerDouble()
    let now = ManualClock()

    init() throws {
        root = try makeTemporaryDirectory("provisioning")
        desired = try copyShippedDesired(into: root)
        store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
    }

    func reconciler(policies: PolicyEngine? = shippedPolicies(), vendor: (any VendorObserver)? = nil) -> Reconciler {
        let now = self.now
        return Reconciler(
            store: store, provisioner: provisioner, policies: policies,
            observers: VendorObservers(vendor.map { ["databricks-serving-endpoints": $0] } ?? [:]), clock: { now.withLock { $0 } })
    }

    func pass(_ reconciler: Reconciler? = nil) async throws -> [String: ActionOutcome] {
        let report = try await (reconciler ?? self.reconciler()).runOnce(directory: desired)
        #expect(report.isValid)
        return Dictionary(uniqueKeysWithValues: report.outcomes.filter(\.action.isProvisioning).map { ($0.action.ref.description, $0) })
    }

    func status(_ ref: String) async throws -> ObservedObject? {
        let parts = ref.split(separator: "/").map(String.init)
        return try await store.observedState().objects[ObjectRef(ObjectKind(rawValue: parts[0])!, parts[1])]
    }

    func approval(of id: String) async throws -> Approval {
        try #require(try await store.approvals(status: nil).first { $0.ref.id == id && ($0.status == .pending || $0.status == .approved) })
    }

    @Test func autoAppliesAtOnceHumanWaitsForAnApprovalOfThePlan() async throws {
        let outcomes = try await pass()
        #expect(outcomes["Resource/fraud-features"]?.result == .applied)
        #expect(outcomes["Resource/fraud-features"]?.gate?.policies == ["project-provisions-registered-service"])
        #expect(provisioner.applies(of: "Resource/fraud-features").count == 1)
        #expect(outcomes["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        #expect(outcomes["ServingEndpoint/fraud-triage"]?.result == .awaitingApproval)
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").isEmpty)
        let warehouse = try await approval(of: "fraud-warehouse")
        #expect(warehouse.planDigest == outcomes["Resource/fraud-warehouse"]?.planDigest)
        #expect(warehouse.requestedBy == "maria.silva@example.com" && warehouse.operation == .provision)
        // The estimate follows the manifest's cost rule for the parameters: a 2X-Small, one cluster.
        #expect(
            warehouse.estimate
                == CostEstimate(basis: .rule, monthly: MicroDollars(300_000_000), detail: "cluster_size 2X-Small: $300/month × max_num_clusters 1"))
        #expect(warehouse.summary.hasPrefix("create "))
        // The approver sees the planned resource with its values, not only its address.
        let change = try #require(warehouse.changes.first)
        #expect(change.action == "create" && change.address == "module.service.databricks_sql_endpoint.this" && change.before == nil)
        #expect(change.after?["cluster_size"] == .string("2X-Small") && change.after?["name"] == .string("fraud-warehouse"))
        // The outputs of the apply are kept.
        let record = try #require(try await store.provisioningRecords()[ObjectRef(.resource, "fraud-features")])
        #expect(record.outputsJSON == #"{"id":"id-fraud-features"}"# && record.appliedPlan == outcomes["Resource/fraud-features"]?.planDigest)
        // Waiting is not news: the next pass plans again, asks nothing new and audits nothing.
        let audits = try await store.summary().auditEntries
        let again = try await pass()
        #expect(again["Resource/fraud-warehouse"]?.result == .awaitingApproval && again["Resource/fraud-features"] == nil)
        #expect(try await store.approvals(status: .pending).count == 2)
        #expect(try await store.summary().auditEntries == audits)
    }

    @Test func anApprovedPlanIsAppliedOnceAndTheApprovalIsSpent() async throws {
        _ = try await pass()
        let request = try await approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: request.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        let outcomes = try await pass()
        #expect(outcomes["Resource/fraud-warehouse"]?.result == .applied)
        #expect(provisioner.applies(of: "Resource/fraud-warehouse") == [try #require(request.planDigest)])
        #expect(try await store.approvals(status: .applied).map(\.id) == [request.id])
        #expect(try await status("Resource/fraud-warehouse")?.status == .applied)
        // Nothing left to do for it, and no second apply.
        let next = try await pass()
        #expect(next["Resource/fraud-warehouse"] == nil)
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").count == 1)
    }

    @Test func aPlanThatChangedAfterApprovalVoidsItAndAsksAgain() async throws {
        _ = try await pass()
        let first = try await approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: first.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        provisioner.set { $0.revision = 1 }  // the vendor drifted: terraform now plans something else
        let outcomes = try await pass()
        #expect(outcomes["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").isEmpty)
        let voided = try #require(try await store.approvals(status: .void).first { $0.id == first.id })
        #expect(voided.reason?.hasPrefix("the plan changed since it was approved") == true)
        let second = try await approval(of: "fraud-warehouse")
        #expect(second.id != first.id && second.planDigest == outcomes["Resource/fraud-warehouse"]?.planDigest)
        #expect(
            try await store.auditTail(limit: 50).contains { $0.content.action == "approval.void" && $0.content.target == "Resource/fraud-warehouse" })
    }

    @Test func aDesiredChangeAfterApprovalVoidsItToo() async throws {
        _ = try await pass()
        let first = try await approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: first.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        let file = desired + "/resources/fraud-detection.yaml"
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "auto_stop_mins: 10", with: "auto_stop_mins: 20")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let outcomes = try await pass()
        #expect(outcomes["Resource/fraud-warehouse"]?.action.verb == .update && outcomes["Resource/fraud-warehouse"]?.result == .awaitingApproval)
        #expect(try await store.approvals(status: .void).map(\.id) == [first.id])
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").isEmpty)
    }

    @Test func aRejectedPlanIsNeverAppliedNorAskedAgain() async throws {
        _ = try await pass()
        let request = try await approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: request.id, status: .rejected, by: "priya.natarajan@example.com", reason: "too big", audit: nil)
        for _ in 0..<2 {
            let outcomes = try await pass()
            #expect(outcomes["Resource/fraud-warehouse"]?.result == .refused)
            #expect(outcomes["Resource/fraud-warehouse"]?.reason?.contains("rejected by priya.natarajan@example.com: too big") == true)
        }
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").isEmpty)
        #expect(try await store.approvals(status: .pending).map(\.ref.id) == ["fraud-triage"])
    }

    @Test func cedarDenyRefusesBeforeTerraformRunsAndAuditsThePolicy() async throws {
        let forbid = """
            @id("freeze-warehouses")
            forbid (principal, action == Action::"provision", resource == Service::"databricks-sql-warehouse");
            """
        let (bundle, problems) = PolicyBundle.load(files: [("freeze.cedar", forbid)] + shippedPolicyFiles())
        #expect(problems.isEmpty)
        let outcomes = try await pass(reconciler(policies: PolicyEngine(enforced: bundle)))
        let refused = try #require(outcomes["Resource/fraud-warehouse"])
        #expect(refused.result == .refused && refused.gate?.policies == ["freeze-warehouses"])
        #expect(refused.reason?.hasPrefix("policy: Cedar denied provision of databricks-sql-warehouse") == true)
        #expect(!provisioner.callLog.contains("plan Resource/fraud-warehouse"))
        #expect(try await status("Resource/fraud-warehouse")?.status == .refused)
        let audit = try #require(try await store.auditTail(limit: 50).first { $0.content.target == "Resource/fraud-warehouse" })
        #expect(audit.content.outcome == "refused" && audit.content.detail.contains("freeze-warehouses"))
        // No policy set at all: nothing is provisioned (fail closed).
        let closed = try await pass(reconciler(policies: nil))
        #expect(closed.values.allSatisfy { $0.result == .refused || $0.result == .deferred })
    }

    @Test func aKilledProjectIsNotActiveSoNothingIsProvisioned() async throws {
        try await store.engageKillSwitch(
            StoredKillSwitch(scope: .project, target: "fraud-detection", reason: "incident 42", engagedBy: "ops", since: Date()),
            audit: AuditEntry(actor: "ops", action: "kill.engage", target: "project:fraud-detection", outcome: "engaged"))
        let outcomes = try await pass()
        for ref in ["Resource/fraud-features", "Resource/fraud-warehouse", "ServingEndpoint/fraud-triage"] {
            #expect(outcomes[ref]?.result == .refused)
            #expect(outcomes[ref]?.reason == "registration: project \"fraud-detection\" is not active (kill switch: incident 42)")
        }
        #expect(provisioner.callLog.isEmpty)
    }

    @Test(arguments: [
        ("wrong", "carries project=someone-else at properties, not project=fraud-detection"),
        ("unlisted", "type aws_instance is not listed in the service manifest's tags"),
    ])
    func theTagCheckOnThePlanRefusesTheApply(fault: String, expected: String) async throws {
        provisioner.set {
            if fault == "wrong" { $0.wrongTag["Resource/fraud-features"] = "someone-else" } else { $0.unlistedType.insert("Resource/fraud-features") }
        }
        let outcomes = try await pass()
        let refused = try #require(outcomes["Resource/fraud-features"])
        #expect(refused.result == .refused && refused.reason?.hasPrefix("project tag check: ") == true)
        #expect(refused.reason?.contains(expected) == true, "\(refused.reason ?? "")")
        #expect(provisioner.applies(of: "Resource/fraud-features").isEmpty)
        // Fixed at the source, the next pass applies it.
        provisioner.set { $0 = ProvisionerDouble.Knobs() }
        #expect(try await pass()["Resource/fraud-features"]?.result == .applied)
    }

    @Test func aFailureIsRecordedScrubbedAndRetriedWithBackoff() async throws {
        provisioner.set { $0.failApply.insert("Resource/fraud-features") }
        let first = try await pass()
        #expect(first["Resource/fraud-features"]?.result == .failed)
        #expect(
            first["Resource/fraud-features"]?.reason?.hasPrefix("terraform apply exited with status 1: vendor said no (attempt 1; next try after")
                == true)
        #expect(try await status("Resource/fraud-features")?.status == .failed)
        // Within the backoff: not tried.
        let deferred = try await pass()
        #expect(deferred["Resource/fraud-features"]?.result == .deferred)
        #expect(provisioner.callLog.filter { $0 == "apply Resource/fraud-features" }.count == 1)
        // After it, tried again: fails again and waits twice as long.
        now.withLock { $0 += 31 }
        #expect(try await pass()["Resource/fraud-features"]?.result == .failed)
        let record = try #require(try await store.provisioningRecords()[ObjectRef(.resource, "fraud-features")])
        #expect(record.failures == 2 && record.retryAfter == now.withLock { $0 } + 60)
        provisioner.set { $0.failApply = [] }
        now.withLock { $0 += 61 }
        #expect(try await pass()["Resource/fraud-features"]?.result == .applied)
        #expect(try await store.provisioningRecords()[ObjectRef(.resource, "fraud-features")]?.failures == 0)
    }

    @Test func anApplyInterruptedByACrashConvergesWithoutASecondApply() async throws {
        _ = try await pass()
        let request = try await approval(of: "fraud-warehouse")
        _ = try await store.decideApproval(id: request.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        // The process died after committing its intent and after terraform finished, before
        // recording the outcome: the store says "applying", the vendor has it.
        let ref = ObjectRef(.resource, "fraud-warehouse")
        try await store.commit(
            [.record(ProvisioningRecord(ref: ref, applying: request.planDigest, approval: request.id))],
            audit: AuditEntry(actor: "test", action: "provision.apply", target: ref.description, outcome: "started"))
        provisioner.set { $0.upToDate.insert(ref.description) }
        let outcomes = try await pass()
        #expect(outcomes[ref.description]?.result == .applied)
        #expect(outcomes[ref.description]?.reason == "the interrupted apply had completed: the plan now changes nothing")
        #expect(provisioner.applies(of: ref.description).isEmpty)
        #expect(try await store.approvals(status: .applied).map(\.id) == [request.id])
        let record = try #require(try await store.provisioningRecords()[ref])
        #expect(record.applying == nil && record.appliedPlan == request.planDigest)
    }

    @Test func aRequestWhosePlanNoLongerChangesAnythingIsVoided() async throws {
        _ = try await pass()
        let request = try await approval(of: "fraud-warehouse")
        provisioner.set { $0.upToDate.insert("Resource/fraud-warehouse") }  // someone made it by hand, exactly so
        #expect(try await pass()["Resource/fraud-warehouse"]?.result == .applied)
        let voided = try #require(try await store.approvals(status: .void).first { $0.id == request.id })
        #expect(voided.reason == "the plan changes nothing any more: Resource/fraud-warehouse is already as desired")
        #expect(provisioner.applies(of: "Resource/fraud-warehouse").isEmpty)
    }

    @Test func removalDestroysAndAnAppliedEndpointsRouteComesAndGoes() async throws {
        _ = try await pass()
        let endpoint = try await approval(of: "fraud-triage")
        _ = try await store.decideApproval(id: endpoint.id, status: .approved, by: "priya.natarajan@example.com", reason: nil, audit: nil)
        #expect(try await !store.routes().contains { $0.model == "databricks/fraud-triage" })
        #expect(try await pass()["ServingEndpoint/fraud-triage"]?.result == .applied)
        let route = try #require(try await store.routes().first { $0.model == "databricks/fraud-triage" })
        #expect(route.upstream == "fraud-triage" && route.servingEndpoint == "fraud-triage")
        #expect(route.project == "fraud-detection" && route.sharedWith.isEmpty)
        try FileManager.default.removeItem(atPath: desired + "/endpoints/fraud-triage.yaml")
        try FileManager.default.removeItem(atPath: desired + "/resources/fraud-detection.yaml")
        let keys = desired + "/keys/fraud-detection.yaml"
        try String(contentsOfFile: keys, encoding: .utf8).replacingOccurrences(of: "  - databricks/fraud-triage\n", with: "")
            .write(toFile: keys, atomically: true, encoding: .utf8)
        let report = try await reconciler().runOnce(directory: desired)
        #expect(report.isValid, "\(report.diagnostics)")
        // The auto-tier volume is destroyed at once; the human-tier endpoint's destroy waits for
        // an approval of its plan, while its route leaves the gateway at once.
        #expect(
            report.outcomes.filter { $0.action.isProvisioning }.map { "\($0.action.verb.rawValue) \($0.action.ref) \($0.result.rawValue)" } == [
                "delete Resource/fraud-warehouse removed", "delete Resource/fraud-features removed",
                "delete ServingEndpoint/fraud-triage awaiting_approval",
            ])
        #expect(report.outcomes.first { $0.action.ref.id == "fraud-warehouse" }?.reason == "never provisioned, so nothing to destroy")
        #expect(Set(provisioner.callLog.suffix(2)) == ["destroy Resource/fraud-features", "plan-destroy ServingEndpoint/fraud-triage"])
        #expect(try await !store.routes().contains { $0.model == "databricks/fraud-triage" })
        #expect(try await store.approvals(status: .void).map(\.ref.id) == ["fraud-warehouse"])
        let destroy = try await approval(of: "fraud-triage")
        #expect(destroy.operation == .destroy && destroy.summary == "destroy 1: ServingEndpoint/fraud-triage")
        _ = try await store.decideApproval(id: destroy.id, status: .approved, by: "lars.berg@example.com", reason: nil, audit: nil)
        let removed = try await pass()
        #expect(removed["ServingEndpoint/fraud-triage"]?.result == .removed)
        #expect(provisioner.callLog.last == "apply-destroy ServingEndpoint/fraud-triage")
        #expect(try await store.approvals(status: .applied).map(\.id).contains(destroy.id))
        #expect(try await store.provisioningRecords().isEmpty)
        #expect(try await store.observedState().objects[ObjectRef(.servingEndpoint, "fraud-triage")] == nil)
    }

    @Test func anEndpointGoneAtTheVendorIsDriftRepairedThroughItsTier() async throws {
        let vendor = VendorDouble()
        _ = try await pass(reconciler(vendor: vendor))
        let endpoint = try await approval(of: "fraud-triage")
        _ = try await store.decideApproval(id: endpoint.id, status: .approved, by: "priya.natarajan@example.com", reason: nil, audit: nil)
        vendor.endpoints.withLock { $0 = ["fraud-triage": ["project": "fraud-detection"]] }
        #expect(try await pass(reconciler(vendor: vendor))["ServingEndpoint/fraud-triage"]?.result == .applied)
        #expect(try await pass(reconciler(vendor: vendor))["ServingEndpoint/fraud-triage"] == nil)
        // Deleted out of band.
        vendor.endpoints.withLock { $0 = [:] }
        let report = try await reconciler(vendor: vendor).runOnce(directory: desired)
        let drift = try #require(report.outcomes.first { $0.action.ref.id == "fraud-triage" })
        #expect(drift.action.verb == .converge && drift.action.note == "drift: serving endpoint fraud-triage does not exist at databricks")
        #expect(drift.result == .awaitingApproval)
        #expect(provisioner.callLog.contains("plan ServingEndpoint/fraud-triage replace [\"databricks_model_serving\"]"))
        // Re-tagged out of band is drift too.
        vendor.endpoints.withLock { $0 = ["fraud-triage": ["project": "marketing-copy"]] }
        let (observed, _) = await DriftObserver(provisioner: provisioner, observers: VendorObservers(["databricks-serving-endpoints": vendor]))
            .observe(
                ObservedState([
                    ObservedObject(
                        ref: ObjectRef(.servingEndpoint, "fraud-triage"), specDigest: "x", tier: .human, status: .applied, project: "fraud-detection")
                ]),
                records: [:], desired: DesiredStateLoader().load(directory: desired).state)
        #expect(
            observed.objects.values.first?.drift
                == "serving endpoint fraud-triage carries project=marketing-copy at databricks, not project=fraud-detection")
    }
}

/// A clock a test moves by hand.
final class ManualClock: Sendable {
    private let value = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func withLock<T>(_ body: (inout Date) -> T) -> T { value.withLock { body(&$0) } }
}

/// A vendor whose serving endpoints a test sets.
final class VendorDouble: VendorObserver {
    let endpoints = Mutex<[String: [String: String]]>([:])
    func servingEndpoints(of vendor: Service) async throws -> [String: [String: String]]? { endpoints.withLock { $0 } }
    func describeRead(of vendor: Service) -> String? { "list \(vendor.id)" }
}

/// The shipped policy files as (name, text) pairs.
func shippedPolicyFiles() -> [(name: String, text: String?)] {
    let directory = packageRoot + "/policies"
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".cedar") }.sorted()
    return names.map { ($0, try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8)) }
}
