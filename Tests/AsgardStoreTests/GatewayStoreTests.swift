import AsgardCore
import AsgardStore
import Foundation
import Testing

@Suite("Gateway tables: calls, spend, usage, kill switches")
struct GatewayStoreTests {
    static func call(
        _ id: String, project: String = "fraud", day: Int, model: String = "databricks/llama-3-3-70b",
        cost: Int64, estimated: Bool = false
    ) -> LedgerEntry {
        // Day 0 is 2026-11-25T12:00:00Z.
        LedgerEntry(
            requestID: id, time: Date(timeIntervalSince1970: 1_795_608_000 + Double(day) * 86_400), project: project,
            keyID: "k", vendor: "databricks", model: model, upstream: "u", promptTokens: 10, completionTokens: 5,
            cost: MicroDollars(cost), latencyMicroseconds: 1_000, status: "ok", estimated: estimated)
    }

    @Test(
        "ingest copies calls, ledger rows and audit entries together at the calls' times, with the journal position",
        arguments: StoreFactory.all)
    func ingestCopiesCallsTogether(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            #expect(try store.journalPosition() == nil)
            let audit = (1...3).map {
                AuditEntry(
                    actor: "k", action: "gateway.invoke", target: "databricks/llama-3-3-70b", outcome: "allowed", detail: ["request_id": "r\($0)"])
            }
            let calls = [
                RecordedCall(time: Self.call("r1", day: 0, cost: 10).time, ledger: Self.call("r1", day: 0, cost: 10), audit: audit[0]),
                RecordedCall(time: Self.call("r2", day: 1, cost: 20).time, ledger: Self.call("r2", day: 1, cost: 20), audit: audit[1]),
                // A refused call: an audit entry and no ledger row.
                RecordedCall(time: Self.call("r3", day: 2, cost: 0).time, ledger: nil, audit: audit[2]),
            ]
            try store.ingest(calls, through: JournalPosition(segment: 1, offset: 300))
            #expect(try store.journalPosition() == JournalPosition(segment: 1, offset: 300))
            #expect(try await store.summary().ledgerRows == 2)
            let tail = try await store.auditTail(limit: 10)
            #expect(tail.map(\.content.detail) == ["{\"request_id\":\"r1\"}", "{\"request_id\":\"r2\"}", "{\"request_id\":\"r3\"}"])
            #expect(tail.map(\.content.time) == ["2026-11-25T12:00:00.000Z", "2026-11-26T12:00:00.000Z", "2026-11-27T12:00:00.000Z"])
            // A duplicate request id fails the whole batch: no ledger row, audit entry or position lands.
            #expect(throws: (any Error).self) {
                try store.ingest(
                    [
                        RecordedCall(time: calls[0].time, ledger: Self.call("r4", day: 0, cost: 1), audit: audit[0]),
                        RecordedCall(time: calls[0].time, ledger: Self.call("r1", day: 0, cost: 1), audit: audit[0]),
                    ],
                    through: JournalPosition(segment: 1, offset: 400))
            }
            let summary = try await store.summary()
            #expect(summary.ledgerRows == 2 && summary.auditEntries == 3)
            #expect(try store.journalPosition() == JournalPosition(segment: 1, offset: 300))
            #expect(try await store.verifyAudit() == .intact(count: 3, head: try await store.auditTail(limit: 1)[0].hash))
            #expect(try reopen().journalPosition() == JournalPosition(segment: 1, offset: 300))
            #expect(try store.makeDurable())
        }
    }

    @Test("spend sums a project's costs in a time range; usage groups by UTC day and model", arguments: StoreFactory.all)
    func spendAndUsage(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            try ingest(
                store,
                [
                    Self.call("a", day: 0, cost: 100), Self.call("b", day: 0, cost: 250, estimated: true),
                    Self.call("c", day: 0, model: "openai/gpt-4o-mini", cost: 7), Self.call("d", day: 1, cost: 1_000),
                    Self.call("e", project: "other", day: 0, cost: 99_999),
                ])
            let from = Date(timeIntervalSince1970: 1_795_564_800)  // 2026-11-25T00:00:00Z
            #expect(try await store.spend(project: "fraud", from: from, to: from.addingTimeInterval(86_400)) == MicroDollars(357))
            #expect(try await store.spend(project: "fraud", from: from, to: from.addingTimeInterval(2 * 86_400)) == MicroDollars(1_357))
            #expect(
                try await store.usage(project: "fraud", from: from, to: from.addingTimeInterval(2 * 86_400)) == [
                    UsageRow(
                        day: "2026-11-25", model: "databricks/llama-3-3-70b", calls: 2, promptTokens: 20, completionTokens: 10,
                        cost: MicroDollars(350), estimatedCalls: 1),
                    UsageRow(
                        day: "2026-11-25", model: "openai/gpt-4o-mini", calls: 1, promptTokens: 10, completionTokens: 5, cost: MicroDollars(7),
                        estimatedCalls: 0),
                    UsageRow(
                        day: "2026-11-26", model: "databricks/llama-3-3-70b", calls: 1, promptTokens: 10, completionTokens: 5,
                        cost: MicroDollars(1_000), estimatedCalls: 0),
                ])
        }
    }

    @Test("kill switches engage, re-engage and release, each audited", arguments: StoreFactory.all)
    func killSwitches(factory: StoreFactory) async throws {
        try await withStore(factory) { store, reopen in
            let since = Date(timeIntervalSince1970: 1_795_608_000)
            let audit = AuditEntry(actor: "ops", action: "kill.engage", target: "project/fraud", outcome: "engaged", detail: ["reason": "leak"])
            try await store.engageKillSwitch(
                StoredKillSwitch(scope: .project, target: "fraud", reason: "leak", engagedBy: "ops", since: since), audit: audit)
            try await store.engageKillSwitch(
                StoredKillSwitch(scope: .global, target: "", reason: "incident", engagedBy: "ops", since: since), audit: audit)
            try await store.engageKillSwitch(
                StoredKillSwitch(scope: .project, target: "fraud", reason: "still leaking", engagedBy: "sec", since: since), audit: audit)
            #expect(
                try await store.killSwitches() == [
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
