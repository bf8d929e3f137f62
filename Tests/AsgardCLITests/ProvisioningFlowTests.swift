import AsgardCore
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import Synchronization
import Testing

/// The provisioning flows end to end, as an operator runs them: the `asgard` binary, the real
/// terraform 1.0.3 with the null provider (`make setup` installs both under `.tools/`), the
/// null_resource doubles of the Databricks modules (`Tests/TerraformModules`), and the fake
/// Databricks on loopback, where the model-serving double creates and deletes its endpoint.
@Suite(.serialized) struct ProvisioningFlowTests {
    static let sentinel = "dapi-SENTINEL-\(UInt64.random(in: 1...UInt64.max))"

    /// One desired state, data directory and fake workspace per test.
    final class World: Sendable {
        let root: String
        let fake: RunningFakeDatabricks
        let outputs = Mutex<[String]>([])

        init() async throws {
            root = try makeTemporaryDirectory("provisioning-flow")
            _ = try copyShippedDesired(into: root)
            try FileManager.default.copyItem(atPath: packageRoot + "/policies", toPath: root + "/policies")
            // The doubles are null_resources: the manifest says where they hold the project tag.
            try ProvisioningFlowTests.nullManifest.write(
                toFile: root + "/desired/services/databricks/service.yaml", atomically: true, encoding: .utf8)
            let terraform = packageRoot + "/.tools/terraform/bin/terraform"
            guard FileManager.default.isExecutableFile(atPath: terraform) else {
                throw Missing(description: "\(terraform) is missing: run `make setup` (it installs terraform 1.0.3 offline)")
            }
            // Every terraform invocation is logged, so a test can show that none happened.
            try "#!/bin/sh\necho \"$*\" >> '\(root)/terraform-calls.log'\nexec '\(terraform)' \"$@\"\n"
                .write(toFile: root + "/terraform", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/terraform")
            fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ProvisioningFlowTests.sentinel, endpoints: [])).start()
        }

        struct Missing: Error, CustomStringConvertible { var description: String }

        var environment: [String: String] {
            [
                "ASGARD_DATA_DIR": root + "/data", "ASGARD_TERRAFORM_BIN": root + "/terraform",
                "TF_CLI_CONFIG_FILE": packageRoot + "/.tools/terraform/terraformrc",
                "DATABRICKS_HOST": "http://127.0.0.1:\(fake.port)", "DATABRICKS_TOKEN": ProvisioningFlowTests.sentinel,
            ]
        }

        /// Runs `asgard` in the world's root, keeping everything it printed.
        @discardableResult
        func asgard(_ arguments: [String]) async throws -> CommandResult {
            let result = try await asgardDetached(arguments, in: root, environment: environment)
            outputs.withLock { $0 += [result.stdout, result.stderr] }
            return result
        }

        /// `asgard approvals approve|reject ID ...` as `person` (their credential in
        /// `ASGARD_PERSON_KEY`).
        @discardableResult
        func decide(_ verb: String, _ id: String, as person: String, _ extra: [String] = []) async throws -> CommandResult {
            let result = try await asgardDetached(
                ["approvals", verb, id] + extra, in: root, environment: environment.merging(["ASGARD_PERSON_KEY": personSecret(person)]) { _, new in new })
            outputs.withLock { $0 += [result.stdout, result.stderr] }
            return result
        }

        /// One controller pass on the doubles.
        func once() async throws -> CommandResult {
            try await asgard(["reconcile", "--once", "--modules-root", packageRoot + "/Tests/TerraformModules", "desired"])
        }

