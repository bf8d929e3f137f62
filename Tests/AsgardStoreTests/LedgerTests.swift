import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite("Ledger")
struct LedgerTests {
    static let base = Date(timeIntervalSince1970: 1_795_642_954)

    static func entry(
        _ id: String, project: String = "fraud", at offset: TimeInterval, cost: Int64 = 1_250,
        status: String = "ok", estimated: Bool = false
    ) -> LedgerEntry {
        LedgerEntry(
            requestID: id, time: base.addingTimeInterval(offset), project: project, keyID: "fraud-agent",
            vendor: "databricks", model: "databricks/llama-3-3-70b", upstream: "databricks-meta-llama-3-3-70b-instruct",
            promptTokens: 1_000, completionTokens: 250, cost: MicroDollars(cost), latencyMicroseconds: 812_345,
            status: status, estimated: estimated)
    }

    @Test("a range query returns the project's rows with from <= time < to, oldest first, exactly as written", arguments: StoreFactory.all)
    func rangeQuery(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let rows = [
                Self.entry("r3", at: 30, cost: 3),
                Self.entry("r1", at: 10, cost: 1),
                Self.entry("other", project: "growth", at: 15),
                Self.entry("r2", at: 20, cost: 2, status: "upstream_timeout", estimated: true),
                Self.entry("r0", at: 0.000_001, cost: 0),
                Self.entry("r4", at: 40, cost: 4),
            ]
            try ingest(store, Array(rows[..<3]))
            try ingest(store, Array(rows[3...]))

            let window = try await store.ledger(project: "fraud", from: Self.base.addingTimeInterval(10), to: Self.base.addingTimeInterval(40))
            #expect(window == [rows[1], rows[3], rows[0]])
            #expect(window.map(\.requestID) == ["r1", "r2", "r3"])
            #expect(window[1].estimated && window[1].status == "upstream_timeout")

            let all = try await store.ledger(project: "fraud", from: .distantPast, to: .distantFuture)
            #expect(all.map(\.requestID) == ["r0", "r1", "r2", "r3", "r4"])
            // A microsecond matters at both ends.
            #expect(
                try await store.ledger(project: "fraud", from: Self.base.addingTimeInterval(0.000_001), to: Self.base.addingTimeInterval(10))
                    .map(\.requestID) == ["r0"])
            #expect(
                try await store.ledger(project: "fraud", from: Self.base.addingTimeInterval(0.000_002), to: Self.base.addingTimeInterval(10)).isEmpty)
            #expect(try await store.ledger(project: "growth", from: .distantPast, to: .distantFuture).map(\.requestID) == ["other"])
            #expect(try await store.ledger(project: "nobody", from: .distantPast, to: .distantFuture).isEmpty)
            #expect(try await store.summary().ledgerRows == 6)
        }
    }

    @Test(
        "costs are exact integers of micro-dollars, even beyond a double's precision",
        arguments: [Int64(0), 1, 999_999, 1_234_567_890, 9_007_199_254_740_993, Int64.max])
    func integerCosts(micros: Int64) async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            try ingest(store, [Self.entry("big", at: 1, cost: micros)])
            let read = try await store.ledger(project: "fraud", from: Self.base, to: Self.base.addingTimeInterval(2))
            #expect(read.map(\.cost) == [MicroDollars(micros)])
            #expect(try sqlite3(scratch.path, "SELECT typeof(cost_micros) || ' ' || cost_micros FROM ledger") == "integer \(micros)")
        }
    }

    @Test("a batch is atomic: a duplicate request id writes none of it", arguments: StoreFactory.all)
    func atomicBatch(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try ingest(store, [Self.entry("a", at: 1)])
            #expect(throws: (any Error).self) {
                try ingest(store, [Self.entry("b", at: 2), Self.entry("c", at: 3), Self.entry("a", at: 4)])
            }
            #expect(try await store.ledger(project: "fraud", from: .distantPast, to: .distantFuture).map(\.requestID) == ["a"])
            try ingest(store, [])
            #expect(try await store.summary().ledgerRows == 1)
        }
    }

    @Test("a thousand-row batch is written in one go", arguments: StoreFactory.all)
    func largeBatch(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            // Times a whole number of microseconds apart, so each reads back exactly.
            let baseMicros: Int64 = 1_795_642_954_000_000
            let rows = (0..<1_000).map { index in
                var entry = Self.entry("req-\(index)", at: 0, cost: Int64(index))
                entry.time = Date(timeIntervalSince1970: Double(baseMicros + Int64(index) * 997) / 1_000_000)
                return entry
            }
            try ingest(store, rows)
            let read = try await store.ledger(project: "fraud", from: Self.base, to: Self.base.addingTimeInterval(1))
            #expect(read.count == 1_000)
            #expect(read.map(\.requestID) == rows.map(\.requestID))
            #expect(read == rows)
            #expect(read.reduce(0) { $0 + $1.cost.value } == 499_500)
        }
    }

    @Test("times are kept to the microsecond")
    func microsecondPrecision() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            // A Date near 2026 itself resolves only about a quarter of a microsecond.
            let times = [0.123_456_789, 0.999_999_9, 2.5].map { Self.base.addingTimeInterval($0) }
            try ingest(
                store,
                times.enumerated().map { index, time in
                    var entry = Self.entry("t\(index)", at: 0)
                    entry.time = time
                    return entry
                })
            let read = try await store.ledger(project: "fraud", from: .distantPast, to: .distantFuture)
            #expect(read.map(\.requestID) == ["t0", "t1", "t2"])
            for (written, stored) in zip(times, read.map(\.time)) {
                #expect(abs(written.timeIntervalSince(stored)) < 0.000_000_75)
            }
            #expect(
                try sqlite3Lines(scratch.path, "SELECT time FROM ledger ORDER BY request_id")
                    == ["1795642954123457", "1795642955000000", "1795642956500000"])
        }
    }
}
