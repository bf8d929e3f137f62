import ArgumentParser
import AsgardCore
import AsgardCost
import Foundation

extension Cost {
    /// `asgard cost export --format focus`: the stored figures as a FinOps FOCUS 1.2 CSV file.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the stored cost figures (default: this month) as a FinOps FOCUS 1.2 CSV dataset.",
            discussion: """
                One row per stored figure: a project's spend with one vendor, from one source, on one UTC day. \
                Estimates are included and marked x_AsgardMeasurement=estimate; figures that were not measured \
                have no amount and FOCUS cannot say so, so they are left out and counted on standard error. \
                Amounts are list prices, as in `asgard cost report`. Run `asgard cost rollup` first.
                """
        )

        /// The formats `--format` takes.
        enum Format: String, ExpressibleByArgument, CaseIterable {
            case focus
        }

        @Option(help: "The dataset format: focus (FinOps FOCUS 1.2, CSV).") var format: Format
        @OptionGroup var days: Days
        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var output: String?
        @Option(name: .customLong("billing-account-id"), help: "BillingAccountId of every row: the Asgard organisation.")
        var billingAccountID = "asgard"
        @Option(name: .customLong("billing-account-name"), help: "BillingAccountName of every row.")
        var billingAccountName = "Asgard"
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard !billingAccountID.isEmpty else { throw ValidationError("--billing-account-id may not be empty: FOCUS's BillingAccountId is never null") }
            if let output, output.isEmpty { throw ValidationError("--output needs a file name") }
        }

        func run() async throws {
            let today = CostDay(Date())
            let period = try days.period(defaultFrom: today.firstOfMonth, defaultTo: today)
            let opened = try openExisting(store, creatingKey: false)
            guard let ledger = opened as? any CostLedger else { throw ValidationError("this store has no cost tables") }
            let desk = CostDesk(store: opened, ledger: ledger) { [] }
            let export: FOCUSExport.Output
            do {
                export = try await desk.focusExport(
                    period, account: FOCUSExport.BillingAccount(id: billingAccountID, name: billingAccountName.isEmpty ? nil : billingAccountName))
            } catch let error as FOCUSExport.ExportError {
                throw ValidationError(error.description)
            }
            if let output {
                do {
                    try Data(export.csv.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    printError("asgard: cannot write \(output): \(error.localizedDescription)")
                    throw ExitCode.failure
                }
                printError("wrote \(export.rows) FOCUS rows for \(period) to \(output)\(export.estimates > 0 ? " (\(export.estimates) estimates)" : "")")
            } else {
                print(export.csv, terminator: "")
            }
            if export.notMeasured > 0 {
                printError(
                    "\(export.notMeasured) \(export.notMeasured == 1 ? "figure" : "figures") not measured were left out (FOCUS has no 'not measured'; `asgard cost report` shows them)"
                )
            }
        }
    }
}