        var terraformCalls: [String] {
            ((try? String(contentsOfFile: root + "/terraform-calls.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func store() throws -> SQLiteStore { try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey) }

        /// The pending approval of `id`'s plan.
        func pendingApproval(_ id: String) async throws -> Approval {
            try #require(try await store().approvals(status: .pending).first { $0.ref.id == id })
        }

        func edit(_ file: String, _ old: String, _ new: String) throws {
            let path = root + "/desired/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains(old), "\(file) has no \(old)")
            try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        }

        /// Every file under the data directory that contains `needle`.
        func filesContaining(_ needle: String) -> [String] {
            let data = root + "/data"
            let walker = FileManager.default.enumerator(atPath: data)
            var hits: [String] = []
            while let relative = walker?.nextObject() as? String {
                guard let bytes = FileManager.default.contents(atPath: data + "/" + relative) else { continue }
                if bytes.range(of: Data(needle.utf8)) != nil { hits.append(relative) }
            }
            return hits
        }

        func shutdown() async throws { try await fake.shutdown() }
    }

    @Test func autoAppliesHumanWaitsApprovedPlansApplyEndpointsJoinTheGatewayAndLeave() async throws {
        let world = try await World()
        // Pass 1: the auto-tier volume is applied with its outputs; the human tier waits.
        let first = try await world.once()
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("s] Resource/fraud-features gate allowed: allowed by project-provisions-registered-service\n"))
        #expect(
            first.stdout.contains("s] Resource/fraud-features terraform plan\n")
                && first.stdout.contains("s] Resource/fraud-features terraform apply\n"))
        #expect(first.stdout.contains("s] Resource/fraud-features applied in "))
        #expect(first.stdout.contains("s] Resource/fraud-warehouse awaiting_approval in "))
        let store = try world.store()
        let volume = try #require(try await store.provisioningRecords()[ObjectRef(.resource, "fraud-features")])
        #expect(volume.outputsJSON?.contains(#""volume_full_name":"main.fraud_features.raw_events""#) == true, "\(volume.outputsJSON ?? "")")
        #expect(!FileManager.default.fileExists(atPath: world.root + "/data/terraform/Resource/fraud-warehouse/terraform.tfstate"))

        // Approve the warehouse's plan: the next pass applies exactly that plan.
        let warehouse = try await world.pendingApproval("fraud-warehouse")
        #expect(warehouse.summary.contains("create") && warehouse.requestedBy == "maria.silva@example.com")
        let approved = try await world.decide("approve", warehouse.id, as: "lars.berg@example.com")
        #expect(approved.status == 0 && approved.stdout.contains("approved by lars.berg@example.com"), "\(approved.stderr)")
        let second = try await world.once()
        #expect(second.status == 0)
        #expect(
            second.stdout.contains("Resource/fraud-warehouse applied in ")
                && second.stdout.contains("approved by lars.berg@example.com (\(warehouse.id))"))
        #expect(try await store.approvals(status: .applied).map(\.id) == [warehouse.id])
        let warehouseRecord = try #require(try await store.provisioningRecords()[ObjectRef(.resource, "fraud-warehouse")])
        #expect(warehouseRecord.appliedPlan == warehouse.planDigest)

        // The serving endpoint: approved, created at the vendor, routed by the gateway.
        let endpoint = try await world.pendingApproval("fraud-triage")
        #expect(try await world.decide("approve", endpoint.id, as: "priya.natarajan@example.com").status == 0)
        #expect(try await world.once().status == 0)
        let created = try #require(world.fake.controls.endpoint(named: "fraud-triage"))
        #expect(created.tags.contains { $0.key == "project" && $0.value == "fraud-detection" })
        let route = try #require(try await store.routes().first { $0.model == "databricks/fraud-triage" })
        #expect(route.servingEndpoint == "fraud-triage" && route.upstream == "fraud-triage")

        // Deleted out of band: drift, shown by a dry run that runs no terraform at all ...
        _ = world.fake.controls.removeEndpoint(named: "fraud-triage")
        let callsBefore = world.terraformCalls.count
        let dry = try await world.asgard(["reconcile", "--dry-run", "desired"])
        #expect(dry.status == 0)
        #expect(
            dry.stdout.contains(
                "= converge ServingEndpoint/fraud-triage  human  (drift: serving endpoint fraud-triage does not exist at databricks)"),
            "\(dry.stdout)")
        #expect(dry.stdout.contains("note: read-only: GET http://127.0.0.1:\(world.fake.port)/api/2.0/serving-endpoints"))
        #expect(world.terraformCalls.count == callsBefore)
        // ... and re-planned through its tier: a replacement waits for approval, then is applied.
        let repair = try await world.once()
        #expect(repair.stdout.contains("ServingEndpoint/fraud-triage awaiting_approval"), "\(repair.stdout)\(repair.stderr)")
        let replacement = try await world.pendingApproval("fraud-triage")
        #expect(replacement.summary.contains("replace 1"), "\(replacement.summary)")
        #expect(try await world.decide("approve", replacement.id, as: "priya.natarajan@example.com").status == 0)
        let repaired = try await world.once()
        #expect(repaired.status == 0 && repaired.stdout.contains("ServingEndpoint/fraud-triage applied in "), "\(repaired.stdout)")
        #expect(
            world.fake.controls.endpoint(named: "fraud-triage") != nil,
            "\(world.fake.controls.endpointNames) \(world.terraformCalls.suffix(10)) \(repaired.stdout)")

        // Removed from desired state: the route leaves at once, and terraform's destroy plan
        // waits for an approval, like any human-tier plan; approved, it destroys the endpoint at
        // the vendor and the workspace goes.
        try FileManager.default.removeItem(atPath: world.root + "/desired/endpoints/fraud-triage.yaml")
        try world.edit("keys/fraud-detection.yaml", "  - databricks/fraud-triage\n", "")
        let asked = try await world.once()
        #expect(asked.status == 0 && asked.stdout.contains("ServingEndpoint/fraud-triage awaiting_approval in "), "\(asked.stdout)")
        #expect(try await !store.routes().contains { $0.model == "databricks/fraud-triage" })
        #expect(world.fake.controls.endpoint(named: "fraud-triage") != nil)
        let destroy = try await world.pendingApproval("fraud-triage")
        #expect(destroy.operation == .destroy && destroy.summary.contains("destroy 1"), "\(destroy.summary)")
        #expect(try await world.decide("approve", destroy.id, as: "priya.natarajan@example.com").status == 0)
        let removal = try await world.once()
        #expect(removal.status == 0 && removal.stdout.contains("ServingEndpoint/fraud-triage terraform destroy\n"), "\(removal.stdout)")
        #expect(world.fake.controls.endpoint(named: "fraud-triage") == nil)
        #expect(try await !store.routes().contains { $0.model == "databricks/fraud-triage" })
        #expect(!FileManager.default.fileExists(atPath: world.root + "/data/terraform/ServingEndpoint/fraud-triage"))

        // The token the vendor calls used never reached a file, a log line or an output.
        #expect(world.filesContaining(Self.sentinel).isEmpty)
        #expect(world.outputs.withLock { $0 }.allSatisfy { !$0.contains(Self.sentinel) })
        #expect(try await world.asgard(["audit", "verify"]).status == 0)
        try await world.shutdown()
    }

    /// An endpoint renamed with the same model converges in one pass: the new endpoint is
    /// created and takes the route, the old one is destroyed, and the gateway serves the new id.
    @Test func anEndpointRenamedWithTheSameModelConvergesInOnePass() async throws {
        let world = try await World()
        try world.edit(
            "services/databricks/service.yaml", "module: modules/databricks/model-serving\n    tier: human",
            "module: modules/databricks/model-serving\n    tier: auto")
        let first = try await world.once()
        #expect(first.status == 0 && first.stdout.contains("ServingEndpoint/fraud-triage applied in "), "\(first.stdout)\(first.stderr)")
        try world.edit("endpoints/fraud-triage.yaml", "id: fraud-triage\n", "id: fraud-triage-v2\n")
        let renamed = try await world.once()
        #expect(renamed.status == 0, "\(renamed.stdout)\(renamed.stderr)")
        #expect(
            renamed.stdout.contains("ServingEndpoint/fraud-triage-v2 applied in ")
                && renamed.stdout.contains("ServingEndpoint/fraud-triage removed in "),
            "\(renamed.stdout)")
        #expect(world.fake.controls.endpoint(named: "fraud-triage-v2") != nil && world.fake.controls.endpoint(named: "fraud-triage") == nil)
        let route = try #require(try await world.store().routes().first { $0.model == "databricks/fraud-triage" })
        #expect(route.upstream == "fraud-triage-v2")
        let again = try await world.once()
        #expect(again.status == 0 && !again.stdout.contains("ServingEndpoint/fraud-triage"), "\(again.stdout)")

        // The gateway serves the model from the new endpoint.
        let secret = "asg_rename_flow_key"
        try
            "kind: Key\nid: rename-flow\nproject: fraud-detection\ndigest: sha256:\(SHA256.hex(secret))\nallowed_models: [databricks/fraud-triage]\nmax_data_class: internal\n"
            .write(toFile: world.root + "/desired/keys/rename-flow.yaml", atomically: true, encoding: .utf8)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let server = try ServeProcess.start(
            root: world.root, fakeURL: "http://127.0.0.1:\(world.fake.port)",
            arguments: ["--modules-root", packageRoot + "/Tests/TerraformModules", "--policies", world.root + "/policies"],
            environment: world.environment)
        try await server.waitUntilHealthy(client)
        var request = HTTPClientRequest(url: try await server.base() + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        request.body = .bytes(ByteBuffer(string: #"{"model":"databricks/fraud-triage","messages":[{"role":"user","content":"hi"}]}"#))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        server.process.terminate()
        try await detached { server.process.waitUntilExit() }
        #expect(response.status == .ok, "\(body)")
        #expect(world.fake.controls.callCount(for: "fraud-triage-v2") == 1)
        let rows = try await world.store().ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture)
        #expect(rows.map(\.upstream) == ["fraud-triage-v2"])
        try await client.shutdown()
        try await world.shutdown()
    }

    @Test func aChangeAfterApprovalVoidsItAndARejectedPlanIsNeverApplied() async throws {
        let world = try await World()
        #expect(try await world.once().status == 0)
        let first = try await world.pendingApproval("fraud-warehouse")
        #expect(try await world.decide("approve", first.id, as: "lars.berg@example.com").status == 0)
        try world.edit("resources/fraud-detection.yaml", "auto_stop_mins: 10", "auto_stop_mins: 30")
        let changed = try await world.once()
        #expect(changed.stdout.contains("Resource/fraud-warehouse update [human]"))
        let store = try world.store()
        let voided = try #require(try await store.approvals(status: .void).first { $0.id == first.id })
        #expect(voided.reason == "Resource/fraud-warehouse was changed in desired state")
        let second = try await world.pendingApproval("fraud-warehouse")
        #expect(second.planDigest != first.planDigest)
        // Rejected: nothing applied, on this pass or the next, and nobody is asked again.
        let rejected = try await world.decide("reject", second.id, as: "priya.natarajan@example.com", ["--reason", "too large"])
        #expect(rejected.status == 0)
        for _ in 0..<2 {
            let pass = try await world.once()
            #expect(pass.stdout.contains("Resource/fraud-warehouse refused in "), "\(pass.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: world.root + "/data/terraform/Resource/fraud-warehouse/terraform.tfstate"))
        #expect(try await store.approvals(status: .pending).allSatisfy { $0.ref.id != "fraud-warehouse" })
        // A credential that is no person's decides nothing; a person who is not an approver
        // neither, nor the requester; and without a credential, nobody is asked who they are.
        let triage = try await world.pendingApproval("fraud-triage")
        let stranger = try await world.decide("approve", triage.id, as: "mallory@example.com")
        #expect(stranger.status == 1 && stranger.stderr.contains("ASGARD_PERSON_KEY is no person's credential"), "\(stranger.output)")
        let other = try await world.decide("approve", triage.id, as: "tom.okafor@example.com")
        #expect(other.status == 1 && other.stderr.contains("refused: Cedar denied approve for tom.okafor@example.com"), "\(other.output)")
        let requester = try await world.decide("approve", triage.id, as: "Maria.Silva@Example.com")
        #expect(requester.status == 1 && requester.stderr.contains("refused:"), "\(requester.output)")
        let anonymous = try await world.asgard(["approvals", "approve", triage.id])
        #expect(anonymous.status == 1 && anonymous.stderr.contains("set ASGARD_PERSON_KEY"), "\(anonymous.output)")
        let named = try await world.asgard(["approvals", "approve", triage.id, "--by", "lars.berg@example.com"])
        #expect(named.status != 0 && named.stderr.contains("--by"), "\(named.output)")
        #expect(try await store.approvals(status: .pending).contains { $0.id == triage.id })
        try await world.shutdown()
    }

    @Test func theGateRefusesByNameAppliesNothingAndAudits() async throws {
        let world = try await World()
        // Cedar: a policy that forbids warehouses.
        try "@id(\"no-warehouses\")\nforbid (principal, action == Action::\"provision\", resource == Service::\"databricks-sql-warehouse\");\n"
            .write(toFile: world.root + "/policies/freeze.cedar", atomically: true, encoding: .utf8)
        // The tag check: the manifest says the volume's tag lives where the plan has none.
        try world.edit(
            "services/databricks/service.yaml",
            "  - name: databricks-uc-volume\n    module: modules/databricks/uc-volume\n    tier: auto\n    classification_floor: public\n    monthly_estimate_usd: 5\n    tags:\n      - resource_type: null_resource\n        path: triggers",
            "  - name: databricks-uc-volume\n    module: modules/databricks/uc-volume\n    tier: auto\n    classification_floor: public\n    monthly_estimate_usd: 5\n    tags:\n      - resource_type: null_resource\n        path: labels"
        )
        let pass = try await world.once()
        #expect(pass.status == 0, "\(pass.stderr)")
        #expect(
            pass.stdout.contains(
                "Resource/fraud-warehouse gate refused: policy: Cedar denied provision of databricks-sql-warehouse for project \"fraud-detection\": forbidden by no-warehouses"
            ))
        #expect(pass.stdout.contains("Resource/fraud-features refused in "))
        #expect(
            pass.stdout.contains(
                "project tag check: module.service.null_resource.schema: has no labels in the plan, so it carries no project=fraud-detection"),
            "\(pass.stdout)")
        #expect(!world.terraformCalls.contains { $0.hasPrefix("apply") })
        let audit = try await world.store().auditTail(limit: 50)
        #expect(
            audit.contains {
                $0.content.target == "Resource/fraud-warehouse" && $0.content.outcome == "refused" && $0.content.detail.contains("no-warehouses")
            })
        #expect(
            audit.contains {
                $0.content.target == "Resource/fraud-features" && $0.content.outcome == "refused" && $0.content.detail.contains("project tag check")
            })

        // Below the floor, or an unregistered service: the whole state is refused at validation, by name.
        try world.edit("projects/marketing-copy.yaml", "classification: internal", "classification: public")
        try
            "kind: Resource\nid: copy-warehouse\nproject: marketing-copy\nservice: databricks-sql-warehouse\n---\nkind: Resource\nid: mystery\nproject: marketing-copy\nservice: databricks-mystery\n"
            .write(toFile: world.root + "/desired/resources/marketing-copy.yaml", atomically: true, encoding: .utf8)
        let invalid = try await world.once()
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("classification") && invalid.stderr.contains("databricks-mystery"), "\(invalid.stderr)")
        #expect(invalid.stderr.contains("Nothing was applied"))
        #expect(try await world.store().auditTail(limit: 1).first?.content.action == "validate.rejected")
        try await world.shutdown()
    }

    @Test func aPassKilledDuringApplyConvergesWithoutASecondApply() async throws {
        let world = try await World()
        let counter = world.root + "/created.log"
        try
            "kind: Service\nid: testing\nprovisionable:\n  - name: test-slow\n    module: modules/test/slow\n    tier: auto\n    classification_floor: public\n    monthly_estimate_usd: 0\n    tags:\n      - resource_type: null_resource\n        path: triggers\n        format: map\n"
            .write(toFile: world.root + "/desired/services/testing/service.yaml", atomically: true, encoding: .utf8, createDirectory: true)
        try
            "kind: Resource\nid: slow-one\nproject: marketing-copy\nservice: test-slow\nparameters:\n  counter_file: \(counter)\n  sleep_seconds: 60\n"
            .write(toFile: world.root + "/desired/resources/slow.yaml", atomically: true, encoding: .utf8)
        // The pass runs in its own session, so the whole of it (asgard, terraform, the
        // provisioner's shell) can be killed at once, like a machine that lost power.
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        let command = [asgardBinary, "reconcile", "--once", "--modules-root", packageRoot + "/Tests/TerraformModules", "desired"]
        process.arguments = ["--wait", "/bin/sh", "-c", "echo $$ > session.pid && exec \"$@\"", "sh"] + command
        process.currentDirectoryURL = URL(fileURLWithPath: world.root)
        process.environment = ProcessInfo.processInfo.environment.merging(testAuditEnvironment) { _, new in new }
            .merging(world.environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var waited = 0
        while ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").isEmpty, waited < 1200 {
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "created\n")
        try await Task.sleep(for: .milliseconds(500))
        // The shell that became asgard leads the session: everything in it dies at once.
        let session = try String(contentsOfFile: world.root + "/session.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let kill = ChildProcess()
        kill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        kill.arguments = ["-KILL", "-s", session]
        try kill.run()
        try await detached { kill.waitUntilExit() }
        try await detached { process.waitUntilExit() }
        #expect(process.terminationStatus != 0)
        // The lock of the dead pass is still there; the next pass takes it over and converges.
        #expect(FileManager.default.fileExists(atPath: world.root + "/data/terraform/Resource/slow-one/.asgard.lock"))
        // (The rest of the apply need not take a minute: sleep_seconds is no trigger, so this
        // changes the plan of nothing already created.)
        try world.edit("resources/slow.yaml", "sleep_seconds: 60", "sleep_seconds: 0")
        let next = try await world.once()
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(next.stdout.contains("Resource/slow-one applied in "), "\(next.stdout)")
        #expect(next.stderr.contains("asgard: released the stale lock of "), "\(next.stderr)")
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "created\n", "the first resource was created twice")
        let record = try #require(try await world.store().provisioningRecords()[ObjectRef(.resource, "slow-one")])
        #expect(record.applying == nil && record.appliedPlan != nil)
        try await world.shutdown()
    }

    /// An approver sees what the plan does: each resource with its planned values, a sensitive
    /// one masked wherever the approval is shown or stored, and an estimate the manifest's cost
    /// rule derives from the parameters (a 4X-Large warehouse is not priced as a 2X-Small).
    @Test func anApprovalShowsThePlannedValuesWithSecretsMaskedAndAnEstimateFromTheRule() async throws {
        let world = try await World()
        let password = "pw-SENSITIVE-5c1e7d0a"  // the default of Tests/TerraformModules/modules/test/sensitive
        try
            "kind: Service\nid: testing\nprovisionable:\n  - name: test-sensitive\n    module: modules/test/sensitive\n    tier: human\n    classification_floor: public\n    monthly_estimate_usd: 1\n    cost_rule: {parameter: size, monthly_usd: {small: 10, huge: 5000}}\n    tags:\n      - resource_type: null_resource\n        path: triggers\n        format: map\n"
            .write(toFile: world.root + "/desired/services/testing/service.yaml", atomically: true, encoding: .utf8, createDirectory: true)
        try
            "kind: Resource\nid: vault\nproject: marketing-copy\nservice: test-sensitive\nparameters: {size: huge}\n---\nkind: Resource\nid: big-warehouse\nproject: fraud-detection\nservice: databricks-sql-warehouse\nparameters: {cluster_size: 4X-Large, max_num_clusters: 1}\n"
            .write(toFile: world.root + "/desired/resources/more.yaml", atomically: true, encoding: .utf8)
        let pass = try await world.once()
        #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
        let small = try await world.pendingApproval("fraud-warehouse")
        let large = try await world.pendingApproval("big-warehouse")
        #expect(small.estimate.monthly == MicroDollars(300_000_000) && large.estimate.monthly == MicroDollars(39_600_000_000))
        let vault = try await world.pendingApproval("vault")
        #expect(vault.estimate == CostEstimate(basis: .rule, monthly: MicroDollars(5_000_000_000), detail: "size huge: $5000/month"))
        let change = try #require(vault.changes.first)
        #expect(change.action == "create" && change.address == "module.service.null_resource.this")
        #expect(change.after?["triggers"]?["admin_password"] == .string("(sensitive)") && change.after?["triggers"]?["size"] == .string("huge"))

        let listed = try await world.asgard(["approvals", "list", "--status", "pending"])
        #expect(listed.status == 0)
        #expect(
            listed.stdout.contains("estimate: $39600/month (cost rule: cluster_size 4X-Large: $39600/month × max_num_clusters 1)"),
            "\(listed.stdout)")
        #expect(listed.stdout.contains("estimate: $300/month (cost rule: cluster_size 2X-Small: $300/month × max_num_clusters 1)"))
        #expect(listed.stdout.contains("+ create module.service.null_resource.this"))
        #expect(
            listed.stdout.contains(#""cluster_size":"4X-Large""#) && listed.stdout.contains(#""admin_password":"(sensitive)""#), "\(listed.stdout)")
        let json = try await world.asgard(["approvals", "list", "--json"])
        #expect(json.status == 0 && json.stdout.contains(#"(sensitive)"#) && json.stdout.contains(#""basis" : "rule""#), "\(json.stdout)")
        // The secret is in terraform's own files in the workspace, and nowhere Asgard shows or keeps approvals.
        #expect(world.outputs.withLock { $0 }.allSatisfy { !$0.contains(password) })
        let store = world.root + "/data/asgard.sqlite"
        for file in [store, store + "-wal"] {
            let bytes = FileManager.default.contents(atPath: file) ?? Data()
            #expect(bytes.range(of: Data(password.utf8)) == nil, "\(file) holds the sensitive value")
        }
        try await world.shutdown()
    }

    /// Removing a human-tier object plans its destroy and waits for that plan's approval; a
    /// project kill switch holds even an approved destroy (no terraform runs at all) until it
    /// is released.
    @Test func aHumanTierDestroyWaitsForItsApprovalAndAKillSwitchHoldsIt() async throws {
        let world = try await World()
        #expect(try await world.once().status == 0)
        let create = try await world.pendingApproval("fraud-warehouse")
        #expect(try await world.decide("approve", create.id, as: "lars.berg@example.com").status == 0)
        #expect(try await world.once().stdout.contains("Resource/fraud-warehouse applied in "))
        let state = world.root + "/data/terraform/Resource/fraud-warehouse/terraform.tfstate"
        #expect(FileManager.default.fileExists(atPath: state))

        // Removed from desired state (the volume stays): a destroy plan, and nothing destroyed.
        let resources = world.root + "/desired/resources/fraud-detection.yaml"
        let volume = try #require(try String(contentsOfFile: resources, encoding: .utf8).components(separatedBy: "\n---\n").first)
        try (volume + "\n").write(toFile: resources, atomically: true, encoding: .utf8)
        let asked = try await world.once()
        #expect(asked.status == 0 && asked.stdout.contains("Resource/fraud-warehouse terraform plan\n"), "\(asked.stdout)")
        #expect(asked.stdout.contains("Resource/fraud-warehouse awaiting_approval in "), "\(asked.stdout)")
        #expect(world.terraformCalls.contains { $0.hasPrefix("plan -destroy") })
        #expect(!world.terraformCalls.contains { $0.hasPrefix("destroy") } && FileManager.default.fileExists(atPath: state))
        let destroy = try await world.pendingApproval("fraud-warehouse")
        #expect(destroy.operation == .destroy && destroy.changes.map(\.action) == ["destroy"])
        #expect(destroy.changes.first?.before?["triggers"]?["cluster_size"] == .string("2X-Small"))
        #expect(destroy.estimate.monthly == MicroDollars(300_000_000))
        let listed = try await world.asgard(["approvals", "list", "--status", "pending"])
        #expect(listed.stdout.contains("\(destroy.id)  pending  destroy Resource/fraud-warehouse"), "\(listed.stdout)")
        #expect(listed.stdout.contains("saves: $300/month") && listed.stdout.contains("- destroy module.service.null_resource.this"))
        // A second pass asks nothing new.
        #expect(try await world.once().stdout.contains("Resource/fraud-warehouse awaiting_approval in "))
        #expect(try await world.store().approvals(status: .pending).filter { $0.operation == .destroy }.map(\.id) == [destroy.id])

        // Approved, but the project is killed: held, and no terraform runs.
        #expect(try await world.decide("approve", destroy.id, as: "priya.natarajan@example.com").status == 0)
        let kill = try await world.asgard(["kill", "--scope", "project", "--id", "fraud-detection", "--reason", "incident 9", "--by", "ops"])
        #expect(kill.status == 0, "\(kill.stderr)")
        let calls = world.terraformCalls.count
        let held = try await world.once()
        #expect(held.stdout.contains("Resource/fraud-warehouse refused in "), "\(held.stdout)")
        #expect(held.stdout.contains("destroy held: project \"fraud-detection\" is not active (kill switch: incident 9)"), "\(held.stdout)")
        #expect(world.terraformCalls.count == calls && FileManager.default.fileExists(atPath: state))

        // Released: the approved plan is applied, the workspace goes and the approval is spent.
        #expect(try await world.asgard(["unkill", "--scope", "project", "--id", "fraud-detection", "--by", "ops"]).status == 0)
        let released = try await world.once()
        #expect(released.stdout.contains("Resource/fraud-warehouse removed in "), "\(released.stdout)")
        #expect(!FileManager.default.fileExists(atPath: world.root + "/data/terraform/Resource/fraud-warehouse"))
        #expect(try await world.store().approvals(status: .applied).map(\.id).contains(destroy.id))
        #expect(try await world.asgard(["audit", "verify"]).status == 0)
        try await world.shutdown()
    }

    /// The shipped warehouse's cost rule, for two of its sizes.
    static let warehouseCostRule =
        "    cost_rule: {parameter: cluster_size, multiply_by: max_num_clusters, monthly_usd: {2X-Small: 300, 4X-Large: 39600}}"

    /// The Databricks manifest with the doubles' tag location: every double is a null_resource
    /// whose `triggers` map holds `project`.
    static let nullManifest = """
        kind: Service
        id: databricks
        inference:
          kind: openai-compatible
          base_url_env: DATABRICKS_HOST
          token_env: DATABRICKS_TOKEN
          chat_path: /serving-endpoints/{model}/invocations
          timeout_seconds: 60
          usage_context: true
          default_max_tokens: 4096
          models:
            - id: databricks/llama-3-3-70b
              upstream: databricks-meta-llama-3-3-70b-instruct
              price_per_1m_input_usd: 0.50
              price_per_1m_output_usd: 1.50
              max_data_class: confidential
        provisionable:
        \(["sql-warehouse:human:internal:1500", "job:human:internal:400", "model-serving:human:internal:2000", "uc-volume:auto:public:5"].map { (entry: String) -> String in
            let parts = entry.split(separator: ":")
            return """
              - name: databricks-\(parts[0])
                module: modules/databricks/\(parts[0])
                tier: \(parts[1])
                classification_floor: \(parts[2])
                monthly_estimate_usd: \(parts[3])\(parts[0] == "sql-warehouse" ? "\n" + warehouseCostRule : "")
                tags:
                  - resource_type: null_resource
                    path: triggers
                    format: map
            \(parts[0] == "model-serving" ? "    observe: databricks-serving-endpoints" : "")
            """
        }.joined(separator: "\n"))
        cost_source:
          type: databricks-billing
          env:
            host: DATABRICKS_HOST
            token: DATABRICKS_TOKEN
            warehouse_id: DATABRICKS_WAREHOUSE_ID

        """
}

extension String {
    /// Writes the text, creating the parent directory first when asked.
    func write(toFile path: String, atomically: Bool, encoding: String.Encoding, createDirectory: Bool) throws {
        if createDirectory {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        try write(toFile: path, atomically: atomically, encoding: encoding)
    }
}
