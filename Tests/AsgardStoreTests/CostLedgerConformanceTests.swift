import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

/// The cost plane's tables, on every store: replacements scoped to sources and days, daily
/// spend from the ledger, drift, and when each resource was first applied.
struct CostLedgerConformanceTests {
    func record(_ project: String, _ day: String, _ micros: Int64?, source: String = "databricks-billing") -> CostRecord {
        CostRecord(
            project: project, vendor: "databricks", source: source, day: day,
            measurement: micros.map { .measured(MicroDollars($0), query: "q") } ?? .notMeasured(reason: "unset"))
    }

    func call(_ id: String, project: String, at time: Date, cost micros: Int64) -> LedgerEntry {
        LedgerEntry(
            requestID: id, time: time, project: project, keyID: "k", vendor: "databricks", model: "databricks/llama",
            upstream: "llama", promptTokens: 10, completionTokens: 5, cost: MicroDollars(micros), latencyMicroseconds: 1_000,
            status: "ok", estimated: false)
    }

    /// Replacing the same days with the same rows changes nothing; a restated day replaces its
    /// figure; other sources and days are untouched; every replacement is audited.
    @Test(arguments: StoreFactory.all)
    func replacementIsIdempotentAndScoped(factory: StoreFactory) async throws {
        try await withStore(factory) { opened, _ in
            let store = try #require(opened as? any Store & CostLedger)
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
    }

    /// Daily spend groups the ledger by project, vendor, model and UTC day; drift is replaced per
    /// vendor and range and audited per row; `firstApplied` is each target's first apply.
    @Test(arguments: StoreFactory.all)
    func dailySpendDriftAndFirstApplies(factory: StoreFactory) async throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_796_083_200))  // 2026-12-01T00:00:00Z
        try await withStore(factory, clock: clock) { opened, _ in
            let store = try #require(opened as? any Store & CostLedger)
            let day = clock.now()
            try ingest(
                store,
                [
                    call("r1", project: "a", at: day.addingTimeInterval(-1), cost: 500_000),
                    call("r2", project: "a", at: day.addingTimeInterval(10), cost: 1_250_000),
                    call("r3", project: "a", at: day.addingTimeInterval(86_399), cost: 2_000_000),
                    call("r4", project: "b", at: day.addingTimeInterval(86_400), cost: 4_000_000),
                ])
            let spend = try await store.dailySpend(from: day, to: day.addingTimeInterval(2 * 86_400))
            #expect(spend.map { "\($0.project) \($0.day) \($0.calls) \($0.cost.value)" } == ["a 2026-12-01 2 3250000", "b 2026-12-02 1 4000000"])

            let drift = [TokenDrift(project: "a", vendor: "databricks", day: "2026-12-01", gatewayTokens: 10, vendorTokens: 20, tolerancePercent: 5)]
            try await store.replaceDrift(drift, vendor: "databricks", from: "2026-12-01", to: "2026-12-02", actor: "rollup")
            try await store.replaceDrift(drift, vendor: "databricks", from: "2026-12-01", to: "2026-12-02", actor: "rollup")
            #expect(try await store.drift(from: "2026-12-01", to: "2026-12-31", project: nil) == drift)
            #expect(try await store.drift(from: "2026-12-01", to: "2026-12-31", project: "b").isEmpty)
            #expect(try await store.auditTail(limit: 50).filter { $0.content.action == "cost.drift" }.count == 2)

            clock.advance(seconds: 60)
            try await store.appendAudit(AuditEntry(actor: "c", action: "provision.apply", target: "Resource/w", outcome: "applied"))
            clock.advance(seconds: 60)
            try await store.appendAudit(AuditEntry(actor: "c", action: "provision.apply", target: "Resource/w", outcome: "applied"))
            #expect(try await store.firstApplied() == ["Resource/w": day.addingTimeInterval(60)])
        }
    }
}
