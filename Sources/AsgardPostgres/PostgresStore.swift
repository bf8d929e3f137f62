public import AsgardCore
public import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// `Store` on PostgreSQL, for several Asgard replicas on one database.
///
/// The schema mirrors the SQLite store's column for column (`PostgresSchema`): money as
/// `BIGINT` micro-dollars, instants as `BIGINT` microseconds since 1970, the audit log's `time`
/// as the hashed RFC 3339 text, enums as their raw strings, JSON as text. Every public method is
/// one transaction: writes at READ COMMITTED with the rows they depend on locked, reads of more
/// than one table in one REPEATABLE READ snapshot.
///
/// The audit log stays one chain whatever the number of replicas: every append locks the one
/// `audit_head` row (`SELECT … FOR UPDATE`), so appends from all replicas are serialized and
/// each entry's MAC covers the one before it, exactly as on SQLite.
///
/// Its connections: a `PostgresClient` pool (`DatabaseURL.poolSize` connections) for the async
/// methods; one connection of its own, driven through futures, for the methods the protocol
/// makes synchronous (the call ingester's `ingest` and `journalPosition`, which run on the
/// ingester's own thread) and for the migration at open, which never waits on Swift's
/// cooperative thread pool, so a blocked caller cannot starve the work it waits for; and, once
/// used, one that LISTENs for changes (`StoreChangeFeed`) and one that holds or seeks
/// leadership (`LeaderElection`). A replica therefore needs up to `pool_size + 3` connections.
public final class PostgresStore: Store {
    let client: PostgresClient
    private let clientRun: Task<Void, Never>
    let blocking: BlockingConnection
    /// Changes other replicas announce (`StoreChangeFeed`).
    let feed: ChangeFeed
    /// The settings of the store's single connections: its own, the change feed's and the one
    /// that holds leadership (`LeaderElection`).
    let connectionSettings: PostgresConnection.Configuration
    let clock: @Sendable () -> Date
    /// Keys every audit entry's MAC; never written to the database.
    let auditKey: AuditKey
    /// This replica's name: its row of `journal_positions` (each replica copies its own journal),
    /// its ledger rows' `replica` and its budget grants.
    public let replica: String
    /// This process as a holder of rate shares (`RateShareStore`): the replica's name and a
    /// token of this start, since a restarted replica does not know what it allowed before.
    public let shareHolder: String
    /// How long after its last renewal another holder may reclaim a rate share.
    let rateShareLapse: Duration
    /// The database, password masked.
    public let location: String

    /// PostgresNIO's logging, off: the store reports through its errors.
    static let logger = Logger(label: "asgard.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects to `url`, brings the schema up to date (once, whatever the number of replicas
    /// starting together: the migration holds an advisory lock) and checks the audit key.
    ///
    /// - Parameters:
    ///   - url: where the database is (`ASGARD_DATABASE_URL`).
    ///   - auditKey: the key of the audit chain; the first open seals the chain with it.
    ///   - replica: names this replica's journal position (`ASGARD_REPLICA`, else the host name).
    ///   - clock: the source of audit times and `updated_at`, as for `SQLiteStore`.
    ///   - rateShareLapse: how long an unrenewed rate share stays its holder's (tests shorten it).
    /// - Throws: `StoreError.unknownSchemaVersion` for a database migrated by a newer Asgard;
    ///   `AuditKeyError.wrongKey` when its chain is keyed with another key; `PostgresFailure`
    ///   when the server cannot be reached or refuses.
    public init(
        url: DatabaseURL, auditKey: AuditKey, replica: String, clock: @escaping @Sendable () -> Date = { Date() },
        rateShareLapse: Duration = RateShares.reclaimAfter
    ) throws {
        let tls = try Self.tlsConfiguration(url)
        let settings = try Self.connectionConfiguration(url)
        connectionSettings = settings
        blocking = BlockingConnection(configuration: settings)
        feed = ChangeFeed(configuration: settings)
        self.auditKey = auditKey
        self.clock = clock
        self.replica = replica
        self.shareHolder = replica + "/" + UUID().uuidString.prefix(8).lowercased()
        self.rateShareLapse = rateShareLapse
        self.location = url.description

        try PostgresSchema.migrate(blocking, auditKey: auditKey, now: clock())
        let keyID = try blocking.run { connection in
            try connection.rowsBlocking("SELECT key_id FROM audit_keying WHERE id = 1").first.map { try $0("key_id", as: String.self) }
        }
        if let keyID, keyID != auditKey.id {
            throw AuditKeyError.wrongKey(store: url.description, storeKeyID: keyID, keyID: auditKey.id)
        }

        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: tls.map { url.tls == .prefer ? .prefer($0) : .require($0) } ?? .disable)
        configuration.options.maximumConnections = url.poolSize
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
        self.client = client
        clientRun = Task { await client.run() }
    }

