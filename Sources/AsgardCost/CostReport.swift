public import AsgardCore
public import AsgardJSON
import Foundation

/// The one pane, as data: spend grouped by project, vendor, source and day as asked, each figure
/// marked by how it was obtained, and each project's budget and month-to-date burn.
public struct CostReport: Sendable, Hashable {
    /// What lines can be grouped by.
    public enum Dimension: String, Sendable, Hashable, CaseIterable {
        case project, vendor, source, day
    }

    /// One figure: the sum of the rows that share the grouped dimensions.
    public struct Line: Sendable, Hashable {
        /// The grouped dimensions' values, by dimension.
        public var keys: [Dimension: String]
        /// The sum of the measured and estimated amounts; nil when nothing was.
        public var amount: MicroDollars?
        /// `measured` (every row measured), `estimate` (some estimated, none missing),
        /// `partial` (some rows not measured beside figures) or `not_measured` (no figure at all).
        public var measurement: String
        /// The distinct queries and reasons behind the rows.
        public var details: [String]
    }

    /// A project's month so far.
    public struct Budget: Sendable, Hashable {
        public var project: String
        public var monthlyBudget: MicroDollars
        /// Measured spend from the first of the month through today, every source.
        public var measured: MicroDollars
        /// Estimated spend in the same days.
        public var estimated: MicroDollars
        /// Days of the month with no figure from some source.
        public var daysNotMeasured: Int
        /// (measured + estimated) over the days so far, times the month's days.
        public var projectedMonth: MicroDollars
        public var month: String
    }

    public var period: CostPeriod
    public var groupBy: [Dimension]
    public var lines: [Line]
    public var budgets: [Budget]
    /// Project-days whose gateway token counts drifted from the vendor's (reconciliation).
    public var drift: [TokenDrift] = []
    /// Said wherever the figures are shown.
    public static let note =
        "Vendor figures are list prices (Databricks: system.billing.list_prices), not negotiated invoice prices. Estimates are manifest figures pro-rated per day, shown because a source could not measure."

    public init(period: CostPeriod, groupBy: [Dimension], records: [CostRecord], monthToDate: [CostRecord], projects: [Project], today: CostDay) {
        self.period = period
        self.groupBy = groupBy
        var groups: [[Dimension: String]: [CostRecord]] = [:]
        for record in records {
            var keys: [Dimension: String] = [:]
            for dimension in groupBy {
                keys[dimension] =
                    switch dimension {
                    case .project: record.project
                    case .vendor: record.vendor
                    case .source: record.source
                    case .day: record.day
                    }
            }
            groups[keys, default: []].append(record)
        }
        lines = groups.map { keys, rows in Self.line(keys: keys, rows: rows) }
            .sorted { a, b in
                for dimension in groupBy where a.keys[dimension] != b.keys[dimension] {
                    return a.keys[dimension] ?? "" < b.keys[dimension] ?? ""
                }
                return false
            }
        let elapsed = today.ordinal - today.firstOfMonth.ordinal + 1
        budgets = projects.sorted { $0.id < $1.id }.map { project in
            let rows = monthToDate.filter { $0.project == project.id }
            var measured: Int64 = 0, estimated: Int64 = 0
            var missing = Set<String>()
            for row in rows {
                switch row.measurement {
                case .measured(let amount, _): measured += amount.value
                case .estimate(let amount, _, _): estimated += amount.value
                case .notMeasured: missing.insert(row.day)
                }
            }
            let projected = (measured + estimated) * Int64(today.daysInMonth) / Int64(max(elapsed, 1))
            return Budget(
                project: project.id, monthlyBudget: project.monthlyBudget, measured: MicroDollars(measured), estimated: MicroDollars(estimated),
                daysNotMeasured: missing.count, projectedMonth: MicroDollars(projected), month: String(today.description.prefix(7)))
        }
    }

