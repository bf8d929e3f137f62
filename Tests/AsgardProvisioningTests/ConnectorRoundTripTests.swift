import AsgardController
import AsgardCore
import AsgardJSON
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

/// The connector against the real terraform binary and the null provider: plan, apply,
/// outputs, state, replan, destroy.
@Suite(.serialized)
struct ConnectorRoundTripTests {
    @Test func planApplyStateDestroyRoundTrip() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request(parameters: [
            "size": .number("2"), "label": .string("raw ${x} events"),
            "zones": .list([.string("a"), .string("b")]),
            "settings": .map(["tier": .string("gold")]), "enabled": .bool(false),
        ])

        let plan = try await connector.plan(request)
        #expect(plan.summary == "create 1, update 0, replace 0, destroy 0: module.service.null_resource.this (create)")
        #expect(plan.resources.map(\.address) == ["module.service.null_resource.this"])
        #expect(plan.resources.first?.type == "null_resource")
        #expect(plan.resources.first?.actions == ["create"])
        let triggers = plan.resources.first?.after?["triggers"]
        #expect(triggers?["project"] == .string("fraud-detection"))
        #expect(triggers?["size"] == .string("2"))
        #expect(triggers?["label"] == .string("raw ${x} events"))
        #expect(triggers?["zones"] == .string("a,b"))
        #expect(triggers?["settings"] == .string(#"{"tier":"gold"}"#))
        #expect(triggers?["enabled"] == .string("false"))
        #expect(Workspace.isDigest(plan.digest))
        #expect(FileManager.default.fileExists(atPath: world.workspace() + "/plans/\(plan.digest).tfplan"))
        #expect(try connector.state(of: request.ref) == nil)

        // The workspace record names the variables, never their values.
        let record = try String(contentsOfFile: world.workspace() + "/asgard-workspace.json", encoding: .utf8)
        #expect(record.contains("DATABRICKS_TOKEN"))
        #expect(world.filesContaining(world.sentinel).isEmpty)

        let outputs = try await connector.apply(request, planDigest: plan.digest)
        let id = try #require(outputs.string("id"))
        #expect(!id.isEmpty)
        #expect(outputs.values["secret_hint"] == .string("(sensitive)"))
        #expect(outputs.values["triggers"]?["project"] == .string("fraud-detection"))
        #expect(outputs.values["triggers"]?["name"] == .string("widget"))

        let state = try #require(try connector.state(of: request.ref))
        #expect(state.instances == [WorkspaceState.Instance(address: "module.service.null_resource.this", type: "null_resource")])
        #expect(state.serial >= 1)

        // Planning the applied configuration again changes nothing.
        let replan = try await connector.plan(request)
        #expect(replan.changesNothing)
        #expect(replan.summary == "create 0, update 0, replace 0, destroy 0: no changes")

