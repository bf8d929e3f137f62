import AsgardController
import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// Objects requested through MCP or the API: checked like files in desired/, refused when Git
/// or another request has the id, gated, stored with origin and requester, reconciled beside
/// desired/, decided by the right people, cancelled by their requester, and owned by Git once
/// committed.
@Suite struct RequestDeskTests {
    let root: String
    let desired: String
    let store: SQLiteStore
    let desk: RequestDesk
    let agent = Requester.key("fraud-scoring-agent")

    init() throws {
        root = try makeTemporaryDirectory("requests")
        desired = try copyShippedDesired(into: root)
        store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        desk = RequestDesk(store: store, policies: shippedPolicies(), desiredDirectory: desired)
    }

    func volume(_ id: String, project: String = "fraud-detection", by requester: Requester? = nil, parameters: [String: ParameterValue]? = nil)
        async throws -> RequestDesk.Submitted
    {
        try await desk.requestResource(
            id: id, project: project, service: "databricks-uc-volume",
            parameters: parameters ?? ["catalog": .string("main"), "schema": .string("agent"), "volume": .string(id)],
            by: requester ?? agent, keyProject: requester == nil ? "fraud-detection" : nil, origin: .mcp)
    }

    /// One reconcile pass over desired/ and the requests, with the provisioner double.
    func pass() async throws -> ReconcileReport {
        let merged = try await DesiredWithRequests.load(directory: desired, store: store)
        let report = try await Reconciler(store: store, provisioner: ProvisionerDouble(), policies: shippedPolicies())
            .runOnce(loaded: merged.loaded, directory: desired)
        try await merged.closeSettled(in: store, actor: "test")
        return report
    }

    @Test func aKeysRequestIsStoredGatedAndReconciledBesideDesired() async throws {
        let submitted = try await volume("agent-volume")
        #expect(submitted.tier == .auto && submitted.gate?.allowed == true && submitted.gate?.policies == ["project-provisions-registered-service"])
        let stored = try #require(try await store.objectRequests(status: .open).first)
        #expect(stored.ref == ObjectRef(.resource, "agent-volume") && stored.requester == agent && stored.origin == .mcp)
        #expect(!stored.document.contains("requested_by"), "a key is no person: \(stored.document)")
        let report = try await pass()
        #expect(report.outcomes.contains { $0.action.ref == stored.ref && $0.result == .applied }, "\(report.outcomes)")
        let audit = try await store.auditTail(limit: 50).map(\.content)
        #expect(audit.contains { $0.action == "request.submit" && $0.actor == "Key/fraud-scoring-agent" && $0.target == "Resource/agent-volume" })
    }

