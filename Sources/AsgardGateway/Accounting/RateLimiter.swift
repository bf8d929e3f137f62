import Synchronization

/// Whether a request may go ahead under its key's rate limit.
public enum RateDecision: Sendable, Hashable {
    case allowed
    /// Refused; the earliest retry that can succeed is this many whole seconds away (at least 1),
    /// the value of the HTTP 429 answer's `Retry-After` header.
    case limited(retryAfterSeconds: Int)

    /// True for `.allowed`.
    public var isAllowed: Bool { self == .allowed }
}

/// Requests-per-minute limits per key, as an exact sliding window.
///
/// A request is allowed if fewer than `limit` requests were allowed for the key in the 60 seconds
/// before it, so *no* 60-second window ever holds more than `limit` allowed requests (a token
/// bucket or fixed windows would let up to twice that through at a boundary). Refused requests
/// do not count.
///
/// Per key the limiter keeps the instants of the last `limit` allowed requests in a ring buffer.
/// The oldest of them decides: if it is at least 60 s old, the request is allowed and takes its
/// slot. Each call is O(1), and a key's memory is bounded by its limit (16 bytes per allowed
/// request per minute; a key with a 600 rpm limit holds under 10 kB). Keys idle for a minute hold
/// no information and are dropped by `prune(now:)`, which the server calls periodically.
///
/// Time is injected as `ContinuousClock.Instant` (monotonic: a wall-clock step cannot open or
/// close windows), so tests drive it deterministically.
///
/// A *leased* limiter (several replicas sharing a store, `RateShareStore`) allows a key's
/// requests only out of the share of its limit this replica holds (`setShare`), and only while
/// that share is trusted (renewed recently enough): a key's window is then as large as the
/// smaller of its limit and its share. A refusal for want of share (`isShort`) is the cue to grow it.
public final class RateLimiter: Sendable {
    /// The window length.
    public static let window: Duration = .seconds(60)

    struct Window {
        /// Instants of recent allowed requests; when full (`count == limit`), `oldest` indexes the
        /// earliest and the others follow it circularly.
        var stamps: [ContinuousClock.Instant] = []
        var oldest = 0
        var limit = 0

        mutating func acquire(limit: Int, now: ContinuousClock.Instant) -> RateDecision {
            if limit != self.limit { resize(to: limit) }
            guard limit > 0 else { return .limited(retryAfterSeconds: 60) }
            if stamps.count < limit {
                stamps.append(now)
                return .allowed
            }
            let freeAt = stamps[oldest] + RateLimiter.window
            guard freeAt <= now else { return .limited(retryAfterSeconds: Self.wholeSeconds(now.duration(to: freeAt))) }
            stamps[oldest] = now
            oldest = (oldest + 1) % limit
            return .allowed
        }

        /// Keeps the most recent `min(count, limit)` instants in order when a key's limit changes.
        mutating func resize(to newLimit: Int) {
            let ordered = Array(stamps[oldest...] + stamps[..<oldest])
            stamps = Array(ordered.suffix(max(newLimit, 0)))
            oldest = 0
            limit = newLimit
        }

        /// How many allowed requests are less than 60 s before `now`.
        func inWindow(now: ContinuousClock.Instant) -> Int {
            stamps.reduce(0) { $0 + ($1 + RateLimiter.window > now ? 1 : 0) }
        }

        /// The newest allowed request, if any.
        var newest: ContinuousClock.Instant? {
            guard !stamps.isEmpty else { return nil }
            return stamps.count < limit ? stamps.last : stamps[(oldest + stamps.count - 1) % stamps.count]
        }

        /// A positive duration rounded up to whole seconds, at least 1.
        static func wholeSeconds(_ duration: Duration) -> Int {
            let (seconds, attoseconds) = duration.components
            return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
        }
    }

    /// This replica's share of a key's limit, and until when it may use it.
    public struct Share: Sendable, Hashable {
        public var slots: Int
        public var trustedUntil: ContinuousClock.Instant
        /// The key's limit when the store granted it: a share granted under a higher limit than
        /// the key has now is cut to what it used, then grown again under the new one.
        public var limit: Int

        public init(slots: Int, trustedUntil: ContinuousClock.Instant, limit: Int) {
            self.slots = slots
            self.trustedUntil = trustedUntil
            self.limit = limit
        }
    }

