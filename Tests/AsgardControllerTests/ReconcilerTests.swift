import AsgardController
import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import PropertyBased
import Testing

/// The reconcile pass against a real SQLite file.
@Suite struct ReconcilerTests {
    let root: String
    let store: SQLiteStore
    let reconciler: Reconciler

    init() throws {
        root = try makeTemporaryDirectory("reconciler")
        store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        reconciler = Reconciler(store: store, provisioner: UnavailableProvisioner(), policies: shippedPolicies())
    }

    @Test func firstPassAppliesWhatItCanAndRecordsProvisioningWithAReason() async throws {
        let desired = try copyShippedDesired(into: root)
        let report = try await reconciler.runOnce(directory: desired)
        #expect(report.isValid && report.succeeded)
        let results = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.action.ref.description, $0.result) })
        #expect(
            results == [
                "Service/databricks": .applied, "Service/openai": .applied, "Service/litellm": .applied,
                "Person/lars-berg": .applied, "Person/maria-silva": .applied, "Person/priya-natarajan": .applied,
                "Person/tom-okafor": .applied, "Person/ines-moreau": .applied,
                "Project/fraud-detection": .applied, "Project/marketing-copy": .applied,
                "Key/fraud-scoring-agent": .applied, "Key/fraud-analyst-notebook": .applied, "Key/marketing-writer": .applied,
                "ServingEndpoint/fraud-triage": .pending, "Resource/fraud-warehouse": .pending, "Resource/fraud-features": .pending,
            ])
        for outcome in report.outcomes where outcome.action.isProvisioning {
            #expect(outcome.reason?.contains("no terraform connector") == true)
        }
        // The route table and cost sources come from the manifests; the serving endpoint joins only once applied.
        #expect(Set(try await store.routes().map(\.model)) == ["databricks/llama-3-3-70b", "openai/gpt-4o-mini", "litellm/claude-sonnet"])
        let llama = try #require(try await store.routes().first { $0.model == "databricks/llama-3-3-70b" })
        #expect(llama.upstream == "databricks-meta-llama-3-3-70b-instruct" && llama.chatPath == "/serving-endpoints/{model}/invocations")
        #expect(try await store.costSources().map(\.vendor) == ["databricks"])
        let state = DesiredStateLoader().load(directory: desired).state
        #expect(Set(try await store.gatewayConfiguration().keys) == Set(state.keys.values))
        #expect(Set(try await store.gatewayConfiguration().people) == Set(state.people.values))
        // One audit entry per action, chained.
        #expect(try await store.verifyAudit() == .intact(count: 16, head: try await store.auditTail(limit: 1)[0].hash))
        let audit = try await store.auditTail(limit: 100)
        // Provisioning actions run concurrently, so their entries may come in either order.
        #expect(audit.compactMap(\.content.target).sorted() == report.outcomes.map(\.action.ref.description).sorted())
        #expect(audit.allSatisfy { $0.content.actor == "reconciler" && $0.content.action == "reconcile.create" })
    }

    @Test func aSecondPassPlansNothing() async throws {
        let desired = try copyShippedDesired(into: root)
        let first = try await reconciler.runOnce(directory: desired)
        #expect(first.outcomes.count == 16)
        // Only the provisioning that could not start is tried again, once its backoff ran out.
        let second = try await reconciler.runOnce(directory: desired)
        #expect(second.succeeded && second.outcomes.allSatisfy { $0.action.verb == .converge && $0.result == .deferred })
        #expect(
            second.outcomes.map(\.action.ref.description) == ["ServingEndpoint/fraud-triage", "Resource/fraud-features", "Resource/fraud-warehouse"])
        let state = DesiredStateLoader().load(directory: desired).state
        #expect(plan(desired: state, observed: try await store.observedState()).allSatisfy { $0.verb == .converge })
        #expect(try await store.summary().auditEntries == 16)
    }

    @Test func changesUpdateAndRemovalsDelete() async throws {
        let desired = try copyShippedDesired(into: root)
        _ = try await reconciler.runOnce(directory: desired)
        // Raise a budget, drop a key, drop the OpenAI vendor (and the key's use of it).
        let projectFile = desired + "/projects/marketing-copy.yaml"
        try String(contentsOfFile: projectFile, encoding: .utf8).replacingOccurrences(
            of: "monthly_budget_usd: 300", with: "monthly_budget_usd: 450.25"
        )
        .write(toFile: projectFile, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: desired + "/keys/marketing-copy.yaml")
        try FileManager.default.removeItem(atPath: desired + "/services/openai")
        let report = try await reconciler.runOnce(directory: desired)
        #expect(
            report.outcomes.filter { $0.action.verb != .converge }.map { "\($0.action.verb.rawValue) \($0.action.ref) \($0.result.rawValue)" } == [
                "update Project/marketing-copy applied",
                "delete Key/marketing-writer removed",
                "delete Service/openai removed",
            ])
        #expect(try await !store.routes().contains { $0.vendor == "openai" })
        #expect(try await store.summary().keys == 2)
        #expect(try await reconciler.runOnce(directory: desired).outcomes.allSatisfy { $0.result == .deferred })
    }

    @Test func anInvalidDirectoryChangesNothingButOneAuditEntry() async throws {
        let report = try await reconciler.runOnce(directory: packageRoot + "/examples/broken/many-errors")
        #expect(!report.isValid && report.outcomes.isEmpty && report.diagnostics.count == 8)
        #expect(try await store.observedState().objects.isEmpty)
        let audit = try await store.auditTail(limit: 10)
        #expect(audit.count == 1)
        #expect(audit[0].content.action == "validate.rejected" && audit[0].content.outcome == "rejected")
        #expect(audit[0].content.detail.contains("\"errors\":\"8\""))
    }

    @Test func aSecretInAManifestReachesNoStoreRow() async throws {
        let report = try await reconciler.runOnce(directory: packageRoot + "/examples/broken/secrets")
        #expect(!report.isValid)
        let bytes =
            try Data(contentsOf: URL(fileURLWithPath: root + "/data/asgard.sqlite"))
            + ((try? Data(contentsOf: URL(fileURLWithPath: root + "/data/asgard.sqlite-wal"))) ?? Data())
        for secret in ["0123456789abcdef0123456789abcdef", "EXAMPLEexampleEXAMPLEexample0000", "AKIAIOSFODNN7EXAMPLE", "MIIEFAKEFAKE"] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret.prefix(6))… reached the store")
        }
    }

    /// Random desired states applied one after another to one real store: after each pass,
    /// planning against the store finds nothing left to do.
    @Test func everyPassConvergesOnARealStore() async throws {
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            let desired = RandomState.desired(seed: seed)
            let outcomes = try await reconciler.apply(desired).outcomes
            #expect(outcomes.allSatisfy { $0.result != .failed }, "\(outcomes.filter { $0.result == .failed })")
            // All that is left is provisioning waiting for a connector (or refused by the gate).
            let left = plan(desired: desired, observed: try await store.observedState())
            #expect(left.allSatisfy { $0.verb == .converge && $0.isProvisioning })
            // Every key digest is served by its desired key, renames included.
            let served = try await store.gatewayConfiguration()
            #expect(
                Dictionary(uniqueKeysWithValues: served.keys.map { ($0.digest, $0.id) })
                    == Dictionary(uniqueKeysWithValues: desired.keys.values.map { ($0.digest, $0.id) }))
        }
        let verification = try await store.verifyAudit()
        guard case .intact(let count, _) = verification else {
            Issue.record("audit chain broken: \(verification)")
            return
        }
        #expect(count == (try await store.summary().auditEntries) && count > 40)
    }

    /// The same on a provisioner that applies (every tier auto): in one pass per random state,
    /// every routed model is served by its desired owner, whether a manifest or a serving
    /// endpoint, however models and digests moved between ids since the last state.
    @Test func renamesConvergeInOnePassOnARealStore() async throws {
        let provisioner = ProvisionerDouble()
        let applying = Reconciler(store: store, provisioner: provisioner, policies: shippedPolicies())
        var moved = 0
        var previous = ClaimTables.served(by: DesiredState())
        // Random states rename only sometimes: more rounds until enough renames were checked
        // (25 states gave 3 or 4 once in a while, and the test failed for want of them).
        var rounds = 0
        repeat {
            rounds += 1
            await propertyCheck(count: 25, input: Gen.uint64()) { seed in
                var desired = RandomState.desired(seed: seed)
                for service in desired.services.values {
                    var auto = service
                    auto.provisionable = service.provisionable.map {
                        var p = $0
                        p.tier = .auto
                        return p
                    }
                    desired.insert(.service(auto))
                }
                let outcomes = try await applying.apply(desired).outcomes
                #expect(outcomes.allSatisfy { $0.result != .failed }, "\(outcomes.filter { $0.result == .failed })")
                // Endpoints and resources the gate refused (a project below the floor) are not applied, so not served.
                let refused = Set(outcomes.filter { $0.result == .refused }.map(\.action.ref))
                #expect(
                    plan(desired: desired, observed: try await store.observedState()).allSatisfy { $0.verb == .converge && refused.contains($0.ref) })
                let wanted = ClaimTables.served(by: desired)
                let served = try await store.gatewayConfiguration()
                var actual: [String: ObjectRef] = [:]
                for key in served.keys { actual["digest:" + key.digest] = ObjectRef(.key, key.id) }
                for route in served.routes {
                    actual["model:" + route.model] =
                        route.servingEndpoint.map { ObjectRef(.servingEndpoint, $0) } ?? ObjectRef(.service, route.vendor)
                }
                #expect(actual == wanted.filter { !refused.contains($0.value) }, "seed \(seed)")
                moved += wanted.filter { key, owner in previous[key].map { $0 != owner } ?? false }.count
                previous = wanted
            }
        } while moved < 5 && rounds < 4
        #expect(moved >= 5, "too few renames (\(moved)) in \(rounds * 25) states to show anything")
    }
}
