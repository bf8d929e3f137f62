import AsgardCore
import AsgardCost
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// `openai-costs` against the fake Costs API over real HTTP: what a rollup stores must be what
/// OpenAI billed each Asgard project's OpenAI projects, summed exactly, or not measured with why.
@Suite(.serialized)
struct OpenAICostsTests {
    static let adminKey = "sk-admin-costs-test-0123456789abcdefghijklmnopqrstuv"
    let today = CostDay(Date())
    var period: CostPeriod { try! CostPeriod(from: today.adding(days: -4), to: today) }

    /// fraud-detection owns two OpenAI projects, marketing-copy none.
    static let projects = [
        Project(
            id: "fraud-detection", name: "Fraud", owner: "o@example.com", classification: .confidential, monthlyBudget: MicroDollars(1),
            approvers: [], openAIProjectIDs: ["proj_Fraud01", "proj_Fraud02"]),
        Project(id: "marketing-copy", name: "Copy", owner: "o@example.com", classification: .internal, monthlyBudget: MicroDollars(1), approvers: []),
    ]

    /// The invoice: on every day three sub-micro-dollar input lines of proj_Fraud01 (which
    /// vanish if each is rounded before they are added), an output line of proj_Fraud02, an
    /// amount a Double cannot hold on the middle day, and lines of an OpenAI project no Asgard
    /// project names and of no project, which are nobody's.
    var lines: [FakeCostLine] {
        period.days.flatMap { day -> [FakeCostLine] in
            var lines = (0..<3).map { _ in FakeCostLine(project: "proj_Fraud01", day: day, amount: "0.0000004", lineItem: "gpt-4o-mini, input") }
            lines.append(FakeCostLine(project: "proj_Fraud02", day: day, amount: "1.25", lineItem: "gpt-4o-mini, output"))
            lines.append(FakeCostLine(project: "proj_Stranger", day: day, amount: "99", lineItem: "gpt-4o, input"))
            lines.append(FakeCostLine(project: nil, day: day, amount: "7", lineItem: "fine-tuning"))
            if day == period.from.adding(days: 2) {
                lines.append(FakeCostLine(project: "proj_Fraud02", day: day, amount: "12345678901.0000005", lineItem: "batch"))
            }
            return lines
        }
    }

    /// What fraud-detection spent on `day`, with Decimal: 1.2e-6 + 1.25 (+ the big line), once rounded.
    func expected(on day: CostDay) -> MicroDollars {
        day == period.from.adding(days: 2) ? MicroDollars(12_345_678_902_250_002) : MicroDollars(1_250_001)
    }

    static let block = AsgardCore.CostSource(type: .openAICosts, env: ["admin_key": "OPENAI_ADMIN_KEY", "base_url": "OPENAI_BASE_URL"])

    /// The sources as the server builds them, with `bucketsPerPage` made small to force pages.
    func sources(_ environment: [String: String], client: any CostHTTP, ledger: any CostLedger, perPage: Int = 2) -> [any AsgardCost.CostSource] {
        CostSources.build(
            configured: [StoredCostSource(vendor: "openai", source: Self.block)], projects: Self.projects, inferenceVendors: [],
            environment: environment, http: client, ledger: ledger
        ).map { source -> any AsgardCost.CostSource in
            guard var openAI = source as? OpenAICosts, case .ready(var api) = openAI.connection else { return source }
            api.bucketsPerPage = perPage
            openAI.connection = .ready(api)
            return openAI
        }
    }

    func measure(_ fake: FakeOpenAICosts, key: String? = adminKey, baseURL: Bool = true) async throws -> [CostRecord] {
        let store = try SQLiteStore(path: try makeTemporaryDirectory("openai-costs") + "/asgard.sqlite", auditKey: testAuditKey)
        return try await fake.withRunning { url in
            try await withCostHTTP { client in
                var environment: [String: String] = [:]
                environment["OPENAI_ADMIN_KEY"] = key
                environment["OPENAI_BASE_URL"] = baseURL ? url : nil
                let source = try #require(sources(environment, client: client, ledger: store).first as? OpenAICosts)
                return await source.measure(period, projects: Self.projects.map(\.id))
            }
        }
    }

