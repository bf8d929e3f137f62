public import AsgardCore
public import Foundation
import GRDB

/// `Store` on one SQLite file, through a GRDB `DatabasePool` in WAL mode: any number of
/// concurrent readers and one serialized writer, so audit sequence numbers never collide.
///
/// Every public method is one transaction. Money is stored as integer micro-dollars and instants
/// as integer microseconds since 1970 (dates read back truncated to the microsecond); the audit
/// log's `time` is the RFC 3339 text that its hash covers. See `Schema` for the tables.
///
/// Safe to share between tasks: it holds only the pool (itself thread-safe), the audit key and a clock.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let clock: @Sendable () -> Date
    /// Keys every audit entry's MAC; never written to the database.
    let auditKey: AuditKey

    /// Opens, creating if needed, the store at `path`, and brings its schema up to date.
    ///
    /// Creates the file's parent directory (0700) and the file (0600) when they are missing,
    /// takes group and other permissions away from an existing file and its `-wal` and `-shm`,
    /// opens the database in WAL mode and runs every migration not yet applied, each in its own
    /// transaction. The first open with a key seals the audit log (`v8-audit-hmac`).
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - auditKey: the key of the audit chain (`AuditKeyFile.load`); it stays in memory.
    ///   - clock: the source of audit times, `updated_at`, and approval creation and decision
    ///     times; tests pass a fixed or stepping clock.
    /// - Throws: `StoreError.unknownSchemaVersion` when the database has a migration this
    ///   binary does not know (it was written by a newer Asgard); `AuditKeyError.wrongKey` when
    ///   its audit log is keyed with another key; file-system errors creating the directory or
    ///   file; GRDB's `DatabaseError` when the file cannot be opened or migrated.
    public init(path: String, auditKey: AuditKey, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        try PrivateFiles.prepareDatabase(path)

        var configuration = Configuration()
        configuration.label = "AsgardStore"
        // A new store gets 2 KiB pages (SQLite's default is 4 KiB): every gateway call adds a
        // few rows of a few hundred bytes, touching about five pages, and the write-ahead log
        // takes whole pages, so smaller pages halve the bytes the call ingester writes and each
        // checkpoint syncs. An existing store keeps the page size it was created with.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)") }
        // Wait for another process's writer rather than fail at once.
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)

        let migrator = Schema.migrator(auditKey: auditKey, clock: clock)
        let unknown = try pool.read { db in
            try migrator.appliedIdentifiers(db).subtracting(migrator.migrations)
        }
        guard unknown.isEmpty else {
            throw StoreError.unknownSchemaVersion(unknown.sorted().joined(separator: ", "))
        }
        try migrator.migrate(pool)
        // Appending under another key would leave a chain that no key verifies. A keying row that
        // is missing or unreadable is not refused here: `verifyAudit` reports it.
        if let keying = try pool.read(AuditTable.keying), keying.keyID != auditKey.id {
            throw AuditKeyError.wrongKey(store: path, storeKeyID: keying.keyID, keyID: auditKey.id)
        }

        self.pool = pool
        self.clock = clock
        self.auditKey = auditKey
    }

    /// The page size of a store this binary creates.
    public static let pageSize = 2_048

    // MARK: Checkpoints

    /// Copies what it can of the write-ahead log into the database (a PASSIVE checkpoint), on
    /// the calling thread and the store's writer connection: for the server's call ingester,
    /// which runs it on its own thread before it deletes journal segments the store now holds.
    /// `SQLiteCheckpoint.complete` says whether every frame the log held was copied (and so
    /// synced to the database file).
    @discardableResult
    public func checkpointBlocking() throws -> SQLiteCheckpoint {
        try pool.writeWithoutTransaction { db in
            let result = try db.checkpoint(.passive)
            return SQLiteCheckpoint(logFrames: result.walFrameCount, copiedFrames: result.checkpointedFrameCount)
        }
    }

    /// What a dry run needs from an existing store (observed objects, provisioning records,
    /// engaged kill switches and approvals), read without creating, migrating or writing anything.
    ///
    /// Returns nil when there is no store file. When the write-ahead log is absent or empty
    /// (no writer is running, which is the normal state after a clean close), the file is
    /// opened as an immutable URI, so SQLite creates no `-wal` or `-shm` file and takes no
    /// lock. With a live writer the log must be read too, so the file is opened read-only
    /// through the writer's existing shared-memory index.
    ///
    /// - Throws: `StoreError.unknownSchemaVersion` for a store written by a newer Asgard;
    ///   GRDB's `DatabaseError` when the file is not a readable store.
    public static func readOnlySnapshot(path: String) throws -> ReadOnlySnapshot? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: path) else { return nil }
        let walSize = (try? manager.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? nil
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "AsgardStore.readonly"
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let location =
            (walSize ?? 0) == 0 ? "file:\(absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? absolute)?immutable=1" : absolute
        let queue = try DatabaseQueue(path: location, configuration: configuration)
        return try queue.read { db in
            let migrator = Schema.migrator(auditKey: nil)
            let applied = try migrator.appliedIdentifiers(db)
            let unknown = applied.subtracting(migrator.migrations)
            guard unknown.isEmpty else { throw StoreError.unknownSchemaVersion(unknown.sorted().joined(separator: ", ")) }
            // A store from before a migration lacks its tables: read those as empty.
            let records = applied.contains("v3-provisioning") ? try ObjectTables.provisioningRecords(db) : [:]
            let switches = applied.contains("v2-kill-switches") ? try GatewayTables.killSwitches(db) : []
            return ReadOnlySnapshot(
                observed: try ObjectTables.observedState(db),
                records: records,
                killSwitches: switches,
                approvals: try Row.fetchAll(db, sql: "SELECT * FROM approvals ORDER BY created_at DESC, rowid DESC").map(ApprovalTable.approval),
                requests: applied.contains("v13-requests")
                    ? try Row.fetchAll(db, sql: "SELECT * FROM requests ORDER BY created_at, id").map(RequestTable.request) : [])
        }
    }

    // MARK: Objects

    /// Every row of `objects`, keyed by reference.
    /// - Throws: GRDB's `DatabaseError`; an error naming the row when a stored value is unreadable.
    public func observedState() async throws -> ObservedState {
        try await pool.read(ObjectTables.observedState)
    }

    /// Applies `change` to `objects`, keeps `keys`, `routes` and `cost_sources` in step (see
    /// `ObjectTables` for the rules), and appends `audit`, all in one write transaction.
    ///
    /// - Returns: the audit record written.
    /// - Throws: GRDB's `DatabaseError` on a constraint violation (a key digest or route model
    ///   already used by another object) or an I/O failure; nothing is written then.
    @discardableResult
    public func commit(_ change: ObjectChange, audit: AuditEntry) async throws -> AuditRecord {
        try await commit([change], audit: audit)
    }

    /// Applies `changes` in order and appends `audit`, all in one write transaction.
    @discardableResult
    public func commit(_ changes: [ObjectChange], audit: AuditEntry) async throws -> AuditRecord {
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            let now = clock()
            for change in changes { try ObjectTables.apply(change, at: now, in: db) }
            return try AuditTable.append(audit, at: now, key: key, in: db)
        }
    }

    /// The stored content of `ref`, if the store has it.
    public func object(_ ref: ObjectRef) async throws -> DesiredObject? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT spec_json FROM objects WHERE kind = ? AND id = ?", arguments: [ref.kind.rawValue, ref.id])
                .map(ObjectTables.storedObject)
        }
    }

    /// Every provisioning record, by reference.
    public func provisioningRecords() async throws -> [ObjectRef: ProvisioningRecord] {
        try await pool.read(ObjectTables.provisioningRecords)
    }

    // MARK: Audit

    /// Appends `entry` to the audit chain in its own transaction.
    /// - Returns: the record written, with its sequence number, time and hashes.
    /// - Throws: GRDB's `DatabaseError`.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord {
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            try AuditTable.append(entry, at: clock(), key: key, in: db)
        }
    }

    /// The newest `limit` audit records, oldest first; empty when `limit` is not positive.
    /// - Throws: GRDB's `DatabaseError`.
    public func auditTail(limit: Int) async throws -> [AuditRecord] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(AuditTable.columns) FROM audit ORDER BY seq DESC LIMIT ?", arguments: [limit])
                .map(AuditTable.record)
                .reversed()
        }
    }

    /// Reads the whole audit log, the recorded head and the sealed start of the keyed chain in
    /// one snapshot and checks the chain under the store's key and against `anchors`: detects
    /// edited, deleted, inserted and reordered rows, a chain recomputed without the key, a
    /// truncated or edited head, and a log cut back behind an anchor.
    /// - Returns: `.intact` with the count and head MAC, or `.broken` at the first bad entry.
    /// - Throws: GRDB's `DatabaseError` when the database cannot be read.
    public func verifyAudit(anchors: [AuditAnchor]) async throws -> AuditVerification {
        let key = auditKey
        return try await pool.read { db in try AuditTable.verify(in: db, key: key, anchors: anchors) }
    }

    // MARK: Ledger

    /// The ledger rows of `project` with `from <= time < to` (to the microsecond), oldest
    /// first, rows with equal times in insertion order.
    /// - Throws: GRDB's `DatabaseError`.
    public func ledger(project: String, from: Date, to: Date) async throws -> [LedgerEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM ledger WHERE project = ? AND time >= ? AND time < ?
                    ORDER BY time, rowid
                    """,
                arguments: [project, Encoding.micros(from), Encoding.micros(to)]
            ).map { row in
                LedgerEntry(
                    requestID: try row.decode(forColumn: "request_id"),
                    time: Encoding.date(micros: try row.decode(forColumn: "time")),
                    project: try row.decode(forColumn: "project"),
                    keyID: try row.decode(forColumn: "key_id"),
                    vendor: try row.decode(forColumn: "vendor"),
                    model: try row.decode(forColumn: "model"),
                    upstream: try row.decode(forColumn: "upstream"),
                    promptTokens: try row.decode(forColumn: "prompt_tokens"),
                    completionTokens: try row.decode(forColumn: "completion_tokens"),
                    cost: MicroDollars(try row.decode(forColumn: "cost_micros")),
                    latencyMicroseconds: try row.decode(forColumn: "latency_us"),
                    status: try row.decode(forColumn: "status"),
                    estimated: try row.decode(forColumn: "estimated"),
                    overrun: try row.decode(forColumn: "overrun")
                )
            }
        }
    }

    // MARK: Derived tables

    /// Every routable model's route, manifest-declared and serving-endpoint ones alike (the
    /// newest claim, if two objects hold a model for a while), ordered by model id.
    /// - Throws: GRDB's `DatabaseError`; an error naming the row when a stored value is unreadable.
    public func routes() async throws -> [StoredRoute] {
        try await pool.read(ObjectTables.servedRoutes)
    }

    /// What the gateway serves, read in one snapshot: projects, keys in effect (applied; of two
    /// keys holding one digest for a while, the newest claim) and routes as `routes()` gives them.
    /// - Throws: GRDB's `DatabaseError`; an error naming the row when a stored value is unreadable.
    public func gatewayConfiguration() async throws -> GatewayConfiguration {
        try await pool.read { db in
            let projects = try Row.fetchAll(
                db, sql: "SELECT spec_json FROM objects WHERE kind = ? ORDER BY id",
                arguments: [ObjectKind.project.rawValue]
            ).compactMap { row -> Project? in
                if case .project(let project) = try ObjectTables.storedObject(row) { project } else { nil }
            }
            let keys = try Row.fetchAll(
                db,
                sql: """
                    SELECT spec_json, status FROM keys AS k
                    WHERE status = ? AND claim = (SELECT MAX(claim) FROM keys WHERE digest = k.digest AND status = ?) ORDER BY id
                    """, arguments: [ObjectStatus.applied.rawValue, ObjectStatus.applied.rawValue]
            ).map { try ObjectTables.storedKey($0).key }
            let people = try Row.fetchAll(
                db, sql: "SELECT spec_json FROM objects WHERE kind = ? ORDER BY id", arguments: [ObjectKind.person.rawValue]
            ).compactMap { row -> Person? in
                if case .person(let person) = try ObjectTables.storedObject(row) { person } else { nil }
            }
            return GatewayConfiguration(projects: projects, keys: keys, routes: try ObjectTables.servedRoutes(db), people: people)
        }
    }

    /// Every configured cost source, ordered by vendor.
    /// - Throws: GRDB's `DatabaseError`; an error naming the row when a stored value is unreadable.
    public func costSources() async throws -> [StoredCostSource] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cost_sources ORDER BY vendor").map(ObjectTables.costSource)
        }
    }

    // MARK: Approvals

    /// Records a new pending approval with a fresh id (`apr_` and 16 random hex digits).
    /// - Returns: the approval as stored.
    /// - Throws: GRDB's `DatabaseError`.
    public func requestApproval(_ request: ApprovalRequest) async throws -> Approval {
        let clock = self.clock
        return try await pool.write { db in
            let approval = Approval(
                id: Encoding.newApprovalID(), ref: request.ref, project: request.project,
                actionDigest: request.actionDigest, planDigest: request.planDigest, summary: request.summary,
                operation: request.operation, changes: request.changes, estimate: request.estimate, requestedBy: request.requestedBy,
                status: .pending,
                decidedBy: nil, reason: nil, createdAt: Encoding.stored(clock()), decidedAt: nil
            )
            try ApprovalTable.insert(approval, in: db)
            return approval
        }
    }

    /// Approvals, newest first (by creation time, then by insertion), optionally only those in `status`.
    /// - Throws: GRDB's `DatabaseError`; an error naming the row when a stored value is unreadable.
    public func approvals(status: Approval.Status?) async throws -> [Approval] {
        try await pool.read { db in
            let rows =
                if let status {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, rowid DESC",
                        arguments: [status.rawValue])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM approvals ORDER BY created_at DESC, rowid DESC")
                }
            return try rows.map(ApprovalTable.approval)
        }
    }

    /// Moves a pending approval to `status` (or an approved one to `.void`), recording who
    /// decided, why and when, and appends `audit` (with the outcome) in the same transaction.
    /// - Returns: the approval as now stored.
    /// - Throws: `StoreError.approvalNotFound` when no approval has `id`;
    ///   `StoreError.approvalNotPending` when it was already decided; an error when `status`
    ///   is `.pending` or `.applied` (not a decision); GRDB's `DatabaseError`.
    public func decideApproval(id: String, status: Approval.Status, by: String, reason: String?, audit: AuditEntry?) async throws -> Approval {
        guard status != .pending, status != .applied else {
            throw InvalidRequest(description: "approval \(id) cannot be decided as \(status.rawValue): decide approved, rejected or void")
        }
        let (clock, key) = (self.clock, auditKey)
        return try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM approvals WHERE id = ?", arguments: [id]) else {
                throw StoreError.approvalNotFound(id)
            }
            var approval = try ApprovalTable.approval(row)
            // An approval not yet used can still be voided: its plan no longer matches.
            guard approval.status == .pending || (approval.status == .approved && status == .void) else {
                throw StoreError.approvalNotPending(id: id, status: approval.status)
            }
            approval.status = status
            approval.decidedBy = by
            approval.reason = reason
            let now = clock()
            approval.decidedAt = Encoding.stored(now)
            try ApprovalTable.recordDecision(approval, in: db)
            if let audit { _ = try AuditTable.append(audit, at: now, key: key, in: db) }
            return approval
        }
    }

    // MARK: Summary

    /// Counts of every table, objects by kind and status, and the recorded audit head (nil
    /// while the log is empty), read in one snapshot.
    /// - Throws: GRDB's `DatabaseError`.
    public func summary() async throws -> StoreSummary {
        try await pool.read { db in
            var objects: [String: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, status, COUNT(*) AS n FROM objects GROUP BY kind, status") {
                let kind: String = try row.decode(forColumn: "kind")
                let status: String = try row.decode(forColumn: "status")
                objects[kind, default: [:]][status] = try row.decode(forColumn: "n")
            }
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? 0 }
            return StoreSummary(
                objects: objects,
                routes: try count("SELECT COUNT(*) FROM routes"),
                keys: try count("SELECT COUNT(*) FROM keys"),
                costSources: try count("SELECT COUNT(*) FROM cost_sources"),
                pendingApprovals: try count("SELECT COUNT(*) FROM approvals WHERE status = 'pending'"),
                ledgerRows: try count("SELECT COUNT(*) FROM ledger"),
                auditEntries: try count("SELECT COUNT(*) FROM audit"),
                auditHead: try String.fetchOne(db, sql: "SELECT hash FROM audit_head WHERE id = 1")
            )
        }
    }
}

/// What one checkpoint found and did.
public struct SQLiteCheckpoint: Sendable, Equatable {
    /// Frames in the write-ahead log.
    public var logFrames: Int
    /// Frames of the log now copied into the database, by this checkpoint or earlier ones.
    public var copiedFrames: Int
    /// Every frame is copied: the next commit starts the log over from its beginning.
    public var complete: Bool { copiedFrames >= logFrames }
}
