import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The PostgreSQL server of this test process, and fresh databases on it.
///
/// `ASGARD_TEST_DATABASE_URL` names a server to use when set. Otherwise the first test that asks
/// starts one with `scripts/postgres.sh` (a throwaway data directory under the temporary
/// directory, a free loopback port) and the script's watchdog stops it, and removes its
/// directory, once this process has exited: a suite that fails or crashes leaves nothing running.
public enum TestPostgres {
    private static let server = Mutex<Result<String, TestPostgresError>?>(nil)

    /// The server's maintenance URL (`postgres://asgard@127.0.0.1:PORT/asgard`).
    /// - Throws: `TestPostgresError` when no server can be started (PostgreSQL not installed, say).
    public static func serverURL() throws -> String {
        try server.withLock { state in
            if let state { return try state.get() }
            let started = Result { () throws(TestPostgresError) -> String in try start() }
            state = started
            return try started.get()
        }
    }

    /// A new, empty database on the server, named `prefix` and random hex; its URL.
    public static func freshDatabase(prefix: String = "t") throws -> String {
        let base = try serverURL()
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try execute("CREATE DATABASE \(name)", on: base)
        guard var components = URLComponents(string: base) else { throw TestPostgresError(reason: "cannot read \(base)") }
        components.path = "/" + name
        return components.string ?? base
    }

    /// Runs `sql` (one statement, no parameters) on the database at `url`, waiting for it.
    public static func execute(_ sql: String, on url: String) throws {
        _ = try scalar(sql, on: url)
    }

    /// The first column of the first row `sql` returns, as text (cast it: `SELECT count(*)::text`).
    public static func scalar(_ sql: String, on url: String) throws -> String? {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port, let user = components.user
        else { throw TestPostgresError(reason: "cannot read \(url)") }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: components.password, database: String(components.path.dropFirst()),
            tls: .disable)
        let logger = Logger(label: "test-postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try PostgresConnection.connect(
            on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: 1, logger: logger
        ).wait()
        defer { _ = try? connection.close().wait() }
        let rows = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait().rows
        return try rows.first.flatMap { row in row.makeRandomAccess().count > 0 ? try row.makeRandomAccess()[0].decode(String?.self) : nil }
    }

    private static func start() throws(TestPostgresError) -> String {
        if let url = ProcessInfo.processInfo.environment["ASGARD_TEST_DATABASE_URL"], !url.isEmpty { return url }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("asgard-pg-\(UUID().uuidString.prefix(8))").path
        let printed = directory + ".url"
        defer { try? FileManager.default.removeItem(atPath: printed) }
        // `system` (fork, exec, waitpid) rather than Foundation's `Process`, whose
        // `waitUntilExit` was seen never to return on a thread of the cooperative pool.
        let command = "'\(packageRoot)/scripts/postgres.sh' start '\(directory)' \(getpid()) > '\(printed)' 2>&1"
        let status = system(command)
        let output = (try? String(contentsOfFile: printed, encoding: .utf8)) ?? ""
        let url = output.split(separator: "\n").last.map(String.init) ?? ""
        guard status == 0, url.hasPrefix("postgres://") else {
            throw TestPostgresError(reason: "scripts/postgres.sh could not start PostgreSQL (status \(status)): " + output.suffix(2000))
        }
        return url
    }
}

/// Why the tests have no PostgreSQL server.
public struct TestPostgresError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
