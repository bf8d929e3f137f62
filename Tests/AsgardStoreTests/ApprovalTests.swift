import AsgardCore
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite("Approvals")
struct ApprovalTests {
    static func request(_ id: String = "fraud-llm", estimate: String = "412.50") -> ApprovalRequest {
        ApprovalRequest(
            ref: ObjectRef(.servingEndpoint, id), project: "fraud", actionDigest: SHA256.hex("action-\(id)"),
            planDigest: nil, summary: "create ServingEndpoint/\(id) [human]",
            estimate: CostEstimate(basis: .fixed, monthly: Fixture.dollars(estimate), detail: "the manifest's fixed figure"),
            requestedBy: "reconciler")
    }

    @Test("a request is stored pending with a fresh id and read back unchanged, also after reopening")
    func request() async throws {
        try await withScratch { scratch in
            let clock = TestClock()
            let store = try scratch.open(clock: clock)
            let request = Self.request()
            let approval = try await store.requestApproval(request)

            #expect(approval.id.wholeMatch(of: /apr_[0-9a-f]{16}/) != nil, "\(approval.id)")
            #expect(
                approval
                    == Approval(
                        id: approval.id, ref: request.ref, project: "fraud", actionDigest: request.actionDigest, planDigest: nil,
                        summary: request.summary,
                        estimate: CostEstimate(basis: .fixed, monthly: MicroDollars(412_500_000), detail: "the manifest's fixed figure"),
                        requestedBy: "reconciler",
                        status: .pending, decidedBy: nil, reason: nil, createdAt: clock.now(), decidedAt: nil
                    ))
            #expect(try await store.approvals(status: nil) == [approval])
            #expect(try await store.approvals(status: .pending) == [approval])
            #expect(try await store.approvals(status: .approved).isEmpty)
            #expect(try await scratch.open().approvals(status: nil) == [approval])
            #expect(
                try sqlite3(scratch.path, "SELECT typeof(monthly_estimate_micros) || ' ' || monthly_estimate_micros FROM approvals")
                    == "integer 412500000")

            let other = try await store.requestApproval(Self.request())
            #expect(other.id != approval.id)
        }
    }

    @Test("approvals list newest first, and filter by status", arguments: StoreFactory.all)
    func listing(factory: StoreFactory) async throws {
        let clock = TestClock()
        try await withStore(factory, clock: clock) { store, reopen in
            var made: [Approval] = []
            for name in ["a", "b", "c", "d"] {
                made.append(try await store.requestApproval(Self.request(name)))
                clock.advance(seconds: 60)
            }
            // Two requests in the same microsecond still list newest (last made) first.
            let sameInstant = try await store.requestApproval(Self.request("e"))
            let alsoSameInstant = try await store.requestApproval(Self.request("f"))
            #expect(sameInstant.createdAt == alsoSameInstant.createdAt)
            made += [sameInstant, alsoSameInstant]

            #expect(try await store.approvals(status: nil).map(\.ref.id) == ["f", "e", "d", "c", "b", "a"])
            _ = try await store.decideApproval(id: made[1].id, status: .approved, by: "ana@example.com", reason: nil, audit: nil)
            _ = try await store.decideApproval(id: made[3].id, status: .rejected, by: "ana@example.com", reason: "too big", audit: nil)
            #expect(try await store.approvals(status: .pending).map(\.ref.id) == ["f", "e", "c", "a"])
            #expect(try await store.approvals(status: .approved).map(\.ref.id) == ["b"])
            #expect(try await store.approvals(status: .rejected).map(\.ref.id) == ["d"])
            #expect(try await store.approvals(status: .void).isEmpty)
            #expect(try await store.summary().pendingApprovals == 4)
        }
    }

    @Test("deciding records who, why and when, exactly once", arguments: StoreFactory.all, [Approval.Status.approved, .rejected, .void])
    func decide(factory: StoreFactory, status: Approval.Status) async throws {
        let clock = TestClock()
        try await withStore(factory, clock: clock) { store, reopen in
            let approval = try await store.requestApproval(Self.request())
            clock.advance(seconds: 3_600.25)

            let decided = try await store.decideApproval(id: approval.id, status: status, by: "ben@example.com", reason: "reviewed", audit: nil)
            var expected = approval
            expected.status = status
            expected.decidedBy = "ben@example.com"
            expected.reason = "reviewed"
            expected.decidedAt = clock.now()
            #expect(decided == expected)
            #expect(try await store.approvals(status: nil) == [expected])
            #expect(try await reopen().approvals(status: status) == [expected])

            // Decided is final; only an approved one may still be voided (its plan changed).
            for next in Approval.Status.allCases where next != .pending && next != .applied && !(status == .approved && next == .void) {
                await #expect(throws: StoreError.approvalNotPending(id: approval.id, status: status)) {
                    try await store.decideApproval(id: approval.id, status: next, by: "mallory", reason: nil, audit: nil)
                }
            }
            #expect(try await store.approvals(status: nil) == [expected])
        }
    }

    @Test("deciding an unknown id throws approvalNotFound", arguments: StoreFactory.all)
    func notFound(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            _ = try await store.requestApproval(Self.request())
            await #expect(throws: StoreError.approvalNotFound("apr_0000000000000000")) {
                try await store.decideApproval(id: "apr_0000000000000000", status: .approved, by: "ana", reason: nil, audit: nil)
            }
            #expect(try await store.approvals(status: .pending).count == 1)
        }
    }

    @Test("pending is not a decision", arguments: StoreFactory.all)
    func pendingIsNotADecision(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let approval = try await store.requestApproval(Self.request())
            await #expect(throws: (any Error).self) {
                try await store.decideApproval(id: approval.id, status: .pending, by: "ana", reason: nil, audit: nil)
            }
            #expect(try await store.approvals(status: nil) == [approval])
        }
    }

    @Test("a plan digest and a nil reason round-trip", arguments: StoreFactory.all)
    func optionalFields(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            var request = Self.request()
            request.planDigest = SHA256.hex("terraform plan")
            let approval = try await store.requestApproval(request)
            #expect(approval.planDigest == request.planDigest)
            let decided = try await store.decideApproval(id: approval.id, status: .void, by: "reconciler", reason: nil, audit: nil)
            #expect(decided.reason == nil)
            #expect(try await store.approvals(status: .void) == [decided])
            #expect(try await store.approvals(status: .void).first?.planDigest == request.planDigest)
        }
    }

    @Test("a destroy plan's changes, masked values and an unknown estimate round-trip exactly", arguments: StoreFactory.all)
    func planDetails(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            var request = Self.request()
            request.operation = .destroy
            let before = try JSONValue.parse(
                #"{"name":"fraud-llm","size":1.50,"big":123456789012345678901234567890,"tags":{"CostCenter":"r&d","project":"fraud"},"secret":"(sensitive)"}"#
            )
            request.changes = [
                PlannedChange(address: "module.service.x.this", type: "x", action: "destroy", before: before, after: nil),
                PlannedChange(
                    address: "module.service.y.this", type: "y", action: "update", before: .object([]), after: .array([.null, .bool(true)])),
            ]
            request.estimate = CostEstimate(basis: .unknown, monthly: Fixture.dollars("99"), detail: "size 5X-Large is not in the rule")
            let approval = try await store.requestApproval(request)
            #expect(approval.operation == .destroy && approval.changes == request.changes)
            #expect(approval.estimate.monthly == nil && approval.estimate.basis == .unknown)
            #expect(try await reopen().approvals(status: nil) == [approval])
        }
    }
}
