public import AsgardGateway
import Foundation
public import Prometheus

/// The gateway's Prometheus metrics, served at `/metrics`:
/// `asgard_requests_total{endpoint,status}`, `asgard_request_duration_seconds{endpoint}`,
/// `asgard_upstream_errors_total{vendor,code}` and `asgard_spend_micros_total{project,vendor}`
/// (integer micro-dollars, as metered into the ledger).
public struct GatewayMetrics: GatewayMetering {
    public let registry: PrometheusCollectorRegistry
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) { self.registry = registry }

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
    static var spend: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "asgard", metricName: "spend_micros", unitName: "total",
            helpText: "Spend metered by the gateway, in micro-dollars.")
    }

    /// One answered request.
    public func request(endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("endpoint", endpoint)], buckets: Self.buckets).record(duration)
    }

    /// One upstream failure, by vendor and Asgard's error code (which carries the vendor's).
    public func upstreamError(vendor: String, code: String) {
        registry.makeCounter(descriptor: Self.upstreamErrors, labels: [("vendor", vendor), ("code", code)]).increment()
    }

    /// Metered spend.
    public func spend(project: String, vendor: String, micros: Int64) {
        guard micros > 0 else { return }
        registry.makeCounter(descriptor: Self.spend, labels: [("project", project), ("vendor", vendor)]).increment(by: micros)
    }

    /// The Prometheus text exposition.
    public func exposition() -> String { registry.emitToString() }
}
