import AsgardCore
@testable import AsgardDashboard
import Testing

struct SpendChartTests {
    static let days = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]

    /// Day 1: databricks measured $2. Day 2: databricks measured $1, openai estimate $1.
    /// Day 3: databricks not measured. Day 4: no figure at all.
    static func chart(dailyBudget: MicroDollars?) -> SpendChart {
        SpendChart(
            days: days,
            figures: [
                .init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(2_000_000)),
                .init(day: "2026-12-02", vendor: "openai", measurement: .estimate, amount: MicroDollars(1_000_000)),
                .init(day: "2026-12-02", vendor: "databricks", measurement: .measured, amount: MicroDollars(1_000_000)),
                .init(day: "2026-12-03", vendor: "databricks", measurement: .notMeasured, amount: nil),
            ],
            dailyBudget: dailyBudget)
    }

    static func bars(_ svg: String, _ measurement: String) -> [String] {
        Markup.openingTags("rect", in: svg).filter { Markup.attribute("class", of: $0) == "bar \(measurement)" }
    }

    static func height(_ tag: String) -> Double? { Markup.attribute("height", of: tag).flatMap(Double.init) }

    @Test func stacksPerDayInVendorOrderMeasuredUnderEstimate() {
        let (pieces, unmeasured) = Self.chart(dailyBudget: nil).stacks
        #expect(Set(pieces.keys) == ["2026-12-01", "2026-12-02"])
        #expect(pieces["2026-12-01"] == [.init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(2_000_000))])
        #expect(pieces["2026-12-02"] == [
            .init(day: "2026-12-02", vendor: "databricks", measurement: .measured, amount: MicroDollars(1_000_000)),
            .init(day: "2026-12-02", vendor: "openai", measurement: .estimate, amount: MicroDollars(1_000_000)),
        ])
        #expect(unmeasured == ["2026-12-03"])
    }

    @Test func figuresOfOneVendorDayAndMeasurementAreSummedAndEstimateStacksOnMeasured() {
        let chart = SpendChart(
            days: ["2026-12-01"],
            figures: [
                .init(day: "2026-12-01", vendor: "b", measurement: .estimate, amount: MicroDollars(7)),
                .init(day: "2026-12-01", vendor: "b", measurement: .measured, amount: MicroDollars(3)),
                .init(day: "2026-12-01", vendor: "b", measurement: .measured, amount: MicroDollars(4)),
                .init(day: "2026-12-01", vendor: "a", measurement: .measured, amount: MicroDollars(1)),
            ],
            dailyBudget: nil)
        let stack = chart.stacks.pieces["2026-12-01"] ?? []
        #expect(stack.map(\.vendor) == ["a", "b", "b"])
        #expect(stack.map(\.measurement) == [.measured, .measured, .estimate])
        #expect(stack.map(\.amount) == [MicroDollars(1), MicroDollars(7), MicroDollars(7)])
        #expect(chart.highest == MicroDollars(15))
        #expect(chart.vendors == ["a", "b"])
    }

    @Test func aDayBothMeasuredAndUnmeasuredKeepsItsBarAndItsMark() {
        let chart = SpendChart(
            days: ["2026-12-01"],
            figures: [
                .init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(1_000_000)),
                .init(day: "2026-12-01", vendor: "openai", measurement: .notMeasured, amount: nil),
            ],
            dailyBudget: nil)
        #expect(chart.stacks.unmeasured == ["2026-12-01"])
        #expect(chart.stacks.pieces["2026-12-01"]?.count == 1)
        #expect(chart.daysWithoutFigures.isEmpty)
        let svg = chart.svg(title: "t", id: "c").rendered
        #expect(Self.bars(svg, "measured").count == 1)
        #expect(Self.bars(svg, "not_measured").count == 1)
        #expect(!svg.contains("no-figures"))
    }

    @Test func scaleTopIsTheHighestDayTheBudgetWhenDrawnAndACentAtLeast() {
        #expect(Self.chart(dailyBudget: nil).scaleTop == MicroDollars(2_000_000))
        #expect(Self.chart(dailyBudget: MicroDollars(4_000_000)).scaleTop == MicroDollars(4_000_000))
        #expect(Self.chart(dailyBudget: MicroDollars(1_000_000)).scaleTop == MicroDollars(2_000_000))
        // Above four times the highest day: not drawn, so not on the scale.
        #expect(Self.chart(dailyBudget: MicroDollars(8_000_001)).scaleTop == MicroDollars(2_000_000))
        #expect(SpendChart(days: Self.days, figures: [], dailyBudget: nil).scaleTop == MicroDollars(10_000))
        let tiny = SpendChart(days: ["2026-12-01"], figures: [.init(day: "2026-12-01", vendor: "v", measurement: .measured, amount: MicroDollars(3))], dailyBudget: nil)
        #expect(tiny.scaleTop == MicroDollars(10_000))
    }

    @Test(arguments: [
        (Int64(8_000_000), true),  // exactly four times the highest day
        (8_000_001, false),
        (1, true),
        (0, false),
        (-5, false),
    ])
    func budgetOnScaleUpToFourTimesTheHighestDay(_ budget: Int64, _ onScale: Bool) {
        #expect(Self.chart(dailyBudget: MicroDollars(budget)).budgetOnScale == onScale)
    }

    @Test func noBudgetOrNoFiguresIsNeverOnScale() {
        #expect(!Self.chart(dailyBudget: nil).budgetOnScale)
        #expect(!SpendChart(days: Self.days, figures: [], dailyBudget: MicroDollars(1_000_000)).budgetOnScale)
    }

    @Test func daysWithoutFigures() {
        #expect(Self.chart(dailyBudget: nil).daysWithoutFigures == ["2026-12-04"])
        #expect(SpendChart(days: Self.days, figures: [], dailyBudget: nil).daysWithoutFigures == Set(Self.days))
    }

    @Test func svgDrawsMeasuredEstimateNotMeasuredNoFiguresAndTheBudgetLine() throws {
        let svg = Self.chart(dailyBudget: MicroDollars(4_000_000)).svg(title: "Spend <of> fraud", id: "c").rendered

        let measured = Self.bars(svg, "measured"), estimate = Self.bars(svg, "estimate"), unmeasured = Self.bars(svg, "not_measured")
        #expect(measured.count == 2)
        #expect(estimate.count == 1)
        #expect(unmeasured.count == 1)
        #expect(Markup.count(#"class="bar measured""#, in: svg) == 2)
        #expect(Markup.count(#"class="bar estimate""#, in: svg) == 1)
        #expect(Markup.count(#"class="bar not_measured""#, in: svg) == 1)

        // Vendors sort databricks (0), openai (1): measured bars are solid colours, the estimate the hatch of its vendor.
        #expect(measured.map { Markup.attribute("fill", of: $0) } == ["#1f5fa8", "#1f5fa8"])
        #expect(Markup.attribute("fill", of: estimate[0]) == "url(#c-hatch-1)")
        #expect(Markup.attribute("stroke", of: estimate[0]) == "#b3541e")
        #expect(svg.contains(#"<pattern id="c-hatch-0""#))
        #expect(svg.contains(#"<pattern id="c-hatch-1""#))
        // The not-measured mark has no fill of a vendor: the stylesheet outlines it.
        #expect(Markup.attribute("fill", of: unmeasured[0]) == nil)

        // Heights in proportion to the amounts: scale top $4 over a 190-unit plot.
        let day1 = try #require(Self.height(measured[0])), day2 = try #require(Self.height(measured[1]))
        let day2Estimate = try #require(Self.height(estimate[0]))
        #expect(day1 == 95)
        #expect(day2 == 47.5)
        #expect(day1 == 2 * day2)
        #expect(day2Estimate == day2)
        // Stacked: the estimate sits on the measured piece of its day.
        let measuredTop = try #require(Markup.attribute("y", of: measured[1]).flatMap(Double.init))
        let estimateTop = try #require(Markup.attribute("y", of: estimate[0]).flatMap(Double.init))
        #expect(measuredTop == 172.5)
        #expect(estimateTop == measuredTop - day2Estimate)
        #expect(Markup.attribute("y", of: measured[0]) == "125")

        let noFigures = Markup.openingTags("line", in: svg).filter { Markup.attribute("class", of: $0) == "no-figures" }
        #expect(noFigures.count == 1)
        #expect(svg.contains("<title>2026-12-04: no figures (not rolled up)</title>"))
        #expect(svg.contains("<title>2026-12-03: a source could not measure this day; no figure is shown for it</title>"))

        let budget = Markup.openingTags("line", in: svg).filter { Markup.attribute("class", of: $0) == "budget" }
        #expect(budget.count == 1)
        #expect(budget.first.flatMap { Markup.attribute("y1", of: $0) } == "30")
        #expect(svg.contains(">budget pace $4.00/day</text>"))
        #expect(!svg.contains("above the scale"))

        #expect(svg.contains(#"<title id="c-title">Spend &lt;of&gt; fraud</title>"#))
        #expect(svg.contains(#"aria-labelledby="c-title""#))
        #expect(svg.contains("<title>2026-12-01 databricks: $2.00 (measured)</title>"))
        #expect(svg.contains("<title>2026-12-02 openai: $1.00 (estimate)</title>"))
        // The axis: $0, half and the top of the scale; one day label per day.
        #expect(svg.contains(">$0.00</text>") && svg.contains(">$2.00</text>") && svg.contains(">$4.00</text>"))
        for label in ["12-01", "12-02", "12-03", "12-04"] { #expect(svg.contains(">\(label)</text>")) }
    }

    @Test func aBudgetFarAboveTheBarsIsNamedNotDrawn() {
        let svg = Self.chart(dailyBudget: MicroDollars(9_000_000)).svg(title: "t", id: "c").rendered
        #expect(!svg.contains(#"class="budget""#))
        #expect(svg.contains(">budget pace $9.00/day: above the scale</text>"))
        // The bars keep the scale of the highest day.
        let measured = Self.bars(svg, "measured")
        #expect(measured.first.flatMap(Self.height) == 190)
    }

    @Test func noBudgetNoLineAndNoLabel() {
        let svg = Self.chart(dailyBudget: nil).svg(title: "t", id: "c").rendered
        #expect(!svg.contains("budget"))
    }

    @Test func anEmptyChartHasOnlyNoFiguresMarks() {
        let svg = SpendChart(days: Self.days, figures: [], dailyBudget: nil).svg(title: "t", id: "c").rendered
        #expect(Markup.count(#"class="no-figures""#, in: svg) == 4)
        #expect(!svg.contains("class=\"bar"))
        #expect(!svg.contains("<pattern"))
    }

    @Test func aTinyAmountStillDrawsAVisibleBar() {
        let chart = SpendChart(
            days: ["2026-12-01"], figures: [.init(day: "2026-12-01", vendor: "v", measurement: .measured, amount: MicroDollars(1))], dailyBudget: nil)
        let bars = Self.bars(chart.svg(title: "t", id: "c").rendered, "measured")
        #expect(bars.first.flatMap(Self.height) == 0.5)
    }

    @Test func legendListsVendorsAndMarks() {
        let legend = Self.chart(dailyBudget: nil).legend(id: "c").rendered
        #expect(legend.contains(#"<span class="swatch v0" aria-hidden="true"></span>databricks (measured)"#))
        #expect(legend.contains(#"<span class="swatch v1" aria-hidden="true"></span>openai (measured)"#))
        #expect(legend.contains("swatch hatched"))
        #expect(legend.contains("swatch not-measured"))
        #expect(legend.contains("swatch no-figures"))
        #expect(legend.contains("swatch budget-line"))
    }

    @Test func measurementLabels() {
        #expect(SpendChart.Measurement.measured.label == "measured")
        #expect(SpendChart.Measurement.estimate.label == "estimate")
        #expect(SpendChart.Measurement.notMeasured.label == "not measured")
        #expect(SpendChart.Measurement(rawValue: "not_measured") == .notMeasured)
    }

    @Test(arguments: [(0.0, "0"), (103.0, "103"), (51.5, "51.5"), (137.333, "137.3"), (2.96, "3"), (-0.5, "-0.5"), (-1.5, "-1.5"), (-12.0, "-12"), (-0.04, "0")])
    func coordinatesHaveAtMostOneDecimal(_ value: Double, _ expected: String) {
        #expect(format1(value) == expected)
    }
}

