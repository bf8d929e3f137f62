public import AsgardCore
public import AsgardCost

/// `/`: spend per project per vendor per day for a period, as a chart and a table, each figure
/// marked measured, estimate or not measured; budget and burn; the cost refresh.
public struct OverviewPage: Sendable {
    /// One row of a project's table: a vendor's figures from one source, of one measurement, over the period.
    public struct Row: Sendable, Hashable {
        public var vendor: String
        public var source: String
        public var measurement: SpendChart.Measurement
        /// The sum; nil for figures not measured.
        public var amount: MicroDollars?
        /// On how many days.
        public var days: Int
        /// The queries behind measured figures, the reasons and bases of the others.
        public var details: [String]
    }

    public struct ProjectSpend: Sendable, Hashable {
        public var id: String
        public var name: String
        public var chart: SpendChart
        public var rows: [Row]
        public var budget: CostReport.Budget?
    }

    public var period: CostPeriod
    public var projects: [ProjectSpend]
    /// The time of the last rollup (its audit entry's, RFC 3339 with milliseconds); nil: never.
    public var lastRollup: String?

    public init(period: CostPeriod, projects: [ProjectSpend], lastRollup: String?) {
        self.period = period
        self.projects = projects
        self.lastRollup = lastRollup
    }

    /// The page's projects from a report grouped by project, vendor, source and day, in the
    /// order of `names` (project id to display name).
    public static func projects(from report: CostReport, names: [(id: String, name: String)]) -> [ProjectSpend] {
        var lines: [String: [CostReport.Line]] = [:]
        for line in report.lines { lines[line.keys[.project] ?? "", default: []].append(line) }
        let budgets = Dictionary(report.budgets.map { ($0.project, $0) }, uniquingKeysWith: { first, _ in first })
        return names.map { project in
            let own = lines[project.id] ?? []
            var figures: [SpendChart.Figure] = []
            var grouped: [String: Row] = [:]
            for line in own {
                let measurement = SpendChart.Measurement(rawValue: line.measurement) ?? .notMeasured
                let (vendor, source) = (line.keys[.vendor] ?? "", line.keys[.source] ?? "")
                figures.append(SpendChart.Figure(day: line.keys[.day] ?? "", vendor: vendor, measurement: measurement, amount: line.amount))
                let key = [vendor, source, measurement.rawValue].joined(separator: "\u{0}")
                var row = grouped[key] ?? Row(vendor: vendor, source: source, measurement: measurement, amount: nil, days: 0, details: [])
                if let amount = line.amount { row.amount = MicroDollars((row.amount?.value ?? 0) + amount.value) }
                row.days += 1
                row.details = Array(Set(row.details + line.details)).sorted()
                grouped[key] = row
            }
            let budget = budgets[project.id]
            let daily = budget.map { MicroDollars($0.monthlyBudget.value / Int64(max(report.period.to.daysInMonth, 1))) }
            let order: [SpendChart.Measurement: Int] = [.measured: 0, .estimate: 1, .notMeasured: 2]
            let rows = grouped.values.sorted { ($0.vendor, $0.source, order[$0.measurement]!) < ($1.vendor, $1.source, order[$1.measurement]!) }
            return ProjectSpend(
                id: project.id, name: project.name, chart: SpendChart(days: report.period.days.map(\.description), figures: figures, dailyBudget: daily),
                rows: rows, budget: budget)
        }
    }

