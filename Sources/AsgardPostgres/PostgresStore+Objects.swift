public import AsgardCore
import AsgardJSON
import Foundation
import PostgresNIO

/// Writes to `objects` and the tables derived from it, inside the caller's transaction, by the
/// SQLite store's rules (`AsgardStore.ObjectTables` documents them): keys, manifest routes,
/// serving-endpoint routes and cost sources follow their objects, and of two rows claiming one
/// natural key readers take the newest claim.
enum ObjectTables {
    static func apply(_ change: ObjectChange, at now: Date, on db: PostgresConnection) async throws {
        switch change {
        case .put(let object, let tier, let status, let reason):
            try await put(object, tier: tier, status: status, reason: reason, at: now, on: db)
        case .remove(let ref):
            try await remove(ref, on: db)
        case .record(let record):
            try await db.run(
                """
                INSERT INTO provisioning (kind, id, failures, retry_after, applied_plan, applying, approval, outputs_json)
                VALUES (\(record.ref.kind.rawValue), \(record.ref.id), \(record.failures), \(record.retryAfter.map(StoreCoding.micros)),
                        \(record.appliedPlan), \(record.applying), \(record.approval), \(record.outputsJSON))
                ON CONFLICT (kind, id) DO UPDATE SET
                    failures = excluded.failures, retry_after = excluded.retry_after, applied_plan = excluded.applied_plan,
                    applying = excluded.applying, approval = excluded.approval, outputs_json = excluded.outputs_json
                """)
        case .approvalApplied(let id):
            let updated = try await db.rows(
                """
                UPDATE approvals SET status = \(Approval.Status.applied.rawValue)
                WHERE id = \(id) AND status = \(Approval.Status.approved.rawValue) RETURNING id
                """)
            guard updated.count == 1 else { throw StoreError.approvalNotApproved(id) }
        }
    }

    private static func put(
        _ object: DesiredObject, tier: Tier, status: ObjectStatus, reason: String?, at now: Date, on db: PostgresConnection
    ) async throws {
        let ref = object.ref
        try await db.run(
            """
            INSERT INTO objects (kind, id, project, spec_digest, spec_json, tier, status, status_reason, updated_at)
            VALUES (\(ref.kind.rawValue), \(ref.id), \(object.projectID), \(object.specDigest), \(object.canonicalJSON),
                    \(tier.rawValue), \(status.rawValue), \(reason), \(StoreCoding.micros(now)))
            ON CONFLICT (kind, id) DO UPDATE SET
                project = excluded.project, spec_digest = excluded.spec_digest, spec_json = excluded.spec_json,
                tier = excluded.tier, status = excluded.status, status_reason = excluded.status_reason, updated_at = excluded.updated_at
            """)
        switch object {
        case .key(let key):
            // SET sees the row as it was, so the claim is renewed only when the digest changes.
            try await db.run(
                """
                INSERT INTO keys (id, project, digest, spec_json, status, claim)
                VALUES (\(key.id), \(key.project), \(key.digest), \(try StoreCoding.canonicalJSON(key)), \(status.rawValue), nextval('claims'))
                ON CONFLICT (id) DO UPDATE SET
                    project = excluded.project, spec_json = excluded.spec_json, status = excluded.status,
                    claim = CASE WHEN keys.digest = excluded.digest THEN keys.claim ELSE excluded.claim END,
                    digest = excluded.digest
                """)
        case .service(let service):
            try await replaceManifestRoutes(of: service, on: db)
            try await replaceCostSource(of: service, on: db)
            try await refreshEndpointRoutes(vendor: service.id, on: db)
        case .servingEndpoint(let endpoint):
            try await refreshEndpointRoute(endpoint, status: status, on: db)
        case .person, .project, .resource:
            break
        }
    }

