import AsgardTestSupport
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct RateLimiterTests {
    /// A fixed origin; every test instant is an offset from it, so runs are deterministic.
    static let t0 = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64((seconds * 1_000).rounded())) }

    @Test(arguments: [1, 3, 10, 60, 600])
    func exactlyTheLimitPerWindow(limit: Int) {
        let limiter = RateLimiter()
        for i in 0..<limit {
            #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(Double(i) * 0.001)) == .allowed)
        }
        // The window is full until the first request is 60 s old.
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(Double(limit) * 0.001)) == .limited(retryAfterSeconds: 60))
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(59.5)) == .limited(retryAfterSeconds: 1))
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(60)) == .allowed)
        // One slot came back, and it is taken: the next frees when the request at 0.001 s is 60 s
        // old (with a limit of 1, when the one just allowed is).
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(60)) == .limited(retryAfterSeconds: limit > 1 ? 1 : 60))
        // After a full quiet minute the whole limit is available again.
        for i in 0..<limit {
            #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(200 + Double(i) * 0.001)) == .allowed)
        }
        #expect(!limiter.acquire(key: "k", limit: limit, now: Self.at(201 + Double(limit) * 0.001)).isAllowed)
    }

    @Test func retryAfterIsWhenTheOldestRequestLeavesTheWindow() {
        let limiter = RateLimiter()
        for t in [0.0, 10, 20] { #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(t)) == .allowed) }
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(30)) == .limited(retryAfterSeconds: 30))
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(45.2)) == .limited(retryAfterSeconds: 15))
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(60)) == .allowed)
        // Now 10 s (the request at 10) is the oldest: free at 70.
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(65)) == .limited(retryAfterSeconds: 5))
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(69.999)) == .limited(retryAfterSeconds: 1))
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(70)) == .allowed)
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(80)) == .allowed)
        // The window [21, 81) holds 60, 70, 80.
        #expect(limiter.acquire(key: "k", limit: 3, now: Self.at(81)) == .limited(retryAfterSeconds: 39))
    }

    @Test func refusedRequestsDoNotCount() {
        let limiter = RateLimiter()
        #expect(limiter.acquire(key: "k", limit: 1, now: Self.at(0)) == .allowed)
        for t in stride(from: 1.0, to: 60, by: 1) { #expect(!limiter.acquire(key: "k", limit: 1, now: Self.at(t)).isAllowed) }
        #expect(limiter.acquire(key: "k", limit: 1, now: Self.at(60)) == .allowed)
    }

    @Test func keysAreIndependent() {
        let limiter = RateLimiter()
        #expect(limiter.acquire(key: "a", limit: 2, now: Self.at(0)) == .allowed)
        #expect(limiter.acquire(key: "a", limit: 2, now: Self.at(0)) == .allowed)
        #expect(!limiter.acquire(key: "a", limit: 2, now: Self.at(0)).isAllowed)
        #expect(limiter.acquire(key: "b", limit: 2, now: Self.at(0)) == .allowed)
        #expect(limiter.acquire(key: "b", limit: 2, now: Self.at(1)) == .allowed)
        #expect(limiter.acquire(key: "b", limit: 2, now: Self.at(2)) == .limited(retryAfterSeconds: 58))
        #expect(limiter.acquire(key: "a", limit: 2, now: Self.at(2)) == .limited(retryAfterSeconds: 58))
    }

    @Test(arguments: [0, -1])
    func nonPositiveLimitRefusesEverything(limit: Int) {
        let limiter = RateLimiter()
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(0)) == .limited(retryAfterSeconds: 60))
        #expect(limiter.acquire(key: "k", limit: limit, now: Self.at(1_000)) == .limited(retryAfterSeconds: 60))
    }

    @Test func changingALimitKeepsTheRecentRequests() {
        let limiter = RateLimiter()
        for t in [0.0, 1, 2, 3] { #expect(limiter.acquire(key: "k", limit: 5, now: Self.at(t)) == .allowed) }
        // Lowered to 2: the four recent requests already exceed it; the 2 newest (2 and 3) are kept.
        #expect(limiter.acquire(key: "k", limit: 2, now: Self.at(4)) == .limited(retryAfterSeconds: 58))
        #expect(limiter.acquire(key: "k", limit: 2, now: Self.at(62)) == .allowed)
        // Raised to 4: 3 and 62 are in the window, so two more fit.
        #expect(limiter.acquire(key: "k", limit: 4, now: Self.at(62.5)) == .allowed)
        #expect(limiter.acquire(key: "k", limit: 4, now: Self.at(62.6)) == .allowed)
        #expect(limiter.acquire(key: "k", limit: 4, now: Self.at(62.7)) == .limited(retryAfterSeconds: 1))
        #expect(limiter.acquire(key: "k", limit: 4, now: Self.at(63)) == .allowed)
    }

    @Test func pruneForgetsOnlyKeysIdleForAMinute() {
        let limiter = RateLimiter()
        _ = limiter.acquire(key: "old", limit: 2, now: Self.at(0))
        _ = limiter.acquire(key: "recent", limit: 2, now: Self.at(30))
        _ = limiter.acquire(key: "full", limit: 1, now: Self.at(20))
        _ = limiter.acquire(key: "zero", limit: 0, now: Self.at(40))
        #expect(limiter.trackedKeys == 4)
        limiter.prune(now: Self.at(70))
        #expect(limiter.trackedKeys == 2)
        // "full" still remembers its request at 20: pruning must not have lost it.
        #expect(limiter.acquire(key: "full", limit: 1, now: Self.at(70)) == .limited(retryAfterSeconds: 10))
        limiter.prune(now: Self.at(200))
        #expect(limiter.trackedKeys == 0)
    }

    /// Against a brute-force model that keeps every allowed instant: the same decisions and the
    /// same Retry-After on random request times, and no 60 s window with more than `limit`.
    @Test func matchesABruteForceSlidingWindow() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let limiter = RateLimiter()
            let limit = Int.random(in: 1...8, using: &rng)
            var now: Int64 = 0  // milliseconds
            var allowed: [Int64] = []
            for _ in 0..<300 {
                now += Int64.random(in: 0...(Bool.random(using: &rng) ? 3_000 : 25_000), using: &rng)
                let inWindow = allowed.filter { $0 > now - 60_000 }
                let expected: RateDecision =
                    inWindow.count < limit
                    ? .allowed : .limited(retryAfterSeconds: Int((inWindow[inWindow.count - limit] + 60_000 - now + 999) / 1_000))
                let decision = limiter.acquire(key: "k", limit: limit, now: Self.t0 + .milliseconds(now))
                #expect(decision == expected)
                if decision == .allowed { allowed.append(now) }
            }
            for (i, start) in allowed.enumerated() {
                #expect(allowed[i...].prefix { $0 < start + 60_000 }.count <= limit)
            }
        }
    }

    @Test func concurrentCallersGetExactlyTheLimit() async {
        let limiter = RateLimiter()
        let now = Self.at(0)
        let allowed = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var allowed = 0
                    for i in 0..<200 {
                        // Two keys shared by all tasks.
                        if limiter.acquire(key: i % 2 == 0 ? "even" : "odd", limit: 150, now: now).isAllowed { allowed += 1 }
                        if i % 16 == task { await Task.yield() }
                    }
                    return allowed
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 300)
        #expect(limiter.acquire(key: "even", limit: 150, now: Self.at(59)) == .limited(retryAfterSeconds: 1))
        #expect(limiter.acquire(key: "odd", limit: 150, now: Self.at(60)) == .allowed)
    }
}
