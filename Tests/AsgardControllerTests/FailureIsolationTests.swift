import AsgardController
import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

/// A real SQLite store that refuses the commits touching chosen objects, as a locked database
/// (SQLITE_BUSY past the busy timeout) refuses them.
final class RefusingStore: Store {
    struct Busy: Error, CustomStringConvertible { var description = "SQLite error 5: database is locked" }

    let base: SQLiteStore
    let refused = Mutex<Set<String>>([])

    init(_ base: SQLiteStore) { self.base = base }

    func refuse(_ refs: Set<String>) { refused.withLock { $0 = refs } }

    /// Refuses a commit when one of its changes matches: `Kind/id` for any change of the object,
    /// `Kind/id <status>` for a put with that status.
    private func check(_ changes: [ObjectChange]) throws {
        let names = Set(
            changes.flatMap { change -> [String] in
                switch change {
                case .put(let object, _, let status, _): [object.ref.description, "\(object.ref) \(status.rawValue)"]
                case .remove(let ref): [ref.description]
                case .record(let record): [record.ref.description]
                case .approvalApplied(let id): [id]
                }
            })
        if !names.isDisjoint(with: refused.withLock({ $0 })) { throw Busy() }
    }

    func commit(_ change: ObjectChange, audit: AuditEntry) async throws -> AuditRecord { try await commit([change], audit: audit) }
    func commit(_ changes: [ObjectChange], audit: AuditEntry) async throws -> AuditRecord {
        try check(changes)
        return try await base.commit(changes, audit: audit)
    }

    func observedState() async throws -> ObservedState { try await base.observedState() }
    func object(_ ref: ObjectRef) async throws -> DesiredObject? { try await base.object(ref) }
    func provisioningRecords() async throws -> [ObjectRef: ProvisioningRecord] { try await base.provisioningRecords() }
    func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord { try await base.appendAudit(entry) }
    func auditTail(limit: Int) async throws -> [AuditRecord] { try await base.auditTail(limit: limit) }
    func verifyAudit(anchors: [AuditAnchor]) async throws -> AuditVerification { try await base.verifyAudit(anchors: anchors) }
    func ledger(project: String, from: Date, to: Date) async throws -> [LedgerEntry] { try await base.ledger(project: project, from: from, to: to) }
    func ingest(_ calls: [RecordedCall], through position: JournalPosition) throws { try base.ingest(calls, through: position) }
    func journalPosition() throws -> JournalPosition? { try base.journalPosition() }
    func makeDurable() throws -> Bool { try base.makeDurable() }
    func spend(project: String, from: Date, to: Date) async throws -> MicroDollars { try await base.spend(project: project, from: from, to: to) }
    func usage(project: String, from: Date, to: Date) async throws -> [UsageRow] { try await base.usage(project: project, from: from, to: to) }
    func killSwitches() async throws -> [StoredKillSwitch] { try await base.killSwitches() }
    func engageKillSwitch(_ killSwitch: StoredKillSwitch, audit: AuditEntry) async throws {
        try await base.engageKillSwitch(killSwitch, audit: audit)
    }
    func releaseKillSwitch(scope: KillScope, target: String, audit: AuditEntry) async throws -> Bool {
        try await base.releaseKillSwitch(scope: scope, target: target, audit: audit)
    }
    func routes() async throws -> [StoredRoute] { try await base.routes() }
    func gatewayConfiguration() async throws -> GatewayConfiguration { try await base.gatewayConfiguration() }
    func costSources() async throws -> [StoredCostSource] { try await base.costSources() }
    func requestApproval(_ request: ApprovalRequest) async throws -> Approval { try await base.requestApproval(request) }
    func approvals(status: Approval.Status?) async throws -> [Approval] { try await base.approvals(status: status) }
    func decideApproval(id: String, status: Approval.Status, by: String, reason: String?, audit: AuditEntry?) async throws -> Approval {
        try await base.decideApproval(id: id, status: status, by: by, reason: reason, audit: audit)
    }
    func summary() async throws -> StoreSummary { try await base.summary() }
    func recordEnforcedPolicies(_ source: PolicySource, audit: AuditEntry) async throws -> Bool {
        try await base.recordEnforcedPolicies(source, audit: audit)
    }
    func enforcedPolicies() async throws -> PolicySource? { try await base.enforcedPolicies() }
    func submitRequest(_ request: ObjectRequest, approval: ApprovalRequest?, audit: AuditEntry) async throws -> Approval? {
        try await base.submitRequest(request, approval: approval, audit: audit)
    }
    func objectRequests(status: ObjectRequest.Status?) async throws -> [ObjectRequest] { try await base.objectRequests(status: status) }
    func closeRequest(id: String, status: ObjectRequest.Status, reason: String?, audit: AuditEntry?) async throws -> ObjectRequest {
        try await base.closeRequest(id: id, status: status, reason: reason, audit: audit)
    }
}

/// A store error on one action is that action's failure, never the pass's.
@Suite struct FailureIsolationTests {
    let root: String
    let store: RefusingStore

    init() throws {
        root = try makeTemporaryDirectory("isolation")
        store = RefusingStore(try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey))
    }

    @Test func aRefusedConfigurationActionFailsAloneAndIsRetriedByTheNextPass() async throws {
        let desired = try copyShippedDesired(into: root)
        let reconciler = Reconciler(store: store, provisioner: UnavailableProvisioner(), policies: shippedPolicies())
        store.refuse(["Key/fraud-analyst-notebook"])
        let report = try await reconciler.runOnce(directory: desired)
        let results = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.action.ref.description, $0.result) })
        #expect(results["Key/fraud-analyst-notebook"] == .failed)
        #expect(report.outcomes.first { $0.result == .failed }?.reason?.contains("database is locked") == true)
        // Everything else went ahead: the other keys, the people, the projects, the services, provisioning.
        #expect(results.filter { $0.value == .applied }.count == 12)
        #expect(results["ServingEndpoint/fraud-triage"] == .pending)
        #expect(!report.succeeded)

        store.refuse([])
        let retried = try await reconciler.runOnce(directory: desired)
        #expect(
            retried.outcomes.filter { !$0.action.isProvisioning }.map { "\($0.action.verb.rawValue) \($0.action.ref) \($0.result.rawValue)" }
                == ["create Key/fraud-analyst-notebook applied"])
    }

    @Test func aRefusedProvisioningCommitIsThatObjectsFailure() async throws {
        let desired = try copyShippedDesired(into: root)
        let provisioner = ProvisionerDouble()
        let reconciler = Reconciler(store: store, provisioner: provisioner, policies: shippedPolicies())
        // The auto-tier volume is applied by terraform, then the store refuses to record it.
        store.refuse(["Resource/fraud-features applied"])
        let report = try await reconciler.runOnce(directory: desired)
        let features = try #require(report.outcomes.first { $0.action.ref.description == "Resource/fraud-features" })
        #expect(features.result == .failed && features.reason?.contains("database is locked") == true)
        #expect(report.outcomes.first { $0.action.ref.description == "Resource/fraud-warehouse" }?.result == .awaitingApproval)
        // Once the store takes writes again, the next pass finds the plan changes nothing and records it applied.
        store.refuse([])
        provisioner.set { $0.upToDate = ["Resource/fraud-features"] }
        let retried = try await reconciler.runOnce(directory: desired)
        #expect(retried.outcomes.first { $0.action.ref.description == "Resource/fraud-features" }?.result == .applied)
        #expect(provisioner.applies(of: "Resource/fraud-features").count == 1)
    }
}
