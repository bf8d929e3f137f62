import ArgumentParser
import AsgardCore
import AsgardCost
import AsgardServer
import Foundation

struct Cost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll vendor spend up into the store, and report it per project, vendor and day.",
        discussion: """
            The command line reads and writes the store directly, so it is for whoever may open the data \
            directory (its files are 0600); the HTTP API (`POST /api/cost/rollup`, `GET /api/cost`) \
            decides with the admin credential and Cedar.
            """,
        subcommands: [Rollup.self, Report.self, Export.self]
    )

    /// `--from` and `--to`, as days.
    struct Days: ParsableArguments {
        @Option(help: "First day, YYYY-MM-DD (UTC).") var from: String?
        @Option(help: "Last day, YYYY-MM-DD (UTC), included.") var to: String?

        func period(defaultFrom: CostDay, defaultTo: CostDay) throws -> CostPeriod {
            do {
                return try CostPeriod(from: from.map { try CostDay($0) } ?? defaultFrom, to: to.map { try CostDay($0) } ?? defaultTo)
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    struct Rollup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure every project's spend with every cost source for the days given (default: the last 7 days), estimate what cannot be measured, and store it; audited as cost.rollup.")

        @OptionGroup var days: Days
        @Option(name: .customLong("source"), help: "Only this cost source (databricks-billing, gateway, none, ...). Repeatable.")
        var sources: [String] = []
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let today = CostDay(Date())
            let period = try days.period(defaultFrom: CostRollupService.firstDay(through: today), defaultTo: today)
            let opened = try openExisting(store, creatingKey: false)
            guard let ledger = opened as? any CostLedger else { throw ValidationError("this store has no cost tables") }
            let client = HTTPUpstream.vendorClient()
            let outcome: CostDesk.RollupOutcome
            do {
                let desk = CostDesk.serving(store: opened, ledger: ledger, client: client, environment: ProcessInfo.processInfo.environment)
                outcome = try await desk.rollup(period, only: sources.isEmpty ? nil : Set(sources), actor: "cli")
            } catch let error as CostDesk.RollupError {
                try? await client.shutdown()
                throw ValidationError(error.description)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            if output.json {
                print(
                    Rendering.json(
                        RollupJSON(
                            from: outcome.period.from.description, to: outcome.period.to.description, sources: outcome.sources,
                            measured: outcome.measured, estimate: outcome.estimated, notMeasured: outcome.notMeasured, changed: outcome.replacement.changed)))
            } else {
                print(
                    "rolled up \(outcome.period) from \(outcome.sources.joined(separator: ", ")): \(outcome.measured) measured, \(outcome.estimated) estimated, \(outcome.notMeasured) not measured; \(outcome.replacement.changed) rows changed"
                )
            }
        }

        struct RollupJSON: Encodable {
            var from: String
            var to: String
            var sources: [String]
            var measured: Int
            var estimate: Int
            var notMeasured: Int
            var changed: Int
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Spend per project, vendor and day (default: this month), each figure marked measured, estimate, partial or not measured, with budgets and burn.")

        @OptionGroup var days: Days
        @Option(help: "Only this project.") var project: String?
        @Option(name: .customLong("group-by"), help: "Comma-separated: project, vendor, source, day.") var groupBy = "project,vendor,day"
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Print CSV (RFC 4180).") var csv = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard !(json && csv) else { throw ValidationError("--json and --csv exclude each other") }
            let today = CostDay(Date())
            let period = try days.period(defaultFrom: today.firstOfMonth, defaultTo: today)
            var dimensions: [CostReport.Dimension] = []
            for name in groupBy.split(separator: ",") {
                guard let dimension = CostReport.Dimension(rawValue: String(name)), !dimensions.contains(dimension) else {
                    throw ValidationError("--group-by takes distinct names from project, vendor, source, day")
                }
                dimensions.append(dimension)
            }
            let opened = try openExisting(store, creatingKey: false)
            guard let ledger = opened as? any CostLedger else { throw ValidationError("this store has no cost tables") }
            let desk = CostDesk(store: opened, ledger: ledger) { [] }
            let report = try await desk.report(period, projects: project.map { [$0] }, groupBy: dimensions)
            if json {
                print(report.json.jsonText)
            } else if csv {
                print(report.csv, terminator: "")
            } else {
                print(Self.table(report))
            }
        }

        static func table(_ report: CostReport) -> String {
            var lines: [String] = []
            let header = report.groupBy.map(\.rawValue) + ["amount_usd", "measurement"]
            var rows = [header]
            for line in report.lines {
                rows.append(report.groupBy.map { line.keys[$0] ?? "" } + [line.amount.map(DecimalAmount.dollars) ?? "—", line.measurement])
            }
            let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                lines.append(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
            if report.lines.isEmpty { lines.append("(no figures for \(report.period): run `asgard cost rollup` first)") }
            lines.append("")
            for budget in report.budgets {
                lines.append(
                    "\(budget.project) \(budget.month): budget $\(DecimalAmount.dollars(budget.monthlyBudget)), measured $\(DecimalAmount.dollars(budget.measured)), estimated $\(DecimalAmount.dollars(budget.estimated)), projected $\(DecimalAmount.dollars(budget.projectedMonth))\(budget.daysNotMeasured > 0 ? ", \(budget.daysNotMeasured) days not measured" : "")"
                )
            }
            lines.append(CostReport.note)
            return lines.joined(separator: "\n")
        }
    }
}
