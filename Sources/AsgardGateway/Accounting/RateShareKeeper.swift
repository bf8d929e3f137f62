public import AsgardCore
import Synchronization

/// Keeps this replica's shares of rate limits shared with other replicas (`RateShareStore`):
/// grows a key's share when its requests run short of it, renews every share as a heartbeat,
/// gives back what an idle key does not use, and everything unused at shutdown.
///
/// Every trip to the store runs one after the other, so the answers are applied to the
/// limiter in the order the store gave them. A share is lowered in the limiter before the store
/// hears of it, and raised only after the store granted it: the limiter never allows out of a
/// slot the store does not count as this replica's.
public final class RateShareKeeper: Sendable {
    public let store: any RateShareStore
    let limiter: RateLimiter
    private let trips = StoreTrips()
    private let failure = Mutex<String?>(nil)

    public init(store: any RateShareStore, limiter: RateLimiter) {
        self.store = store
        self.limiter = limiter
    }

    /// The part of a key's limit a share grows by at least.
    public static let sliceDivisor = 10

    /// Grows `key`'s share after a request was refused for want of it.
    /// - Returns: whether the request may be tried again: the share grew, or is no longer short
    ///   (another request grew it, or the grow renewed a share whose trust had lapsed); false when
    ///   the store had nothing left or could not be reached (`lastFailure`).
    public func grow(key: String, limit: Int) async -> Bool {
        await trips.shared(key) { await self.growOnce(key: key, limit: limit) }
    }

    private func growOnce(key: String, limit: Int) async -> Bool {
        (try? await trips.serially {
            guard self.limiter.isShort(key: key, limit: limit, now: .now) else { return true }
            let before = self.limiter.shares[key]?.slots ?? 0
            let sent = ContinuousClock.now
            do {
                let share = try await self.store.growRateShare(key: key, holding: before, want: max(1, limit / Self.sliceDivisor))
                self.limiter.setShare(key: key, .init(slots: share.share, trustedUntil: sent + RateShares.trustFor, limit: share.limit ?? 0))
                self.failure.withLock { $0 = nil }
                // More slots, or the same ones trusted again (a lapsed share, renewed by the grow).
                return share.share > before || !self.limiter.isShort(key: key, limit: limit, now: .now)
            } catch {
                self.failure.withLock { $0 = "growing the rate share of key \(key) failed: \(error)" }
                return false
            }
        }) ?? false
    }

    /// Renews every share this replica holds; a share the store no longer has is dropped.
    public func renew() async {
        _ = try? await trips.serially {
            let sent = ContinuousClock.now
            do {
                let renewed = try await self.store.renewRateShares()
                for (key, local) in self.limiter.shares {
                    let slots = min(local.slots, renewed[key] ?? 0)
                    self.limiter.setShare(
                        key: key, .init(slots: slots, trustedUntil: max(local.trustedUntil, sent + RateShares.trustFor), limit: local.limit))
                }
                self.failure.withLock { $0 = nil }
            } catch {
                self.failure.withLock { $0 = "renewing the rate shares failed: \(error)" }
            }
        }
    }

    /// Gives back, for every key with no request allowed in the last `idleFor`, what its share
    /// holds beyond the requests it allowed in the last minute.
    public func trimIdle(idleFor: Duration) async {
        let now = ContinuousClock.now
        for key in limiter.shares.keys where limiter.newest(key: key).map({ now - $0 >= idleFor }) ?? true {
            await giveBack(key: key, now: now)
        }
    }

    /// Gives back everything each share holds beyond the requests it allowed in the last minute
    /// (at shutdown, once no more requests come in). `now` is when "the last minute" ends.
    public func returnAll(now: ContinuousClock.Instant = .now) async {
        for key in limiter.shares.keys { await giveBack(key: key, now: now) }
    }

    private func giveBack(key: String, now: ContinuousClock.Instant) async {
        guard let keep = limiter.lowerShareToUse(key: key, now: now) else { return }
        _ = try? await trips.serially {
            do {
                let share = try await self.store.shrinkRateShare(key: key, to: keep)
                if let local = self.limiter.shares[key], share.share < local.slots {
                    self.limiter.setShare(key: key, .init(slots: share.share, trustedUntil: local.trustedUntil, limit: local.limit))
                }
                self.failure.withLock { $0 = nil }
            } catch {
                self.failure.withLock { $0 = "giving back the rate share of key \(key) failed: \(error)" }
            }
        }
    }

    /// Why the last trip to the store failed, until one succeeds (`/healthz` shows it).
    public var lastFailure: String? { failure.withLock { $0 } }
}