struct SpendChartGeometryTests {
    /// The not-measured mark sits on top of its day's bar, 24 units tall. On the day that sets
    /// the scale the bar's top is the plot's top: the top margin leaves room for the mark there.
    @Test
    func theNotMeasuredMarkOfTheHighestDayStaysInsideTheChart() throws {
        let chart = SpendChart(
            days: ["2026-12-01"],
            figures: [
                .init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(2_000_000)),
                .init(day: "2026-12-01", vendor: "openai", measurement: .notMeasured, amount: nil),
            ],
            dailyBudget: nil)
        let svg = chart.svg(title: "t", id: "c").rendered
        let mark = try #require(SpendChartTests.bars(svg, "not_measured").first)
        let y = try #require(Markup.attribute("y", of: mark).flatMap(Double.init))
        #expect(y >= 0)
    }

    @Test func theNotMeasuredMarkSitsOnTopOfItsDaysBar() throws {
        // Budget $4 on scale: the $2 bar tops at y 125, the mark (12% of the 190-unit plot: 22.8) above it at 102.2.
        let chart = SpendChart(
            days: ["2026-12-01"],
            figures: [
                .init(day: "2026-12-01", vendor: "databricks", measurement: .measured, amount: MicroDollars(2_000_000)),
                .init(day: "2026-12-01", vendor: "openai", measurement: .notMeasured, amount: nil),
            ],
            dailyBudget: MicroDollars(4_000_000))
        let svg = chart.svg(title: "t", id: "c").rendered
        let mark = try #require(SpendChartTests.bars(svg, "not_measured").first)
        #expect(Markup.attribute("y", of: mark) == "102.2")
        #expect(Markup.attribute("height", of: mark) == "22.8")
    }
}
