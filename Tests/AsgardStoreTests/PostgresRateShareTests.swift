import AsgardCore
import AsgardPostgres
import AsgardTestSupport
import Foundation
import Testing

/// Rate limits shared by replicas in PostgreSQL: the live shares of a key never add up to more
/// than its limit as the store holds it, and a holder that stops renewing loses its share only
/// once what it allowed has left every window.
@Suite struct PostgresRateShareTests {
    static func open(_ url: String, replica: String, lapse: Duration = RateShares.reclaimAfter) throws -> PostgresStore {
        try PostgresStore(
            url: try DatabaseURL(url + "?sslmode=disable&pool_size=4"), auditKey: testAuditKey, replica: replica, rateShareLapse: lapse)
    }

    /// Commits a project and its key with `limit` requests per minute.
    static func keyWithLimit(_ limit: Int?, in store: PostgresStore) async throws {
        var key = Fixture.key("k", project: "p")
        key.requestsPerMinute = limit
        try await store.commit(Fixture.put(.project(Fixture.project("p"))), audit: Fixture.audit())
        try await store.commit(Fixture.put(.key(key)), audit: Fixture.audit("reconcile.create", target: "Key/k"))
    }

    @Test func sharesGrownAtOnceByTwoHoldersNeverExceedTheLimit() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        // A key the store does not hold gets nothing.
        #expect(try await a.growRateShare(key: "k", holding: 0, want: 5) == RateShare(share: 0, others: 0, limit: nil))
        try await Self.keyWithLimit(40, in: a)
        // Each holder grows its own share one step after the other (as its keeper does), the
        // two holders at once.
        let shares = try await withThrowingTaskGroup(of: [RateShare].self) { group in
            for store in [a, b] {
                group.addTask {
                    var answers: [RateShare] = []
                    for _ in 0..<15 { answers.append(try await store.growRateShare(key: "k", holding: answers.last?.share ?? 0, want: 3)) }
                    return answers
                }
            }
            return try await group.reduce(into: [RateShare]()) { $0 += $1 }
        }
        let mineA = try await a.growRateShare(key: "k", holding: 40, want: 0)
        let mineB = try await b.growRateShare(key: "k", holding: 40, want: 0)
        #expect(mineA.share + mineB.share == 40 && mineA.others == mineB.share)
        // Giving back frees slots for the other holder; a share is never raised by a shrink.
        let kept = try await a.shrinkRateShare(key: "k", to: 5)
        #expect(kept.share == 5)
        #expect(try await a.shrinkRateShare(key: "k", to: 30).share == 5)
        let grown = try await b.growRateShare(key: "k", holding: mineB.share, want: 100)
        #expect(grown.share == 35 && grown.others == 5)
    }

    /// A holder that cut its share after the key's limit was lowered gets what the new limit
    /// leaves, not what it held under the old one.
    @Test func aLoweredLimitIsGrownUnderFromWhatTheHolderKept() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        try await Self.keyWithLimit(100, in: a)
        #expect(try await a.growRateShare(key: "k", holding: 0, want: 80).share == 80)
        try await Self.keyWithLimit(10, in: a)
        let cut = try await a.growRateShare(key: "k", holding: 3, want: 2)
        #expect(cut == RateShare(share: 5, others: 0, limit: 10))
        // Holding more than the store granted counts only what it granted.
        #expect(try await a.growRateShare(key: "k", holding: 50, want: 0).share == 5)
    }

    /// Shares lapse only after `rateShareLapse` without renewal (the lapse is the reclaiming
    /// holder's to apply); a renewal says which the holder still has, and a reclaimed one is not
    /// among them.
    @Test func anUnrenewedShareLapsesAndIsReclaimed() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        try await Self.keyWithLimit(10, in: a)
        #expect(try await a.growRateShare(key: "k", holding: 0, want: 10).share == 10)
        try await Task.sleep(for: .seconds(1.5))
        // Unrenewed for 1.5 s: another holder that lets a share lapse after a minute finds it
        // held; one that lets it lapse after a second reclaims it.
        let patient = try Self.open(url, replica: "b", lapse: .seconds(60))
        #expect(try await patient.growRateShare(key: "k", holding: 0, want: 10) == RateShare(share: 0, others: 10, limit: 10))
        #expect(try await a.renewRateShares() == ["k": 10])
        try await Task.sleep(for: .seconds(1.5))
        let hasty = try Self.open(url, replica: "c", lapse: .seconds(1))
        #expect(try await hasty.growRateShare(key: "k", holding: 0, want: 10) == RateShare(share: 10, others: 0, limit: 10))
        #expect(try await a.renewRateShares() == [:])
        // A restarted replica is a new holder: it does not renew what its earlier life held.
        let restarted = try Self.open(url, replica: "c")
        #expect(restarted.shareHolder != hasty.shareHolder && restarted.shareHolder.hasPrefix("c/"))
        #expect(try await restarted.renewRateShares() == [:])
    }
}