    deinit { close() }

    /// The settings of the store's own connection to `url`.
    static func connectionConfiguration(_ url: DatabaseURL) throws -> PostgresConnection.Configuration {
        let tls = try tlsConfiguration(url)
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: try tls.map { url.tls == .prefer ? .prefer(try NIOSSLContext(configuration: $0)) : .require(try NIOSSLContext(configuration: $0)) }
                ?? .disable)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// The TLS settings `url.tls` asks for; nil for `disable`.
    private static func tlsConfiguration(_ url: DatabaseURL) throws -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.tls {
        case .disable: return nil
        // As libpq: `prefer` and `require` encrypt without checking whom they talk to.
        case .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let path = url.rootCertificatePath { tls.trustRoots = .file(path) }
        return tls
    }

    // MARK: Transactions

    /// Runs `body` in a READ COMMITTED transaction on a pooled connection: committed when it
    /// returns, rolled back (and its error rethrown as it was) when it throws.
    func write<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        try await transaction("BEGIN", body)
    }

    /// Runs `body` in a read-only REPEATABLE READ transaction: every query sees one snapshot.
    func read<Value: Sendable>(_ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<Value: Sendable>(_ begin: PostgresQuery, _ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        do {
            return try await pooledTransaction(begin, body)
        } catch {
            throw PostgresFailure.wrap(error)
        }
    }

    private func pooledTransaction<Value: Sendable>(_ begin: PostgresQuery, _ body: (PostgresConnection) async throws -> Value) async throws
        -> Value
    {
        try await client.withConnection { connection in
            try await connection.run(begin)
            do {
                let value = try await body(connection)
                try await connection.run("COMMIT")
                return value
            } catch {
                // A connection that cannot even roll back is closed, so the pool never lends it
                // out again in the middle of a transaction.
                do { try await connection.run("ROLLBACK") } catch { try? await connection.close() }
                throw error
            }
        }
    }

    /// Closes the pool and the store's own connection; the store is unusable afterwards.
    public func close() {
        clientRun.cancel()
        blocking.close()
        feed.close()
    }
}

/// One row, read by column name: `try row("id", as: String.self)`, or with the type inferred.
struct Record: Sendable {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func callAsFunction<Value: PostgresDecodable>(_ column: String, as type: Value.Type = Value.self) throws -> Value {
        try row[column].decode(Value.self)
    }

    /// A text column holding the raw value of `type`.
    func decodeEnum<Value: RawRepresentable>(_ type: Value.Type, _ column: String, table: String) throws -> Value
    where Value.RawValue == String {
        try StoreCoding.decodeEnum(type, try self(column), column: column, table: table)
    }

    /// An instant column (microseconds since 1970).
    func date(_ column: String) throws -> Date { StoreCoding.date(micros: try self(column)) }

    /// A nullable instant column.
    func optionalDate(_ column: String) throws -> Date? { try self(column, as: Int64?.self).map(StoreCoding.date(micros:)) }
}

extension PostgresConnection {
    /// Every row `query` returns.
    func rows(_ query: PostgresQuery) async throws -> [Record] {
        try await self.query(query, logger: PostgresStore.logger).collect().map(Record.init)
    }