    private static func remove(_ ref: ObjectRef, on db: PostgresConnection) async throws {
        try await db.run("DELETE FROM objects WHERE kind = \(ref.kind.rawValue) AND id = \(ref.id)")
        try await db.run("DELETE FROM provisioning WHERE kind = \(ref.kind.rawValue) AND id = \(ref.id)")
        switch ref.kind {
        case .key:
            try await db.run("DELETE FROM keys WHERE id = \(ref.id)")
        case .service:
            // Manifest routes, and the endpoint routes that relied on this vendor's settings.
            try await db.run("DELETE FROM routes WHERE vendor = \(ref.id)")
            try await db.run("DELETE FROM cost_sources WHERE vendor = \(ref.id)")
        case .servingEndpoint:
            try await db.run("DELETE FROM routes WHERE owner = \(ref.description)")
        case .person, .project, .resource:
            break
        }
    }

    // MARK: Routes

    private static func replaceManifestRoutes(of service: Service, on db: PostgresConnection) async throws {
        let owner = ObjectRef(.service, service.id).description
        let models = service.inference?.models ?? []
        try await db.run("DELETE FROM routes WHERE owner = \(owner) AND NOT (model = ANY(\(models.map(\.id))::text[]))")
        guard let inference = service.inference else { return }
        for model in models {
            try await upsertRoute(
                StoredRoute(
                    model: model.id, vendor: service.id, inference: inference, upstream: model.upstream,
                    pricing: model.pricing, maxDataClass: model.maxDataClass), owner: owner, on: db)
        }
    }

    /// Recomputes the routes of every serving endpoint of `vendor` (after the vendor changed).
    private static func refreshEndpointRoutes(vendor: String, on db: PostgresConnection) async throws {
        let rows = try await db.rows(
            """
            SELECT spec_json FROM objects WHERE kind = \(ObjectKind.servingEndpoint.rawValue) AND status = \(ObjectStatus.applied.rawValue)
            """)
        var applied: [String] = []
        for row in rows {
            guard case .servingEndpoint(let endpoint) = try storedObject(row), endpoint.service == vendor else { continue }
            applied.append(endpoint.id)
            try await refreshEndpointRoute(endpoint, status: .applied, on: db)
        }
        // Endpoint routes of this vendor whose endpoint is no longer applied (none should be).
        try await db.run(
            """
            DELETE FROM routes WHERE vendor = \(vendor) AND serving_endpoint IS NOT NULL AND NOT (serving_endpoint = ANY(\(applied)::text[]))
            """)
    }

    /// Recomputes the one route of `endpoint`: present only while it is applied and its vendor is known.
    private static func refreshEndpointRoute(_ endpoint: ServingEndpoint, status: ObjectStatus, on db: PostgresConnection) async throws {
        let owner = ObjectRef(.servingEndpoint, endpoint.id).description
        let vendor = try await db.rows(
            "SELECT spec_json FROM objects WHERE kind = \(ObjectKind.service.rawValue) AND id = \(endpoint.service)"
        ).first.map(storedObject)
        guard status == .applied, case .service(let service)? = vendor, let inference = service.inference else {
            try await db.run("DELETE FROM routes WHERE owner = \(owner)")
            return
        }
        try await db.run("DELETE FROM routes WHERE owner = \(owner) AND model <> \(endpoint.model)")
        try await upsertRoute(
            StoredRoute(
                model: endpoint.model, vendor: endpoint.service, inference: inference, upstream: endpoint.id,
                pricing: endpoint.pricing, maxDataClass: endpoint.maxDataClass, servingEndpoint: endpoint.id,
                project: endpoint.project, sharedWith: endpoint.sharedWith ?? []),
            owner: owner, on: db)
    }

