import AsgardController
import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// Deciding approvals: only a project approver, never the requester, every decision audited.
@Suite struct ApprovalDeskTests {
    let root: String
    let desired: String
    let store: SQLiteStore
    let desk: ApprovalDesk

    init() throws {
        root = try makeTemporaryDirectory("desk")
        desired = try copyShippedDesired(into: root)
        store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        desk = ApprovalDesk(store: store, policies: shippedPolicies())
    }

    /// One pass with the double, so the warehouse asks for an approval; returns its id.
    func requested(requestedBy: String? = nil) async throws -> String {
        if let requestedBy {
            let file = desired + "/resources/fraud-detection.yaml"
            try String(contentsOfFile: file, encoding: .utf8)
                .replacingOccurrences(
                    of: "service: databricks-sql-warehouse", with: "service: databricks-sql-warehouse\nrequested_by: \(requestedBy)"
                )
                .write(toFile: file, atomically: true, encoding: .utf8)
        }
        let report = try await Reconciler(store: store, provisioner: ProvisionerDouble(), policies: shippedPolicies()).runOnce(directory: desired)
        #expect(report.isValid, "\(report.diagnostics)")
        return try #require(try await store.approvals(status: .pending).first { $0.ref.id == "fraud-warehouse" }).id
    }

    @Test func aProjectApproverApprovesAndItIsAudited() async throws {
        let id = try await requested()
        let approval = try await desk.decide(id: id, approve: true, by: "lars.berg@example.com", reason: nil)
        #expect(approval.status == .approved && approval.decidedBy == "lars.berg@example.com")
        let audit = try #require(try await store.auditTail(limit: 1).first)
        #expect(audit.content.action == "approval.approve" && audit.content.outcome == "approved" && audit.content.actor == "lars.berg@example.com")
        #expect(audit.content.detail.contains("approver-approves-project-request"))
        // Decided is final.
        await #expect(throws: ApprovalDesk.Refusal.self) {
            try await desk.decide(id: id, approve: false, by: "priya.natarajan@example.com", reason: "late")
        }
    }

    @Test func someoneWhoIsNotAnApproverIsDeniedAndItIsAudited() async throws {
        let id = try await requested()
        await #expect(
            throws: ApprovalDesk.Refusal(
                description: "Cedar denied approve for mallory@example.com: mallory@example.com is not an approver of project \"fraud-detection\"",
                denied: true)
        ) {
            try await desk.decide(id: id, approve: true, by: "mallory@example.com", reason: nil)
        }
        #expect(try await store.approvals(status: .pending).contains { $0.id == id })
        let audit = try #require(try await store.auditTail(limit: 1).first)
        #expect(audit.content.action == "approval.approve" && audit.content.outcome == "denied" && audit.content.actor == "mallory@example.com")
    }

    @Test func theRequesterCannotApproveTheirOwnRequestEvenAsAnApprover() async throws {
        let id = try await requested(requestedBy: "lars.berg@example.com")
        #expect(try await store.approvals(status: .pending).first { $0.id == id }?.requestedBy == "lars.berg@example.com")
        await #expect(
            throws: ApprovalDesk.Refusal(
                description: "Cedar denied approve for lars.berg@example.com: forbidden by requester-never-approves", denied: true)
        ) {
            try await desk.decide(id: id, approve: true, by: "lars.berg@example.com", reason: nil)
        }
        // Another approver may.
        #expect(try await desk.decide(id: id, approve: true, by: "priya.natarajan@example.com", reason: nil).status == .approved)
    }

    /// `requested_by: Lars.Berg@Example.com` once let `lars.berg@example.com` approve their own
    /// request: addresses are one person whatever their letter case, on either side.
    @Test(arguments: [("Lars.Berg@Example.com", "lars.berg@example.com"), ("lars.berg@example.com", " LARS.BERG@example.COM")])
    func letterCaseDoesNotMakeTheRequesterSomeoneElse(requester: String, approver: String) async throws {
        let id = try await requested(requestedBy: requester)
        #expect(try await store.approvals(status: .pending).first { $0.id == id }?.requestedBy == "lars.berg@example.com")
        await #expect(throws: ApprovalDesk.Refusal.self) { try await desk.decide(id: id, approve: true, by: approver, reason: nil) }
        #expect(try await store.approvals(status: .pending).contains { $0.id == id })
        // A listed approver is recognised in any case too.
        #expect(try await desk.decide(id: id, approve: true, by: "Priya.Natarajan@EXAMPLE.com", reason: nil).decidedBy == "priya.natarajan@example.com")
    }

    @Test func aRejectionNeedsAReasonAndUnknownIdsAreNamed() async throws {
        let id = try await requested()
        await #expect(throws: ApprovalDesk.Refusal(description: "a rejection needs a reason (--reason)")) {
            try await desk.decide(id: id, approve: false, by: "lars.berg@example.com", reason: " ")
        }
        #expect(try await desk.decide(id: id, approve: false, by: "lars.berg@example.com", reason: "not this quarter").status == .rejected)
        await #expect(throws: StoreError.approvalNotFound("apr_0000000000000000")) {
            try await desk.decide(id: "apr_0000000000000000", approve: true, by: "lars.berg@example.com", reason: nil)
        }
    }
}
