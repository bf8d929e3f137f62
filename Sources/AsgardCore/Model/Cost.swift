/// One figure of the cost pane: what one cost source says a project spent with one vendor on one
/// UTC day, and how that figure was obtained.
public struct CostRecord: Sendable, Hashable, Codable {
    public var project: String
    /// The vendor the money goes to (a `Service` id): `databricks`, `openai`, ...
    public var vendor: String
    /// What produced the figure: a cost source type (`databricks-billing`, `openai-costs`), or
    /// `gateway` for the gateway's own metering of model calls.
    public var source: String
    /// The UTC day, `YYYY-MM-DD`.
    public var day: String
    public var measurement: CostMeasurement

    public init(project: String, vendor: String, source: String, day: String, measurement: CostMeasurement) {
        self.project = project
        self.vendor = vendor
        self.source = source
        self.day = day
        self.measurement = measurement
    }

    /// The amount, when there is one (measured or estimated).
    public var amount: MicroDollars? {
        switch measurement {
        case .measured(let amount, _), .estimate(let amount, _, _): amount
        case .notMeasured: nil
        }
    }
}

/// How a cost figure was obtained. Asgard never invents a number: a figure is measured by its
/// source, or estimated from manifests (and says why it is not measured), or absent.
public enum CostMeasurement: Sendable, Hashable, Codable {
    /// Measured by the source; `query` is the query or API call that produced it.
    case measured(MicroDollars, query: String)
    /// The source could not measure (`reason`), and the project's provisioned resources stand in
    /// with their manifest estimates pro-rated per day (`basis` names them).
    case estimate(MicroDollars, reason: String, basis: String)
    /// Neither measured nor estimable.
    case notMeasured(reason: String)

    /// `measured`, `estimate` or `not_measured`.
    public var label: String {
        switch self {
        case .measured: "measured"
        case .estimate: "estimate"
        case .notMeasured: "not_measured"
        }
    }

    /// The query, or why the figure is not measured.
    public var detail: String {
        switch self {
        case .measured(_, let query): query
        case .estimate(_, let reason, let basis): "\(reason); estimated from \(basis)"
        case .notMeasured(let reason): reason
        }
    }
}

/// A project and day on which the gateway's token count for a vendor's model calls and the
/// vendor's own count (e.g. Databricks' `system.serving.endpoint_usage` by `usage_context`)
/// differ by more than the manifest's tolerance: calls that bypassed the gateway, or calls the
/// vendor did not see or bill.
public struct TokenDrift: Sendable, Hashable, Codable {
    public var project: String
    public var vendor: String
    /// The UTC day, `YYYY-MM-DD`.
    public var day: String
    /// Prompt and completion tokens in the gateway's ledger.
    public var gatewayTokens: Int64
    /// Input and output tokens the vendor recorded for the project.
    public var vendorTokens: Int64
    /// The tolerance exceeded, in percent of the larger count.
    public var tolerancePercent: Int

    public init(project: String, vendor: String, day: String, gatewayTokens: Int64, vendorTokens: Int64, tolerancePercent: Int) {
        self.project = project
        self.vendor = vendor
        self.day = day
        self.gatewayTokens = gatewayTokens
        self.vendorTokens = vendorTokens
        self.tolerancePercent = tolerancePercent
    }

    /// Whether counts this far apart exceed `tolerancePercent` of the larger.
    public static func exceeds(gateway: Int64, vendor: Int64, tolerancePercent: Int) -> Bool {
        let larger = max(gateway, vendor)
        return abs(gateway - vendor) * 100 > Int64(tolerancePercent) * larger
    }
}