    /// Inserts or updates `owner`'s route for its model. A new row takes the next claim; an
    /// existing one keeps its claim, so refreshing an older claimant never takes the model back.
    private static func upsertRoute(_ route: StoredRoute, owner: String, on db: PostgresConnection) async throws {
        try await db.run(
            """
            INSERT INTO routes (model, owner, vendor, upstream, base_url_env, token_env, chat_path, timeout_seconds,
                sends_usage_context, default_max_tokens, input_per_million_micros, output_per_million_micros,
                max_data_class, serving_endpoint, api_kind, auth_header, auth_scheme, project, shared_with_json, claim)
            VALUES (\(route.model), \(owner), \(route.vendor), \(route.upstream), \(route.baseURLEnv), \(route.tokenEnv),
                \(route.chatPath), \(route.timeoutSeconds), \(route.sendsUsageContext), \(route.defaultMaxTokens),
                \(route.pricing.inputPerMillion.value), \(route.pricing.outputPerMillion.value), \(route.maxDataClass.name),
                \(route.servingEndpoint), \(route.kind.rawValue), \(route.authHeader), \(route.authScheme), \(route.project),
                \(StoreCoding.sharedWithJSON(route.sharedWith)), nextval('claims'))
            ON CONFLICT (model, owner) DO UPDATE SET
                api_kind = excluded.api_kind, auth_header = excluded.auth_header, auth_scheme = excluded.auth_scheme,
                vendor = excluded.vendor, upstream = excluded.upstream, base_url_env = excluded.base_url_env,
                token_env = excluded.token_env, chat_path = excluded.chat_path, timeout_seconds = excluded.timeout_seconds,
                sends_usage_context = excluded.sends_usage_context, default_max_tokens = excluded.default_max_tokens,
                input_per_million_micros = excluded.input_per_million_micros,
                output_per_million_micros = excluded.output_per_million_micros,
                max_data_class = excluded.max_data_class, serving_endpoint = excluded.serving_endpoint,
                project = excluded.project, shared_with_json = excluded.shared_with_json
            """)
    }

    /// Every model's route as readers see it: of the rows claiming a model, the newest claim.
    static func servedRoutes(on db: PostgresConnection) async throws -> [StoredRoute] {
        try await db.rows(
            "SELECT DISTINCT ON (model) * FROM routes ORDER BY model, claim DESC"
        ).map(route)
    }

    static func route(_ row: Record) throws -> StoredRoute {
        StoredRoute(
            model: try row("model"),
            vendor: try row("vendor"),
            kind: try row.decodeEnum(InferenceSpec.APIKind.self, "api_kind", table: "routes"),
            upstream: try row("upstream"),
            baseURLEnv: try row("base_url_env"),
            tokenEnv: try row("token_env"),
            chatPath: try row("chat_path"),
            authHeader: try row("auth_header"),
            authScheme: try row("auth_scheme"),
            timeoutSeconds: try row("timeout_seconds"),
            sendsUsageContext: try row("sends_usage_context"),
            defaultMaxTokens: try row("default_max_tokens"),
            pricing: TokenPricing(
                inputPerMillion: MicroDollars(try row("input_per_million_micros", as: Int64.self)),
                outputPerMillion: MicroDollars(try row("output_per_million_micros", as: Int64.self))),
            maxDataClass: try StoreCoding.decodeDataClass(try row("max_data_class"), column: "max_data_class", table: "routes"),
            servingEndpoint: try row("serving_endpoint"),
            project: try row("project"),
            sharedWith: try StoreCoding.sharedWith(try row("shared_with_json")))
    }

    // MARK: Cost sources

    private static func replaceCostSource(of service: Service, on db: PostgresConnection) async throws {
        guard let source = service.costSource else {
            try await db.run("DELETE FROM cost_sources WHERE vendor = \(service.id)")
            return
        }
        try await db.run(
            """
            INSERT INTO cost_sources (vendor, type, env_json, reconcile_tolerance_percent)
            VALUES (\(service.id), \(source.type.rawValue), \(try StoreCoding.canonicalJSON(source.env)), \(source.reconcileTolerancePercent))
            ON CONFLICT (vendor) DO UPDATE SET type = excluded.type, env_json = excluded.env_json,
                reconcile_tolerance_percent = excluded.reconcile_tolerance_percent
            """)
    }

    static func costSource(_ row: Record) throws -> StoredCostSource {
        StoredCostSource(
            vendor: try row("vendor"),
            source: CostSource(
                type: try row.decodeEnum(CostSourceType.self, "type", table: "cost_sources"),
                env: try StoreCoding.decodeJSON([String: String].self, from: try row("env_json")),
                reconcileTolerancePercent: try row("reconcile_tolerance_percent")))
    }

    // MARK: Objects

    static func storedObject(_ row: Record) throws -> DesiredObject {
        try StoreCoding.decodeJSON(DesiredObject.self, from: try row("spec_json"))
    }

