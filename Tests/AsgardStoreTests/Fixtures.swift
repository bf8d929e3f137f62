import AsgardCore
import AsgardPostgres
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

// MARK: - Scratch databases

/// A fresh directory for one test, removed when the test body returns.
struct Scratch: Sendable {
    let directory: URL

    /// The database file (its parent directory is created by the store, not here).
    var path: String { directory.appendingPathComponent("state/asgard.sqlite").path }

    /// Opens (or reopens) the store at `path`.
    func open(clock: TestClock? = nil) throws -> SQLiteStore {
        if let clock {
            return try SQLiteStore(path: path, auditKey: testAuditKey, clock: { clock.now() })
        }
        return try SQLiteStore(path: path, auditKey: testAuditKey)
    }
}

/// Runs `body` with a fresh scratch directory, then deletes it.
func withScratch(_ body: (Scratch) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("asgard-store-tests", isDirectory: true)
        .appendingPathComponent(UUID().uuidString, isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(Scratch(directory: directory))
}

// MARK: - Store implementations

/// A store implementation the conformance suites run against: every test that takes a
/// `StoreFactory` runs once per implementation, and the PostgreSQL store joins `all`.
struct StoreFactory: Sendable, CustomTestStringConvertible {
    let name: String
    /// Opens (creating on first use) the store kept in `directory`.
    let open: @Sendable (_ directory: URL, _ clock: TestClock?) throws -> any Store

    var testDescription: String { name }

    static let sqlite = StoreFactory(name: "SQLite") { directory, clock in
        let path = directory.appendingPathComponent("state/asgard.sqlite").path
        if let clock { return try SQLiteStore(path: path, auditKey: testAuditKey, clock: { clock.now() }) }
        return try SQLiteStore(path: path, auditKey: testAuditKey)
    }

    /// A fresh database per scratch directory on the test process's PostgreSQL server
    /// (`TestPostgres`), this replica named after the directory.
    static let postgres = StoreFactory(name: "PostgreSQL") { directory, clock in
        let url = try DatabaseURL(try PostgresDatabases.url(for: directory) + "?sslmode=disable&pool_size=4")
        if let clock { return try PostgresStore(url: url, auditKey: testAuditKey, replica: "test", clock: { clock.now() }) }
        return try PostgresStore(url: url, auditKey: testAuditKey, replica: "test")
    }

    static let all: [StoreFactory] = [.sqlite, .postgres]
}

/// The database of each scratch directory, created on first use.
enum PostgresDatabases {
    private static let databases = Mutex<[URL: String]>([:])

    static func url(for directory: URL) throws -> String {
        try databases.withLock { databases in
            if let url = databases[directory] { return url }
            let url = try TestPostgres.freshDatabase()
            databases[directory] = url
            return url
        }
    }
}

/// Runs `body` with a fresh store of `factory` in a scratch directory, and a way to reopen it.
func withStore(
    _ factory: StoreFactory, clock: TestClock? = nil,
    _ body: (_ store: any Store, _ reopen: () throws -> any Store) async throws -> Void
) async throws {
    try await withScratch { scratch in
        let open = { try factory.open(scratch.directory, clock) }
        try await body(try open(), open)
    }
}

/// Copies `entries` into the store's ledger as the call ingester does, each with an audit
/// entry, past the journal position the store holds.
func ingest(_ store: any Store, _ entries: [LedgerEntry]) throws {
    let at = try store.journalPosition() ?? JournalPosition(segment: 1, offset: 0)
    try store.ingest(
        entries.map { entry in
            RecordedCall(
                time: entry.time, ledger: entry,
                audit: AuditEntry(
                    actor: "Key/\(entry.keyID)", action: "gateway.invoke", target: entry.model, outcome: "allowed",
                    detail: ["request_id": entry.requestID]))
        }, through: JournalPosition(segment: at.segment, offset: at.offset + Int64(entries.count)))
}

/// The key a store's gateway configuration serves for `digest`.
func servedKey(_ store: any Store, digest: String) async throws -> Key? {
    try await store.gatewayConfiguration().keys.first { $0.digest == digest }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_795_642_954)) { current = Mutex(start) }

    func now() -> Date { current.withLock { $0 } }

    func advance(seconds: TimeInterval) { current.withLock { $0 += seconds } }

    func set(_ date: Date) { current.withLock { $0 = date } }
}

// MARK: - Domain values

/// Small, valid-looking domain objects.
enum Fixture {
    static func dollars(_ text: String) -> MicroDollars {
        // Fixture literals are valid amounts.
        (try? MicroDollars(dollars: text)) ?? .zero
    }

    static func pricing(_ input: String, _ output: String) -> TokenPricing {
        TokenPricing(inputPerMillion: dollars(input), outputPerMillion: dollars(output))
    }

    static func project(_ id: String = "fraud") -> Project {
        Project(
            id: id, name: "Fraud detection", owner: "ana@example.com", classification: .confidential,
            monthlyBudget: dollars("1500"), approvers: ["ana@example.com", "ben@example.com"])
    }

