import AsgardCore
import AsgardStore
import Foundation
import Testing

@Suite("Summary")
struct SummaryTests {
    @Test("an empty store counts nothing and has no audit head", arguments: StoreFactory.all)
    func empty(factory: StoreFactory) async throws {
        try await withStore(factory) { store, _ in
            let summary = try await store.summary()
            #expect(
                summary
                    == StoreSummary(
                        objects: [:], routes: 0, keys: 0, costSources: 0, pendingApprovals: 0,
                        ledgerRows: 0, auditEntries: 0, auditHead: nil))
        }
    }

    @Test("counts objects by kind and status and every derived table", arguments: StoreFactory.all)
    func counts(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.service(Fixture.service())))  // 2 routes, 1 cost source
            try await commit(
                store, Fixture.put(.service(Fixture.service("openai", models: [Fixture.model("gpt-4o", vendor: "openai")], costSource: nil))))
            try await commit(store, Fixture.put(.project(Fixture.project("fraud"))))
            try await commit(store, Fixture.put(.project(Fixture.project("growth"))))
            try await commit(store, Fixture.put(.key(Fixture.key("k1", secret: "one"))))
            try await commit(store, Fixture.put(.key(Fixture.key("k2", secret: "two")), status: .failed))
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint()), tier: .human, status: .applied))  // 1 route
            try await commit(store, Fixture.put(.resource(Fixture.resource("r1")), tier: .human, status: .awaitingApproval))
            try await commit(store, Fixture.put(.resource(Fixture.resource("r2")), status: .pending))
            try await commit(store, Fixture.put(.resource(Fixture.resource("r3")), status: .pending))
            try await commit(store, .remove(ObjectRef(.project, "growth")))

            let first = try await store.requestApproval(ApprovalTests.request("r1"))
            _ = try await store.requestApproval(ApprovalTests.request("r2"))
            _ = try await store.decideApproval(id: first.id, status: .approved, by: "ana", reason: nil, audit: nil)
            try ingest(store, [LedgerTests.entry("x", at: 1), LedgerTests.entry("y", at: 2)])
            let last = try await store.appendAudit(Fixture.audit("status"))

            let summary = try await store.summary()
            #expect(
                summary
                    == StoreSummary(
                        objects: [
                            "Service": ["applied": 2],
                            "Project": ["applied": 1],
                            "Key": ["applied": 1, "failed": 1],
                            "ServingEndpoint": ["applied": 1],
                            "Resource": ["awaiting_approval": 1, "pending": 2],
                        ],
                        routes: 4, keys: 2, costSources: 1, pendingApprovals: 1, ledgerRows: 2, auditEntries: 14, auditHead: last.hash
                    ))
        }
    }
}
