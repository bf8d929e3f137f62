import AsgardCore
import AsgardPostgres
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// Two `asgard serve` processes on one PostgreSQL database, as two replicas behind a load
/// balancer: what one promises, both keep together.
@Suite(.serialized) struct ReplicaTests {
    /// The replicas of one test: one desired/ directory, a data directory (journal) each.
    struct Pair {
        let root: String
        let url: String
        let fake: RunningFakeDatabricks
        let client: HTTPClient
        /// Every replica started, so that none outlives its test, however the test ends.
        final class Started: Sendable {
            let processes = Mutex<[ChildProcess]>([])
        }
        let started = Started()

        static let adminSecret = "asgard-replica-test-admin-credential"

        func start(_ replica: String, arguments: [String] = [], environment extra: [String: String] = [:]) throws -> ServeProcess {
            let server = try ServeProcess.start(
                root: root, fakeURL: fake.url, arguments: arguments,
                environment: [
                    "ASGARD_DATABASE_URL": url + "?sslmode=disable", "ASGARD_REPLICA": replica,
                    "ASGARD_ADMIN_KEY_SHA256": "sha256:" + SHA256.hex(Self.adminSecret),
                ].merging(extra) { _, given in given },
                dataDirectory: root + "/data-" + replica)
            started.processes.withLock { $0.append(server.process) }
            return server
        }

        /// Stops every replica still running.
        func stopAll() async {
            for process in started.processes.withLock({ $0 }) where process.isRunning {
                process.terminate()
                await process.exited()
            }
        }

        /// Replicas `a` and `b`, each healthy and answering a call with the test key.
        func startBoth() async throws -> (a: ServeProcess, b: ServeProcess, bases: [String]) {
            let a = try start("a")
            let b = try start("b")
            try await a.waitUntilHealthy(client)
            try await b.waitUntilHealthy(client)
            let bases = [try await a.base(), try await b.base()]
            for base in bases { #expect(try await ReplicaTests.firstAnswer(200, from: base, client) < .seconds(5)) }
            return (a, b, bases)
        }

        /// An admin API call on `base`: its status and body.
        func admin(_ method: HTTPMethod, _ base: String, _ path: String, body: String? = nil) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(Self.adminSecret)")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }

        /// The store as a third party reads it.
        func store() throws -> PostgresStore {
            try PostgresStore(url: try DatabaseURL(url + "?sslmode=disable"), auditKey: testAuditKey, replica: "reader")
        }
    }