    static func key(_ id: String = "fraud-agent", project: String = "fraud", secret: String = "s3cret") -> Key {
        Key(
            id: id, project: project, digest: SHA256.hex(secret), allowedModels: ["databricks/*", "openai/gpt-4o"],
            maxDataClass: .confidential, defaultDataClass: .internal,
            expires: Date(timeIntervalSince1970: 1_800_000_000), requestsPerMinute: 60)
    }

    static func model(
        _ name: String, vendor: String = "databricks", input: String = "0.50", output: String = "1.50",
        maxDataClass: DataClass = .confidential
    ) -> ModelRoute {
        ModelRoute(id: "\(vendor)/\(name)", upstream: "upstream-\(name)", pricing: pricing(input, output), maxDataClass: maxDataClass)
    }

    static func inference(models: [ModelRoute], tokenEnv: String = "DATABRICKS_TOKEN", timeout: Int = 60) -> InferenceSpec {
        InferenceSpec(
            kind: .openAICompatible, baseURLEnv: "DATABRICKS_HOST", tokenEnv: tokenEnv,
            chatPath: "/serving-endpoints/{model}/invocations", timeoutSeconds: timeout,
            sendsUsageContext: true, defaultMaxTokens: 4096, models: models)
    }

    static let costSource = CostSource(
        type: .databricksBilling,
        env: [
            "host": "DATABRICKS_HOST", "token": "DATABRICKS_TOKEN", "warehouse_id": "DATABRICKS_WAREHOUSE_ID",
        ])

    static func service(
        _ id: String = "databricks", models: [ModelRoute]? = nil, costSource: CostSource? = Fixture.costSource,
        tokenEnv: String = "DATABRICKS_TOKEN"
    ) -> Service {
        let models = models ?? [model("llama-3-3-70b", vendor: id), model("dbrx", vendor: id, input: "0.75", output: "2.25")]
        return Service(
            id: id,
            inference: inference(models: models, tokenEnv: tokenEnv),
            provisionable: [
                ProvisionableService(
                    name: "databricks-model-serving", module: "modules/databricks/model-serving", tier: .human,
                    classificationFloor: .internal, monthlyEstimate: dollars("250"),
                    tagLocations: [TagLocation(resourceType: "databricks_model_serving", path: ["tags"], format: .keyValueList)]
                )
            ],
            costSource: costSource
        )
    }

    static func endpoint(_ id: String = "fraud-llm", service: String = "databricks", model: String = "databricks/fraud-llm") -> ServingEndpoint {
        ServingEndpoint(
            id: id, project: "fraud", service: service, provisioner: "databricks-model-serving", model: model,
            maxDataClass: .restricted, pricing: pricing("2", "6"),
            parameters: ["workload_size": .string("Small"), "scale_to_zero": .bool(true)])
    }

    static func resource(_ id: String = "fraud-warehouse") -> Resource {
        Resource(
            id: id, project: "fraud", service: "databricks-sql-warehouse",
            parameters: ["size": .string("2X-Small"), "max_clusters": .number("2"), "tags": .map(["team": .string("risk")])])
    }

    /// One object of each kind.
    static let allKinds: [DesiredObject] = [
        .service(service()), .project(project()), .key(key()), .servingEndpoint(endpoint()), .resource(resource()),
        .person(Person(id: "lars", email: "lars@example.com", credential: SHA256.hex("asgp_lars"), roles: ["admin"])),
    ]

    static func audit(
        _ action: String = "reconcile.create", target: String? = "Project/fraud", outcome: String = "applied",
        detail: [String: String] = [:]
    ) -> AuditEntry {
        AuditEntry(actor: "reconciler", action: action, target: target, outcome: outcome, detail: detail)
    }

    static func put(_ object: DesiredObject, tier: Tier = .auto, status: ObjectStatus = .applied, reason: String? = nil) -> ObjectChange {
        .put(object, tier: tier, status: status, reason: reason)
    }
}

/// Commits `change` with a matching audit entry.
@discardableResult
func commit(_ store: any Store, _ change: ObjectChange) async throws -> AuditRecord {
    switch change {
    case .put(let object, _, let status, _):
        try await store.commit(change, audit: Fixture.audit("reconcile.put", target: object.ref.description, outcome: status.rawValue))
    case .remove(let ref):
        try await store.commit(change, audit: Fixture.audit("reconcile.delete", target: ref.description))
    case .record(let record):
        try await store.commit(change, audit: Fixture.audit("provision.record", target: record.ref.description))
    case .approvalApplied(let id):
        try await store.commit(change, audit: Fixture.audit("approval.applied", target: id))
    }
}

/// The sequence number of a broken verdict, or nil (recording an issue) for an intact one.
func brokenSequence(_ verdict: AuditVerification, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Int64? {
    guard case .broken(let sequence, _) = verdict else {
        Issue.record("expected a broken chain, got \(verdict)", sourceLocation: sourceLocation)
        return nil
    }
    return sequence
}
