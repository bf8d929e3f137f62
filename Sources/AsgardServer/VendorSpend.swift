import AsgardCore
import AsgardCost
import AsgardGateway
import Foundation

extension BudgetLedger {
    /// Loads every project's measured vendor spend this month (the cost rollups' measured rows,
    /// every source but the gateway's own metering) into the budgets, so the gateway's
    /// reservation counts what a project spent with its vendors. Estimates are not counted: a
    /// budget refuses calls on what was spent, not on what a manifest guessed.
    func loadVendorSpend(from ledger: any CostLedger, now: Date) async throws {
        let today = CostDay(now)
        let rows = try await ledger.costs(from: today.firstOfMonth.description, to: today.description, project: nil)
        var spent: [String: Int64] = [:]
        for row in rows where row.source != GatewayMetering.type {
            if case .measured(let amount, _) = row.measurement { spent[row.project, default: 0] += amount.value }
        }
        let period = BudgetPeriod(containing: now)
        for (project, micros) in spent { setVendorSpend(project: project, spent: MicroDollars(micros), period: period) }
    }
}
