import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite struct CallRecorderTests {
    static func entry(_ n: Int) -> LedgerEntry {
        LedgerEntry(requestID: "r\(n)", time: Date(timeIntervalSince1970: 1_795_608_000), project: "p", keyID: "k", vendor: "v",
                    model: "v/m", upstream: "u", promptTokens: 1, completionTokens: 1, cost: MicroDollars(1),
                    latencyMicroseconds: 1, status: "ok", estimated: false)
    }

    /// Every call returns only once its rows are committed, and concurrent calls share transactions.
    @Test func concurrentCallsAreDurableWhenTheyReturn() async throws {
        let root = try makeTemporaryDirectory("recorder")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        let recorder = CallRecorder(store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await recorder.run() }
            try await withThrowingTaskGroup(of: Void.self) { calls in
                for n in 0..<500 {
                    calls.addTask {
                        try await recorder.record(ledger: Self.entry(n), audit: AuditEntry(actor: "k", action: "gateway.invoke", target: "v/m", outcome: "allowed", detail: ["n": String(n)]))
                        // Durable on return: the row is readable now.
                        let rows = try await store.ledger(project: "p", from: .distantPast, to: .distantFuture)
                        #expect(rows.contains { $0.requestID == "r\(n)" })
                    }
                }
                try await calls.waitForAll()
            }
            group.cancelAll()
        }
        let summary = try await store.summary()
        #expect(summary.ledgerRows == 500 && summary.auditEntries == 500)
        guard case .intact(let count, _) = try await store.verifyAudit() else { Issue.record("audit chain broken"); return }
        #expect(count == 500)
    }

    @Test func aFailedBatchFailsEveryCallInIt() async throws {
        let root = try makeTemporaryDirectory("recorder-fail")
        let store = try SQLiteStore(path: root + "/asgard.sqlite")
        try await store.appendLedger([Self.entry(1)])
        let recorder = CallRecorder(store: store)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await recorder.run() }
            // A duplicate request id makes the transaction fail: the caller hears of it.
            await #expect(throws: (any Error).self) {
                try await recorder.record(ledger: Self.entry(1), audit: AuditEntry(actor: "k", action: "a", target: nil, outcome: "o"))
            }
            group.cancelAll()
        }
        #expect(try await store.summary().auditEntries == 0)
    }
}
