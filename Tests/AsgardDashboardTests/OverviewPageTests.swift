import AsgardCore
import AsgardCost
@testable import AsgardDashboard
import Testing

struct OverviewPageTests {
    /// fraud-detection over 2026-11-30..2026-12-03: gateway measured databricks on two days,
    /// databricks-billing estimated one day and could not measure another. `quiet` has no figures.
    static func report(projects: [Project] = [Fixture.project("fraud-detection", budget: 100)]) -> CostReport {
        let records = [
            CostRecord(project: "fraud-detection", vendor: "databricks", source: "gateway", day: "2026-11-30",
                       measurement: .measured(MicroDollars(1_500_000), query: "ledger sum")),
            CostRecord(project: "fraud-detection", vendor: "databricks", source: "gateway", day: "2026-12-01",
                       measurement: .measured(MicroDollars(2_250_001), query: "ledger sum")),
            CostRecord(project: "fraud-detection", vendor: "databricks", source: "databricks-billing", day: "2026-12-01",
                       measurement: .estimate(MicroDollars(3_000_000), reason: "billing lags", basis: "warehouse manifest")),
            CostRecord(project: "fraud-detection", vendor: "databricks", source: "databricks-billing", day: "2026-12-02",
                       measurement: .notMeasured(reason: "no billing rows yet")),
            CostRecord(project: "other", vendor: "openai", source: "openai-costs", day: "2026-12-01",
                       measurement: .measured(MicroDollars(9_000_000), query: "costs api")),
        ]
        return CostReport(
            period: Fixture.period("2026-11-30", "2026-12-03"), groupBy: [.project, .vendor, .source, .day], records: records,
            monthToDate: records.filter { $0.day >= "2026-12-01" }, projects: projects, today: Fixture.day("2026-12-03"))
    }

    static let names: [(id: String, name: String)] = [("quiet", "Quiet <project>"), ("fraud-detection", "Fraud detection")]

    @Test func rowsPerVendorSourceAndMeasurementWithSumsAndDayCounts() throws {
        let projects = OverviewPage.projects(from: Self.report(), names: Self.names)
        #expect(projects.map(\.id) == ["quiet", "fraud-detection"])
        let fraud = try #require(projects.last)
        #expect(fraud.name == "Fraud detection")
        #expect(fraud.rows.count == 3)
        // Sorted by vendor, source, then measurement.
        #expect(fraud.rows.map(\.source) == ["databricks-billing", "databricks-billing", "gateway"])
        #expect(fraud.rows.map(\.measurement) == [.estimate, .notMeasured, .measured])
        #expect(fraud.rows.map(\.amount) == [MicroDollars(3_000_000), nil, MicroDollars(3_750_001)])
        #expect(fraud.rows.map(\.days) == [1, 1, 2])
        #expect(fraud.rows.map(\.details) == [["billing lags; estimated from warehouse manifest"], ["no billing rows yet"], ["ledger sum"]])
        #expect(fraud.rows.allSatisfy { $0.vendor == "databricks" })
    }

    @Test func measurementsOfOneSourceOrderMeasuredEstimateNotMeasured() throws {
        // Alphabetically `estimate` < `measured` < `not_measured`: the page orders by meaning instead.
        let records = [
            CostRecord(project: "p", vendor: "v", source: "s", day: "2026-12-03", measurement: .notMeasured(reason: "r")),
            CostRecord(project: "p", vendor: "v", source: "s", day: "2026-12-02", measurement: .estimate(MicroDollars(2), reason: "r", basis: "b")),
            CostRecord(project: "p", vendor: "v", source: "s", day: "2026-12-01", measurement: .measured(MicroDollars(1), query: "q")),
            CostRecord(project: "p", vendor: "a", source: "z", day: "2026-12-01", measurement: .notMeasured(reason: "r")),
        ]
        let report = CostReport(
            period: Fixture.period("2026-12-01", "2026-12-03"), groupBy: [.project, .vendor, .source, .day], records: records, monthToDate: [],
            projects: [], today: Fixture.day("2026-12-03"))
        let rows = try #require(OverviewPage.projects(from: report, names: [("p", "P")]).first).rows
        #expect(rows.map(\.vendor) == ["a", "v", "v", "v"])
        #expect(rows.map(\.measurement) == [.notMeasured, .measured, .estimate, .notMeasured])
    }

