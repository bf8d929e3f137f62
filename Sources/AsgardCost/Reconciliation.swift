public import AsgardCore

/// A source that can also count the tokens the vendor saw per project and day, so the gateway's
/// metering can be checked against the vendor's own records.
public protocol TokenReconciling: CostSource {
    /// The manifest's `reconcile_tolerance_percent`; nil turns reconciliation off.
    var tolerancePercent: Int? { get }
    /// Input plus output tokens per project and day, as the vendor recorded them.
    func vendorTokens(_ period: CostPeriod) async throws -> [String: [CostDay: Int64]]
}

/// Compares the gateway's token counts with a vendor's: pure, so it is tested with plain values.
public enum Reconciliation {
    /// The project-days of `period` on which the two counts differ by more than `tolerance`
    /// percent of the larger, for `projects` (a project the vendor saw and Asgard does not know
    /// is not Asgard's to flag). A day with tokens on one side only is drift too.
    public static func drift(
        gateway: [DailySpend], vendorTokens: [String: [CostDay: Int64]], vendor: String, projects: Set<String>, period: CostPeriod,
        tolerancePercent: Int
    ) -> [TokenDrift] {
        var ours: [String: [CostDay: Int64]] = [:]
        for row in gateway where row.vendor == vendor && projects.contains(row.project) {
            guard let day = try? CostDay(row.day), period.contains(day) else { continue }
            ours[row.project, default: [:]][day, default: 0] += Int64(row.promptTokens) + Int64(row.completionTokens)
        }
        var drift: [TokenDrift] = []
        for project in projects.sorted() {
            for day in period.days {
                let counted = ours[project]?[day] ?? 0
                let theirs = vendorTokens[project]?[day] ?? 0
                guard TokenDrift.exceeds(gateway: counted, vendor: theirs, tolerancePercent: tolerancePercent) else { continue }
                drift.append(
                    TokenDrift(
                        project: project, vendor: vendor, day: day.description, gatewayTokens: counted, vendorTokens: theirs,
                        tolerancePercent: tolerancePercent))
            }
        }
        return drift
    }
}

extension DatabricksBilling: TokenReconciling {
    /// Tokens by `usage_context['project']`, which the gateway sets on every Databricks call
    /// (the manifest's `usage_context: true`): the one place shared pay-per-token endpoints
    /// record whose call it was.
    public static let tokenStatement = """
        SELECT usage_context['project'] AS project, CAST(request_time AS DATE) AS day,
               SUM(input_token_count) AS input_tokens, SUM(output_token_count) AS output_tokens
        FROM system.serving.endpoint_usage
        WHERE CAST(request_time AS DATE) BETWEEN :from_day AND :to_day
          AND usage_context['project'] IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        """

    public func vendorTokens(_ period: CostPeriod) async throws -> [String: [CostDay: Int64]] {
        guard case .ready(let execution) = connection else {
            guard case .unavailable(let reason) = connection else { return [:] }
            throw StatementExecution.Failure.unreachable(reason)
        }
        let result = try await execution.run(
            Self.tokenStatement, parameters: [("from_day", period.from.description), ("to_day", period.to.description)])
        guard result.columns == ["project", "day", "input_tokens", "output_tokens"] else {
            throw StatementExecution.Failure.malformed("columns \(result.columns), expected project, day, input_tokens, output_tokens")
        }
        var tokens: [String: [CostDay: Int64]] = [:]
        for row in result.rows {
            guard let project = row[0], let dayText = row[1], let day = try? CostDay(dayText) else {
                throw StatementExecution.Failure.malformed("a row without a project or a day")
            }
            guard let input = Int64(row[2] ?? "0"), let output = Int64(row[3] ?? "0") else {
                throw StatementExecution.Failure.malformed("token counts that are not whole numbers")
            }
            tokens[project, default: [:]][day, default: 0] += input + output
        }
        return tokens
    }
}
