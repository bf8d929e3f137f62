import AsgardCore
import AsgardJSON
import Foundation
import GRDB

/// Writes to `objects` and the tables derived from it. Every function runs inside the caller's
/// write transaction, so a change and everything derived from it commit or roll back together.
///
/// Derivation rules:
/// - `keys`: one row per `Key` object, whatever its status (the status is copied beside it).
/// - `routes` declared by a manifest (`owner = 'Service/<id>'`): one per model of a
///   `Service`'s `inference.models`.
/// - `routes` for a serving endpoint (`owner = 'ServingEndpoint/<id>'`): one per
///   `ServingEndpoint` whose status is `applied` and whose vendor `Service` is stored with an
///   inference spec; the route takes the endpoint's model, pricing and data class and the
///   vendor's connection settings. It is recomputed when either the endpoint or the vendor changes.
/// - `cost_sources`: one per `Service` with a cost source.
///
/// Natural keys (a key's digest, a route's model) may be claimed by two objects for a while: a
/// key renamed with the same digest is created before the old one is removed, a model moves
/// from one service or endpoint to another, an endpoint's replacement is applied before the old
/// one is destroyed. Each derived row keeps `claim`, the order in which its object claimed the
/// natural key (kept while the object keeps it, renewed when it changes), and readers take the
/// newest claim: the newcomer serves at once, and if it goes first the older row serves again.
/// Valid desired state never claims a natural key twice, so a converged store has one row each.
enum ObjectTables {
    /// Applies `change` to `objects` and brings the derived tables in step.
    static func apply(_ change: ObjectChange, at now: Date, in db: Database) throws {
        switch change {
        case .put(let object, let tier, let status, let reason):
            try put(object, tier: tier, status: status, reason: reason, at: now, in: db)
        case .remove(let ref):
            try remove(ref, in: db)
        case .record(let record):
            try db.execute(
                sql: """
                    INSERT INTO provisioning (kind, id, failures, retry_after, applied_plan, applying, approval, outputs_json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (kind, id) DO UPDATE SET
                        failures = excluded.failures, retry_after = excluded.retry_after, applied_plan = excluded.applied_plan,
                        applying = excluded.applying, approval = excluded.approval, outputs_json = excluded.outputs_json
                    """,
                arguments: [
                    record.ref.kind.rawValue, record.ref.id, record.failures, record.retryAfter.map(Encoding.micros),
                    record.appliedPlan, record.applying, record.approval, record.outputsJSON,
                ])
        case .approvalApplied(let id):
            try db.execute(
                sql: "UPDATE approvals SET status = ? WHERE id = ? AND status = ?",
                arguments: [Approval.Status.applied.rawValue, id, Approval.Status.approved.rawValue])
            guard db.changesCount == 1 else {
                throw StoreError.approvalNotApproved(id)
            }
        }
    }

