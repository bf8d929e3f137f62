import AsgardCore
import AsgardCost
import Testing

struct RollupTests {
    let period = try! CostPeriod(from: CostDay("2026-11-28"), to: CostDay("2026-12-02"))

    func notMeasured(_ project: String, vendor: String = "databricks", reason: String = "DATABRICKS_WAREHOUSE_ID is not set") -> [CostRecord] {
        period.days.map {
            CostRecord(project: project, vendor: vendor, source: "databricks-billing", day: $0.description, measurement: .notMeasured(reason: reason))
        }
    }

    /// A source that cannot measure leaves estimates for projects with provisioned resources,
    /// from each resource's first day, and "not measured" (never zero) for the rest.
    @Test func whatCannotBeMeasuredIsEstimatedOrSaysSo() throws {
        let warehouse = ProvisionedResource(
            ref: "Resource/fraud-warehouse", project: "fraud", vendor: "databricks", monthly: MicroDollars(300_000_000), since: try CostDay("2026-11-30"))
        let rows = Rollup.records(
            measured: notMeasured("fraud") + notMeasured("marketing"), resources: [warehouse], vendorsWithSources: ["databricks"], period: period)
        let fraud = rows.filter { $0.project == "fraud" }
        #expect(fraud.map(\.measurement.label) == ["not_measured", "not_measured", "estimate", "estimate", "estimate"])
        // November has 30 days, December 31: $300 a month is $10.000000 and $9.677419 a day.
        #expect(fraud.map(\.amount) == [nil, nil, MicroDollars(10_000_000), MicroDollars(9_677_419), MicroDollars(9_677_419)])
        guard case .estimate(_, let reason, let basis) = fraud[3].measurement else { Issue.record("not an estimate"); return }
        #expect(reason == "DATABRICKS_WAREHOUSE_ID is not set")
        #expect(basis == "Resource/fraud-warehouse $300.000000/month, pro-rated per day")
        #expect(rows.filter { $0.project == "marketing" }.allSatisfy { $0.amount == nil && $0.measurement.label == "not_measured" })
    }

    /// The gateway's metering, unreadable, is not estimated from resources: they are not model calls.
    @Test func theGatewaysMeteringIsNeverEstimatedFromResources() throws {
        let unreadable = period.days.map {
            CostRecord(project: "fraud", vendor: "databricks", source: "gateway", day: $0.description, measurement: .notMeasured(reason: "locked"))
        }
        let warehouse = ProvisionedResource(ref: "Resource/w", project: "fraud", vendor: "databricks", monthly: MicroDollars(300_000_000), since: period.from)
        #expect(Rollup.records(measured: unreadable, resources: [warehouse], vendorsWithSources: ["databricks"], period: period) == unreadable)
    }

    /// Measured figures are kept as measured, zero included.
    @Test func measuredFiguresAreNotReplacedByEstimates() throws {
        let measured = period.days.map {
            CostRecord(project: "fraud", vendor: "databricks", source: "databricks-billing", day: $0.description, measurement: .measured(.zero, query: "q"))
        }
        let warehouse = ProvisionedResource(ref: "Resource/w", project: "fraud", vendor: "databricks", monthly: MicroDollars(300_000_000), since: period.from)
        let rows = Rollup.records(measured: measured, resources: [warehouse], vendorsWithSources: ["databricks"], period: period)
        #expect(rows == measured)
    }

    /// A vendor with resources and no cost source gets estimates under source `none`; a
    /// resource the cost rule does not cover is named and adds nothing; one with no figure at
    /// all leaves no estimate.
    @Test func resourcesOfAVendorWithoutASourceAreEstimated() throws {
        let bucket = ProvisionedResource(ref: "Resource/bucket", project: "fraud", vendor: "aws", monthly: MicroDollars(31_000_000), since: period.from)
        let odd = ProvisionedResource(ref: "Resource/odd", project: "fraud", vendor: "aws", monthly: nil, since: period.from)
        let lone = ProvisionedResource(ref: "Resource/lone", project: "lonely", vendor: "aws", monthly: nil, since: period.from)
        let rows = Rollup.records(measured: [], resources: [bucket, odd, lone], vendorsWithSources: ["databricks"], period: period)
        #expect(rows.count == 5)
        #expect(rows.allSatisfy { $0.project == "fraud" && $0.source == Rollup.noSource })
        #expect(rows.last?.amount == MicroDollars(1_000_000))
        guard case .estimate(_, let reason, let basis)? = rows.last?.measurement else { Issue.record("not an estimate"); return }
        #expect(reason == "vendor aws has no cost source")
        #expect(basis.contains("Resource/odd (no estimate"))
    }