    struct State {
        var windows: [String: Window] = [:]
        /// nil unless leased; then a key without a share has none.
        var shares: [String: Share]?

        /// The most `key` may allow now: its limit, or the share of it this replica holds. A
        /// share granted under a higher limit is first cut to what it used in the last minute.
        mutating func cap(key: String, limit: Int, now: ContinuousClock.Instant) -> Int {
            guard shares != nil else { return limit }
            guard var share = shares?[key] else { return 0 }
            if share.limit > limit {
                share.slots = min(share.slots, windows[key]?.inWindow(now: now) ?? 0)
                share.limit = limit
                shares?[key] = share
            }
            return share.trustedUntil > now ? min(limit, share.slots) : 0
        }
    }

    let state: Mutex<State>

    /// A limiter with no history; `leased` when replicas share the limits through a store.
    public init(leased: Bool = false) {
        state = Mutex(State(shares: leased ? [:] : nil))
    }

    /// Whether requests are allowed only out of leased shares.
    public var isLeased: Bool { state.withLock { $0.shares != nil } }

    /// Counts a request for `key` against `limit` requests per minute, if it is allowed.
    ///
    /// A limit of zero or less refuses every request (with a retry after 60 s); a key without a
    /// configured limit should not be passed here at all. When a key's limit changes, its most
    /// recent requests still count against the new limit. A leased limiter refuses beyond this
    /// replica's trusted share (with a retry after 1 s when it holds none: another replica may
    /// give some back), and never forgets a request it allowed because a share shrank or lapsed.
    public func acquire(key: String, limit: Int, now: ContinuousClock.Instant) -> RateDecision {
        state.withLock { state in
            let cap = state.cap(key: key, limit: limit, now: now)
            guard cap > 0 || limit <= 0 else { return .limited(retryAfterSeconds: 1) }
            return state.windows[key, default: Window()].acquire(limit: cap, now: now)
        }
    }

    /// Whether `key`'s requests are held back by this replica's share rather than by the limit
    /// itself: the share (or its trust) falls short of `limit` and is used up.
    public func isShort(key: String, limit: Int, now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            let cap = state.cap(key: key, limit: limit, now: now)
            return cap < limit && (state.windows[key]?.inWindow(now: now) ?? 0) >= cap
        }
    }

    /// How many requests `key` allowed in the 60 s before `now`: the least its share may shrink to.
    public func used(key: String, now: ContinuousClock.Instant) -> Int {
        state.withLock { $0.windows[key]?.inWindow(now: now) ?? 0 }
    }

    /// Sets this replica's share of `key` (in a leased limiter; otherwise does nothing).
    public func setShare(key: String, _ share: Share) {
        state.withLock { state in
            if state.shares != nil { state.shares?[key] = share }
        }
    }

    /// Lowers `key`'s share to the requests it allowed in the last 60 s, at once (before the
    /// store hears of it, so nothing is allowed meanwhile out of slots being given back).
    /// - Returns: the share kept, or nil when there was nothing to give back.
    public func lowerShareToUse(key: String, now: ContinuousClock.Instant) -> Int? {
        state.withLock { state in
            guard let share = state.shares?[key] else { return nil }
            let used = state.windows[key]?.inWindow(now: now) ?? 0
            guard share.slots > used else { return nil }
            state.shares?[key]?.slots = used
            return used
        }
    }

    /// The newest request `key` allowed, if the limiter remembers one.
    public func newest(key: String) -> ContinuousClock.Instant? {
        state.withLock { $0.windows[key]?.newest }
    }

    /// The shares this replica holds, by key.
    public var shares: [String: Share] { state.withLock { $0.shares ?? [:] } }

    /// Forgets keys whose newest allowed request is at least 60 s before `now`: their next request
    /// is allowed in any case, so they need no memory.
    ///
    /// O(keys); the server calls it about once a minute, keeping memory proportional to the keys
    /// active in the last minute.
    public func prune(now: ContinuousClock.Instant) {
        state.withLock { state in
            state.windows = state.windows.filter { _, window in
                guard let newest = window.newest else { return false }
                return newest + Self.window > now
            }
        }
    }

    /// How many keys the limiter holds state for.
    public var trackedKeys: Int {
        state.withLock { $0.windows.count }
    }
}
