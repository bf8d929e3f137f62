import AsgardCore
import AsgardGateway
import AsgardTestSupport
import Foundation
import Testing

/// A project's provisioned serving endpoint answers only its own project's keys and the
/// projects it names in `shared_with`: Cedar decides, through the shipped
/// `endpoint-serves-its-projects`, with the model's owner in its entity.
@Suite(.serialized) struct EndpointOwnershipTests {
    static let writer = "asg_test_marketing_writer"  // marketing-writer: a key of marketing-copy, allowed databricks/*

    /// The shipped state with the endpoint applied and marketing-copy's key allowed every
    /// Databricks model; `sharedWith` is the endpoint's `shared_with`.
    static func harness(sharedWith: [String]? = nil) async throws -> GatewayHarness {
        try await GatewayHarness(
            prepare: { state in
                var key = state.keys["marketing-writer"]!
                key.digest = SHA256.hex(writer)
                key.allowedModels.append("databricks/*")
                state.insert(.key(key))
                var endpoint = state.servingEndpoints["fraud-triage"]!
                endpoint.sharedWith = sharedWith
                state.insert(.servingEndpoint(endpoint))
            }, applyEndpoints: true)
    }

    @Test func anotherProjectsKeyIsRefusedByPolicyWhileTheOwnersKeyIsServed() async throws {
        try await Self.harness().run { h in
            let route = try #require(try await h.store.routes().first { $0.model == "databricks/fraud-triage" })
            #expect(route.project == "fraud-detection" && route.sharedWith.isEmpty)
            let owner = await h.chat(GatewayHarness.scorer, model: "databricks/fraud-triage")
            #expect(owner.status == 200, "\(owner.json)")
            let other = await h.chat(Self.writer, model: "databricks/fraud-triage")
            #expect(other.status == 403 && GatewayHarness.code(other.json) == "policy_denied", "\(other.json)")
            #expect((other.json["error"] as? [String: Any])?["message"] as? String == "denied by policy endpoint-serves-its-projects")
            #expect(h.fake.controls.callCount(for: "fraud-triage") == 1)
            // The same key still calls the vendor's shared models: ownership is only the endpoint's.
            #expect(await h.chat(Self.writer).status == 200)
            let audit = try await h.stored.auditTail(limit: 10).filter { $0.content.actor == "Key/marketing-writer" }
            let refusal = try #require(audit.first { $0.content.outcome != "allowed" })
            #expect(refusal.content.detail.contains("endpoint-serves-its-projects"), "\(refusal.content)")
            #expect(
                try await h.stored.ledger(project: "marketing-copy", from: .distantPast, to: .distantFuture).map(\.model) == [
                    "databricks/llama-3-3-70b"
                ])
        }
    }

    @Test func anEndpointSharedWithAProjectServesItsKeys() async throws {
        try await Self.harness(sharedWith: ["marketing-copy"]).run { h in
            let route = try #require(try await h.store.routes().first { $0.model == "databricks/fraud-triage" })
            #expect(route.sharedWith == ["marketing-copy"])
            let shared = await h.chat(Self.writer, model: "databricks/fraud-triage")
            #expect(shared.status == 200, "\(shared.json)")
            #expect(await h.chat(GatewayHarness.scorer, model: "databricks/fraud-triage").status == 200)
            let rows = try await h.stored.ledger(project: "marketing-copy", from: .distantPast, to: .distantFuture)
            #expect(rows.map(\.model) == ["databricks/fraud-triage"] && rows.first?.keyID == "marketing-writer")
        }
    }
}