    /// Every `provisioning` row, by reference.
    static func provisioningRecords(_ db: Database) throws -> [ObjectRef: ProvisioningRecord] {
        let records = try Row.fetchAll(db, sql: "SELECT * FROM provisioning").map(provisioningRecord)
        return Dictionary(records.map { ($0.ref, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Reads one `provisioning` row.
    static func provisioningRecord(_ row: Row) throws -> ProvisioningRecord {
        let retryAfter: Int64? = try row.decode(forColumn: "retry_after")
        return ProvisioningRecord(
            ref: ObjectRef(try Encoding.decodeEnum(ObjectKind.self, row, "kind", table: "provisioning"), try row.decode(forColumn: "id")),
            failures: try row.decode(forColumn: "failures"),
            retryAfter: retryAfter.map(Encoding.date(micros:)),
            appliedPlan: try row.decode(forColumn: "applied_plan"),
            applying: try row.decode(forColumn: "applying"),
            approval: try row.decode(forColumn: "approval"),
            outputsJSON: try row.decode(forColumn: "outputs_json"))
    }

    private static func put(_ object: DesiredObject, tier: Tier, status: ObjectStatus, reason: String?, at now: Date, in db: Database) throws {
        let ref = object.ref
        try db.execute(
            sql: """
                INSERT INTO objects (kind, id, project, spec_digest, spec_json, tier, status, status_reason, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, id) DO UPDATE SET
                    project = excluded.project, spec_digest = excluded.spec_digest, spec_json = excluded.spec_json,
                    tier = excluded.tier, status = excluded.status, status_reason = excluded.status_reason,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                ref.kind.rawValue, ref.id, object.projectID, object.specDigest, object.canonicalJSON,
                tier.rawValue, status.rawValue, reason, Encoding.micros(now),
            ]
        )
        switch object {
        case .key(let key):
            // SET sees the row as it was, so the claim is renewed only when the digest changes.
            try db.execute(
                sql: """
                    INSERT INTO keys (id, project, digest, spec_json, status, claim)
                    VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(claim), 0) + 1 FROM keys))
                    ON CONFLICT (id) DO UPDATE SET
                        project = excluded.project, spec_json = excluded.spec_json, status = excluded.status,
                        claim = CASE WHEN keys.digest = excluded.digest THEN keys.claim ELSE excluded.claim END,
                        digest = excluded.digest
                    """,
                arguments: [key.id, key.project, key.digest, try Encoding.canonicalJSON(key), status.rawValue]
            )
        case .service(let service):
            try replaceManifestRoutes(of: service, in: db)
            try replaceCostSource(of: service, in: db)
            try refreshEndpointRoutes(vendor: service.id, in: db)
        case .servingEndpoint(let endpoint):
            try refreshEndpointRoute(endpoint, status: status, in: db)
        case .person, .project, .resource:
            break
        }
    }

    private static func remove(_ ref: ObjectRef, in db: Database) throws {
        try db.execute(sql: "DELETE FROM objects WHERE kind = ? AND id = ?", arguments: [ref.kind.rawValue, ref.id])
        try db.execute(sql: "DELETE FROM provisioning WHERE kind = ? AND id = ?", arguments: [ref.kind.rawValue, ref.id])
        switch ref.kind {
        case .key:
            try db.execute(sql: "DELETE FROM keys WHERE id = ?", arguments: [ref.id])
        case .service:
            // Manifest routes, and the endpoint routes that relied on this vendor's settings.
            try db.execute(sql: "DELETE FROM routes WHERE vendor = ?", arguments: [ref.id])
            try db.execute(sql: "DELETE FROM cost_sources WHERE vendor = ?", arguments: [ref.id])
        case .servingEndpoint:
            try db.execute(sql: "DELETE FROM routes WHERE owner = ?", arguments: [ref.description])
        case .person, .project, .resource:
            break
        }
    }

    // MARK: Routes

    /// Makes `service`'s manifest routes exactly its inference models: models it no longer
    /// offers lose their rows, the others are upserted (keeping their claims).
    private static func replaceManifestRoutes(of service: Service, in db: Database) throws {
        let owner = ObjectRef(.service, service.id).description
        let models = service.inference?.models ?? []
        try keepOnly(models.map(\.id), of: owner, in: db)
        guard let inference = service.inference else { return }
        for model in models {
            try upsertRoute(
                StoredRoute(
                    model: model.id, vendor: service.id, inference: inference, upstream: model.upstream,
                    pricing: model.pricing, maxDataClass: model.maxDataClass), owner: owner, in: db)
        }
    }

    /// Recomputes the routes of every serving endpoint of `vendor` (after the vendor changed).
    private static func refreshEndpointRoutes(vendor: String, in db: Database) throws {
        let rows = try Row.fetchAll(
            db, sql: "SELECT spec_json FROM objects WHERE kind = ? AND status = ?",
            arguments: [ObjectKind.servingEndpoint.rawValue, ObjectStatus.applied.rawValue]
        )
        var applied: Set<String> = []
        for row in rows {
            guard case .servingEndpoint(let endpoint) = try storedObject(row), endpoint.service == vendor else { continue }
            applied.insert(endpoint.id)
            try refreshEndpointRoute(endpoint, status: .applied, in: db)
        }
        // Endpoint routes of this vendor whose endpoint is no longer applied (none should be).
        for id in try String.fetchAll(
            db, sql: "SELECT serving_endpoint FROM routes WHERE vendor = ? AND serving_endpoint IS NOT NULL",
            arguments: [vendor]) where !applied.contains(id)
        {
            try db.execute(sql: "DELETE FROM routes WHERE owner = ?", arguments: [ObjectRef(.servingEndpoint, id).description])
        }
    }

    /// Recomputes the one route of `endpoint`: present only while it is applied and its vendor is known.
    private static func refreshEndpointRoute(_ endpoint: ServingEndpoint, status: ObjectStatus, in db: Database) throws {
        let owner = ObjectRef(.servingEndpoint, endpoint.id).description
        guard status == .applied,
            let row = try Row.fetchOne(
                db, sql: "SELECT spec_json FROM objects WHERE kind = ? AND id = ?",
                arguments: [ObjectKind.service.rawValue, endpoint.service]),
            case .service(let service) = try storedObject(row),
            let inference = service.inference
        else {
            try db.execute(sql: "DELETE FROM routes WHERE owner = ?", arguments: [owner])
            return
        }
        try keepOnly([endpoint.model], of: owner, in: db)
        try upsertRoute(
            StoredRoute(
                model: endpoint.model, vendor: endpoint.service, inference: inference, upstream: endpoint.id,
                pricing: endpoint.pricing, maxDataClass: endpoint.maxDataClass, servingEndpoint: endpoint.id,
                project: endpoint.project, sharedWith: endpoint.sharedWith ?? []),
            owner: owner, in: db)
    }

    /// Deletes the routes of `owner` whose model is not in `models`.
    private static func keepOnly(_ models: [String], of owner: String, in db: Database) throws {
        let kept = Set(models)
        for model in try String.fetchAll(db, sql: "SELECT model FROM routes WHERE owner = ?", arguments: [owner]) where !kept.contains(model) {
            try db.execute(sql: "DELETE FROM routes WHERE model = ? AND owner = ?", arguments: [model, owner])
        }
    }

    /// Inserts or updates `owner`'s route for its model. A new row takes the next claim; an
    /// existing one keeps its claim, so refreshing an older claimant never takes the model back.
    private static func upsertRoute(_ route: StoredRoute, owner: String, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO routes (model, owner, vendor, upstream, base_url_env, token_env, chat_path, timeout_seconds,
                    sends_usage_context, default_max_tokens, input_per_million_micros, output_per_million_micros,
                    max_data_class, serving_endpoint, api_kind, auth_header, auth_scheme, project, shared_with_json, claim)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(claim), 0) + 1 FROM routes))
                ON CONFLICT (model, owner) DO UPDATE SET
                    api_kind = excluded.api_kind, auth_header = excluded.auth_header, auth_scheme = excluded.auth_scheme,
                    vendor = excluded.vendor, upstream = excluded.upstream, base_url_env = excluded.base_url_env,
                    token_env = excluded.token_env, chat_path = excluded.chat_path, timeout_seconds = excluded.timeout_seconds,
                    sends_usage_context = excluded.sends_usage_context, default_max_tokens = excluded.default_max_tokens,
                    input_per_million_micros = excluded.input_per_million_micros,
                    output_per_million_micros = excluded.output_per_million_micros,
                    max_data_class = excluded.max_data_class, serving_endpoint = excluded.serving_endpoint,
                    project = excluded.project, shared_with_json = excluded.shared_with_json
                """,
            arguments: [
                route.model, owner, route.vendor, route.upstream, route.baseURLEnv, route.tokenEnv, route.chatPath,
                route.timeoutSeconds, route.sendsUsageContext, route.defaultMaxTokens,
                route.pricing.inputPerMillion.value, route.pricing.outputPerMillion.value,
                route.maxDataClass.name, route.servingEndpoint, route.kind.rawValue, route.authHeader, route.authScheme,
                route.project, Encoding.sharedWithJSON(route.sharedWith),
            ]
        )
    }

    /// Every model's route as readers see it: of the rows claiming a model, the newest claim.
    static func servedRoutes(_ db: Database) throws -> [StoredRoute] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM routes AS r WHERE claim = (SELECT MAX(claim) FROM routes WHERE model = r.model) ORDER BY model
                """
        ).map(route)
    }

    /// Reads one `routes` row.
    static func route(_ row: Row) throws -> StoredRoute {
        StoredRoute(
            model: try row.decode(forColumn: "model"),
            vendor: try row.decode(forColumn: "vendor"),
            kind: try Encoding.decodeEnum(InferenceSpec.APIKind.self, row, "api_kind", table: "routes"),
            upstream: try row.decode(forColumn: "upstream"),
            baseURLEnv: try row.decode(forColumn: "base_url_env"),
            tokenEnv: try row.decode(forColumn: "token_env"),
            chatPath: try row.decode(forColumn: "chat_path"),
            authHeader: try row.decode(forColumn: "auth_header"),
            authScheme: try row.decode(forColumn: "auth_scheme"),
            timeoutSeconds: try row.decode(forColumn: "timeout_seconds"),
            sendsUsageContext: try row.decode(forColumn: "sends_usage_context"),
            defaultMaxTokens: try row.decode(forColumn: "default_max_tokens"),
            pricing: TokenPricing(
                inputPerMillion: MicroDollars(try row.decode(forColumn: "input_per_million_micros")),
                outputPerMillion: MicroDollars(try row.decode(forColumn: "output_per_million_micros"))
            ),
            maxDataClass: try Encoding.decodeDataClass(row, "max_data_class", table: "routes"),
            servingEndpoint: try row.decode(forColumn: "serving_endpoint"),
            project: try row.decode(forColumn: "project"),
            sharedWith: try sharedWith(row)
        )
    }

    /// The project ids of a `routes` row's `shared_with_json`.
    private static func sharedWith(_ row: Row) throws -> [String] {
        try Encoding.sharedWith(try row.decode(forColumn: "shared_with_json"))
    }

    // MARK: Cost sources

    private static func replaceCostSource(of service: Service, in db: Database) throws {
        guard let source = service.costSource else {
            try db.execute(sql: "DELETE FROM cost_sources WHERE vendor = ?", arguments: [service.id])
            return
        }
        try db.execute(
            sql: """
                INSERT INTO cost_sources (vendor, type, env_json, reconcile_tolerance_percent) VALUES (?, ?, ?, ?)
                ON CONFLICT (vendor) DO UPDATE SET type = excluded.type, env_json = excluded.env_json,
                    reconcile_tolerance_percent = excluded.reconcile_tolerance_percent
                """,
            arguments: [service.id, source.type.rawValue, try Encoding.canonicalJSON(source.env), source.reconcileTolerancePercent]
        )
    }

    /// Reads one `cost_sources` row.
    static func costSource(_ row: Row) throws -> StoredCostSource {
        let type = try Encoding.decodeEnum(CostSourceType.self, row, "type", table: "cost_sources")
        let env = try Encoding.decodeJSON([String: String].self, from: try row.decode(forColumn: "env_json"))
        // A store not yet migrated to v12 (read by a dry run, which never migrates) has no tolerance.
        let tolerance: Int? = row.hasColumn("reconcile_tolerance_percent") ? row["reconcile_tolerance_percent"] : nil
        return StoredCostSource(
            vendor: try row.decode(forColumn: "vendor"), source: CostSource(type: type, env: env, reconcileTolerancePercent: tolerance))
    }

    // MARK: Objects and keys

    /// Decodes the `spec_json` column of an `objects` row.
    static func storedObject(_ row: Row) throws -> DesiredObject {
        try Encoding.decodeJSON(DesiredObject.self, from: try row.decode(forColumn: "spec_json"))
    }

    /// Every `objects` row as the controller observes it.
    static func observedState(_ db: Database) throws -> ObservedState {
        ObservedState(try Row.fetchAll(db, sql: "SELECT kind, id, project, spec_digest, tier, status, status_reason FROM objects").map(observed))
    }

    /// Reads one `objects` row as the controller observes it.
    static func observed(_ row: Row) throws -> ObservedObject {
        ObservedObject(
            ref: ObjectRef(try Encoding.decodeEnum(ObjectKind.self, row, "kind", table: "objects"), try row.decode(forColumn: "id")),
            specDigest: try row.decode(forColumn: "spec_digest"),
            tier: try Encoding.decodeEnum(Tier.self, row, "tier", table: "objects"),
            status: try Encoding.decodeEnum(ObjectStatus.self, row, "status", table: "objects"),
            project: try row.decode(forColumn: "project"),
            reason: try row.decode(forColumn: "status_reason")
        )
    }

    /// Reads one `keys` row.
    static func storedKey(_ row: Row) throws -> StoredKey {
        StoredKey(
            key: try Encoding.decodeJSON(Key.self, from: try row.decode(forColumn: "spec_json")),
            status: try Encoding.decodeEnum(ObjectStatus.self, row, "status", table: "keys")
        )
    }
}
