@testable import FakeDatabricks
import Testing

/// A statement's state is a function of the clock: these pin the transitions down without
/// waiting, which the HTTP tests cannot do on a busy machine.
@Suite("Statement states")
struct StatementStateTests {
    static let start = ContinuousClock.now

    static func record(latency: Duration, outcome: Result<ResultSet, SQLFailure>? = nil) -> StatementRecord {
        StatementRecord(
            id: "s", submitted: start, completes: start + latency,
            outcome: outcome ?? .success(ResultSet(columns: [], rows: [], truncated: false)), rowsPerChunk: 10)
    }

    @Test("PENDING for the first half of the latency, RUNNING for the second, then the outcome")
    func transitions() {
        let record = Self.record(latency: .seconds(2))
        #expect(record.state(at: Self.start) == "PENDING")
        #expect(record.state(at: Self.start + .milliseconds(999)) == "PENDING")
        #expect(record.state(at: Self.start + .seconds(1)) == "RUNNING")
        #expect(record.state(at: Self.start + .milliseconds(1999)) == "RUNNING")
        #expect(record.state(at: Self.start + .seconds(2)) == "SUCCEEDED")
        let failed = Self.record(latency: .zero, outcome: .failure(SQLFailure(errorClass: "X", message: "m", sqlState: "42000")))
        #expect(failed.state(at: Self.start) == "FAILED")
    }

    @Test("canceled and closed override the clock")
    func overrides() {
        var record = Self.record(latency: .seconds(2))
        record.canceled = true
        #expect(record.state(at: Self.start + .seconds(5)) == "CANCELED")
        #expect(record.isFinished(at: Self.start))
        record.closed = true
        #expect(record.state(at: Self.start) == "CLOSED")
    }
}