        try await connector.destroy(request.ref)
        #expect(!FileManager.default.fileExists(atPath: world.workspace()))
        #expect(try connector.state(of: request.ref) == nil)
        // Nothing left to destroy is success.
        try await connector.destroy(request.ref)
        #expect(world.filesContaining(world.sentinel).isEmpty)
    }

    /// The human tier's removal: a saved destroy plan, stable across replans, that destroys
    /// nothing until it is applied by its digest, and refuses to apply once the state moved.
    @Test func aDestroyIsPlannedSavedAndAppliedByItsDigest() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request(parameters: ["size": .number("2")])
        #expect(try await connector.planDestroy(request.ref) == nil)  // no workspace: nothing to destroy
        let created = try await connector.plan(request)
        #expect(try await connector.planDestroy(request.ref) == nil)  // a workspace that manages nothing
        _ = try await connector.apply(request, planDigest: created.digest)

        let plan = try #require(try await connector.planDestroy(request.ref))
        #expect(plan.summary == "create 0, update 0, replace 0, destroy 1: module.service.null_resource.this (destroy)")
        #expect(plan.changes.map(\.action) == ["destroy"] && plan.changes.first?.after == nil)
        #expect(plan.changes.first?.before?["triggers"]?["size"] == .string("2"))
        #expect(try await connector.planDestroy(request.ref)?.digest == plan.digest)
        #expect(try connector.state(of: request.ref)?.instances.count == 1)
        await #expect(throws: TerraformError.planNotSaved(digest: String(repeating: "0", count: 64))) {
            try await connector.applyDestroy(request.ref, planDigest: String(repeating: "0", count: 64))
        }
        // A plan made against another state than the workspace holds now is refused.
        let replaced = world.request(parameters: ["size": .number("3")])
        let change = try await connector.plan(replaced)
        _ = try await connector.apply(replaced, planDigest: change.digest)
        await #expect(throws: TerraformError.self) { try await connector.applyDestroy(request.ref, planDigest: plan.digest) }
        #expect(try connector.state(of: request.ref)?.instances.count == 1)

        let fresh = try #require(try await connector.planDestroy(request.ref))
        #expect(fresh.digest != plan.digest)
        try await connector.applyDestroy(request.ref, planDigest: fresh.digest)
        #expect(!FileManager.default.fileExists(atPath: world.workspace()))
        #expect(world.filesContaining(world.sentinel).isEmpty)
    }

    @Test func digestIsStableAcrossReplansAndFollowsParameters() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let first = try await connector.plan(world.request(parameters: ["size": .number("2")]))
        let again = try await connector.plan(world.request(parameters: ["size": .number("2")]))
        #expect(first.digest == again.digest)
        let changed = try await connector.plan(world.request(parameters: ["size": .number("3")]))
        #expect(changed.digest != first.digest)
        let tagged = try await connector.plan(world.request(parameters: ["size": .number("2"), "label": .string("x")]))
        #expect(tagged.digest != first.digest)
        let saved = WorkspaceFiles.list(world.workspace() + "/plans").filter { $0.hasSuffix(".tfplan") }
        #expect(Set(saved) == Set([first.digest, changed.digest, tagged.digest].map { "\($0).tfplan" }))

        // After an apply the plans it did not apply are gone, and a replan of the applied
        // configuration is stable too (its prior state is now part of what is digested).
        _ = try await connector.apply(world.request(parameters: ["size": .number("3")]), planDigest: changed.digest)
        #expect(WorkspaceFiles.list(world.workspace() + "/plans") == ["\(changed.digest).prior", "\(changed.digest).tfplan"])
        let settled = try await connector.plan(world.request(parameters: ["size": .number("3")]))
        let settledAgain = try await connector.plan(world.request(parameters: ["size": .number("3")]))
        #expect(settled.digest == settledAgain.digest)
        #expect(settled.changesNothing)
    }

    @Test func moduleWithIndexedInstancesAndJSONOutputs() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request("multi", module: "indexed")
        let plan = try await connector.plan(request)
        #expect(
            plan.resources.map(\.address) == [
                "module.service.null_resource.counted[0]", "module.service.null_resource.counted[1]",
                #"module.service.null_resource.keyed["alpha"]"#, #"module.service.null_resource.keyed["beta"]"#,
            ])
        let outputs = try await connector.apply(request, planDigest: plan.digest)
        #expect(Set(outputs.values.keys) == ["counted_ids", "keyed_ids"])
        let state = try #require(try connector.state(of: request.ref))
        #expect(state.instances.map(\.address) == plan.resources.map(\.address))
        try await connector.destroy(request.ref)
    }

    @Test func replaceTypesReplacesTheExistingInstance() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request()
        let created = try await connector.plan(request)
        let before = try #require(try await connector.apply(request, planDigest: created.digest).string("id"))

        let unrelated = try await connector.plan(world.request(replaceTypes: ["databricks_sql_endpoint"]))
        #expect(unrelated.changesNothing)

        let repair = try await connector.plan(world.request(replaceTypes: ["null_resource"]))
        #expect(repair.resources.first?.actions == ["delete", "create"])
        #expect(repair.summary == "create 0, update 0, replace 1, destroy 0: module.service.null_resource.this (replace)")
        let after = try #require(try await connector.apply(world.request(replaceTypes: ["null_resource"]), planDigest: repair.digest).string("id"))
        #expect(after != before)
        #expect(try connector.state(of: request.ref)?.instances.count == 1)
    }
}