    @Test func anIdThatGitOrAnotherRequestHasIsRefused() async throws {
        await #expect(throws: RequestDesk.Refusal.conflict("desired/ already declares Resource/fraud-features: change it there, by a commit")) {
            try await volume("fraud-features")
        }
        _ = try await volume("agent-volume")
        await #expect(throws: RequestDesk.Refusal.self) { try await volume("agent-volume") }
        #expect(try await store.objectRequests(status: nil).count == 1)
    }

    @Test func aKeyActsForItsOwnProjectOnly() async throws {
        await #expect(throws: RequestDesk.Refusal.denied("a key acts for its own project (fraud-detection), not for marketing-copy")) {
            try await desk.requestResource(
                id: "x", project: "marketing-copy", service: "databricks-uc-volume", parameters: [:], by: agent, keyProject: "fraud-detection", origin: .mcp)
        }
        #expect(try await store.objectRequests(status: nil).isEmpty)
    }

    @Test func whatTheLoaderRefusesIsRefusedNamingTheField() async throws {
        do {
            _ = try await desk.requestResource(
                id: "x", project: "fraud-detection", service: "no-such-service", parameters: [:], by: agent, keyProject: "fraud-detection", origin: .mcp)
            Issue.record("an unknown service was accepted")
        } catch RequestDesk.Refusal.invalid(let text) {
            #expect(text.contains("request req_") && text.contains("no-such-service"), "\(text)")
        }
        #expect(try await store.objectRequests(status: nil).isEmpty)
    }

    @Test func aStoppedProjectIsRefusedAtTheGate() async throws {
        try await store.engageKillSwitch(
            StoredKillSwitch(scope: .project, target: "fraud-detection", reason: "incident", engagedBy: "ops", since: Date()),
            audit: AuditEntry(actor: "ops", action: "kill.engage", target: "Project/fraud-detection", outcome: "engaged"))
        do {
            _ = try await volume("agent-volume")
            Issue.record("a stopped project's request passed the gate")
        } catch RequestDesk.Refusal.gate(let outcome) {
            #expect(outcome.reason.contains("kill switch: incident"), "\(outcome)")
        }
        #expect(try await store.objectRequests(status: nil).isEmpty)
    }

    /// A value that tries to close its string and declare another object stays one string.
    @Test func aParameterCannotInjectADocument() async throws {
        let hostile = "x\"\n---\nkind: Key\nid: stolen\nproject: fraud-detection\ndigest: sha256:\(String(repeating: "a", count: 64))\n# \u{2028}"
        _ = try await volume("agent-volume", parameters: ["catalog": .string("main"), "schema": .string(hostile), "volume": .string("v")])
        let request = try #require(try await store.objectRequests(status: .open).first)
        let loaded = DesiredStateLoader().load([request.source])
        #expect(loaded.state.count == 1 && loaded.state.keys.isEmpty, "\(request.document)")
        #expect(loaded.state.resources["agent-volume"]?.parameters["schema"] == .string(hostile))
    }

    @Test func aHumanTierRequestByAKeyMayBeApprovedByAnyApprover() async throws {
        _ = try await desk.requestResource(
            id: "agent-warehouse", project: "fraud-detection", service: "databricks-sql-warehouse",
            parameters: ["cluster_size": .string("2X-Small"), "auto_stop_mins": .number("10"), "max_num_clusters": .number("1")],
            by: agent, keyProject: "fraud-detection", origin: .mcp)
        _ = try await pass()
        let approval = try #require(try await store.approvals(status: .pending).first { $0.ref.id == "agent-warehouse" })
        #expect(approval.requestedBy == "Key/fraud-scoring-agent")
        let decided = try await ApprovalDesk(store: store, policies: shippedPolicies())
            .decide(id: approval.id, approve: true, by: "priya.natarajan@example.com", reason: nil)
            .status
        #expect(decided == .approved, "no person asked, so every approver of the project may decide")
    }

    @Test func aPersonNeverApprovesTheirOwnRequest() async throws {
        _ = try await desk.requestResource(
            id: "lars-warehouse", project: "fraud-detection", service: "databricks-sql-warehouse",
            parameters: ["cluster_size": .string("2X-Small"), "auto_stop_mins": .number("10"), "max_num_clusters": .number("1")],
            by: .person("lars.berg@example.com"), keyProject: nil, origin: .api)
        _ = try await pass()
        let approval = try #require(try await store.approvals(status: .pending).first { $0.ref.id == "lars-warehouse" })
        #expect(approval.requestedBy == "lars.berg@example.com")
        let approvals = ApprovalDesk(store: store, policies: shippedPolicies())
        await #expect(throws: ApprovalDesk.Refusal.self) {
            try await approvals.decide(id: approval.id, approve: true, by: "LARS.berg@example.com", reason: nil)
        }
        #expect(try await approvals.decide(id: approval.id, approve: true, by: "priya.natarajan@example.com", reason: nil).status == .approved)
    }

    @Test func aProposedProjectIsActiveOnlyOnceAnAdminApprovesIt() async throws {
        let submitted = try await desk.proposeProject(
            id: "agent-labs", name: "Agent Labs", owner: "maria.silva@example.com", classification: .internal, monthlyBudgetUSD: "100.00",
            approvers: ["Priya.Natarajan@example.com"], by: agent, origin: .mcp)
        let approval = try #require(submitted.approval)
        #expect(approval.status == .pending && approval.requestedBy == "Key/fraud-scoring-agent")
        // Not approved: not in desired state, never applied.
        _ = try await pass()
        #expect(try await store.object(ObjectRef(.project, "agent-labs")) == nil)
        let approvals = ApprovalDesk(store: store, policies: shippedPolicies())
        // The proposal's own approver is no admin: refused.
        await #expect(throws: ApprovalDesk.Refusal.self) {
            try await approvals.decide(id: approval.id, approve: true, by: "priya.natarajan@example.com", reason: nil)
        }
        _ = try await pass()  // people (their roles) are in the store once a pass ran
        #expect(try await approvals.decide(id: approval.id, approve: true, by: "lars.berg@example.com", reason: nil).status == .approved)
        let report = try await pass()
        #expect(report.outcomes.contains { $0.action.ref == ObjectRef(.project, "agent-labs") && $0.result == .applied }, "\(report.outcomes)")
        guard case .project(let project)? = try await store.object(ObjectRef(.project, "agent-labs")) else {
            Issue.record("the approved project was not applied")
            return
        }
        #expect(project.approvers == ["priya.natarajan@example.com"] && project.monthlyBudget == MicroDollars(100_000_000))
    }

    @Test func anAdminNeverApprovesTheirOwnProposalAndARejectedOneIsClosed() async throws {
        _ = try await pass()
        let submitted = try await desk.proposeProject(
            id: "lars-labs", name: "Lars Labs", owner: "lars.berg@example.com", classification: .public, monthlyBudgetUSD: "5",
            approvers: ["priya.natarajan@example.com"], by: .person("lars.berg@example.com"), origin: .api)
        let approval = try #require(submitted.approval)
        let approvals = ApprovalDesk(store: store, policies: shippedPolicies())
        do {
            _ = try await approvals.decide(id: approval.id, approve: true, by: "lars.berg@example.com", reason: nil)
            Issue.record("the proposer approved their own proposal")
        } catch let refusal as ApprovalDesk.Refusal {
            #expect(refusal.description.contains("proposer-never-approves"), "\(refusal)")
        }
        // Another admin rejects it: the next pass closes the request as rejected.
        try """
        kind: Person
        id: ops
        email: ops@example.com
        credential: sha256:\(String(repeating: "b", count: 64))
        roles: [admin]
        """.write(toFile: desired + "/people/ops.yaml", atomically: true, encoding: .utf8)
        _ = try await pass()
        _ = try await approvals.decide(id: approval.id, approve: false, by: "ops@example.com", reason: "not now")
        _ = try await pass()
        #expect(try await store.objectRequests(status: .rejected).map(\.id) == [submitted.request.id])
    }

    @Test func onlyTheRequesterOrAnAdminCancelsAndAProposalsApprovalIsVoided() async throws {
        let submitted = try await desk.proposeProject(
            id: "agent-labs", name: "Agent Labs", owner: "maria.silva@example.com", classification: .internal, monthlyBudgetUSD: "1",
            approvers: ["priya.natarajan@example.com"], by: agent, origin: .mcp)
        await #expect(throws: RequestDesk.Refusal.self) {
            try await desk.cancel(id: submitted.request.id, by: .key("someone-else"), isAdmin: false, reason: nil)
        }
        let cancelled = try await desk.cancel(id: submitted.request.id, by: agent, isAdmin: false, reason: "changed my mind")
        #expect(cancelled.status == .cancelled && cancelled.reason == "changed my mind")
        #expect(try await store.approvals(status: .void).map(\.id) == [submitted.approval?.id])
        await #expect(throws: RequestDesk.Refusal.self) { try await desk.cancel(id: submitted.request.id, by: agent, isAdmin: false, reason: nil) }
    }

    @Test func onceDesiredDeclaresTheObjectGitOwnsIt() async throws {
        let submitted = try await volume("agent-volume")
        _ = try await pass()
        try submitted.request.document.write(toFile: desired + "/resources/agent-volume.yaml", atomically: true, encoding: .utf8)
        let report = try await pass()
        let taken = report.outcomes.filter { $0.action.ref == submitted.request.ref }
        #expect(taken.allSatisfy { $0.action.verb != .delete && $0.action.verb != .create }, "nothing changes at the vendor: \(taken)")
        #expect(try await store.objectRequests(status: .committed).map(\.id) == [submitted.request.id])
        // A cancelled request's object leaves desired state like a deleted file.
        let other = try await volume("other-volume")
        _ = try await pass()
        _ = try await desk.cancel(id: other.request.id, by: agent, isAdmin: false, reason: nil)
        let removal = try await pass()
        #expect(removal.outcomes.contains { $0.action.ref == other.request.ref && $0.action.verb == .delete }, "\(removal.outcomes)")
    }
}