    /// Pro-rating a month's figure over its days sums back to the figure within a micro-dollar a day.
    @Test(arguments: ["2026-02-01", "2024-02-01", "2026-04-01", "2026-12-01"])
    func aMonthOfDailyShareIsTheMonthlyFigure(_ first: String) throws {
        let start = try CostDay(first)
        let monthly = MicroDollars(1_234_567_891)
        let total = (0..<start.daysInMonth).reduce(Int64(0)) { $0 + Rollup.prorated(monthly, on: start.adding(days: $1)).value }
        #expect(abs(total - monthly.value) <= Int64(start.daysInMonth))
    }

    /// The report marks each group by how its rows were obtained.
    @Test func reportLinesSayHowTheyWereObtained() throws {
        let day = "2026-12-01"
        let records = [
            CostRecord(project: "a", vendor: "databricks", source: "gateway", day: day, measurement: .measured(MicroDollars(5), query: "ledger")),
            CostRecord(project: "a", vendor: "databricks", source: "databricks-billing", day: day, measurement: .notMeasured(reason: "unset")),
            CostRecord(project: "b", vendor: "databricks", source: "databricks-billing", day: day, measurement: .estimate(MicroDollars(7), reason: "unset", basis: "w")),
            CostRecord(project: "b", vendor: "databricks", source: "gateway", day: day, measurement: .measured(MicroDollars(1), query: "ledger")),
            CostRecord(project: "c", vendor: "databricks", source: "databricks-billing", day: day, measurement: .notMeasured(reason: "unset")),
            CostRecord(project: "d", vendor: "databricks", source: "gateway", day: day, measurement: .measured(MicroDollars(0), query: "ledger")),
        ]
        let report = CostReport(
            period: try CostPeriod(from: CostDay(day), to: CostDay(day)), groupBy: [.project], records: records, monthToDate: records, projects: [],
            today: try CostDay(day))
        #expect(report.lines.map(\.measurement) == ["partial", "estimate", "not_measured", "measured"])
        #expect(report.lines.map(\.amount) == [MicroDollars(5), MicroDollars(8), nil, MicroDollars(0)])
        #expect(report.csv.hasPrefix("project,amount_usd,measurement,details\r\na,0.000005,partial,"))
    }

    @Test(arguments: [("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""), ("-12.5", "-12.5"), ("-cmd", "'-cmd"), ("a,b", "\"a,b\""), ("plain", "plain")])
    func csvFieldsAreQuotedAndDefused(_ text: String, _ field: String) {
        #expect(CSV.field(text) == field)
    }
}

struct ReconciliationTests {
    @Test(arguments: [
        (100, 100, 5, false), (100, 95, 5, false), (100, 94, 5, true), (95, 100, 5, false), (94, 100, 5, true),
        (0, 0, 0, false), (1, 0, 50, true), (0, 1, 100, false), (1, 2, 50, false), (1, 3, 50, true),
    ] as [(Int64, Int64, Int, Bool)])
    func driftIsADifferenceAboveTheToleranceOfTheLargerCount(_ gateway: Int64, _ vendor: Int64, _ tolerance: Int, _ flagged: Bool) {
        #expect(TokenDrift.exceeds(gateway: gateway, vendor: vendor, tolerancePercent: tolerance) == flagged)
    }

    @Test func onlyKnownProjectsAndDaysOfThePeriodAreCompared() throws {
        let period = try CostPeriod(from: CostDay("2026-12-01"), to: CostDay("2026-12-02"))
        func spend(_ project: String, _ day: String, _ tokens: Int, vendor: String = "databricks") -> DailySpend {
            DailySpend(project: project, vendor: vendor, model: "m", day: day, calls: 1, promptTokens: tokens, completionTokens: 0, cost: .zero)
        }
        let drift = Reconciliation.drift(
            gateway: [spend("a", "2026-12-01", 100), spend("a", "2026-11-30", 999), spend("b", "2026-12-02", 50), spend("a", "2026-12-02", 70, vendor: "openai")],
            vendorTokens: ["a": [try CostDay("2026-12-01"): 100], "b": [try CostDay("2026-12-02"): 100], "stranger": [try CostDay("2026-12-01"): 5]],
            vendor: "databricks", projects: ["a", "b"], period: period, tolerancePercent: 10)
        #expect(drift == [TokenDrift(project: "b", vendor: "databricks", day: "2026-12-02", gatewayTokens: 50, vendorTokens: 100, tolerancePercent: 10)])
    }
}
