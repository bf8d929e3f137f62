public import AsgardCore

/// The composition root's one place that turns configuration into sources: each manifest's
/// `cost_source:` block by its type, and the gateway's metering for every vendor with models.
/// A new kind of source is one type conforming to `CostSource` and one case here (and in
/// `CostSourceType`, with the env roles its manifest block names).
///
/// `projects` are the applied projects, for sources that attribute spend by something a project
/// declares (`openai-costs` by `openai_project_ids`). They come in here rather than through
/// `CostSource.measure`, which stays a list of project ids: the mapping is configuration of one
/// kind of source, like its env vars, and every other source has no use for it.
public enum CostSources {
    public static func build(
        configured: [StoredCostSource], projects: [Project], inferenceVendors: [String], environment: [String: String], http: any CostHTTP,
        ledger: any CostLedger
    ) -> [any CostSource] {
        var sources: [any CostSource] = configured.map { stored -> any CostSource in
            switch stored.source.type {
            case .databricksBilling:
                DatabricksBilling(
                    vendor: stored.vendor, connection: databricksConnection(stored.source, environment: environment, http: http),
                    tolerancePercent: stored.source.reconcileTolerancePercent)
            case .openAICosts:
                OpenAICosts(vendor: stored.vendor, connection: openAIConnection(stored.source, environment: environment, http: http), projects: projects)
            }
        }
        for vendor in Set(inferenceVendors).sorted() {
            sources.append(GatewayMetering(vendor: vendor) { from, to in try await ledger.dailySpend(from: from, to: to) })
        }
        return sources
    }

    /// The warehouse connection a `databricks-billing` block names, or why there is none.
    static func databricksConnection(_ source: AsgardCore.CostSource, environment: [String: String], http: any CostHTTP) -> DatabricksBilling.Connection {
        var values: [String: String] = [:]
        for role in ["host", "token", "warehouse_id"] {
            guard let name = source.env[role] else { return .unavailable(reason: "the manifest's cost_source names no \(role) variable") }
            guard let value = environment[name], !value.isEmpty else {
                return .unavailable(reason: "\(name) is not set, so Databricks billing cannot be queried")
            }
            values[role] = value
        }
        return .ready(StatementExecution(host: values["host"]!, token: values["token"]!, warehouseID: values["warehouse_id"]!, http: http))
    }

    /// The Costs API connection an `openai-costs` block names, or why there is none. The
    /// reason names the variable, never its value.
    static func openAIConnection(_ source: AsgardCore.CostSource, environment: [String: String], http: any CostHTTP) -> OpenAICosts.Connection {
        var values: [String: String] = [:]
        for role in ["admin_key", "base_url"] {
            guard let name = source.env[role] else { return .unavailable(reason: "the manifest's cost_source names no \(role) variable") }
            guard let value = environment[name], !value.isEmpty else {
                return .unavailable(reason: "\(name) is not set, so OpenAI costs cannot be queried")
            }
            values[role] = value
        }
        return .ready(OpenAICostsAPI(baseURL: values["base_url"]!, adminKey: values["admin_key"]!, http: http))
    }
}
