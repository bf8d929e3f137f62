import AsgardCore
import Synchronization
import Testing

@testable import AsgardGateway

/// The keeper of this replica's shares of rate limits: what it asks the store for, and what it
/// lets the limiter use meanwhile.
@Suite struct RateShareKeeperTests {
    /// Shares of one key with a limit of 10, as a store keeps them, in memory.
    final class Shares: RateShareStore {
        let shareHolder = "me"
        struct State {
            var mine = 0
            var others = 0
            var down = false
            /// A shrink takes this long to reach the store.
            var shrinkDelay: Duration = .zero
        }
        let state: Mutex<State>
        let limit = 10

        init(mine: Int = 0, others: Int = 0) { state = Mutex(State(mine: mine, others: others)) }

        func growRateShare(key: String, holding: Int, want: Int) async throws -> RateShare {
            try state.withLock { state in
                guard !state.down else { throw Unreachable() }
                let holding = min(holding, state.mine)
                state.mine = max(holding, min(holding + want, limit - state.others))
                return RateShare(share: state.mine, others: state.others, limit: limit)
            }
        }

        func shrinkRateShare(key: String, to keep: Int) async throws -> RateShare {
            try await Task.sleep(for: state.withLock { $0.shrinkDelay })
            return state.withLock { state in
                state.mine = min(state.mine, max(0, keep))
                return RateShare(share: state.mine, others: state.others)
            }
        }

        func renewRateShares() async throws -> [String: Int] {
            try state.withLock { state in
                guard !state.down else { throw Unreachable() }
                return state.mine > 0 ? ["k": state.mine] : [:]
            }
        }
    }

    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "the store cannot be reached" }
    }

    /// A share whose trust lapsed (renewals failed) is trusted again by a grow that renews it,
    /// even when no slot is left to add: the request goes through.
    @Test func aLapsedShareRenewedByAGrowServesAgain() async {
        let limiter = RateLimiter(leased: true)
        let store = Shares(mine: 5, others: 5)
        let keeper = RateShareKeeper(store: store, limiter: limiter)
        limiter.setShare(key: "k", RateLimiter.Share(slots: 5, trustedUntil: .now - .seconds(1), limit: 10))
        #expect(limiter.acquire(key: "k", limit: 10, now: .now) == .limited(retryAfterSeconds: 1))
        #expect(await keeper.grow(key: "k", limit: 10))
        #expect(limiter.acquire(key: "k", limit: 10, now: .now).isAllowed)
        // Its five slots used, with the other five held elsewhere: nothing more to grow.
        for _ in 0..<4 { #expect(limiter.acquire(key: "k", limit: 10, now: .now).isAllowed) }
        #expect(await keeper.grow(key: "k", limit: 10) == false)
        #expect(limiter.acquire(key: "k", limit: 10, now: .now) != .allowed)
    }

    /// A store that cannot be reached grows nothing and says so until a trip succeeds; a
    /// renewal that finds a share gone (reclaimed by another holder) drops it.
    @Test func anUnreachableStoreIsReportedAndAReclaimedShareIsDropped() async {
        let limiter = RateLimiter(leased: true)
        let store = Shares()
        let keeper = RateShareKeeper(store: store, limiter: limiter)
        store.state.withLock { $0.down = true }
        #expect(await keeper.grow(key: "k", limit: 10) == false)
        #expect(keeper.lastFailure == "growing the rate share of key k failed: the store cannot be reached")
        store.state.withLock { $0.down = false }
        #expect(await keeper.grow(key: "k", limit: 10))
        #expect(keeper.lastFailure == nil && limiter.shares["k"]?.slots == 1)
        store.state.withLock { $0.mine = 0 }
        await keeper.renew()
        #expect(limiter.shares["k"]?.slots == 0)
        #expect(limiter.acquire(key: "k", limit: 10, now: .now) != .allowed)
    }

    /// Slots being given back are out of use the moment the give-back starts: the store may hand
    /// them to another replica as soon as it has them.
    @Test func nothingIsAllowedOutOfSlotsBeingGivenBack() async throws {
        let limiter = RateLimiter(leased: true)
        let store = Shares(mine: 5)
        let keeper = RateShareKeeper(store: store, limiter: limiter)
        limiter.setShare(key: "k", RateLimiter.Share(slots: 5, trustedUntil: .now + .seconds(20), limit: 10))
        // The give-back counts the request as in use within its minute whenever it runs: on a
        // starved CI machine this test once took 104 s, and the request had left the window.
        let allowedAt = ContinuousClock.now
        #expect(limiter.acquire(key: "k", limit: 10, now: allowedAt).isAllowed)
        store.state.withLock { $0.shrinkDelay = .milliseconds(200) }
        let givingBack = Task { await keeper.returnAll(now: allowedAt) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(limiter.acquire(key: "k", limit: 10, now: allowedAt) != .allowed)
        await givingBack.value
        #expect(store.state.withLock { $0.mine } == 1 && limiter.shares["k"]?.slots == 1)
    }
}
