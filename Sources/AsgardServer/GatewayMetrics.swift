public import AsgardCore
public import AsgardGateway
import Foundation
public import Logging
public import Prometheus
import Synchronization

/// The gateway's Prometheus metrics, served at `/metrics`:
/// `asgard_requests_total{endpoint,status}`, `asgard_request_duration_seconds{endpoint}`,
/// `asgard_upstream_errors_total{vendor,code}` and `asgard_spend_micros_total{project,vendor}`
/// (integer micro-dollars, as metered into the ledger), `asgard_usage_overruns_total{project,vendor}`
/// (each also a warning in the log) and `asgard_unauthenticated_total{code}` (sampled in the
/// log: at most one line per 10 s), `asgard_cost_drift_days{project,vendor}` (the days of the
/// last rollup whose token counts drifted from the vendor's), and `asgard_ledger_backlog_calls`
/// (answered calls in the call journal not yet copied into the store, read at each scrape).
public struct GatewayMetrics: GatewayMetering {
    public let registry: PrometheusCollectorRegistry
    /// Reads how many answered calls wait in the call journal for the copy into the store
    /// (`CallIngester.backlog`); nil leaves the gauge out.
    public let ledgerBacklog: (@Sendable () -> Int)?
    public var logger = Logger(label: "asgard.gateway")
    /// Logs about unauthenticated calls: at most one line per 10 s.
    private let unauthenticatedLog = LogSampler(interval: .seconds(10))
    /// Projects each vendor's last reconciliation flagged, so a cleared one goes back to zero.
    private let flagged = FlaggedProjects()
    /// The hot path's counters and histograms, made once per label set: the registry builds and
    /// validates a metric's name on every `make…` call, which cost ~10 µs per gateway call.
    private let handles = MetricHandles()
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), ledgerBacklog: (@Sendable () -> Int)? = nil) {
        self.registry = registry
        self.ledgerBacklog = ledgerBacklog
    }

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "requests", unitName: "total",
            helpText: "Requests answered by the gateway, by endpoint and HTTP status.")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "request_duration", unitName: "seconds",
            helpText: "Time to answer (for streams, to the response head).")
    }
    static var upstreamErrors: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "upstream_errors", unitName: "total",
            helpText: "Failed upstream calls, by vendor and error code.")
    }
    static var overruns: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "usage_overruns", unitName: "total",
            helpText: "Calls whose vendor reported more usage than the request could produce (the bound was charged).")
    }
    static var unauthenticated: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "unauthenticated", unitName: "total",
            helpText: "Chat calls refused because their credential matched no key, by error code (not audited).")
    }
    static var spend: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "spend_micros", unitName: "total",
            helpText: "Spend metered by the gateway, in micro-dollars.")
    }

    static var backlog: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "ledger_backlog", unitName: "calls",
            helpText: "Answered calls in the call journal not yet copied into the store's ledger and audit log.")
    }

    static var costDrift: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "cost_drift", unitName: "days",
            helpText: "Days of the last rollup on which the gateway's token count for a project differed from the vendor's beyond the tolerance.")
    }

    /// What a rollup's reconciliation found for `vendor`: each project's drifting days, and
    /// zero for projects it found drifting before and not now.
    public func costDrift(vendor: String, drift: [TokenDrift]) {
        let days = Dictionary(grouping: drift, by: \.project).mapValues(\.count)
        let before = flagged.projects.withLock { flagged in
            defer { flagged[vendor] = Set(days.keys) }
            return flagged[vendor] ?? []
        }
        for project in before.union(days.keys) {
            registry.makeGauge(descriptor: Self.costDrift, labels: [("project", project), ("vendor", vendor)]).set(Int64(days[project] ?? 0))
        }
    }

    /// One answered request.
    public func request(endpoint: String, status: Int, duration: Duration) {
        let status = String(status)
        handles.counters.handle(.requests, endpoint, status) {
            registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", status)])
        }.increment()
        handles.histograms.handle(.duration, endpoint, "") {
            registry.makeDurationHistogram(descriptor: Self.duration, labels: [("endpoint", endpoint)], buckets: Self.buckets)
        }.record(duration)
    }

    /// One upstream failure, by vendor and Asgard's error code (which carries the vendor's).
    public func upstreamError(vendor: String, code: String) {
        registry.makeCounter(descriptor: Self.upstreamErrors, labels: [("vendor", vendor), ("code", code)]).increment()
    }

    /// Metered spend.
    public func spend(project: String, vendor: String, micros: Int64) {
        guard micros > 0 else { return }
        handles.counters.handle(.spend, project, vendor) {
            registry.makeCounter(descriptor: Self.spend, labels: [("project", project), ("vendor", vendor)])
        }.increment(by: micros)
    }

    public func overrun(project: String, vendor: String, model: String, requestID: String) {
        registry.makeCounter(descriptor: Self.overruns, labels: [("project", project), ("vendor", vendor)]).increment()
        logger.warning(
            "usage overrun: the vendor reported more tokens than the request could produce; charged the bound",
            metadata: ["project": "\(project)", "model": "\(model)", "request_id": "\(requestID)"])
    }

    public func unauthenticated(code: String) {
        registry.makeCounter(descriptor: Self.unauthenticated, labels: [("code", code)]).increment()
        if unauthenticatedLog.due() {
            logger.notice("chat calls with no valid key are being refused (counted in asgard_unauthenticated_total)", metadata: ["code": "\(code)"])
        }
    }

    /// The Prometheus text exposition, the backlog read as of now.
    public func exposition() -> String {
        if let ledgerBacklog { registry.makeGauge(descriptor: Self.backlog).set(Int64(ledgerBacklog())) }
        return registry.emitToString()
    }
}

/// Says when a line is due: at most once per `interval`.
final class LogSampler: Sendable {
    private let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(interval: Duration) { self.interval = interval }

    /// True at most once per interval (the first time, always).
    func due(now: ContinuousClock.Instant = .now) -> Bool {
        last.withLock { last in
            guard last.map({ now - $0 >= interval }) ?? true else { return false }
            last = now
            return true
        }
    }
}

/// The hot path's metric handles, shared by every copy of the metrics.
final class MetricHandles: Sendable {
    /// The metrics whose handles are kept.
    enum Metric: Hashable {
        case requests, duration, spend
    }
    let counters = HandleCache<Counter>()
    let histograms = HandleCache<DurationHistogram>()
}

/// Handles of one kind by (metric, two label values): one uncontended lock and a hash per
/// use, where the registry's own lookup builds and validates the metric's name.
final class HandleCache<Handle: Sendable>: Sendable {
    private struct Key: Hashable {
        let metric: MetricHandles.Metric
        let first: String
        let second: String
    }
    private let handles = Mutex<[Key: Handle]>([:])

    /// The handle for `metric` with these label values, made by `make` the first time (the
    /// registry returns the same handle for the same labels, so a race to make it is harmless).
    func handle(_ metric: MetricHandles.Metric, _ first: String, _ second: String, make: () -> Handle) -> Handle {
        let key = Key(metric: metric, first: first, second: second)
        if let handle = handles.withLock({ $0[key] }) { return handle }
        let handle = make()
        handles.withLock { $0[key] = handle }
        return handle
    }
}

/// The projects each vendor's last reconciliation flagged (shared by every copy of the metrics).
final class FlaggedProjects: Sendable {
    let projects = Mutex<[String: Set<String>]>([:])
}