    @Test func aRollupStoresEachProjectsDailyCostsSummedExactlyAcrossPages() async throws {
        let store = try SQLiteStore(path: try makeTemporaryDirectory("openai-costs-rollup") + "/asgard.sqlite", auditKey: testAuditKey)
        for project in Self.projects {
            try await store.commit(
                .put(.project(project), tier: .auto, status: .applied, reason: nil),
                audit: AuditEntry(actor: "test", action: "reconcile.create", target: "Project/\(project.id)", outcome: "ok"))
        }
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines)
        try await fake.withRunning { url in
            try await withCostHTTP { client in
                let environment = ["OPENAI_ADMIN_KEY": Self.adminKey, "OPENAI_BASE_URL": url + "/"]
                let desk = CostDesk(store: store, ledger: store) {
                    sources(environment, client: client, ledger: store, perPage: 2)
                }
                let outcome = try await desk.rollup(period, only: [OpenAICosts.type], actor: "test")
                #expect(outcome.measured == period.count && outcome.notMeasured == period.count)
                let rows = try await store.costs(from: period.from.description, to: period.to.description, project: nil)
                let fraud = rows.filter { $0.project == "fraud-detection" }
                #expect(fraud.map(\.day) == period.days.map(\.description))
                #expect(fraud.map(\.amount) == period.days.map(expected(on:)))
                #expect(fraud.allSatisfy { $0.source == "openai-costs" && $0.vendor == "openai" })
                #expect(
                    fraud.first?.measurement.detail
                        == "OpenAI Costs API: GET /v1/organization/costs bucket_width=1d group_by=project_id, projects proj_Fraud01, proj_Fraud02, \(period)"
                )
                #expect(
                    rows.filter { $0.project == "marketing-copy" }.map(\.measurement)
                        == period.days.map { _ in .notMeasured(reason: "project marketing-copy names no OpenAI project ids (openai_project_ids)") })
                // Five days two at a time: three pages, the later ones by cursor, the period as Unix seconds.
                let queries = fake.queries
                #expect(queries.count == 3)
                #expect(
                    queries.first
                        == "start_time=\(period.from.ordinal * 86_400)&end_time=\(period.to.next.ordinal * 86_400)&bucket_width=1d&group_by=project_id&limit=2"
                )
                #expect(queries.dropFirst().allSatisfy { $0.contains("&page=page_") })
                // The same days again: the same rows.
                let again = try await desk.rollup(period, only: [OpenAICosts.type], actor: "test")
                #expect(again.replacement.changed == 0)
            }
        }
    }

    @Test func oneBigPageGivesTheSameFigures() async throws {
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines)
        let store = try SQLiteStore(path: try makeTemporaryDirectory("openai-costs-one-page") + "/asgard.sqlite", auditKey: testAuditKey)
        let records = try await fake.withRunning { url in
            try await withCostHTTP { client in
                let environment = ["OPENAI_ADMIN_KEY": Self.adminKey, "OPENAI_BASE_URL": url]
                let source = try #require(sources(environment, client: client, ledger: store, perPage: 180).first)
                return await source.measure(period, projects: ["fraud-detection"])
            }
        }
        #expect(records.map(\.amount) == period.days.map(expected(on:)))
        #expect(fake.queries.count == 1 && fake.queries[0].hasSuffix("&limit=180"))
    }

    /// The official openai SDK reads the fake (its `group_by[]` query, its response models) and,
    /// summing the raw JSON with Decimal, gets the figures Asgard measured.
    @Test func theOfficialSDKReadsTheSameFigures() async throws {
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines)
        let store = try SQLiteStore(path: try makeTemporaryDirectory("openai-costs-sdk") + "/asgard.sqlite", auditKey: testAuditKey)
        let (records, output) = try await fake.withRunning { url in
            let records = try await withCostHTTP { client in
                let environment = ["OPENAI_ADMIN_KEY": Self.adminKey, "OPENAI_BASE_URL": url]
                let source = try #require(sources(environment, client: client, ledger: store).first)
                return await source.measure(period, projects: ["fraud-detection"])
            }
            let output = try await runPython(
                script: packageRoot + "/scripts/openai_costs.py",
                arguments: [url, Self.adminKey, String(period.from.ordinal * 86_400), String(period.to.next.ordinal * 86_400), "2"])
            return (records, output)
        }
        var fromSDK: [String: DecimalSum] = [:]
        var pages = 0
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            if fields.count == 2, fields[0] == "pages" { pages = Int(fields[1]) ?? 0 }
            guard fields.count == 3, ["proj_Fraud01", "proj_Fraud02"].contains(fields[0]) else { continue }
            try fromSDK[fields[1], default: DecimalSum()].add(fields[2])
        }
        #expect(pages == 3)
        #expect(fromSDK.count == period.count)
        #expect(records.map { fromSDK[$0.day]?.micros } == records.map(\.amount))
        #expect(fake.queries.suffix(3).allSatisfy { $0.contains("group_by%5B%5D=project_id") || $0.contains("group_by[]=project_id") })
    }

    @Test func aWrongKeyIsNotMeasuredWithTheVendorsMessageAndNeverTheKey() async throws {
        let wrong = "sk-admin-wrong-key-0123456789abcdefghijklmnopqrstuvwx"
        let records = try await measure(FakeOpenAICosts(adminKey: Self.adminKey, lines: lines), key: wrong)
        let fraud = records.filter { $0.project == "fraud-detection" }
        #expect(fraud.count == period.count)
        guard case .notMeasured(let reason)? = fraud.first?.measurement else {
            Issue.record("measured with a wrong key: \(records)")
            return
        }
        #expect(reason.hasPrefix("OpenAI costs: OpenAI refused the costs request (HTTP 401, invalid_api_key): Incorrect API key provided: "))
        #expect(reason.contains("You can find your API key at"))
        #expect(records.allSatisfy { !$0.measurement.detail.contains(wrong) && !$0.measurement.detail.contains(Self.adminKey) })
    }

    @Test(arguments: [("key", "OPENAI_ADMIN_KEY"), ("url", "OPENAI_BASE_URL")] as [(String, String)])
    func anUnsetVariableIsNotMeasuredNamingIt(_ missing: String, _ variable: String) async throws {
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines)
        let records = try await measure(fake, key: missing == "key" ? nil : Self.adminKey, baseURL: missing != "url")
        let reason = "\(variable) is not set, so OpenAI costs cannot be queried"
        #expect(records.filter { $0.project == "fraud-detection" }.map(\.measurement) == period.days.map { _ in .notMeasured(reason: reason) })
        #expect(fake.queries.isEmpty)
    }

    @Test func aPageThatRepeatsIsNotMeasuredAndTheLoopEnds() async throws {
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines, repeatsPage: true)
        let records = try await measure(fake)
        guard case .notMeasured(let reason)? = records.first(where: { $0.project == "fraud-detection" })?.measurement else {
            Issue.record("measured although a page repeated: \(records)")
            return
        }
        #expect(reason.hasPrefix("OpenAI costs: the costs API returned page page_") && reason.hasSuffix("twice; stopped rather than count it again"))
        // The first page, then the second, whose next_page is itself: no more.
        #expect(fake.queries.count == 2)
    }

    @Test func costsInAnotherCurrencyAreNotMeasured() async throws {
        var lines = lines
        lines.append(FakeCostLine(project: "proj_Fraud01", day: period.to, amount: "3", lineItem: "gpt-4o-mini, input", currency: "eur"))
        let records = try await measure(FakeOpenAICosts(adminKey: Self.adminKey, lines: lines))
        #expect(
            records.filter { $0.project == "fraud-detection" }.map(\.measurement) == period.days.map { _ in
                .notMeasured(
                    reason:
                        "OpenAI costs: the cost of proj_Fraud01 on \(period.to) is in eur, and Asgard keeps US dollars only"
                )
            })
    }

    /// The fake refuses what the API refuses, with OpenAI's error object naming the parameter.
    @Test func theFakeChecksWhatTheAPIChecks() async throws {
        let fake = FakeOpenAICosts(adminKey: Self.adminKey, lines: lines)
        try await fake.withRunning { url in
            try await withCostHTTP { client in
                func get(_ query: String, key: String? = Self.adminKey) async throws -> (Int, String?, String?) {
                    var headers: [String: String] = [:]
                    headers["Authorization"] = key.map { "Bearer \($0)" }
                    let response = try await client.send(CostHTTPRequest(method: .get, url: url + "/v1/organization/costs?" + query, headers: headers))
                    let error = try JSONValue.parse(response.body)["error"]
                    return (response.status, error?["param"]?.stringValue, error?["code"]?.stringValue)
                }
                let start = period.from.ordinal * 86_400
                #expect(try await get("start_time=\(start)&bucket_width=1h") == (400, "bucket_width", nil))
                #expect(try await get("start_time=\(start)&limit=0") == (400, "limit", nil))
                #expect(try await get("start_time=\(start)&limit=181") == (400, "limit", nil))
                #expect(try await get("start_time=\(start)&group_by=model") == (400, "group_by", nil))
                #expect(try await get("start_time=\(start)&page=page_bm9wZQ==") == (400, "page", nil))
                #expect(try await get("start_time=\(start)&end_time=\(start)") == (400, "end_time", nil))
                #expect(try await get("end_time=\(start)") == (400, "start_time", nil))
                #expect(try await get("start_time=\(start)&bucket=1d") == (400, "bucket", nil))
                #expect(try await get("start_time=\(start)", key: nil) == (401, nil, nil))
                #expect(try await get("start_time=\(start)", key: "sk-admin-nope-0123456789abcdef") == (401, nil, "invalid_api_key"))
                // Without a limit, seven days a page.
                let page = try await client.send(
                    CostHTTPRequest(
                        method: .get, url: url + "/v1/organization/costs?start_time=\(start - 10 * 86_400)&end_time=\(start)",
                        headers: ["Authorization": "Bearer \(Self.adminKey)"]))
                let body = try JSONValue.parse(page.body)
                #expect(body["data"]?.arrayValue?.count == 7 && body["has_more"] == .bool(true))
            }
        }
    }
}
