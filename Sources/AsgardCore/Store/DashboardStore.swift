public import Foundation

/// What the dashboard needs of a store beyond `Store`: people's sessions, and the audit trail
/// searched and paged. Separate from `Store` as `CostLedger` is: a store without it serves no
/// dashboard.
public protocol DashboardStore: Sendable {
    /// Records a new session.
    func createSession(_ session: DashboardSession) async throws

    /// The session whose token has `digest`, if it exists and has not expired at `now`; its
    /// `lastSeen` is moved to `now` (sliding the idle expiry). An expired session is deleted.
    func touchSession(digest: String, now: Date) async throws -> DashboardSession?

    /// Ends the session whose token has `digest` (logging out); false when there was none.
    @discardableResult
    func deleteSession(digest: String) async throws -> Bool

    /// The newest audit records matching `query`, newest first.
    func searchAudit(_ query: AuditQuery) async throws -> [AuditRecord]
}

/// A person's dashboard session, as the store keeps it. The token itself is never stored:
/// only its SHA-256 digest, as for keys.
public struct DashboardSession: Sendable, Hashable {
    /// Lower-case hex SHA-256 of the session token (the cookie's value).
    public var digest: String
    /// Who logged in.
    public var email: String
    /// The digest of the personal credential that opened the session: when the person's
    /// credential is rotated or removed, the session no longer matches and ends.
    public var credentialDigest: String
    /// The token every form of this session carries (`csrf`); random, never derived from the cookie.
    public var csrf: String
    public var createdAt: Date
    public var lastSeen: Date
    /// The session ends at the first of: `createdAt + absolute`, `lastSeen + idle`.
    public var idle: Duration
    public var absolute: Duration

    public init(
        digest: String, email: String, credentialDigest: String, csrf: String, createdAt: Date, lastSeen: Date, idle: Duration,
        absolute: Duration
    ) {
        self.digest = digest
        self.email = email
        self.credentialDigest = credentialDigest
        self.csrf = csrf
        self.createdAt = createdAt
        self.lastSeen = lastSeen
        self.idle = idle
        self.absolute = absolute
    }

    /// When it ends, unless seen again before.
    public var expiresAt: Date {
        min(createdAt.addingTimeInterval(absolute.seconds), lastSeen.addingTimeInterval(idle.seconds))
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var seconds: TimeInterval {
        let (whole, fraction) = components
        return TimeInterval(whole) + TimeInterval(fraction) / 1e18
    }
}

/// A search of the audit trail: every given field must match; `before` pages back.
public struct AuditQuery: Sendable, Hashable {
    /// Only entries about these projects (their `detail.project`, or a `Project/<id>` target);
    /// nil: every entry.
    public var projects: Set<String>?
    /// Exact matches when given.
    public var actor: String?
    public var action: String?
    public var outcome: String?
    /// Only entries with a smaller sequence number (the page after one ending there).
    public var before: Int64?
    /// At most this many (1...500).
    public var limit: Int

    public init(
        projects: Set<String>? = nil, actor: String? = nil, action: String? = nil, outcome: String? = nil, before: Int64? = nil, limit: Int = 50
    ) {
        self.projects = projects
        self.actor = actor
        self.action = action
        self.outcome = outcome
        self.before = before
        self.limit = max(1, min(limit, 500))
    }
}