    static func line(keys: [Dimension: String], rows: [CostRecord]) -> Line {
        var total: Int64 = 0
        var any = false, measured = 0, estimated = 0, missing = 0
        for row in rows {
            switch row.measurement {
            case .measured(let amount, _):
                total += amount.value
                any = true
                measured += 1
            case .estimate(let amount, _, _):
                total += amount.value
                any = true
                estimated += 1
            case .notMeasured: missing += 1
            }
        }
        let label =
            if !any { "not_measured" } else if missing > 0 { "partial" } else if estimated > 0 { "estimate" } else { "measured" }
        let details = Array(Set(rows.map(\.measurement.detail))).sorted()
        return Line(keys: keys, amount: any ? MicroDollars(total) : nil, measurement: label, details: details)
    }

    /// The report as the API answers it. Amounts are decimal strings of dollars (and integer
    /// micro-dollars), never binary floats.
    public var json: JSONValue {
        func money(_ amount: MicroDollars?) -> [JSONMember] {
            guard let amount else { return [JSONMember(key: "amount_usd", value: .null), JSONMember(key: "amount_micros", value: .null)] }
            return [
                JSONMember(key: "amount_usd", value: .string(DecimalAmount.dollars(amount))),
                JSONMember(key: "amount_micros", value: .integer(amount.value)),
            ]
        }
        let lineValues: [JSONValue] = lines.map { line in
            .object(
                groupBy.map { JSONMember(key: $0.rawValue, value: .string(line.keys[$0] ?? "")) } + money(line.amount) + [
                    JSONMember(key: "measurement", value: .string(line.measurement)),
                    JSONMember(key: "details", value: .array(line.details.map(JSONValue.string))),
                ])
        }
        let budgetValues: [JSONValue] = budgets.map { budget in
            .object([
                JSONMember(key: "project", value: .string(budget.project)),
                JSONMember(key: "month", value: .string(budget.month)),
                JSONMember(key: "monthly_budget_usd", value: .string(DecimalAmount.dollars(budget.monthlyBudget))),
                JSONMember(key: "measured_usd", value: .string(DecimalAmount.dollars(budget.measured))),
                JSONMember(key: "estimated_usd", value: .string(DecimalAmount.dollars(budget.estimated))),
                JSONMember(key: "days_not_measured", value: .integer(Int64(budget.daysNotMeasured))),
                JSONMember(key: "projected_month_usd", value: .string(DecimalAmount.dollars(budget.projectedMonth))),
            ])
        }
        return .object([
            JSONMember(key: "from", value: .string(period.from.description)),
            JSONMember(key: "to", value: .string(period.to.description)),
            JSONMember(key: "group_by", value: .array(groupBy.map { .string($0.rawValue) })),
            JSONMember(key: "lines", value: .array(lineValues)),
            JSONMember(key: "budgets", value: .array(budgetValues)),
            JSONMember(
                key: "drift",
                value: .array(
                    drift.map { row in
                        .object([
                            JSONMember(key: "project", value: .string(row.project)), JSONMember(key: "vendor", value: .string(row.vendor)),
                            JSONMember(key: "day", value: .string(row.day)), JSONMember(key: "gateway_tokens", value: .integer(row.gatewayTokens)),
                            JSONMember(key: "vendor_tokens", value: .integer(row.vendorTokens)),
                            JSONMember(key: "tolerance_percent", value: .integer(Int64(row.tolerancePercent))),
                        ])
                    })),
            JSONMember(key: "note", value: .string(Self.note)),
        ])
    }

    /// The lines as CSV (RFC 4180): the grouped dimensions, amount_usd, measurement, details.
    public var csv: String {
        var out = (groupBy.map(\.rawValue) + ["amount_usd", "measurement", "details"]).joined(separator: ",") + "\r\n"
        for line in lines {
            let fields = groupBy.map { line.keys[$0] ?? "" } + [line.amount.map(DecimalAmount.dollars) ?? "", line.measurement, line.details.joined(separator: "; ")]
            out += fields.map(CSV.field).joined(separator: ",") + "\r\n"
        }
        return out
    }
}

/// RFC 4180 fields.
public enum CSV {
    /// `text`, quoted when it holds a comma, quote or line break (quotes doubled). A field that
    /// a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
    public static func field(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+@".contains(first) || (first == "-" && !text.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