    static func observed(_ row: Record) throws -> ObservedObject {
        ObservedObject(
            ref: ObjectRef(try row.decodeEnum(ObjectKind.self, "kind", table: "objects"), try row("id")),
            specDigest: try row("spec_digest"),
            tier: try row.decodeEnum(Tier.self, "tier", table: "objects"),
            status: try row.decodeEnum(ObjectStatus.self, "status", table: "objects"),
            project: try row("project"),
            reason: try row("status_reason"))
    }

    static func provisioningRecord(_ row: Record) throws -> ProvisioningRecord {
        ProvisioningRecord(
            ref: ObjectRef(try row.decodeEnum(ObjectKind.self, "kind", table: "provisioning"), try row("id")),
            failures: try row("failures"),
            retryAfter: try row.optionalDate("retry_after"),
            appliedPlan: try row("applied_plan"),
            applying: try row("applying"),
            approval: try row("approval"),
            outputsJSON: try row("outputs_json"))
    }
}

extension PostgresStore {
    public func observedState() async throws -> ObservedState {
        try await read { db in
            ObservedState(
                try await db.rows("SELECT kind, id, project, spec_digest, tier, status, status_reason FROM objects").map(ObjectTables.observed))
        }
    }

    @discardableResult
    public func commit(_ change: ObjectChange, audit: AuditEntry) async throws -> AuditRecord {
        try await commit([change], audit: audit)
    }

    @discardableResult
    public func commit(_ changes: [ObjectChange], audit: AuditEntry) async throws -> AuditRecord {
        let (clock, key) = (self.clock, auditKey)
        return try await write { db in
            let now = clock()
            for change in changes { try await ObjectTables.apply(change, at: now, on: db) }
            // Followers serve what is committed: told as it commits, they re-read it.
            try await db.run("SELECT pg_notify(\(Self.changeChannel), \(ChangeFeed.payload(.configuration)))")
            return try await AuditTable.append(audit, at: now, key: key, on: db)
        }
    }

    public func object(_ ref: ObjectRef) async throws -> DesiredObject? {
        try await read { db in
            try await db.rows("SELECT spec_json FROM objects WHERE kind = \(ref.kind.rawValue) AND id = \(ref.id)").first
                .map(ObjectTables.storedObject)
        }
    }

    public func provisioningRecords() async throws -> [ObjectRef: ProvisioningRecord] {
        try await read { db in
            let records = try await db.rows("SELECT * FROM provisioning").map(ObjectTables.provisioningRecord)
            return Dictionary(records.map { ($0.ref, $0) }, uniquingKeysWith: { _, last in last })
        }
    }

    public func gatewayConfiguration() async throws -> GatewayConfiguration {
        try await read { db in
            let projects = try await db.rows("SELECT spec_json FROM objects WHERE kind = \(ObjectKind.project.rawValue) ORDER BY id")
                .compactMap { row -> Project? in
                    if case .project(let project) = try ObjectTables.storedObject(row) { project } else { nil }
                }
            let applied = ObjectStatus.applied.rawValue
            let keys = try await db.rows(
                """
                SELECT spec_json FROM keys AS k
                WHERE status = \(applied) AND claim = (SELECT MAX(claim) FROM keys WHERE digest = k.digest AND status = \(applied)) ORDER BY id
                """
            ).map { try StoreCoding.decodeJSON(Key.self, from: try $0("spec_json")) }
            let people = try await db.rows("SELECT spec_json FROM objects WHERE kind = \(ObjectKind.person.rawValue) ORDER BY id")
                .compactMap { row -> Person? in
                    if case .person(let person) = try ObjectTables.storedObject(row) { person } else { nil }
                }
            return GatewayConfiguration(projects: projects, keys: keys, routes: try await ObjectTables.servedRoutes(on: db), people: people)
        }
    }

    public func routes() async throws -> [StoredRoute] {
        try await read { db in try await ObjectTables.servedRoutes(on: db) }
    }

    public func costSources() async throws -> [StoredCostSource] {
        try await read { db in try await db.rows("SELECT * FROM cost_sources ORDER BY vendor").map(ObjectTables.costSource) }
    }
}
