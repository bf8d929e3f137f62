/// A store that several replicas share, each allowing a key's requests only out of a share of
/// its requests-per-minute limit that it holds in the store. The shares of every live holder
/// together never exceed the limit, and a holder never gives back a slot it used in the last
/// minute, so no 60-second window holds more than the limit's requests across every replica,
/// while each replica checks a call against its own share in memory.
///
/// A holder is one process (a replica's name and a token of its start): a replica that restarts
/// under the same name does not know what it allowed before, so its old shares are left to
/// lapse. Shares lapse `RateShares.reclaimAfter` after their holder last renewed them; a holder
/// renews every `RateShares.renewEvery` and stops using its shares once `RateShares.trustFor`
/// has passed since it last renewed them. The two differ by the window: a holder that stopped
/// renewing (dead, or cut off from the store) allows nothing more once `trustFor` has passed,
/// and what it allowed before leaves every window a minute later, before another holder can
/// reclaim the slots.
public protocol RateShareStore: Sendable {
    /// This process's name as a holder of shares.
    var shareHolder: String { get }

    /// Sets this holder's share of `key`'s limit to `holding` (what it holds and may have used)
    /// plus up to `want` slots: as many as the limit, less the live shares of every other holder,
    /// leaves, and never less than `holding`. The limit is the applied key's, as the store holds
    /// it, never a replica's own view; a key the store does not hold, or holds without a limit,
    /// gets nothing more. Renews the share. Atomic across replicas.
    ///
    /// `holding` may be less than the store has for this holder: a replica that saw the key's
    /// limit lowered cuts its share to what it used, and asks again under the new limit.
    func growRateShare(key: String, holding: Int, want: Int) async throws -> RateShare

    /// Lowers this holder's share of `key` to `keep` (never raises it), giving the rest back.
    @discardableResult
    func shrinkRateShare(key: String, to keep: Int) async throws -> RateShare

    /// Renews every share this holder still has (a heartbeat).
    /// - Returns: those shares by key; a share the store no longer has (another holder reclaimed
    ///   it after it lapsed) is not among them, and must not be used.
    func renewRateShares() async throws -> [String: Int]
}

/// One holder's share of a key's requests-per-minute limit.
public struct RateShare: Sendable, Hashable {
    /// How many requests this holder may allow in any 60 seconds.
    public var share: Int
    /// What the other live holders hold.
    public var others: Int
    /// The key's limit as the store holds it (nil when the answer did not read it, or the key
    /// has none).
    public var limit: Int?

    public init(share: Int, others: Int, limit: Int? = nil) {
        self.share = share
        self.others = others
        self.limit = limit
    }
}

/// The timing of rate shares (see `RateShareStore`).
public enum RateShares {
    /// How often a holder renews its shares.
    public static let renewEvery: Duration = .seconds(5)
    /// How long after its last renewal was sent a holder still uses its shares.
    public static let trustFor: Duration = .seconds(20)
    /// How long after a share's last renewal the store lets other holders reclaim it: `trustFor`
    /// plus the 60-second window, plus a margin for the clocks of replica and database.
    public static let reclaimAfter: Duration = .seconds(90)
}
