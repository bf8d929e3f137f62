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
