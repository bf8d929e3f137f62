import AsgardGateway
import Testing

/// A leased rate limiter (replicas sharing limits): this replica allows only out of its trusted
/// share, and a share that shrinks, lapses or is cut for a lower limit never makes it forget a
/// request it allowed.
@Suite struct LeasedRateLimiterTests {
    let start = ContinuousClock.now

    func share(_ slots: Int, limit: Int = 100, trustedFor seconds: Int = 20) -> RateLimiter.Share {
        RateLimiter.Share(slots: slots, trustedUntil: start + .seconds(seconds), limit: limit)
    }

    @Test func withoutAShareNothingIsAllowedAndTheKeyIsShort() {
        let limiter = RateLimiter(leased: true)
        #expect(limiter.acquire(key: "k", limit: 100, now: start) == .limited(retryAfterSeconds: 1))
        #expect(limiter.isShort(key: "k", limit: 100, now: start))
        #expect(limiter.used(key: "k", now: start) == 0)
    }

    @Test func theShareIsTheWindowUntilItReachesTheLimit() {
        let limiter = RateLimiter(leased: true)
        limiter.setShare(key: "k", share(3))
        let decisions = (0..<4).map { limiter.acquire(key: "k", limit: 100, now: start + .milliseconds($0)) }
        #expect(decisions.filter(\.isAllowed).count == 3)
        #expect(limiter.isShort(key: "k", limit: 100, now: start + .seconds(1)))
        // A share beyond the limit: the limit holds, and the key is not short of share.
        limiter.setShare(key: "k", share(10))
        #expect(limiter.acquire(key: "k", limit: 3, now: start + .seconds(1)) != .allowed)
        #expect(!limiter.isShort(key: "k", limit: 3, now: start + .seconds(1)))
    }

    /// A lapsed share allows nothing, and what it allowed still counts once it is trusted again.
    @Test func aLapsedShareAllowsNothingAndForgetsNothing() {
        let limiter = RateLimiter(leased: true)
        limiter.setShare(key: "k", share(5, trustedFor: 10))
        for second in 0..<3 { #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(second)).isAllowed) }
        #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(11)) == .limited(retryAfterSeconds: 1))
        #expect(limiter.isShort(key: "k", limit: 100, now: start + .seconds(11)))
        // Renewed: the same share, trusted again.
        limiter.setShare(key: "k", share(5, trustedFor: 40))
        let again = (12..<20).map { limiter.acquire(key: "k", limit: 100, now: start + .seconds($0)) }
        #expect(again.filter(\.isAllowed).count == 2)
        #expect(limiter.used(key: "k", now: start + .seconds(20)) == 5)
    }

    /// Giving back never goes below what the last minute used; a later share counts those too.
    @Test func aShareIsLoweredToWhatTheLastMinuteUsed() {
        let limiter = RateLimiter(leased: true)
        limiter.setShare(key: "k", share(10, trustedFor: 300))
        for second in 0..<4 { #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(second * 20)).isAllowed) }
        // At 70 s the requests at 20, 40 and 60 s are in the window; the one at 0 s is not.
        #expect(limiter.lowerShareToUse(key: "k", now: start + .seconds(70)) == 3)
        #expect(limiter.shares["k"]?.slots == 3)
        #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(70)) != .allowed)
        #expect(limiter.lowerShareToUse(key: "k", now: start + .seconds(70)) == nil)
        // At 81 s the one at 20 s has left the window: one slot again.
        #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(81)).isAllowed)
        #expect(limiter.acquire(key: "k", limit: 100, now: start + .seconds(82)) != .allowed)
    }

    /// A share granted under a higher limit is cut to what it used when the limit drops, so the
    /// replica asks again under the new limit rather than allowing up to it out of the old share.
    @Test func aLowerLimitCutsAShareGrantedUnderTheOldOne() {
        let limiter = RateLimiter(leased: true)
        limiter.setShare(key: "k", share(50, limit: 100))
        for index in 0..<4 { #expect(limiter.acquire(key: "k", limit: 100, now: start + .milliseconds(index)).isAllowed) }
        #expect(limiter.acquire(key: "k", limit: 20, now: start + .seconds(1)) == .limited(retryAfterSeconds: 59))
        #expect(limiter.shares["k"]?.slots == 4 && limiter.shares["k"]?.limit == 20)
        #expect(limiter.isShort(key: "k", limit: 20, now: start + .seconds(1)))
    }

    @Test func anUnleasedLimiterIgnoresShares() {
        let limiter = RateLimiter()
        limiter.setShare(key: "k", share(1))
        #expect(!limiter.isLeased && limiter.shares.isEmpty)
        #expect((0..<3).allSatisfy { limiter.acquire(key: "k", limit: 3, now: start + .milliseconds($0)).isAllowed })
        #expect(!limiter.isShort(key: "k", limit: 3, now: start))
    }
}
