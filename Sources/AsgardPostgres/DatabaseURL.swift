public import Foundation

/// Where the PostgreSQL store is and how to reach it, read from `ASGARD_DATABASE_URL`:
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=PATH&pool_size=N]
///
/// `sslmode` follows libpq: `disable`, `prefer` (the default: TLS when the server offers it),
/// `require` (TLS, certificate not checked), `verify-ca` (TLS, certificate checked against the
/// trusted roots) and `verify-full` (also the host name). `sslrootcert` names a PEM file of
/// trusted roots (default: the system's). `pool_size` caps the connections one replica opens
/// (default 10; 1...200). The password is percent-decoded and never printed: `description`
/// masks it.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var rootCertificatePath: String?
    public var poolSize: Int

    /// Parses `text`.
    /// - Throws: `DatabaseURLError` naming what is wrong (never quoting the password).
    public init(_ text: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw .malformed("not a URL of the form postgres://user@host:port/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw .malformed("the scheme is \(scheme.debugDescription): use postgres://")
        }
        guard let host = components.host, !host.isEmpty else { throw .malformed("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw .malformed("it names no user (postgres://USER@host/database)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw .malformed("it names no database (postgres://user@host/DATABASE)") }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw .malformed("the port \(port) is out of range") }
        self.user = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.tls = .prefer
        self.rootCertificatePath = nil
        self.poolSize = 10
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw .malformed(
                        "sslmode \(value.debugDescription) is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tls = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw .malformed("sslrootcert is empty") }
                rootCertificatePath = value
            case "pool_size":
                guard let size = Int(value), (1...200).contains(size) else {
                    throw .malformed("pool_size \(value.debugDescription) is not a whole number from 1 to 200")
                }
                poolSize = size
            default:
                throw .malformed("unknown parameter \(item.name.debugDescription): use sslmode, sslrootcert or pool_size")
            }
        }
        if rootCertificatePath != nil, tls != .verifyCA, tls != .verifyFull {
            throw .malformed("sslrootcert needs sslmode=verify-ca or verify-full")
        }
    }

    /// The URL as terraform's `pg` backend (Go's lib/pq) takes it, without the password (which
    /// goes to terraform as `PGPASSWORD`). lib/pq has no `prefer`: it becomes `require`.
    public var terraformConnection: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host
        components.port = port
        components.path = "/" + database
        var items = [URLQueryItem(name: "sslmode", value: tls == .prefer ? "require" : tls.rawValue)]
        if let rootCertificatePath { items.append(URLQueryItem(name: "sslrootcert", value: rootCertificatePath)) }
        components.queryItems = items
        return components.string ?? "postgres://\(user)@\(host):\(port)/\(database)"
    }

    /// The URL with its password masked.
    public var description: String {
        let credentials = password == nil ? user : user + ":***"
        return "postgres://\(credentials)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)&pool_size=\(poolSize)"
    }
}

/// Why `ASGARD_DATABASE_URL` cannot be used.
public enum DatabaseURLError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "ASGARD_DATABASE_URL is not usable: \(reason)"
        }
    }
}
