import AsgardCore
import AsgardCost
import AsgardJSON
import AsgardServer
import AsgardStore
import AsyncHTTPClient
import AsgardTestSupport
import FakeDatabricks
import Foundation
import Testing

/// `databricks-billing` against the fake Databricks over real HTTP: what a rollup stores must be
/// what the billing tables say, priced by the list prices, or an estimate that says why.
@Suite(.serialized)
struct DatabricksBillingTests {
    static let token = "dapi-cost-test-token-0123456789abcdef"
    let today = CostDay(Date())
    var period: CostPeriod { try! CostPeriod(from: today.adding(days: -4), to: today) }

    /// The fake's billing: fraud-detection's warehouse uses 2.5 DBU a day at $0.70, its job
    /// 1.333333333333333333 DBU at $0.15 (at $0.20 from the middle day on), marketing-copy
    /// nothing, and an untagged resource and another project that Asgard does not know.
    var seed: FakeBillingSeed {
        FakeBillingSeed(
            resources: [
                FakeBilledResource(project: "fraud-detection", name: "fraud-warehouse", kind: .sqlWarehouse, skuName: "SQL_WH", dailyQuantity: "2.5"),
                FakeBilledResource(project: "fraud-detection", name: "fraud-job", kind: .job, skuName: "JOBS_X", dailyQuantity: "1.333333333333333333"),
                FakeBilledResource(project: nil, name: "untagged", kind: .job, skuName: "JOBS_X", dailyQuantity: "100"),
                FakeBilledResource(project: "someone-else", name: "other", kind: .job, skuName: "JOBS_X", dailyQuantity: "7"),
            ],
            from: period.from.description, to: period.to.description,
            listPrices: [
                FakeListPrice(skuName: "SQL_WH", price: "0.70"),
                FakeListPrice(skuName: "JOBS_X", price: "0.15", priceEndTime: period.from.adding(days: 2).description),
                FakeListPrice(skuName: "JOBS_X", price: "0.20", priceStartTime: period.from.adding(days: 2).description),
            ],
            granularity: .daily)
    }

    /// What the fake must answer for fraud-detection on `day`, computed here with Decimal. A
    /// record is priced at the price in force at its end (`usage_end_time`): a day's one
    /// record ends at the next midnight, so the day before the change already has the new price.
    func expected(on day: CostDay) -> MicroDollars {
        let jobPrice = day.next < period.from.adding(days: 2) ? Decimal(string: "0.15")! : Decimal(string: "0.20")!
        var total = Decimal(string: "2.5")! * Decimal(string: "0.70")! + Decimal(string: "1.333333333333333333")! * jobPrice
        var rounded = Decimal()
        NSDecimalRound(&rounded, &total, 6, .plain)
        return try! DecimalAmount.micros("\(rounded)")
    }

    /// A store with the shipped projects and services applied, and fraud-warehouse provisioned.
    func store(_ name: String) async throws -> SQLiteStore {
        let root = try makeTemporaryDirectory(name)
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let state = DesiredStateLoader().load(directory: packageRoot + "/desired").state
        for object in state.objects where [.service, .project].contains(object.ref.kind) || object.ref.id == "fraud-warehouse" {
            try await store.commit(
                .put(object, tier: .auto, status: .applied, reason: nil),
                audit: AuditEntry(actor: "test", action: object.ref.kind == .resource ? "provision.apply" : "reconcile.create", target: object.ref.description, outcome: "ok"))
        }
        return store
    }

    func desk(_ store: SQLiteStore, fake: RunningFakeDatabricks?, warehouse: String? = "fake-warehouse", client: any CostHTTP) -> CostDesk {
        var environment = ["DATABRICKS_TOKEN": Self.token]
        environment["DATABRICKS_HOST"] = fake?.url
        environment["DATABRICKS_WAREHOUSE_ID"] = warehouse
        let fixed = environment
        return CostDesk(store: store, ledger: store) {
            CostSources.build(
                configured: try await store.costSources(), projects: try await store.gatewayConfiguration().projects, inferenceVendors: [],
                environment: fixed, http: client, ledger: store)
        }
    }

