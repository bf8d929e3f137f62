public import AsgardCore
import PostgresNIO

/// Rate limits shared by replicas: `rate_shares` holds each holder's share of each key's limit.
/// A change to a key's shares holds a transaction-scoped advisory lock on the key, so two holders
/// never both take its last slot. Renewal times are the database's, so the lapse of a share does
/// not depend on any replica's clock.
extension PostgresStore: RateShareStore {
    public func growRateShare(key: String, holding: Int, want: Int) async throws -> RateShare {
        let (holder, lapse) = (shareHolder, Self.milliseconds(rateShareLapse))
        return try await write { db in
            try await Self.lockShares(key: key, on: db)
            // Shares whose holders stopped renewing them long enough ago are free again.
            try await db.run(
                "DELETE FROM rate_shares WHERE key_id = \(key) AND renewed_at < clock_timestamp() - \(lapse) * interval '1 millisecond'")
            let held = try await Self.shares(key: key, holder: holder, on: db)
            let stored = try await db.rows("SELECT spec_json FROM objects WHERE kind = \(ObjectKind.key.rawValue) AND id = \(key)").first
            // What it holds, as far as the store knows: never more than the store granted it.
            let holding = max(0, min(holding, held.mine))
            var limit: Int?
            if let stored, case .key(let applied) = try ObjectTables.storedObject(stored) { limit = applied.requestsPerMinute }
            let share = max(holding, min(holding + max(0, want), (limit ?? 0) - held.others))
            if share > 0 {
                try await db.run(
                    """
                    INSERT INTO rate_shares (key_id, holder, share, renewed_at) VALUES (\(key), \(holder), \(share), clock_timestamp())
                    ON CONFLICT (key_id, holder) DO UPDATE SET share = excluded.share, renewed_at = excluded.renewed_at
                    """)
            } else {
                try await db.run("DELETE FROM rate_shares WHERE key_id = \(key) AND holder = \(holder)")
            }
            return RateShare(share: share, others: held.others, limit: limit)
        }
    }

    @discardableResult
    public func shrinkRateShare(key: String, to keep: Int) async throws -> RateShare {
        let holder = shareHolder
        return try await write { db in
            try await Self.lockShares(key: key, on: db)
            let held = try await Self.shares(key: key, holder: holder, on: db)
            let share = max(0, min(keep, held.mine))
            guard share < held.mine else { return RateShare(share: held.mine, others: held.others) }
            if share == 0 {
                try await db.run("DELETE FROM rate_shares WHERE key_id = \(key) AND holder = \(holder)")
            } else {
                try await db.run(
                    "UPDATE rate_shares SET share = \(share), renewed_at = clock_timestamp() WHERE key_id = \(key) AND holder = \(holder)")
            }
            return RateShare(share: share, others: held.others)
        }
    }

    public func renewRateShares() async throws -> [String: Int] {
        let holder = shareHolder
        return try await write { db in
            var renewed: [String: Int] = [:]
            for row in try await db.rows(
                "UPDATE rate_shares SET renewed_at = clock_timestamp() WHERE holder = \(holder) RETURNING key_id, share")
            {
                renewed[try row("key_id")] = try row("share", as: Int.self)
            }
            return renewed
        }
    }

    private static func lockShares(key: String, on db: PostgresConnection) async throws {
        try await db.run("SELECT pg_advisory_xact_lock(hashtextextended(\("rate/" + key), 0))")
    }

    /// What `holder` and the other holders hold of `key`.
    private static func shares(key: String, holder: String, on db: PostgresConnection) async throws -> (mine: Int, others: Int) {
        let row = try await db.rows(
            """
            SELECT COALESCE(SUM(share) FILTER (WHERE holder = \(holder)), 0)::bigint AS mine,
                   COALESCE(SUM(share) FILTER (WHERE holder <> \(holder)), 0)::bigint AS others
            FROM rate_shares WHERE key_id = \(key)
            """
        ).first
        return (Int(try row?("mine", as: Int64.self) ?? 0), Int(try row?("others", as: Int64.self) ?? 0))
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
