import AsgardCore
import AsgardDashboard
import AsgardGateway
import Foundation
import HTTPTypes
import Hummingbird

/// People's dashboard sessions: a personal credential, presented once on the login page, opens
/// a session; the browser then holds only a random session token in an `HttpOnly`,
/// `SameSite=Strict` cookie (`Secure` behind TLS), the store only its SHA-256 digest. A session
/// ends at logout, after `idle` without a request, after `absolute` in all, and as soon as the
/// person's credential is rotated or removed from desired state (it is re-checked on every
/// request). Every form carries the session's CSRF token; the login form a token matched
/// against a short-lived cookie of its own.
struct DashboardSessions: Sendable {
    let store: any DashboardStore
    let snapshot: SnapshotBox
    var idle: Duration
    var absolute: Duration
    /// Whether cookies carry `Secure` (Asgard is reached over TLS: `ASGARD_PUBLIC_URL` is https).
    var secure: Bool
    var clock: @Sendable () -> Date = Date.init

    /// A session lifetime in the environment that is not a whole number of seconds in range.
    struct ConfigurationError: Error, CustomStringConvertible {
        var description: String
    }

    /// The lifetime `name` sets in `environment` (1 to 2,592,000 seconds), or `fallback` when unset or empty.
    /// - Throws: `ConfigurationError` naming the variable and what it takes.
    static func seconds(_ name: String, in environment: [String: String], default fallback: Int64) throws -> Duration {
        guard let text = environment[name], !text.isEmpty else { return .seconds(fallback) }
        guard let value = Int64(text), (1...2_592_000).contains(value) else {
            throw ConfigurationError(description: "\(name) must be a whole number of seconds from 1 to 2592000 (30 days), not \(text.prefix(40))")
        }
        return .seconds(value)
    }

    static let sessionCookie = "asgard_session"
    static let loginCookie = "asgard_login"

    /// A signed-in person: who, and the token their forms carry.
    struct SignedIn: Sendable {
        var person: Person
        var session: DashboardSession
        var viewer: Viewer { Viewer(email: person.email, roles: person.roles, csrf: session.csrf) }
    }

    /// The person whose live session the request's cookie names; nil without one.
    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty, token.utf8.count <= 128 else { return nil }
        guard let session = try await store.touchSession(digest: SHA256.hex(token), now: clock()) else { return nil }
        guard let current = snapshot.current, let person = current.person(credentialDigest: session.credentialDigest),
            person.email == session.email
        else {
            // The credential that opened it was rotated or removed: the session ends with it.
            try await store.deleteSession(digest: session.digest)
            return nil
        }
        return SignedIn(person: person, session: session)
    }

    /// Opens a session for the person whose credential is `secret`.
    /// - Returns: the person and the `Set-Cookie` value; nil when the credential is no person's.
    func open(credential secret: String) async throws -> (Person, String)? {
        guard let current = snapshot.current else { throw GatewayError.starting }
        let digest = SHA256.hex(secret)
        guard let person = current.person(credentialDigest: digest) else { return nil }
        let token = VirtualKey.generate(prefix: "asgs_").secret
        let now = clock()
        try await store.createSession(
            DashboardSession(
                digest: SHA256.hex(token), email: person.email, credentialDigest: digest, csrf: VirtualKey.generate(prefix: "").secret,
                createdAt: now, lastSeen: now, idle: idle, absolute: absolute))
        return (person, cookie(Self.sessionCookie, token, path: "/", maxAge: Int(absolute.components.seconds)))
    }

    /// Ends the request's session, if any.
    func close(_ request: Request) async throws {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty else { return }
        try await store.deleteSession(digest: SHA256.hex(token))
    }

    /// A `Set-Cookie` value.
    func cookie(_ name: String, _ value: String, path: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}
