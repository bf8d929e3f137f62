public import AsgardCore

/// Where one vendor's spend is measured. Built at the composition root from a manifest's
/// `cost_source:` block by type (`CostSources.build`), or the gateway's own metering.
///
/// A source reads; it never writes the store and never invents a figure. For each project and
/// day of the period it says what was spent (measured, with the query that produced it), or
/// that it could not measure (with why).
public protocol CostSource: Sendable {
    /// The vendor the spend goes to (a `Service` id).
    var vendor: String { get }
    /// The source's type as `CostRecord.source` records it: `databricks-billing`, `gateway`, ...
    var name: String { get }

    /// Per-project, per-day records for `period`: one for every project in `projects` and every
    /// day, each `measured` or `notMeasured` (never `estimate`: estimates are the rollup's).
    /// Spend the vendor attributes to a project not in `projects` is left out.
    func measure(_ period: CostPeriod, projects: [String]) async -> [CostRecord]
}

extension CostSource {
    /// Every project on every day of `period`, not measured for `reason`.
    public func notMeasured(_ period: CostPeriod, projects: [String], reason: String) -> [CostRecord] {
        projects.flatMap { project in
            period.days.map { day in
                CostRecord(project: project, vendor: vendor, source: name, day: day.description, measurement: .notMeasured(reason: reason))
            }
        }
    }

    /// Every project on every day of `period`, measured by `query`: the amounts found, and
    /// zero where the source has no row (a measured zero: the vendor billed nothing there).
    public func measured(
        _ amounts: [String: [CostDay: MicroDollars]], _ period: CostPeriod, projects: [String], query: String
    ) -> [CostRecord] {
        projects.flatMap { project in
            period.days.map { day in
                CostRecord(
                    project: project, vendor: vendor, source: name, day: day.description,
                    measurement: .measured(amounts[project]?[day] ?? .zero, query: query))
            }
        }
    }
}

/// The HTTP a cost source needs, as a port: the server gives it AsyncHTTPClient, tests give it
/// whatever they like. Requests carry their credential; a port must never log headers.
public protocol CostHTTP: Sendable {
    /// Sends one request and reads the whole answer (bounded by the port).
    /// - Throws: when no answer came (connection refused, timeout); a status is an answer.
    func send(_ request: CostHTTPRequest) async throws -> CostHTTPResponse
}

public struct CostHTTPRequest: Sendable, Hashable {
    public enum Method: String, Sendable { case get = "GET", post = "POST" }
    public var method: Method
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]?
    public var timeout: Duration

    public init(method: Method, url: String, headers: [String: String], body: [UInt8]? = nil, timeout: Duration = .seconds(60)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct CostHTTPResponse: Sendable, Hashable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}