    public func render(viewer: Viewer, message: Message? = nil) -> String {
        Layout.page(title: "Spend", viewer: viewer, section: .overview, message: message) {
            h("div", ["class": "toolbar"]) {
                h("form", ["id": "period", "method": "get", "action": "/"]) {
                    Layout.field("From", id: "from") { h("input", ["id": "from", "name": "from", "type": "date", "value": period.from.description, "required": ""]) }
                    Layout.field("To", id: "to") { h("input", ["id": "to", "name": "to", "type": "date", "value": period.to.description, "required": ""]) }
                    h("button", ["type": "submit"], text: "Show")
                }
                Layout.postForm("/rollup", viewer: viewer, attributes: ["id": "refresh"]) {
                    h("p", ["class": "rollup"]) {
                        "Last cost rollup: "
                        if let lastRollup {
                            h("time", ["id": "last-rollup", "datetime": lastRollup], text: Format.auditTime(lastRollup))
                        } else {
                            h("span", ["id": "last-rollup"], text: "never")
                        }
                    }
                    h("button", ["id": "refresh-button", "type": "submit"], text: "Refresh costs")
                }
            }
            h("p", ["class": "list-prices"], text: CostReport.note)
            if projects.isEmpty {
                h("p", text: "You see no project: a project's owner, approvers and admins see it.")
            }
            for project in projects { section(project) }
        }
    }

    func section(_ project: ProjectSpend) -> Node {
        h("section", ["class": "project", "data-project": project.id, "aria-labelledby": "p-\(project.id)"]) {
            h("h2", ["id": "p-\(project.id)"]) {
                h("a", ["href": "/projects/\(project.id)"], text: project.name)
                h("span", ["class": "muted"], text: " (\(project.id))")
            }
            if let budget = project.budget { budgetList(budget) }
            project.chart.svg(title: "Spend of \(project.name) per day from \(period.from) to \(period.to), by vendor", id: "chart-\(project.id)")
            project.chart.legend(id: project.id)
            Self.spendTable(project.rows, caption: "Spend of \(project.name), \(period.from) to \(period.to)")
        }
    }

    func budgetList(_ budget: CostReport.Budget) -> Node {
        let spent = MicroDollars(budget.measured.value + budget.estimated.value)
        return h("dl", ["class": "budget"]) {
            h("div") { h("dt", text: "Budget \(budget.month)"); h("dd", text: Format.dollars(budget.monthlyBudget)) }
            h("div") { h("dt", text: "Spent this month"); h("dd", text: "\(Format.dollars(spent)) (\(Format.percent(spent, of: budget.monthlyBudget)))") }
            h("div") { h("dt", text: "of which estimated"); h("dd", text: Format.dollars(budget.estimated)) }
            h("div") { h("dt", text: "Projected month"); h("dd", text: Format.dollars(budget.projectedMonth)) }
            h("div") { h("dt", text: "Days not measured"); h("dd", text: String(budget.daysNotMeasured)) }
        }
    }

    /// The table of a project's figures (also on its own page).
    static func spendTable(_ rows: [Row], caption: String) -> Node {
        h("table", ["class": "spend"]) {
            h("caption", text: caption)
            h("thead") {
                h("tr") {
                    h("th", ["scope": "col"], text: "Vendor")
                    h("th", ["scope": "col"], text: "Source")
                    h("th", ["scope": "col"], text: "Measurement")
                    h("th", ["scope": "col", "class": "number"], text: "Amount")
                    h("th", ["scope": "col", "class": "number"], text: "Days")
                    h("th", ["scope": "col"], text: "How")
                }
            }
            h("tbody") {
                if rows.isEmpty { h("tr") { h("td", ["colspan": "6"], text: "No figures for this period: run a cost rollup.") } }
                for row in rows {
                    h("tr", ["data-measurement": row.measurement.rawValue]) {
                        h("td", text: row.vendor)
                        h("td", text: row.source)
                        h("td", ["class": "measurement"]) { h("span", ["class": "badge \(row.measurement.rawValue)"], text: row.measurement.label) }
                        h("td", ["class": "number", "title": row.amount.map { "$" + DecimalAmount.dollars($0) }], text: row.amount.map(Format.dollars) ?? "—")
                        h("td", ["class": "number"], text: String(row.days))
                        h("td", ["class": "details"], text: row.details.joined(separator: "; "))
                    }
                }
            }
        }
    }
}