    @Test func chartFiguresAndDaysFollowTheReport() throws {
        let fraud = try #require(OverviewPage.projects(from: Self.report(), names: Self.names).last)
        #expect(fraud.chart.days == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"])
        #expect(Set(fraud.chart.figures) == [
            .init(day: "2026-11-30", vendor: "databricks", measurement: .measured, amount: MicroDollars(1_500_000)),
            .init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(2_250_001)),
            .init(day: "2026-12-01", vendor: "databricks", measurement: .estimate, amount: MicroDollars(3_000_000)),
            .init(day: "2026-12-02", vendor: "databricks", measurement: .notMeasured, amount: nil),
        ])
        #expect(fraud.chart.daysWithoutFigures == ["2026-12-03"])
        // Another project's figures never leak in.
        #expect(!fraud.chart.figures.contains { $0.vendor == "openai" })
    }

    @Test func dailyBudgetIsTheMonthlyOverTheDaysOfTheMonthThePeriodEndsIn() throws {
        // The period starts in November (30 days) and ends in December (31): $100 / 31, truncated.
        let fraud = try #require(OverviewPage.projects(from: Self.report(), names: Self.names).last)
        #expect(fraud.chart.dailyBudget == MicroDollars(3_225_806))
        let budget = try #require(fraud.budget)
        #expect(budget.monthlyBudget == MicroDollars(100_000_000))
        #expect(budget.measured == MicroDollars(2_250_001))
        #expect(budget.estimated == MicroDollars(3_000_000))
        #expect(budget.daysNotMeasured == 1)
    }

    @Test func aProjectWithoutLinesStillAppears() throws {
        let quiet = try #require(OverviewPage.projects(from: Self.report(), names: Self.names).first)
        #expect(quiet.id == "quiet")
        #expect(quiet.name == "Quiet <project>")
        #expect(quiet.rows.isEmpty)
        #expect(quiet.chart.figures.isEmpty)
        #expect(quiet.chart.days.count == 4)
        #expect(quiet.budget == nil)
        #expect(quiet.chart.dailyBudget == nil)
    }

    @Test func aProjectWithABudgetButNoLinesHasItsBudget() throws {
        let report = Self.report(projects: [Fixture.project("quiet", budget: 31)])
        let quiet = try #require(OverviewPage.projects(from: report, names: Self.names).first)
        #expect(quiet.chart.dailyBudget == MicroDollars(1_000_000))
        #expect(quiet.budget?.measured == MicroDollars.zero)
    }

    static func page(lastRollup: String?) -> String {
        let report = Self.report()
        let page = OverviewPage(period: report.period, projects: OverviewPage.projects(from: report, names: Self.names), lastRollup: lastRollup)
        return page.render(viewer: Fixture.viewer)
    }

    @Test func renderedPageMarksEachFigure() throws {
        let html = Self.page(lastRollup: "2026-12-03T18:20:29.123Z")
        #expect(html.contains(#"<section class="project" data-project="fraud-detection" aria-labelledby="p-fraud-detection">"#))
        #expect(html.contains(#"data-project="quiet""#))
        #expect(html.contains(#"<td class="measurement"><span class="badge measured">measured</span></td>"#))
        #expect(html.contains(#"<td class="measurement"><span class="badge estimate">estimate</span></td>"#))
        #expect(html.contains(#"<td class="measurement"><span class="badge not_measured">not measured</span></td>"#))
        #expect(Markup.count(#"<td class="measurement">"#, in: html) == 3)
        // Amounts: dollars shown, exact in the title; a figure not measured has no amount (never $0).
        #expect(html.contains(#"<td class="number" title="$3.750001">$3.75</td>"#))
        #expect(html.contains(#"<td class="number">—</td>"#))
        let unmeasuredRow = try #require(Markup.row(containing: #"data-measurement="not_measured""#, in: html))
        #expect(!unmeasuredRow.contains("$"))
        #expect(html.contains(#"<time id="last-rollup" datetime="2026-12-03T18:20:29.123Z">2026-12-03 18:20:29 UTC</time>"#))
        #expect(html.contains("<p class=\"list-prices\">\(Node.escape(CostReport.note))</p>"))
        // Names are data: escaped in the heading, the chart title and the table caption.
        #expect(html.contains(#"<a href="/projects/quiet">Quiet &lt;project&gt;</a>"#))
        #expect(!html.contains("<project>"))
        #expect(html.contains("No figures for this period: run a cost rollup."))
        // The budget of fraud-detection: $5.25 spent of $100 (5.3%).
        #expect(html.contains("<dd>$5.25 (5.3%)</dd>"))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 2)  // refresh + logout
        #expect(html.contains(#"<form method="post" action="/rollup" id="refresh">"#))
    }

    @Test func neverRolledUp() {
        let html = Self.page(lastRollup: nil)
        #expect(html.contains(#"<span id="last-rollup">never</span>"#))
        #expect(!html.contains("<time"))
    }

    @Test func noProjectsSaysSo() {
        let page = OverviewPage(period: Fixture.period("2026-12-01", "2026-12-02"), projects: [], lastRollup: nil)
        let html = page.render(viewer: Fixture.viewer)
        #expect(html.contains("You see no project"))
        #expect(!html.contains("data-project"))
        #expect(html.contains(#"<input id="from" name="from" type="date" value="2026-12-01" required>"#))
        #expect(html.contains(#"<input id="to" name="to" type="date" value="2026-12-02" required>"#))
    }

    @Test func aMessageIsShown() {
        let page = OverviewPage(period: Fixture.period("2026-12-01", "2026-12-02"), projects: [], lastRollup: nil)
        let html = page.render(viewer: Fixture.viewer, message: .notice("Rolled up <3> days"))
        #expect(html.contains(#"<p id="notice" class="notice" role="status">Rolled up &lt;3&gt; days</p>"#))
    }
}
