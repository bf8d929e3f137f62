import AsgardCore
import AsgardStore
import Foundation
import Testing

@Suite("Gateway tables: calls, spend, usage, kill switches")
struct GatewayStoreTests {
    static func call(_ id: String, project: String = "fraud", day: Int, model: String = "databricks/llama-3-3-70b",
                     cost: Int64, estimated: Bool = false) -> LedgerEntry {
        // Day 0 is 2026-11-25T12:00:00Z.
        LedgerEntry(requestID: id, time: Date(timeIntervalSince1970: 1_795_608_000 + Double(day) * 86_400), project: project,
                    keyID: "k", vendor: "databricks", model: model, upstream: "u", promptTokens: 10, completionTokens: 5,
                    cost: MicroDollars(cost), latencyMicroseconds: 1_000, status: "ok", estimated: estimated)
    }

    @Test("a batch of calls commits its ledger rows and audit entries together")
    func callsCommitTogether() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            let audit = (1...3).map { AuditEntry(actor: "k", action: "gateway.invoke", target: "databricks/llama-3-3-70b", outcome: "allowed", detail: ["request_id": "r\($0)"]) }
            try await store.appendCalls(ledger: [Self.call("r1", day: 0, cost: 10), Self.call("r2", day: 0, cost: 20)], audit: audit)
            #expect(try await store.summary().ledgerRows == 2)
            #expect(try await store.auditTail(limit: 10).map(\.content.detail) == ["{\"request_id\":\"r1\"}", "{\"request_id\":\"r2\"}", "{\"request_id\":\"r3\"}"])
            // A duplicate request id fails the whole batch: neither its ledger rows nor its audit entries land.
            await #expect(throws: (any Error).self) {
                try await store.appendCalls(ledger: [Self.call("r3", day: 0, cost: 1), Self.call("r1", day: 0, cost: 1)], audit: [audit[0]])
            }
            let summary = try await store.summary()
            #expect(summary.ledgerRows == 2 && summary.auditEntries == 3)
            #expect(try await store.verifyAudit() == .intact(count: 3, head: try await store.auditTail(limit: 1)[0].hash))
        }
    }

    @Test("spend sums a project's costs in a time range; usage groups by UTC day and model")
    func spendAndUsage() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            try await store.appendCalls(ledger: [
                Self.call("a", day: 0, cost: 100), Self.call("b", day: 0, cost: 250, estimated: true),
                Self.call("c", day: 0, model: "openai/gpt-4o-mini", cost: 7), Self.call("d", day: 1, cost: 1_000),
                Self.call("e", project: "other", day: 0, cost: 99_999),
            ], audit: [])
            let from = Date(timeIntervalSince1970: 1_795_564_800)  // 2026-11-25T00:00:00Z
            #expect(try await store.spend(project: "fraud", from: from, to: from.addingTimeInterval(86_400)) == MicroDollars(357))
            #expect(try await store.spend(project: "fraud", from: from, to: from.addingTimeInterval(2 * 86_400)) == MicroDollars(1_357))
            #expect(try await store.usage(project: "fraud", from: from, to: from.addingTimeInterval(2 * 86_400)) == [
                UsageRow(day: "2026-11-25", model: "databricks/llama-3-3-70b", calls: 2, promptTokens: 20, completionTokens: 10, cost: MicroDollars(350), estimatedCalls: 1),
                UsageRow(day: "2026-11-25", model: "openai/gpt-4o-mini", calls: 1, promptTokens: 10, completionTokens: 5, cost: MicroDollars(7), estimatedCalls: 0),
                UsageRow(day: "2026-11-26", model: "databricks/llama-3-3-70b", calls: 1, promptTokens: 10, completionTokens: 5, cost: MicroDollars(1_000), estimatedCalls: 0),
            ])
        }
    }

    @Test("kill switches engage, re-engage and release, each audited")
    func killSwitches() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            let since = Date(timeIntervalSince1970: 1_795_608_000)
            let audit = AuditEntry(actor: "ops", action: "kill.engage", target: "project/fraud", outcome: "engaged", detail: ["reason": "leak"])
            try await store.engageKillSwitch(StoredKillSwitch(scope: .project, target: "fraud", reason: "leak", engagedBy: "ops", since: since), audit: audit)
            try await store.engageKillSwitch(StoredKillSwitch(scope: .global, target: "", reason: "incident", engagedBy: "ops", since: since), audit: audit)
            try await store.engageKillSwitch(StoredKillSwitch(scope: .project, target: "fraud", reason: "still leaking", engagedBy: "sec", since: since), audit: audit)
            #expect(try await store.killSwitches() == [
                StoredKillSwitch(scope: .global, target: "", reason: "incident", engagedBy: "ops", since: since),
                StoredKillSwitch(scope: .project, target: "fraud", reason: "still leaking", engagedBy: "sec", since: since),
            ])
            let release = AuditEntry(actor: "ops", action: "kill.release", target: "project/fraud", outcome: "released")
            #expect(try await store.releaseKillSwitch(scope: .project, target: "fraud", audit: release))
            #expect(try await !store.releaseKillSwitch(scope: .project, target: "fraud", audit: release))
            #expect(try await store.killSwitches().map(\.scope) == [.global])
            #expect(try await store.auditTail(limit: 10).map(\.content.action) == ["kill.engage", "kill.engage", "kill.engage", "kill.release"])
        }
    }
}