    @Test func aRollupStoresWhatTheBillingTablesSayPricedByTheListPrices() async throws {
        let store = try await store("cost-billing")
        let fake = FakeDatabricks(FakeDatabricksConfiguration(token: Self.token, billing: seed))
        try await fake.withRunning { running in
            try await withCostHTTP { client in
                let desk = desk(store, fake: running, client: client)
                let outcome = try await desk.rollup(period, only: [DatabricksBilling.type], actor: "test")
                #expect(outcome.notMeasured == 0)
                let rows = try await store.costs(from: period.from.description, to: period.to.description, project: nil)
                let fraud = rows.filter { $0.project == "fraud-detection" }
                #expect(fraud.map(\.amount) == period.days.map(expected(on:)))
                #expect(fraud.allSatisfy { $0.measurement.label == "measured" && $0.measurement.detail.contains("system.billing.usage") })
                // Measured zero for a project with nothing billed; nothing for projects Asgard does not know.
                #expect(rows.filter { $0.project == "marketing-copy" }.map(\.amount) == period.days.map { _ in MicroDollars.zero })
                #expect(Set(rows.map(\.project)) == ["fraud-detection", "marketing-copy"])
                // The statement went with its days as named parameters.
                let sent = try #require(running.controls.billing.executedStatements.last)
                #expect(sent.warehouseID == "fake-warehouse")
                #expect(sent.parameters.map(\.name).sorted() == ["from_day", "to_day"])

                // The same days again: the same rows. A restated day replaces its figure.
                let again = try await desk.rollup(period, only: [DatabricksBilling.type], actor: "test")
                #expect(again.replacement.changed == 0)
                let restatedDay = period.from.adding(days: 1)
                _ = try running.controls.billing.restate(day: restatedDay.description, resource: "fraud-warehouse", quantity: "1.0")
                let third = try await desk.rollup(period, only: [DatabricksBilling.type], actor: "test")
                #expect(third.replacement.changed == 2)  // the old row out, the new one in
                let restated = try await store.costs(from: restatedDay.description, to: restatedDay.description, project: "fraud-detection")
                #expect(restated.first?.amount == MicroDollars(expected(on: restatedDay).value - 1_050_000))  // 1.5 DBU less at $0.70
            }
        }
    }

    /// The same statement run by the official databricks-sdk against the fake gives the
    /// figures Asgard stored.
    @Test func theOfficialSDKComputesTheSameFigures() async throws {
        let store = try await store("cost-billing-sdk")
        let fake = FakeDatabricks(FakeDatabricksConfiguration(token: Self.token, billing: seed))
        try await fake.withRunning { running in
            try await withCostHTTP { client in
                _ = try await desk(store, fake: running, client: client).rollup(period, only: [DatabricksBilling.type], actor: "test")
            }
            let output = try await runPython(
                script: packageRoot + "/scripts/databricks_sql_check.py",
                arguments: [running.url, Self.token, "fake-warehouse", DatabricksBilling.statement, period.from.description, period.to.description])
            let report = try #require(try? JSONValue.parse(output.split(separator: "\n").last.map(String.init) ?? ""), "\(output)")
            var fromSDK: [String: MicroDollars] = [:]
            for row in report["rows"]?.arrayValue ?? [] {
                let fields = (row.arrayValue ?? []).map { $0.stringValue ?? "" }
                guard fields.count == 3, fields[0] == "fraud-detection" else { continue }
                fromSDK[fields[1]] = try DecimalAmount.micros(fields[2])
            }
            let stored = try await store.costs(from: period.from.description, to: period.to.description, project: "fraud-detection")
            #expect(fromSDK.count == period.count)
            #expect(stored.map { fromSDK[$0.day] } == stored.map(\.amount))
        }
    }

    /// Without a warehouse id, and with a statement that fails (no SELECT on system.billing),
    /// the provisioned warehouse stands in as an estimate with the reason: never zero.
    @Test func whenBillingCannotBeReadTheEstimateSaysWhy() async throws {
        let store = try await store("cost-billing-estimate")
        let fake = FakeDatabricks(FakeDatabricksConfiguration(token: Self.token, billing: seed))
        try await fake.withRunning { running in
            try await withCostHTTP { client in
                _ = try await desk(store, fake: running, warehouse: nil, client: client).rollup(period, only: [DatabricksBilling.type], actor: "test")
                var rows = try await store.costs(from: today.description, to: today.description, project: nil)
                #expect(rows.map(\.project) == ["fraud-detection", "marketing-copy"])
                guard case .estimate(let amount, let reason, let basis) = rows[0].measurement else {
                    Issue.record("fraud-detection is not estimated: \(rows[0])")
                    return
                }
                #expect(amount == Rollup.prorated(MicroDollars(300_000_000), on: today))  // 2X-Small × 1 cluster: $300 a month
                #expect(reason == "DATABRICKS_WAREHOUSE_ID is not set, so Databricks billing cannot be queried")
                #expect(basis.contains("Resource/fraud-warehouse"))
                #expect(rows[1].measurement == .notMeasured(reason: reason))
                // Before its first apply (today) the warehouse did not exist: no estimate then.
                let before = try await store.costs(from: period.from.description, to: period.from.description, project: "fraud-detection")
                #expect(before.map(\.measurement.label) == ["not_measured"])

                running.controls.billing.denyBillingAccess()
                _ = try await desk(store, fake: running, client: client).rollup(period, only: [DatabricksBilling.type], actor: "test")
                rows = try await store.costs(from: today.description, to: today.description, project: "fraud-detection")
                guard case .estimate(_, let denied, _) = rows[0].measurement else {
                    Issue.record("not an estimate: \(rows[0])")
                    return
                }
                #expect(denied.hasPrefix("Databricks billing: the statement failed"))
                #expect(denied.contains("INSUFFICIENT_PERMISSIONS") && denied.contains("system.billing.usage"))
                #expect(!denied.contains(Self.token))
            }
        }
    }
}

