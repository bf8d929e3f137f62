import Foundation
import Synchronization
import Testing

@testable import AsgardServer

/// The hot path's metric handles are cached per label set: a cached handle must be the one
/// the exposition shows, every label set must keep its own, and copies of the metrics share them.
@Suite struct GatewayMetricsTests {
    /// The exposition's value for one sample line, e.g. `asgard_requests_total{…}`.
    private func value(_ sample: String, in exposition: String) -> String? {
        exposition.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.map { String($0.dropFirst(sample.count + 1)) }
    }

    @Test func cachedHandlesCountEveryCallUnderItsOwnLabels() {
        let metrics = GatewayMetrics()
        let copy = metrics
        for _ in 0..<3 { metrics.request(endpoint: "/v1/chat/completions", status: 200, duration: .milliseconds(2)) }
        copy.request(endpoint: "/v1/chat/completions", status: 200, duration: .milliseconds(2))
        metrics.request(endpoint: "/v1/chat/completions", status: 402, duration: .milliseconds(1))
        metrics.request(endpoint: "/v1/embeddings", status: 200, duration: .milliseconds(700))
        metrics.spend(project: "fraud", vendor: "databricks", micros: 1_500)
        copy.spend(project: "fraud", vendor: "databricks", micros: 250)
        metrics.spend(project: "search", vendor: "databricks", micros: 7)
        metrics.spend(project: "search", vendor: "openai", micros: 0)

        let exposition = metrics.exposition()
        #expect(value(#"asgard_requests_total{endpoint="/v1/chat/completions",status="200"}"#, in: exposition) == "4")
        #expect(value(#"asgard_requests_total{endpoint="/v1/chat/completions",status="402"}"#, in: exposition) == "1")
        #expect(value(#"asgard_requests_total{endpoint="/v1/embeddings",status="200"}"#, in: exposition) == "1")
        #expect(value(#"asgard_request_duration_seconds_count{endpoint="/v1/chat/completions"}"#, in: exposition) == "5")
        #expect(value(#"asgard_request_duration_seconds_bucket{endpoint="/v1/embeddings",le="0.5"}"#, in: exposition) == "0")
        #expect(value(#"asgard_request_duration_seconds_bucket{endpoint="/v1/embeddings",le="1.0"}"#, in: exposition) == "1")
        #expect(value(#"asgard_spend_micros_total{project="fraud",vendor="databricks"}"#, in: exposition) == "1750")
        #expect(value(#"asgard_spend_micros_total{project="search",vendor="databricks"}"#, in: exposition) == "7")
        #expect(!exposition.contains(#"vendor="openai""#))
    }

    /// The ledger backlog is read at each scrape, not when it was set up; without a reader the
    /// gauge is left out rather than shown as zero.
    @Test func theLedgerBacklogIsReadAtEachScrape() {
        let waiting = Mutex(0)
        #expect(!GatewayMetrics().exposition().contains("asgard_ledger_backlog_calls"))
        let metrics = GatewayMetrics(ledgerBacklog: { waiting.withLock { $0 } })
        waiting.withLock { $0 = 4_096 }
        #expect(value("asgard_ledger_backlog_calls", in: metrics.exposition()) == "4096.0")
        waiting.withLock { $0 = 0 }
        #expect(value("asgard_ledger_backlog_calls", in: metrics.exposition()) == "0.0")
    }

    /// Two labels whose values would join to the same string stay apart.
    @Test func labelValuesDoNotRunTogether() {
        let metrics = GatewayMetrics()
        metrics.spend(project: "ab", vendor: "c", micros: 1)
        metrics.spend(project: "a", vendor: "bc", micros: 2)
        let exposition = metrics.exposition()
        #expect(value(#"asgard_spend_micros_total{project="ab",vendor="c"}"#, in: exposition) == "1")
        #expect(value(#"asgard_spend_micros_total{project="a",vendor="bc"}"#, in: exposition) == "2")
    }
}
