import AsgardCore
import AsgardCost
import AsgardGateway
import Foundation

extension BudgetLedger {
    /// Loads every project's measured vendor spend this month (`CostLedger.measuredVendorSpend`)
    /// into the budgets, so the gateway's reservation counts what a project spent with its
    /// vendors. Estimates are not counted: a budget refuses calls on what was spent, not on what
    /// a manifest guessed.
    func loadVendorSpend(from ledger: any CostLedger, now: Date) async throws {
        let period = BudgetPeriod(containing: now)
        for (project, spent) in try await ledger.measuredVendorSpend(monthOf: CostDay(now)) {
            setVendorSpend(project: project, spent: spent, period: period)
        }
    }
}