extension DatabricksBillingTests {
    /// Reconciliation: the gateway's tokens per project and day against the vendor's
    /// `system.serving.endpoint_usage` by `usage_context`. Within the tolerance nothing is
    /// flagged; beyond it that project and day is flagged (and audited), and only that one.
    @Test func reconciliationFlagsOnlyTheProjectWhoseTokensDrift() async throws {
        let store = try await store("cost-reconcile")
        let fake = FakeDatabricks(FakeDatabricksConfiguration(token: Self.token, billing: seed))
        try await fake.withRunning { running in
            try await withCostHTTP { client in
                // Calls through the vendor, each tagged with its project as the gateway tags them.
                var vendorTokens: [String: Int] = [:]
                for (project, calls) in [("fraud-detection", 3), ("marketing-copy", 2)] {
                    for n in 0..<calls {
                        let body = #"{"messages":[{"role":"user","content":"call \#(n) of \#(project)"}],"usage_context":{"project":"\#(project)"}}"#
                        let answer = try await client.send(
                            CostHTTPRequest(
                                method: .post, url: running.url + "/serving-endpoints/databricks-meta-llama-3-3-70b-instruct/invocations",
                                headers: ["Authorization": "Bearer \(Self.token)", "Content-Type": "application/json"], body: Array(body.utf8)))
                        let usage = try JSONValue.parse(answer.body)["usage"]
                        vendorTokens[project, default: 0] += (usage?["prompt_tokens"]?.intValue ?? 0) + (usage?["completion_tokens"]?.intValue ?? 0)
                    }
                }
                #expect(vendorTokens["fraud-detection", default: 0] > 0)
                // The gateway's ledger: fraud-detection within 5 %, marketing-copy 50 % short.
                let fraudTokens = vendorTokens["fraud-detection"]!, marketingTokens = vendorTokens["marketing-copy"]!
                let entries = [
                    ledgerEntry("g1", project: "fraud-detection", tokens: fraudTokens - fraudTokens / 25),
                    ledgerEntry("g2", project: "marketing-copy", tokens: marketingTokens / 2),
                ]
                try store.ingest(
                    entries.map { RecordedCall(time: $0.time, ledger: $0, audit: AuditEntry(actor: "key:k", action: "gateway.invoke", target: $0.model, outcome: "allowed")) },
                    through: JournalPosition(segment: 1, offset: 1))
                let outcome = try await desk(store, fake: running, client: client).rollup(period, only: [DatabricksBilling.type], actor: "test")
                #expect(outcome.unreconciled.isEmpty, "\(outcome.unreconciled)")
                #expect(
                    outcome.drift == [
                        TokenDrift(
                            project: "marketing-copy", vendor: "databricks", day: today.description, gatewayTokens: Int64(marketingTokens / 2),
                            vendorTokens: Int64(marketingTokens), tolerancePercent: 5)
                    ])
                #expect(try await store.drift(from: period.from.description, to: period.to.description, project: nil) == outcome.drift)
                let audited = try await store.auditTail(limit: 20).filter { $0.content.action == "cost.drift" }
                #expect(audited.map(\.content.target) == ["Project/marketing-copy"])
                let report = try await desk(store, fake: running, client: client).report(period)
                #expect(report.drift == outcome.drift)
                // Fixed, the drift is gone on the next rollup.
                try store.ingest(
                    [ledgerEntry("g3", project: "marketing-copy", tokens: marketingTokens - marketingTokens / 2)].map {
                        RecordedCall(time: $0.time, ledger: $0, audit: AuditEntry(actor: "key:k", action: "gateway.invoke", target: $0.model, outcome: "allowed"))
                    }, through: JournalPosition(segment: 1, offset: 2))
                let again = try await desk(store, fake: running, client: client).rollup(period, only: [DatabricksBilling.type], actor: "test")
                #expect(again.drift.isEmpty)
                #expect(try await store.drift(from: period.from.description, to: period.to.description, project: nil).isEmpty)
            }
        }
    }

    func ledgerEntry(_ id: String, project: String, tokens: Int) -> LedgerEntry {
        LedgerEntry(
            requestID: id, time: Date(), project: project, keyID: "k", vendor: "databricks", model: "databricks/llama-3-3-70b",
            upstream: "databricks-meta-llama-3-3-70b-instruct", promptTokens: tokens, completionTokens: 0, cost: MicroDollars(1),
            latencyMicroseconds: 1, status: "ok", estimated: false)
    }
}

/// Runs `body` with the cost sources' own transport, as the server builds it, over a client
/// shut down afterwards.
func withCostHTTP<T: Sendable>(_ body: (any CostHTTP) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let value = try await body(HTTPCostTransport(client: client))
        try await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs a script with the pinned venv's Python and returns what it printed (`runProcess`); a
/// missing venv or a failed script fails the test by name.
func runPython(script: String, arguments: [String]) async throws -> String {
    let python = packageRoot + "/.venv/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        Issue.record("no .venv: run `make venv` (make test does) to install the pinned SDKs")
        return ""
    }
    let run = try await runProcess(python, [script] + arguments)
    #expect(run.status == 0, "\(run.output)")
    return run.output
}
