public import AsgardCore

/// `databricks-billing`: what Databricks billed each project, from `system.billing.usage` priced
/// by `system.billing.list_prices`, through the SQL Statement Execution API on a warehouse.
///
/// Spend is attributed by the `project` custom tag Asgard puts on every resource it provisions.
/// Retractions carry negative quantities, so summing every record nets a restated day out. The
/// price is the list price (`pricing.effective_list.default`), not a negotiated one.
public struct DatabricksBilling: CostSource {
    public let vendor: String
    public var name: String { Self.type }
    public static let type = "databricks-billing"

    /// Where the statements run; nil with why, when the environment does not say.
    public enum Connection: Sendable {
        case ready(StatementExecution)
        case unavailable(reason: String)
    }
    public var connection: Connection
    public var tolerancePercent: Int?

    public init(vendor: String, connection: Connection, tolerancePercent: Int? = nil) {
        self.vendor = vendor
        self.connection = connection
        self.tolerancePercent = tolerancePercent
    }

    /// The statement: one row per project and UTC day with the day's list-price cost.
    public static let statement = """
        SELECT u.custom_tags['project'] AS project, u.usage_date AS usage_date,
               SUM(u.usage_quantity * p.pricing.effective_list.default) AS cost_usd
        FROM system.billing.usage u
        JOIN system.billing.list_prices p
          ON u.sku_name = p.sku_name AND u.cloud = p.cloud AND u.usage_unit = p.usage_unit
         AND u.usage_end_time >= p.price_start_time
         AND (p.price_end_time IS NULL OR u.usage_end_time < p.price_end_time)
        WHERE u.usage_date BETWEEN :from_day AND :to_day
          AND u.custom_tags['project'] IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        """

    public func measure(_ period: CostPeriod, projects: [String]) async -> [CostRecord] {
        guard case .ready(let execution) = connection else {
            guard case .unavailable(let reason) = connection else { return [] }
            return notMeasured(period, projects: projects, reason: reason)
        }
        let result: StatementExecution.Result
        do {
            result = try await execution.run(
                Self.statement,
                parameters: [("from_day", period.from.description), ("to_day", period.to.description)])
        } catch {
            return notMeasured(period, projects: projects, reason: "Databricks billing: \(error)")
        }
        do {
            let amounts = try Self.amounts(result, projects: Set(projects), period: period)
            // The same words for the same days, whatever the statement's id: a rollup repeated is the same rows.
            let query =
                "SQL warehouse \(execution.warehouseID): system.billing.usage × system.billing.list_prices (list price) by custom tag project, usage_date \(period)"
            return measured(amounts, period, projects: projects, query: query)
        } catch {
            return notMeasured(period, projects: projects, reason: "Databricks billing: \(error)")
        }
    }

    /// The result's rows by project and day; rows of other projects (or tags that are not
    /// project ids) are left out, and a malformed row fails the whole result.
    static func amounts(_ result: StatementExecution.Result, projects: Set<String>, period: CostPeriod) throws(StatementExecution.Failure)
        -> [String: [CostDay: MicroDollars]]
    {
        guard result.columns == ["project", "usage_date", "cost_usd"] else {
            throw .malformed("columns \(result.columns), expected project, usage_date, cost_usd")
        }
        var amounts: [String: [CostDay: MicroDollars]] = [:]
        for row in result.rows {
            guard let project = row[0], projects.contains(project) else { continue }
            guard let dayText = row[1], let day = try? CostDay(dayText), period.contains(day) else {
                throw .malformed("usage_date \(row[1] ?? "null") is not a day of \(period)")
            }
            // A day whose every record was retracted can sum to NULL on some engines: nothing.
            guard let text = row[2] else { continue }
            let amount: MicroDollars
            do { amount = try DecimalAmount.micros(text) } catch { throw .malformed("cost_usd: \(error)") }
            amounts[project, default: [:]][day, default: .zero].value += amount.value
        }
        return amounts
    }
}