    /// Runs `query`, reading (and dropping) whatever it returns.
    func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: PostgresStore.logger).collect()
    }

    /// Every row `query` returns, waiting on the calling thread (never an event loop's).
    func rowsBlocking(_ query: PostgresQuery) throws -> [Record] {
        try self.query(query, logger: PostgresStore.logger).wait().rows.map(Record.init)
    }

    /// Closes the connection without waiting, keeping it alive until it has closed (PostgresNIO
    /// requires a connection to be closed before it is released).
    func closeNow() {
        let closing: EventLoopFuture<Void> = close()
        closing.whenComplete { _ in withExtendedLifetime(self) {} }
    }

    /// Runs `query`, waiting on the calling thread.
    func runBlocking(_ query: PostgresQuery) throws {
        _ = try self.query(query, logger: PostgresStore.logger).wait()
    }
}

/// The store's own connection for synchronous callers: opened on first use, reopened after it
/// closes, used by one caller at a time.
final class BlockingConnection: Sendable {
    private let configuration: PostgresConnection.Configuration
    private let state = Mutex<(connection: PostgresConnection?, closed: Bool)>((nil, false))
    private let ids = Atomic<Int>(0)

    init(configuration: PostgresConnection.Configuration) { self.configuration = configuration }

    deinit { close() }

    /// Runs `body` with the connection, holding it for the caller alone.
    func run<Value>(_ body: (PostgresConnection) throws -> Value) throws -> Value {
        do {
            return try connected(body)
        } catch {
            throw PostgresFailure.wrap(error)
        }
    }

    private func connected<Value>(_ body: (PostgresConnection) throws -> Value) throws -> Value {
        try state.withLock { state in
            guard !state.closed else { throw StoreClosed() }
            if let connection = state.connection, !connection.isClosed { return try body(connection) }
            let connection = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration,
                id: ids.add(1, ordering: .relaxed).newValue, logger: PostgresStore.logger
            ).wait()
            state.connection = connection
            return try body(connection)
        }
    }

    /// Runs `body` in a transaction on the connection: committed when it returns, rolled back
    /// (its error rethrown as it was) when it throws.
    func transaction<Value>(_ body: (PostgresConnection) throws -> Value) throws -> Value {
        try run { connection in
            try connection.runBlocking("BEGIN")
            do {
                let value = try body(connection)
                try connection.runBlocking("COMMIT")
                return value
            } catch {
                do { try connection.runBlocking("ROLLBACK") } catch { connection.closeNow() }
                throw error
            }
        }
    }

    func close() {
        state.withLock { state in
            state.closed = true
            state.connection?.closeNow()
            state.connection = nil
        }
    }
}

/// The store was closed.
struct StoreClosed: Error, CustomStringConvertible {
    var description: String { "the PostgreSQL store is closed" }
}

/// A failure PostgreSQL or the connection to it reported, told plainly: the server's message
/// and SQLSTATE, or what happened to the connection. PostgresNIO's own errors hide both behind a
/// generic text; no statement's parameters are ever part of this one.
public struct PostgresFailure: Error, Sendable, CustomStringConvertible {
    /// The SQLSTATE code (e.g. `23505` for a unique violation); nil when the server did not answer.
    public var sqlState: String?
    public var description: String

    /// `error` told plainly when it is PostgresNIO's; otherwise `error` itself.
    static func wrap(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        if let server = error.serverInfo {
            let message = server[.message] ?? "an error"
            let state = server[.sqlState]
            let detail = server[.detail].map { ": \($0)" } ?? ""
            return PostgresFailure(sqlState: state, description: "PostgreSQL refused: \(message)\(detail) (SQLSTATE \(state ?? "unknown"))")
        }
        let cause = error.underlying.map { ": \($0)" } ?? ""
        return PostgresFailure(sqlState: nil, description: "PostgreSQL connection failed (\(error.code))\(cause)")
    }
}