    static func withPair(_ name: String, _ body: (Pair) async throws -> Void) async throws {
        let root = try makeTemporaryDirectory(name)
        let url = try TestPostgres.freshDatabase()
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: ServeProcess.sentinel)).start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let pair = Pair(root: root, url: url, fake: fake, client: client)
        do {
            try await body(pair)
            await pair.stopAll()
        } catch {
            await pair.stopAll()
            try? await fake.shutdown()
            try? await client.shutdown()
            throw error
        }
        try await fake.shutdown()
        try await client.shutdown()
    }

    /// A chat call bounded to 16 completion tokens: its status and body.
    static func call(_ client: HTTPClient, _ base: String) async -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(ServeProcess.secret)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(
            ByteBuffer(string: #"{"model":"databricks/llama-3-3-70b","max_tokens":16,"messages":[{"role":"user","content":"budget probe"}]}"#))
        guard let response = try? await client.execute(request, timeout: .seconds(30)) else { return (0, "") }
        let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
        return (Int(response.status.code), body)
    }

    /// The whole month's spend of `project` once every call the replicas answered is in the
    /// ledger (each replica stopped: its journal is in).
    static func monthSpend(_ store: PostgresStore, project: String) async throws -> MicroDollars {
        try await store.spend(project: project, from: .distantPast, to: .distantFuture)
    }

    /// 400 calls at once, split across two replicas, against a budget that fits exactly 50 of
    /// them: at most 50 succeed, and the ledger's spend stays within the budget.
    @Test(.timeLimit(.minutes(5))) func twoReplicasNeverOverspendASharedBudget() async throws {
        try await Self.withPair("replica-budget") { pair in
            // One call alone, to learn what such a call costs.
            let probe = try pair.start("a")
            try await probe.waitUntilHealthy(pair.client)
            // Healthy as soon as it serves the store's configuration; the call waits for the
            // configuration it writes once it leads.
            #expect(try await Self.firstAnswer(200, from: try await probe.base(), pair.client) < .seconds(5))
            probe.process.terminate()
            await probe.process.exited()
            let store = try pair.store()
            let rows = try await store.ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture)
            let cost = try #require(rows.first?.cost, "the probe call has no ledger row")
            #expect(rows.count == 1 && cost.value > 0)

            // The budget: what the probe and one call on each replica spend, and exactly 50 more.
            let budget = MicroDollars(cost.value * 53)
            let manifest = pair.root + "/desired/projects/fraud-detection.yaml"
            let text = try String(contentsOfFile: manifest, encoding: .utf8)
            let edited = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix("monthly_budget_usd:") ? "monthly_budget_usd: \(budget)" : String(line)
            }.joined(separator: "\n")
            try edited.write(toFile: manifest, atomically: true, encoding: .utf8)

            let a = try pair.start("a")
            let b = try pair.start("b")
            try await a.waitUntilHealthy(pair.client)
            try await b.waitUntilHealthy(pair.client)
            let bases = [try await a.base(), try await b.base()]
            // The budget in force is the applied one: wait until the leader has written the new one.
            try await Self.until("the new budget is applied in the store") {
                try await store.gatewayConfiguration().projects.first { $0.id == "fraud-detection" }?.monthlyBudget == budget
            }
            // Each replica serves the key (the leader wrote it, the follower read it): one call each.
            for base in bases { #expect(try await Self.firstAnswer(200, from: base, pair.client) < .seconds(5)) }

            let answers = await withTaskGroup(of: (status: Int, body: String).self) { group in
                for index in 0..<400 { group.addTask { await Self.call(pair.client, bases[index % 2]) } }
                return await group.reduce(into: [(status: Int, body: String)]()) { $0.append($1) }
            }
            let statuses = answers.map(\.status)
            let succeeded = statuses.filter { $0 == 200 }.count
            let refused = statuses.filter { $0 == 402 }.count
            print("replicas: the last refusal: \(answers.last { $0.status == 402 }?.body ?? "none")")
            for replica in [a, b] {
                replica.process.terminate()
                await replica.process.exited()
            }
            let spent = try await Self.monthSpend(store, project: "fraud-detection")
            print("replicas: \(succeeded) of 400 calls succeeded, \(refused) refused 402; spend \(spent) of budget \(budget), call cost \(cost)")
            #expect(succeeded + refused == 400, "every call is answered 200 or 402: \(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
            #expect(succeeded <= 50)
            #expect(spent.value <= budget.value)
            // The shared budget is spent, not stranded: a call is refused only when what is left
            // is less than its worst case, so each replica strands less than one worst case.
            let refusal = try #require(answers.last { $0.status == 402 }?.body)
            let needs = try #require(
                refusal.split(separator: "this call needs up to $").last.flatMap { Decimal(string: String($0.prefix { $0 != "\"" })) })
            let worstCase = try MicroDollars(dollars: "\(needs)")
            let stranded = 2 * Int((worstCase.value + cost.value - 1) / cost.value)
            #expect(succeeded >= 50 - stranded, "only \(succeeded) of the 50 calls that fit succeeded (worst case \(worstCase), cost \(cost))")
        }
    }

    /// 200 calls at once, split across two replicas, with a key limited to 40 requests a
    /// minute: at most 40 succeed (the two calls that found each replica ready among them), the
    /// others are refused 429, and the limit is spent, not stranded on one replica.
    @Test(.timeLimit(.minutes(3))) func twoReplicasShareAKeysRateLimit() async throws {
        try await Self.withPair("replica-rate") { pair in
            _ = try copyShippedDesired(into: pair.root)
            try """
            kind: Key
            id: process-key
            project: fraud-detection
            digest: sha256:\(SHA256.hex(ServeProcess.secret))
            allowed_models: [databricks/llama-3-3-70b]
            max_data_class: internal
            requests_per_minute: 40
            """.write(toFile: pair.root + "/desired/keys/process.yaml", atomically: true, encoding: .utf8)
            let (a, b, bases) = try await pair.startBoth()

            let statuses = await withTaskGroup(of: Int.self) { group in
                for index in 0..<200 { group.addTask { await Self.call(pair.client, bases[index % 2]).status } }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let succeeded = statuses.filter { $0 == 200 }.count
            let limited = statuses.filter { $0 == 429 }.count
            print("replicas: \(succeeded) of 200 calls succeeded under a limit of 40 a minute (2 used before), \(limited) refused 429")
            #expect(succeeded + limited == 200, "every call is answered 200 or 429: \(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
            #expect(succeeded <= 38)
            // Both replicas had calls waiting while they held slots: each spent what it held.
            #expect(succeeded >= 30, "only \(succeeded) of the 38 slots left were used")
            for replica in [a, b] {
                replica.process.terminate()
                await replica.process.exited()
            }
        }
    }

    /// A kill switch engaged through replica A refuses calls on replica B within a second, and
    /// one released through B lets calls through on A again.
    @Test(.timeLimit(.minutes(3))) func aKillSwitchEngagedOnOneReplicaHoldsOnTheOtherWithinASecond() async throws {
        try await Self.withPair("replica-kill") { pair in
            let (a, b, bases) = try await pair.startBoth()
            let (baseA, baseB) = (bases[0], bases[1])

            let engaged = try await pair.admin(.POST, baseA, "/api/admin/kill", body: #"{"scope":"project","id":"fraud-detection","reason":"drill"}"#)
            #expect(engaged.0 == 200, "\(engaged.1)")
            let killedAfter = try await Self.firstAnswer(403, from: baseB, pair.client)
            #expect(killedAfter < .seconds(1), "replica B took \(killedAfter) to obey the switch engaged on A")

            let released = try await pair.admin(.DELETE, baseB, "/api/admin/kill?scope=project&id=fraud-detection")
            #expect(released.0 == 200, "\(released.1)")
            let releasedAfter = try await Self.firstAnswer(200, from: baseA, pair.client)
            #expect(releasedAfter < .seconds(1), "replica A took \(releasedAfter) to see the switch released on B")
            print("replicas: a kill switch engaged on A held on B after \(killedAfter); released on B, A served again after \(releasedAfter)")
            for replica in [a, b] {
                replica.process.terminate()
                await replica.process.exited()
            }
        }
    }

    /// An approval asked for while one replica led holds when another leads: the plan it names
    /// was saved on the old leader's disk, and the new leader, planning the same configuration
    /// against the same state in PostgreSQL, finds the same digest, so the approval given to it
    /// applies the resource rather than being voided and asked again.
    @Test(.timeLimit(.minutes(5))) func anApprovalAskedForUnderOneLeaderIsAppliedByTheNext() async throws {
        let terraform = packageRoot + "/.tools/terraform/bin/terraform"
        try #require(FileManager.default.isExecutableFile(atPath: terraform), "run `make setup`: it installs terraform 1.0.3 offline")
        try await Self.withPair("replica-approval") { pair in
            _ = try copyShippedDesired(into: pair.root)
            try ProvisioningFlowTests.nullManifest.write(
                toFile: pair.root + "/desired/services/databricks/service.yaml", atomically: true, encoding: .utf8)
            let arguments = ["--modules-root", packageRoot + "/Tests/TerraformModules"]
            let environment = ["ASGARD_TERRAFORM_BIN": terraform, "TF_CLI_CONFIG_FILE": packageRoot + "/.tools/terraform/terraformrc"]
            let store = try pair.store()
            let warehouse = ObjectRef(.resource, "fraud-warehouse")

            let a = try pair.start("a", arguments: arguments, environment: environment)
            try await a.waitUntilHealthy(pair.client)
            var asked: Approval?
            try await Self.until("a asks for an approval of the warehouse's plan", seconds: 120) {
                asked = try await store.approvals(status: .pending).first { $0.ref == warehouse }
                return asked != nil
            }
            let approval = try #require(asked)
            a.process.terminate()
            await a.process.exited()

            let b = try pair.start("b", arguments: arguments, environment: environment)
            try await b.waitUntilHealthy(pair.client)
            try await Self.until("replica b leads") { try String(contentsOfFile: b.output, encoding: .utf8).contains("this replica now leads") }
            let approved = try await asgardDetached(
                ["approvals", "approve", approval.id], in: pair.root,
                environment: [
                    "ASGARD_DATABASE_URL": pair.url + "?sslmode=disable", "ASGARD_REPLICA": "cli",
                    "ASGARD_PERSON_KEY": personSecret("lars.berg@example.com"),
                ])
            #expect(approved.status == 0, "\(approved.output)")
            try await Self.until("b applies the approved plan", seconds: 120) {
                try await store.observedState().objects[warehouse]?.status == .applied
            }
            let approvals = try await store.approvals(status: nil).filter { $0.ref == warehouse }
            #expect(approvals.map(\.id) == [approval.id] && approvals.first?.status == .applied, "\(approvals.map { ($0.id, $0.status) })")
            b.process.terminate()
            await b.process.exited()
        }
    }

    /// How long until `base` answers a call with `status` (calls in a row, for up to 5 s).
    static func firstAnswer(_ status: Int, from base: String, _ client: HTTPClient) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(5) {
            if await call(client, base).status == status { return clock.now - start }
            try await Task.sleep(for: .milliseconds(10))
        }
        return clock.now - start
    }

    /// `kill -9` of one replica under load, with the other serving on: every call a client saw
    /// succeed on either reaches the ledger once the killed replica restarts on its journal, and
    /// the audit log stays one verifiable chain.
    @Test(.timeLimit(.minutes(5))) func aReplicaKilledUnderLoadLosesNoCallAClientSawSucceed() async throws {
        try await Self.withPair("replica-sigkill") { pair in
            let (a, b, bases) = try await pair.startBoth()
            let pid = a.process.processIdentifier
            let answered = Counter()
            let succeeded = await withTaskGroup(of: String?.self) { group in
                for index in 0..<1_000 {
                    group.addTask {
                        guard let (status, _, id) = try? await ServeProcess.chat(pair.client, bases[index % 2]), status == 200 else { return nil }
                        if answered.increment() == 150 { kill(pid, SIGKILL) }
                        return id
                    }
                }
                return await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            if a.process.isRunning {
                Issue.record("only \(succeeded.count) calls succeeded: the kill never landed")
                kill(pid, SIGKILL)
            }
            await a.process.exited()
            #expect(a.process.terminationReason == .uncaughtSignal)
            // A restarts on its own journal and copies in what the kill left there.
            let restarted = try pair.start("a")
            try await restarted.waitUntilHealthy(pair.client)
            for replica in [restarted, b] {
                replica.process.terminate()
                await replica.process.exited()
            }
            let store = try pair.store()
            let rows = Set(try await store.ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture).map(\.requestID))
            let missing = succeeded.filter { !rows.contains($0) }
            #expect(missing.isEmpty, "\(missing.count) of \(succeeded.count) successful calls have no ledger row")
            guard case .intact(let entries, _) = try await store.verifyAudit() else {
                Issue.record("the audit chain of two replicas, one killed, does not verify")
                return
            }
            print(
                "replicas: \(succeeded.count) of 1000 calls succeeded across the kill of A; all have ledger rows; the chain holds \(entries) entries")
        }
    }

    /// `kill -9` of the leader (and the terraform it runs, as when its pod dies) in the middle
    /// of an apply: the other replica takes the lead, finds the state in PostgreSQL, and the
    /// resource converges; no apply runs while the dead leader's does, and none twice to the end.
    @Test(.timeLimit(.minutes(5))) func theLeaderKilledMidApplyIsTakenOverWithoutADoubleApplyAndAnotherLeaderDestroys() async throws {
        let terraform = packageRoot + "/.tools/terraform/bin/terraform"
        try #require(FileManager.default.isExecutableFile(atPath: terraform), "run `make setup`: it installs terraform 1.0.3 offline")
        try await Self.withPair("replica-takeover") { pair in
            // The null_resource doubles, the volume's apply slowed and logged: a line when it
            // starts, another when it completes.
            let modules = pair.root + "/modules"
            try FileManager.default.copyItem(atPath: packageRoot + "/Tests/TerraformModules", toPath: modules)
            let applies = pair.root + "/applies.log"
            let volume = modules + "/modules/databricks/uc-volume/main.tf"
            let text = try String(contentsOfFile: volume, encoding: .utf8)
            try text.replacingOccurrences(
                of: "    volume     = var.volume\n  }\n}",
                with: """
                        volume     = var.volume
                      }
                      provisioner "local-exec" {
                        command = "echo started $(date +%s.%N) >> \(applies) && sleep 4 && echo completed $(date +%s.%N) >> \(applies)"
                      }
                      provisioner "local-exec" {
                        when    = destroy
                        command = "echo destroyed $(date +%s.%N) >> \(applies)"
                      }
                    }
                    """
            ).write(toFile: volume, atomically: true, encoding: .utf8)
            try #require(try String(contentsOfFile: volume, encoding: .utf8).contains("local-exec"))
            // The doubles are null_resources: the manifest says where they hold the project tag.
            _ = try copyShippedDesired(into: pair.root)
            try ProvisioningFlowTests.nullManifest.write(
                toFile: pair.root + "/desired/services/databricks/service.yaml", atomically: true, encoding: .utf8)
            let arguments = ["--modules-root", modules]
            let environment = ["ASGARD_TERRAFORM_BIN": terraform, "TF_CLI_CONFIG_FILE": packageRoot + "/.tools/terraform/terraformrc"]

            let a = try pair.start("a", arguments: arguments, environment: environment)
            try await a.waitUntilHealthy(pair.client)
            try await Self.until("replica a leads") { try String(contentsOfFile: a.output, encoding: .utf8).contains("this replica now leads") }
            let b = try pair.start("b", arguments: arguments, environment: environment)
            try await b.waitUntilHealthy(pair.client)
            try await Self.until("the volume's apply starts on a") {
                (try? String(contentsOfFile: applies, encoding: .utf8))?.contains("started") == true
            }
            // The leader dies with its terraform, mid-apply.
            let leader = a.process.processIdentifier
            let children = try await runProcess("/usr/bin/pgrep", ["-P", String(leader)]).output.split(separator: "\n").compactMap { Int32($0) }
            kill(leader, SIGKILL)
            for child in children { kill(-child, SIGKILL) }
            let killedAt = Date().timeIntervalSince1970
            await a.process.exited()

            let store = try pair.store()
            try await Self.until("the resource converges on b", seconds: 120) {
                try await store.observedState().objects[ObjectRef(.resource, "fraud-features")]?.status == .applied
            }
            let log = try String(contentsOfFile: applies, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
            let completed = log.filter { $0.first == "completed" }
            let startedAfter = log.filter { $0.first == "started" }.compactMap { Double($0[1]) }.filter { $0 > killedAt }
            #expect(completed.count == 1, "the volume's apply completed \(completed.count) times: \(log)")
            #expect(completed.allSatisfy { Double($0[1]) ?? 0 > killedAt }, "a's apply was not stopped by the kill")
            #expect(startedAfter.count == 1, "b started the volume's apply \(startedAfter.count) times after the kill: \(log)")
            let leads = try String(contentsOfFile: b.output, encoding: .utf8).contains("this replica now leads")
            #expect(leads, "replica b never took the lead")
            print("replicas: the leader was killed mid-apply; b led and converged the resource; apply log: \(log.map { $0.joined(separator: " ") })")

            // b stops; c, a replica that never saw the workspace, leads, and the resource leaves
            // desired state: c makes the workspace again from what the store last applied, and
            // terraform destroys what the state in PostgreSQL manages.
            b.process.terminate()
            await b.process.exited()
            let c = try pair.start("c", arguments: arguments, environment: environment)
            try await c.waitUntilHealthy(pair.client)
            try await Self.until("replica c leads") { try String(contentsOfFile: c.output, encoding: .utf8).contains("this replica now leads") }
            // c's first pass: the resource b applied has no workspace here, and its state in
            // PostgreSQL is one c has not read, which must not pass for drift (that would have
            // the tagged resources replaced: destroyed and created again). The pass has run when
            // c has reported the two objects still waiting for approval.
            let startedBeforeC = try String(contentsOfFile: applies, encoding: .utf8).split(separator: "\n").count
            try await Self.until("c's first pass", seconds: 60) {
                let output = try String(contentsOfFile: c.output, encoding: .utf8)
                return output.contains("Resource/fraud-warehouse converge") && output.contains("ServingEndpoint/fraud-triage converge")
            }
            try await Task.sleep(for: .seconds(5))
            let afterFirstPass = try String(contentsOfFile: applies, encoding: .utf8).split(separator: "\n")
            #expect(afterFirstPass.count == startedBeforeC, "c's first pass changed the converged resource: \(afterFirstPass.dropFirst(startedBeforeC))")
            let resources = pair.root + "/desired/resources/fraud-detection.yaml"
            let documents = try String(contentsOfFile: resources, encoding: .utf8).components(separatedBy: "---\n")
            try #require(documents.count == 2 && documents[0].contains("id: fraud-features"))
            try documents[1].write(toFile: resources, atomically: true, encoding: .utf8)
            try await Self.until("c destroys the resource b applied", seconds: 120) {
                try await store.object(ObjectRef(.resource, "fraud-features")) == nil
            }
            let destroyed = try String(contentsOfFile: applies, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("destroyed") }
            #expect(destroyed.count == 1, "terraform destroyed the volume \(destroyed.count) times")
            let cOutput = try String(contentsOfFile: c.output, encoding: .utf8)
            #expect(!cOutput.contains("was provisioned by another replica"), "\(cOutput.suffix(2000))")
            c.process.terminate()
            await c.process.exited()
        }
    }

    /// Waits up to `seconds` for `condition`, failing the test by name if it never holds.
    static func until(_ what: String, seconds: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("waited \(Int(seconds)) s, but never: \(what)")
        throw CancellationError()
    }
}
