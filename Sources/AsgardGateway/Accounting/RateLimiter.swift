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

    let windows = Mutex<[String: Window]>([:])

    /// A limiter with no history.
    public init() {}

    /// Counts a request for `key` against `limit` requests per minute, if it is allowed.
    ///
    /// A limit of zero or less refuses every request (with a retry after 60 s); a key without a
    /// configured limit should not be passed here at all. When a key's limit changes, its most
    /// recent requests still count against the new limit.
    public func acquire(key: String, limit: Int, now: ContinuousClock.Instant) -> RateDecision {
        windows.withLock { $0[key, default: Window()].acquire(limit: limit, now: now) }
    }

    /// Forgets keys whose newest allowed request is at least 60 s before `now`: their next request
    /// is allowed in any case, so they need no memory.
    ///
    /// O(keys); the server calls it about once a minute, keeping memory proportional to the keys
    /// active in the last minute.
    public func prune(now: ContinuousClock.Instant) {
        windows.withLock { windows in
            windows = windows.filter { _, window in
                guard let newest = window.newest else { return false }
                return newest + Self.window > now
            }
        }
    }

    /// How many keys the limiter holds state for.
    public var trackedKeys: Int {
        windows.withLock { $0.count }
    }
}
