import AsgardCore
import AsgardCost
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

struct CostLedgerTests {
    func record(_ project: String, _ day: String, _ micros: Int64?, source: String = "databricks-billing") -> CostRecord {
        CostRecord(
            project: project, vendor: "databricks", source: source, day: day,
            measurement: micros.map { .measured(MicroDollars($0), query: "q") } ?? .notMeasured(reason: "unset"))
    }

    /// Replacing the same days with the same rows changes nothing; a restated day replaces its
    /// figure; other sources and days are untouched; every replacement is audited.
    @Test func replacementIsIdempotentAndScoped() async throws {
        let root = try makeTemporaryDirectory("cost-ledger")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let audit = AuditEntry(actor: "test", action: "cost.rollup", target: nil, outcome: "ok")
        let gateway = record("a", "2026-11-30", 9, source: "gateway")
        try await store.replaceCosts([gateway], sources: ["gateway"], from: "2026-11-30", to: "2026-11-30", audit: audit)
        let first = [record("a", "2026-12-01", 100), record("a", "2026-12-02", nil), record("b", "2026-12-01", 0)]
        let written = try await store.replaceCosts(first, sources: ["databricks-billing"], from: "2026-12-01", to: "2026-12-02", audit: audit)
        #expect(written == CostReplacement(removed: 0, written: 3, changed: 3))
        let again = try await store.replaceCosts(first, sources: ["databricks-billing"], from: "2026-12-01", to: "2026-12-02", audit: audit)
        #expect(again == CostReplacement(removed: 3, written: 3, changed: 0))
        let restated = [record("a", "2026-12-01", 80), record("a", "2026-12-02", nil), record("b", "2026-12-01", 0)]
        let third = try await store.replaceCosts(restated, sources: ["databricks-billing"], from: "2026-12-01", to: "2026-12-02", audit: audit)
        #expect(third.changed == 2)
        let rows = try await store.costs(from: "2026-11-01", to: "2026-12-31", project: nil)
        #expect(Set(rows) == Set(restated + [gateway]))
        #expect(try await store.costs(from: "2026-12-01", to: "2026-12-01", project: "a") == [record("a", "2026-12-01", 80)])
        let entries = try await store.auditTail(limit: 10).filter { $0.content.action == "cost.rollup" }
        #expect(entries.map { $0.content.detail.contains(#""changed":"#) } == [true, true, true, true])
        #expect(entries.map { $0.content.detail.contains(#""changed":"0""#) } == [false, false, true, false])
    }

    /// The table refuses a figure that contradicts its label, whoever writes it.
    @Test func theTableRefusesAnInventedFigure() async throws {
        let root = try makeTemporaryDirectory("cost-ledger-check")
        let path = root + "/asgard.sqlite"
        _ = try SQLiteStore(path: path, auditKey: testAuditKey)
        #expect(throws: (any Error).self) {
            try sqlite3(path, "INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail) VALUES ('a','d','s','2026-12-01','not_measured',0,'x')")
        }
        #expect(throws: (any Error).self) {
            try sqlite3(path, "INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail) VALUES ('a','d','s','2026-12-01','measured',NULL,'x')")
        }
    }
}
