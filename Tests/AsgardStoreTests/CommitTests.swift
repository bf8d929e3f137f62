import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite("commit: objects and derived tables")
struct CommitTests {
    @Test("put then remove each kind of object", arguments: ObjectKind.allCases)
    func putAndRemove(kind: ObjectKind) async throws {
        let object = try #require(Fixture.allKinds.first { $0.ref.kind == kind })
        try await withScratch { scratch in
            let store = try scratch.open()
            let record = try await commit(store, Fixture.put(object, tier: .human, status: .pending, reason: "waiting"))
            #expect(record.content.sequence == 1)
            #expect(record.content.target == object.ref.description)

            let observed = try await store.observedState()
            #expect(
                observed.objects == [
                    object.ref: ObservedObject(
                        ref: object.ref, specDigest: object.specDigest, tier: .human, status: .pending, project: object.projectID, reason: "waiting"
                    )
                ])
            let stored = try sqlite3Lines(
                scratch.path,
                "SELECT kind, id, ifnull(project, '-'), spec_json, status_reason FROM objects")
            #expect(stored == ["\(object.ref.kind.rawValue)|\(object.ref.id)|\(object.projectID ?? "-")|\(object.canonicalJSON)|waiting"])

            try await commit(store, .remove(object.ref))
            #expect(try await store.observedState().objects.isEmpty)
            let summary = try await store.summary()
            #expect(summary.objects.isEmpty)
            #expect(summary.keys == 0 && summary.routes == 0 && summary.costSources == 0)
            let head = try #require(summary.auditHead)
            #expect(try await store.verifyAudit() == .intact(count: 2, head: head))
        }
    }

    @Test("observed state round-trips every field, also after reopening", arguments: StoreFactory.all)
    func observedStateRoundTrip(factory: StoreFactory) async throws {
        try await withStore(factory) { _, reopen in
            let statuses: [ObjectStatus] = [.applied, .applied, .failed, .awaitingApproval, .pending, .applied]
            let tiers: [Tier] = [.auto, .auto, .auto, .human, .auto, .auto]
            var expected: [ObservedObject] = []
            do {
                let store = try reopen()
                for (index, object) in Fixture.allKinds.enumerated() {
                    try await commit(store, Fixture.put(object, tier: tiers[index], status: statuses[index]))
                    expected.append(
                        ObservedObject(
                            ref: object.ref, specDigest: object.specDigest, tier: tiers[index],
                            status: statuses[index], project: object.projectID))
                }
                // An update replaces the row.
                let renamed = DesiredObject.project(
                    Project(
                        id: "fraud", name: "Fraud (renamed)", owner: "ana@example.com",
                        classification: .restricted, monthlyBudget: Fixture.dollars("2000"), approvers: []))
                try await commit(store, Fixture.put(renamed, tier: .human, status: .failed))
                expected[1] = ObservedObject(ref: renamed.ref, specDigest: renamed.specDigest, tier: .human, status: .failed, project: "fraud")
                #expect(try await store.observedState() == ObservedState(expected))
            }
            let reopened = try reopen()
            #expect(try await reopened.observedState() == ObservedState(expected))
            #expect(expected.map(\.specDigest) != Fixture.allKinds.map(\.specDigest))  // the update changed a digest
        }
    }

    @Test("a key is served by digest while it is applied, and forgotten on remove", arguments: StoreFactory.all)
    func keys(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let key = Fixture.key()
            #expect(try await servedKey(store, digest: key.digest) == nil)

            try await commit(store, Fixture.put(.key(key)))
            #expect(try await servedKey(store, digest: key.digest) == key)

            try await commit(store, Fixture.put(.key(key), status: .failed))
            #expect(try await servedKey(store, digest: key.digest) == nil)

            // Rotation: same id, new digest.
            let rotated = Fixture.key(secret: "rotated")
            try await commit(store, Fixture.put(.key(rotated)))
            #expect(try await servedKey(store, digest: key.digest) == nil)
            #expect(try await servedKey(store, digest: rotated.digest) == rotated)
            #expect(try await store.summary().keys == 1)

            try await commit(store, .remove(ObjectRef(.key, key.id)))
            #expect(try await servedKey(store, digest: rotated.digest) == nil)
            #expect(try await store.summary().keys == 0)
        }
    }

    @Test("a key renamed with the same digest: the newer claim serves, and the older one again if the newer goes first", arguments: StoreFactory.all)
    func keyDigestClaims(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.key(Fixture.key("first"))))
            let renamed = Fixture.key("second")  // same secret, so the same digest
            try await commit(store, Fixture.put(.key(renamed)))
            #expect(try await servedKey(store, digest: renamed.digest)?.id == "second")
            #expect(try await store.gatewayConfiguration().keys.map(\.id) == ["second"])
            // Re-putting the older claimant (any other change to it) does not take the digest back.
            var touched = Fixture.key("first")
            touched.requestsPerMinute = 7
            try await commit(store, Fixture.put(.key(touched)))
            #expect(try await servedKey(store, digest: renamed.digest)?.id == "second")
            // The rename completes: the old key goes, the new one stays.
            try await commit(store, .remove(ObjectRef(.key, "first")))
            #expect(try await servedKey(store, digest: renamed.digest)?.id == "second")
            // Had the newer claimant gone instead (the rename reverted), the older one serves again.
            try await commit(store, Fixture.put(.key(touched)))
            try await commit(store, .remove(ObjectRef(.key, "second")))
            #expect(try await servedKey(store, digest: renamed.digest) == touched)
            let head = try #require(try await store.summary().auditHead)
            #expect(try await store.verifyAudit() == .intact(count: 6, head: head))
        }
    }

    @Test("two keys swapping digests, one put at a time, each end up with their own", arguments: StoreFactory.all)
    func keyDigestSwap(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.key(Fixture.key("a", secret: "one"))))
            try await commit(store, Fixture.put(.key(Fixture.key("b", secret: "two"))))
            try await commit(store, Fixture.put(.key(Fixture.key("a", secret: "two"))))
            try await commit(store, Fixture.put(.key(Fixture.key("b", secret: "one"))))
            #expect(try await servedKey(store, digest: SHA256.hex("one"))?.id == "b")
            #expect(try await servedKey(store, digest: SHA256.hex("two"))?.id == "a")
            #expect(try await store.gatewayConfiguration().keys.map(\.id) == ["a", "b"])
        }
    }

    @Test("a key that is not applied is not served, even when it holds the newest claim", arguments: StoreFactory.all)
    func unappliedKeysAreNotServed(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.key(Fixture.key("first"))))
            try await commit(store, Fixture.put(.key(Fixture.key("second")), status: .failed))
            #expect(try await store.gatewayConfiguration().keys.map(\.id) == ["first"])
        }
    }

    @Test("a service's manifest routes and cost source follow its puts and removal")
    func serviceRoutes() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            let service = Fixture.service()
            try await commit(store, Fixture.put(.service(service)))

            let inference = try #require(service.inference)
            let expected = inference.models.map { model in
                StoredRoute(
                    model: model.id, vendor: "databricks", upstream: model.upstream, baseURLEnv: "DATABRICKS_HOST",
                    tokenEnv: "DATABRICKS_TOKEN", chatPath: "/serving-endpoints/{model}/invocations", timeoutSeconds: 60,
                    sendsUsageContext: true, defaultMaxTokens: 4096, pricing: model.pricing,
                    maxDataClass: model.maxDataClass, servingEndpoint: nil)
            }.sorted { $0.model < $1.model }
            #expect(try await store.routes() == expected)
            #expect(try await store.routes().first?.pricing.outputPerMillion == MicroDollars(2_250_000))
            let sources = try await store.costSources()
            #expect(sources.map(\.vendor) == ["databricks"])
            #expect(sources.map(\.source) == [Fixture.costSource])

            // Another vendor's routes are not touched by updates to this one.
            try await commit(
                store, Fixture.put(.service(Fixture.service("openai", models: [Fixture.model("gpt-4o", vendor: "openai")], costSource: nil))))

            // An update replaces the model list: one renamed, one dropped; the cost source goes.
            let updated = Fixture.service(models: [Fixture.model("llama-4", input: "0.1", output: "0.2", maxDataClass: .internal)], costSource: nil)
            try await commit(store, Fixture.put(.service(updated)))
            let routes = try await store.routes()
            #expect(routes.map(\.model) == ["databricks/llama-4", "openai/gpt-4o"])
            #expect(routes.first?.pricing == Fixture.pricing("0.1", "0.2"))
            #expect(routes.first?.maxDataClass == .internal)
            #expect(try await store.costSources().isEmpty)

            // A service without an inference spec has no routes.
            try await commit(
                store, Fixture.put(.service(Service(id: "databricks", inference: nil, provisionable: [], costSource: Fixture.costSource))))
            #expect(try await store.routes().map(\.model) == ["openai/gpt-4o"])
            #expect(try await store.costSources().map(\.vendor) == ["databricks"])

            try await commit(store, .remove(ObjectRef(.service, "databricks")))
            #expect(try await store.routes().map(\.model) == ["openai/gpt-4o"])
            #expect(try await store.costSources().isEmpty)
            #expect(try sqlite3(scratch.path, "SELECT typeof(input_per_million_micros) FROM routes") == "integer")
        }
    }

    @Test(
        "a serving endpoint has a route exactly while it is applied",
        arguments: StoreFactory.all, [ObjectStatus.pending, .awaitingApproval, .failed])
    func endpointRoute(factory: StoreFactory, notApplied: ObjectStatus) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.service(Fixture.service())))
            let manifestModels = try await store.routes().map(\.model)
            #expect(manifestModels.count == 2)
            let endpoint = Fixture.endpoint()
            func endpointRoutes() async throws -> [StoredRoute] {
                try await store.routes().filter { $0.servingEndpoint != nil }
            }

            try await commit(store, Fixture.put(.servingEndpoint(endpoint), tier: .human, status: notApplied))
            #expect(try await endpointRoutes().isEmpty)

            try await commit(store, Fixture.put(.servingEndpoint(endpoint), tier: .human, status: .applied))
            let expected = StoredRoute(
                model: "databricks/fraud-llm", vendor: "databricks", upstream: "fraud-llm", baseURLEnv: "DATABRICKS_HOST",
                tokenEnv: "DATABRICKS_TOKEN", chatPath: "/serving-endpoints/{model}/invocations", timeoutSeconds: 60,
                sendsUsageContext: true, defaultMaxTokens: 4096, pricing: Fixture.pricing("2", "6"), maxDataClass: .restricted,
                servingEndpoint: "fraud-llm", project: endpoint.project)
            #expect(try await endpointRoutes() == [expected])
            // Shared with other projects: the route says so too.
            var shared = endpoint
            shared.sharedWith = ["ops", "risk"]
            try await commit(store, Fixture.put(.servingEndpoint(shared), tier: .human, status: .applied))
            #expect(try await endpointRoutes().map(\.sharedWith) == [["ops", "risk"]])
            try await commit(store, Fixture.put(.servingEndpoint(endpoint), tier: .human, status: .applied))
            #expect(try await endpointRoutes() == [expected])

            try await commit(store, Fixture.put(.servingEndpoint(endpoint), tier: .human, status: notApplied))
            #expect(try await endpointRoutes().isEmpty)

            // Changing the public model id moves the route.
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint(model: "databricks/fraud-llm-v2")), tier: .human, status: .applied))
            #expect(try await endpointRoutes().map(\.model) == ["databricks/fraud-llm-v2"])

            try await commit(store, .remove(ObjectRef(.servingEndpoint, endpoint.id)))
            #expect(try await endpointRoutes().isEmpty)
            #expect(try await store.routes().map(\.model) == manifestModels)
        }
    }

    @Test("an endpoint route needs its vendor's service and follows the vendor's settings", arguments: StoreFactory.all)
    func endpointFollowsVendor(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let endpoint = Fixture.endpoint()
            try await commit(store, Fixture.put(.servingEndpoint(endpoint)))
            #expect(try await store.routes().isEmpty)

            try await commit(store, Fixture.put(.service(Fixture.service(models: []))))
            #expect(try await store.routes().map(\.model) == ["databricks/fraud-llm"])

            try await commit(store, Fixture.put(.service(Fixture.service(models: [], tokenEnv: "DATABRICKS_SP_TOKEN"))))
            #expect(try await store.routes().map(\.tokenEnv) == ["DATABRICKS_SP_TOKEN"])

            try await commit(store, .remove(ObjectRef(.service, "databricks")))
            #expect(try await store.routes().isEmpty)

            // An endpoint of another vendor is unaffected by this vendor's changes.
            try await commit(store, Fixture.put(.service(Fixture.service(models: []))))
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint("other", service: "openai", model: "openai/other"))))
            #expect(try await store.routes().map(\.model) == ["databricks/fraud-llm"])
        }
    }

    @Test("an endpoint renamed with the same model takes the route over at once, and the old one's removal leaves it", arguments: StoreFactory.all)
    func endpointModelClaims(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try await commit(store, Fixture.put(.service(Fixture.service())))
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint("old")), tier: .human))
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint("new")), tier: .human))
            func served() async throws -> String? { try await store.routes().first { $0.model == "databricks/fraud-llm" }?.upstream }
            #expect(try await served() == "new")
            // The vendor changing recomputes every endpoint route, and keeps who claimed first.
            try await commit(store, Fixture.put(.service(Fixture.service(tokenEnv: "DATABRICKS_SP_TOKEN"))))
            #expect(try await served() == "new")
            #expect(try await store.routes().filter { $0.model == "databricks/fraud-llm" }.map(\.tokenEnv) == ["DATABRICKS_SP_TOKEN"])
            try await commit(store, .remove(ObjectRef(.servingEndpoint, "old")))
            #expect(try await served() == "new")
            // A model moved from a manifest to an endpoint: the endpoint's newer claim serves.
            try await commit(store, Fixture.put(.servingEndpoint(Fixture.endpoint("dbrx", model: "databricks/dbrx")), tier: .human))
            #expect(try await store.routes().first { $0.model == "databricks/dbrx" }?.servingEndpoint == "dbrx")
            try await commit(store, .remove(ObjectRef(.servingEndpoint, "dbrx")))
            #expect(try await store.routes().first { $0.model == "databricks/dbrx" }?.servingEndpoint == nil)
            #expect(try await store.routes().map(\.model) == ["databricks/dbrx", "databricks/fraud-llm", "databricks/llama-3-3-70b"])
        }
    }
}
