public import AsgardJSON
public import Foundation

/// Asgard's persistence, as the controller, the server and the CLI see it: applied objects and
/// what is derived from them (keys, the gateway route table, cost-source configuration),
/// approvals, kill switches, the ledger and the audit log. `AsgardStore.SQLiteStore` implements
/// it; every implementation must pass the conformance suite (`StoreConformanceTests`).
///
/// Plain value types in and out, every multi-row change atomic, no SQL dialect leaking out.
public protocol Store: Sendable {
    // MARK: Objects

    /// Every object the controller has acted on.
    func observedState() async throws -> ObservedState

    /// Records one reconcile step and its audit entry in one transaction, and keeps the
    /// derived tables in step: a `Key` writes its keys row, a `Service` replaces its routes
    /// and cost source, a `ServingEndpoint` has a route only while its status is `applied`.
    /// Two objects may claim one natural key (a key digest, a route's model) for a while; the
    /// newest claim is what readers see.
    /// - Returns: the audit record written.
    @discardableResult
    func commit(_ change: ObjectChange, audit: AuditEntry) async throws -> AuditRecord

    /// Records several changes and one audit entry in one transaction (an object's status
    /// together with its provisioning record, say).
    @discardableResult
    func commit(_ changes: [ObjectChange], audit: AuditEntry) async throws -> AuditRecord

    /// The stored content of one object, as last acted on.
    func object(_ ref: ObjectRef) async throws -> DesiredObject?

    /// The provisioning record of every resource and serving endpoint that has one.
    func provisioningRecords() async throws -> [ObjectRef: ProvisioningRecord]

    /// What the gateway serves, read in one snapshot: projects, keys in effect (applied; one per
    /// digest, the newest claim) and routes (one per model, the newest claim).
    func gatewayConfiguration() async throws -> GatewayConfiguration

    /// The gateway route table: every routable model, as `gatewayConfiguration` gives it.
    func routes() async throws -> [StoredRoute]

    /// The cost sources to read, one per vendor that has one.
    func costSources() async throws -> [StoredCostSource]

    // MARK: Audit

    /// Appends one audit entry on its own.
    @discardableResult
    func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord

    /// The newest `limit` audit records, oldest first.
    func auditTail(limit: Int) async throws -> [AuditRecord]

    /// Walks the whole audit chain (every MAC under the store's audit key), the recorded head,
    /// and `anchors`: each anchored entry must still have its anchored MAC, and the log must
    /// still reach it.
    func verifyAudit(anchors: [AuditAnchor]) async throws -> AuditVerification

    // MARK: Calls: the ledger

    /// Copies journaled calls into the ledger and the audit log (each audit entry at its call's
    /// time) and records `position` as copied, in one transaction, on the calling thread (the
    /// server's call ingester has a thread of its own).
    func ingest(_ calls: [RecordedCall], through position: JournalPosition) throws

    /// How far the call journal has been copied in; nil if nothing ever was.
    func journalPosition() throws -> JournalPosition?

    /// Makes everything committed so far durable in the store's own files, on the calling
    /// thread, so the journal segments it covers may be deleted.
    /// - Returns: whether it could (a reader holding old pages back makes it incomplete).
    func makeDurable() throws -> Bool

    /// Ledger rows of a project with `from <= time < to`, oldest first.
    func ledger(project: String, from: Date, to: Date) async throws -> [LedgerEntry]

    /// Total cost of a project's ledger rows with `from <= time < to`.
    func spend(project: String, from: Date, to: Date) async throws -> MicroDollars

    /// A project's spend by UTC day and model, for `from <= time < to`, ordered by day then model.
    func usage(project: String, from: Date, to: Date) async throws -> [UsageRow]

    // MARK: Kill switches

    /// Every engaged kill switch.
    func killSwitches() async throws -> [StoredKillSwitch]

    /// Engages (or re-engages) a kill switch and audits it, in one transaction.
    func engageKillSwitch(_ killSwitch: StoredKillSwitch, audit: AuditEntry) async throws

    /// Releases a kill switch and audits it, in one transaction.
    /// - Returns: false when no such switch was engaged (nothing is audited then).
    func releaseKillSwitch(scope: KillScope, target: String, audit: AuditEntry) async throws -> Bool

    // MARK: Approvals

    /// Opens an approval request.
    func requestApproval(_ request: ApprovalRequest) async throws -> Approval

    /// Approvals, newest first, optionally only those in `status`.
    func approvals(status: Approval.Status?) async throws -> [Approval]

    /// Moves a pending approval to `approved`, `rejected` or `void` (an approved one may also
    /// be voided) and appends `audit` in the same transaction.
    /// - Throws: `StoreError.approvalNotFound`, `StoreError.approvalNotPending`.
    func decideApproval(id: String, status: Approval.Status, by: String, reason: String?, audit: AuditEntry?) async throws -> Approval

    // MARK: Requests (objects asked for through MCP or the API)

    /// Records a new open request, the approval it needs (a project proposal's) and `audit`,
    /// in one transaction.
    /// - Returns: the approval opened, if one was asked for.
    /// - Throws: `StoreError.requestConflict` when an open request already asks for the same object.
    @discardableResult
    func submitRequest(_ request: ObjectRequest, approval: ApprovalRequest?, audit: AuditEntry) async throws -> Approval?

    /// Requests, oldest first, optionally only those in `status`.
    func objectRequests(status: ObjectRequest.Status?) async throws -> [ObjectRequest]

    /// Moves an open request to `status` (with `reason`) and appends `audit`, in one transaction.
    /// - Throws: `StoreError.requestNotFound`, `StoreError.requestNotOpen`.
    @discardableResult
    func closeRequest(id: String, status: ObjectRequest.Status, reason: String?, audit: AuditEntry?) async throws -> ObjectRequest

    // MARK: People

    /// Counts for people: objects by kind and status, routes, keys, approvals, ledger, audit.
    func summary() async throws -> StoreSummary

    /// Records `source` as the enforced policy set when it differs from the one recorded, with
    /// `audit` (`policy.enforce`) in the same transaction.
    /// - Returns: whether anything changed.
    @discardableResult
    func recordEnforcedPolicies(_ source: PolicySource, audit: AuditEntry) async throws -> Bool

    /// The policy set a controller last enforced; nil before any has run.
    func enforcedPolicies() async throws -> PolicySource?
}

extension Store {
    /// Walks the whole audit chain and the recorded head, with no anchors.
    public func verifyAudit() async throws -> AuditVerification { try await verifyAudit(anchors: []) }
}

/// One change to the applied-objects table.
public enum ObjectChange: Sendable, Hashable {
    /// Insert or replace the object with its tier and status.
    case put(DesiredObject, tier: Tier, status: ObjectStatus, reason: String?)
    /// Remove the object and whatever was derived from it (its provisioning record too).
    case remove(ObjectRef)
    /// Insert or replace the provisioning record of a resource or serving endpoint.
    case record(ProvisioningRecord)
    /// Mark an approved approval as applied: its plan was carried out, so it can never be used again.
    case approvalApplied(id: String)
}

/// What the controller remembers of provisioning one resource or serving endpoint between
/// passes: failures and backoff, the plan applied, and an apply in flight.
public struct ProvisioningRecord: Sendable, Hashable, Codable {
    public var ref: ObjectRef
    /// Consecutive failed attempts since the last success.
    public var failures: Int
    /// No new attempt before this time (backoff after a failure).
    public var retryAfter: Date?
    /// The digest of the plan last applied.
    public var appliedPlan: String?
    /// Committed just before terraform applies this plan digest and cleared once the outcome
    /// is recorded: still set on a later pass means the process died during the apply.
    public var applying: String?
    /// The approval whose plan is being, or was last, applied (human tier).
    public var approval: String?
    /// The outputs of the last apply, as JSON text.
    public var outputsJSON: String?

    public init(
        ref: ObjectRef, failures: Int = 0, retryAfter: Date? = nil, appliedPlan: String? = nil, applying: String? = nil,
        approval: String? = nil, outputsJSON: String? = nil
    ) {
        self.ref = ref
        self.failures = failures
        self.retryAfter = retryAfter
        self.appliedPlan = appliedPlan
        self.applying = applying
        self.approval = approval
        self.outputsJSON = outputsJSON
    }
}

/// A read-only view of a store, for `reconcile --dry-run`.
public struct ReadOnlySnapshot: Sendable {
    public var observed: ObservedState
    public var records: [ObjectRef: ProvisioningRecord]
    public var killSwitches: [StoredKillSwitch]
    public var approvals: [Approval]
    /// Every request made through MCP or the API, oldest first.
    public var requests: [ObjectRequest]

    public init(
        observed: ObservedState, records: [ObjectRef: ProvisioningRecord], killSwitches: [StoredKillSwitch], approvals: [Approval],
        requests: [ObjectRequest] = []
    ) {
        self.observed = observed
        self.records = records
        self.killSwitches = killSwitches
        self.approvals = approvals
        self.requests = requests
    }
}

/// What a caller asks to audit; the store assigns sequence, time and hashes.
public struct AuditEntry: Sendable, Hashable {
    public var actor: String
    public var action: String
    public var target: String?
    public var outcome: String
    /// Details, encoded by the store as canonical JSON (sorted keys).
    public var detail: [String: String]

    public init(actor: String, action: String, target: String?, outcome: String, detail: [String: String] = [:]) {
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.detail = detail
    }
}

/// One model call, as metered by the gateway.
public struct LedgerEntry: Sendable, Hashable, Codable {
    public var requestID: String
    public var time: Date
    public var project: String
    public var keyID: String
    public var vendor: String
    public var model: String
    public var upstream: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var cost: MicroDollars
    public var latencyMicroseconds: Int64
    /// `ok`, or the error code the caller saw.
    public var status: String
    /// True when token counts were estimated rather than reported by the upstream.
    public var estimated: Bool
    /// True when the vendor reported more tokens than the request could have produced: the
    /// counts and the cost are the request's bound instead (never more than its reservation).
    public var overrun: Bool

    public init(
        requestID: String, time: Date, project: String, keyID: String, vendor: String, model: String, upstream: String,
        promptTokens: Int, completionTokens: Int, cost: MicroDollars, latencyMicroseconds: Int64, status: String, estimated: Bool,
        overrun: Bool = false
    ) {
        self.requestID = requestID
        self.time = time
        self.project = project
        self.keyID = keyID
        self.vendor = vendor
        self.model = model
        self.upstream = upstream
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.latencyMicroseconds = latencyMicroseconds
        self.status = status
        self.estimated = estimated
        self.overrun = overrun
    }
}

/// One day's use of one model by a project.
public struct UsageRow: Sendable, Hashable, Codable {
    /// UTC day, `YYYY-MM-DD`.
    public var day: String
    public var model: String
    public var calls: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var cost: MicroDollars
    /// Calls whose token counts were estimated.
    public var estimatedCalls: Int

    public init(day: String, model: String, calls: Int, promptTokens: Int, completionTokens: Int, cost: MicroDollars, estimatedCalls: Int) {
        self.day = day
        self.model = model
        self.calls = calls
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
        self.estimatedCalls = estimatedCalls
    }
}

/// An engaged kill switch: `target` is the vendor, model, project or key id (empty for global).
public struct StoredKillSwitch: Sendable, Hashable, Codable {
    public var scope: KillScope
    public var target: String
    public var reason: String
    public var engagedBy: String
    public var since: Date

    public init(scope: KillScope, target: String, reason: String, engagedBy: String, since: Date) {
        self.scope = scope
        self.target = scope == .global ? "" : target
        self.reason = reason
        self.engagedBy = engagedBy
        self.since = since
    }
}

/// A key as the gateway needs it.
public struct StoredKey: Sendable, Hashable, Codable {
    public var key: Key
    public var status: ObjectStatus

    public init(key: Key, status: ObjectStatus) {
        self.key = key
        self.status = status
    }
}

/// What the gateway serves, as the store holds it: the snapshot the controller publishes is
/// built from this (and the policies), so the gateway serves exactly what was committed.
public struct GatewayConfiguration: Sendable, Hashable {
    public var projects: [Project]
    /// Applied keys, one per digest.
    public var keys: [Key]
    /// One per model.
    public var routes: [StoredRoute]
    /// Who may act through the admin API, by their personal credentials.
    public var people: [Person]

    public init(projects: [Project], keys: [Key], routes: [StoredRoute], people: [Person] = []) {
        self.projects = projects
        self.keys = keys
        self.routes = routes
        self.people = people
    }
}

/// One row of the gateway route table (the domain's `Route`).
public typealias StoredRoute = Route

/// A vendor's configured cost source.
public struct StoredCostSource: Sendable, Hashable, Codable {
    public var vendor: String
    public var source: CostSource

    public init(vendor: String, source: CostSource) {
        self.vendor = vendor
        self.source = source
    }
}

/// What an approved plan does to its object.
public enum ApprovalOperation: String, Sendable, Hashable, Codable, CaseIterable {
    /// Create or change it (or repair drift) at the vendor.
    case provision
    /// Destroy it at the vendor: it was removed from desired state.
    case destroy
}

/// One resource instance a plan creates, changes, replaces or destroys, as an approver sees it:
/// terraform's attribute values before and after, every sensitive value masked as `"(sensitive)"`.
/// Values terraform knows only after the apply (an id, say) are absent from `after`.
///
/// Encoded (`--json`, the admin API) with `before` and `after` as the JSON text of the values,
/// exactly as terraform planned them: an encoder's key strategy never rewrites a map key.
public struct PlannedChange: Sendable, Hashable, Codable {
    /// e.g. `module.service.databricks_sql_endpoint.this`.
    public var address: String
    /// e.g. `databricks_sql_endpoint`.
    public var type: String
    /// `create`, `update`, `replace` or `destroy`.
    public var action: String
    /// The attribute values now (nil for a create).
    public var before: JSONValue?
    /// The attribute values after the apply (nil for a destroy).
    public var after: JSONValue?

    public init(address: String, type: String, action: String, before: JSONValue?, after: JSONValue?) {
        self.address = address
        self.type = type
        self.action = action
        self.before = before
        self.after = after
    }

    private enum CodingKeys: String, CodingKey {
        case address, type, action, before, after
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encode(type, forKey: .type)
        try container.encode(action, forKey: .action)
        try container.encode(before?.jsonText, forKey: .before)
        try container.encode(after?.jsonText, forKey: .after)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            address: try container.decode(String.self, forKey: .address), type: try container.decode(String.self, forKey: .type),
            action: try container.decode(String.self, forKey: .action), before: try Self.values(.before, in: container),
            after: try Self.values(.after, in: container))
    }

    /// The values whose JSON text is at `key`, if any.
    private static func values(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>) throws -> JSONValue? {
        guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: error.description)
        }
    }
}

/// What an approval is asked for.
public struct ApprovalRequest: Sendable, Hashable {
    public var ref: ObjectRef
    public var project: String
    /// `Action.digest` of the action awaiting approval.
    public var actionDigest: String
    /// SHA-256 of the terraform plan approved, once there is one.
    public var planDigest: String?
    /// What will happen, for the approver.
    public var summary: String
    /// Whether the plan provisions the object or destroys it.
    public var operation: ApprovalOperation
    /// The plan's resource changes with their attribute values (sensitive ones masked).
    public var changes: [PlannedChange]
    /// What the object costs a month (for a destroy: what stops being spent).
    public var estimate: CostEstimate
    public var requestedBy: String

    public init(
        ref: ObjectRef, project: String, actionDigest: String, planDigest: String?, summary: String,
        operation: ApprovalOperation = .provision, changes: [PlannedChange] = [], estimate: CostEstimate, requestedBy: String
    ) {
        self.ref = ref
        self.project = project
        self.actionDigest = actionDigest
        self.planDigest = planDigest
        self.summary = summary
        self.operation = operation
        self.changes = changes
        self.estimate = estimate
        self.requestedBy = requestedBy
    }
}

/// An approval and where it stands.
public struct Approval: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pending
        case approved
        case rejected
        /// Superseded: the plan it approved no longer matches.
        case void
        /// Approved, and its plan was applied: spent, it is never used again.
        case applied
    }

    public var id: String
    public var ref: ObjectRef
    public var project: String
    public var actionDigest: String
    public var planDigest: String?
    public var summary: String
    /// Whether the plan provisions the object or destroys it.
    public var operation: ApprovalOperation
    /// The plan's resource changes with their attribute values (sensitive ones masked).
    public var changes: [PlannedChange]
    /// What the object costs a month (for a destroy: what stops being spent).
    public var estimate: CostEstimate
    public var requestedBy: String
    public var status: Status
    public var decidedBy: String?
    public var reason: String?
    public var createdAt: Date
    public var decidedAt: Date?

    public init(
        id: String, ref: ObjectRef, project: String, actionDigest: String, planDigest: String?, summary: String,
        operation: ApprovalOperation = .provision, changes: [PlannedChange] = [], estimate: CostEstimate, requestedBy: String,
        status: Status, decidedBy: String?, reason: String?, createdAt: Date, decidedAt: Date?
    ) {
        self.id = id
        self.ref = ref
        self.project = project
        self.actionDigest = actionDigest
        self.planDigest = planDigest
        self.summary = summary
        self.operation = operation
        self.changes = changes
        self.estimate = estimate
        self.requestedBy = requestedBy
        self.status = status
        self.decidedBy = decidedBy
        self.reason = reason
        self.createdAt = createdAt
        self.decidedAt = decidedAt
    }
}

extension Approval {
    /// Whether it still stands for its plan: pending, or approved and not yet applied.
    public var isOpen: Bool { status == .pending || status == .approved }
}

/// Counts for `asgard status` and `make run`.
public struct StoreSummary: Sendable, Hashable, Codable {
    /// `Kind` → `status` → count.
    public var objects: [String: [String: Int]]
    public var routes: Int
    public var keys: Int
    public var costSources: Int
    public var pendingApprovals: Int
    public var ledgerRows: Int
    public var auditEntries: Int
    public var auditHead: String?

    public init(
        objects: [String: [String: Int]], routes: Int, keys: Int, costSources: Int, pendingApprovals: Int,
        ledgerRows: Int, auditEntries: Int, auditHead: String?
    ) {
        self.objects = objects
        self.routes = routes
        self.keys = keys
        self.costSources = costSources
        self.pendingApprovals = pendingApprovals
        self.ledgerRows = ledgerRows
        self.auditEntries = auditEntries
        self.auditHead = auditHead
    }
}

/// Store failures that callers handle.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case approvalNotFound(String)
    case approvalNotPending(id: String, status: Approval.Status)
    /// Only an approved approval can be marked applied.
    case approvalNotApproved(String)
    /// The database was written by a newer Asgard.
    case unknownSchemaVersion(String)
    case requestNotFound(String)
    case requestNotOpen(id: String, status: ObjectRequest.Status)
    /// An open request already asks for this object.
    case requestConflict(ref: ObjectRef, request: String)

    public var description: String {
        switch self {
        case .approvalNotFound(let id): "no approval with id \(id)"
        case .approvalNotPending(let id, let status): "approval \(id) is already \(status.rawValue)"
        case .approvalNotApproved(let id): "approval \(id) is not approved, so it cannot be marked applied"
        case .requestNotFound(let id): "no request with id \(id)"
        case .requestNotOpen(let id, let status): "request \(id) is already \(status.rawValue)"
        case .requestConflict(let ref, let request): "request \(request) already asks for \(ref)"
        case .unknownSchemaVersion(let v):
            "the database has schema migration \(v), which this Asgard does not know: refusing to run an older binary on a newer store"
        }
    }
}

/// One finished call as the gateway records it: its audit entry, its ledger row if it reached a
/// model, and when it was recorded (the audit entry's time once it is in the store).
public struct RecordedCall: Sendable, Hashable {
    public var time: Date
    public var ledger: LedgerEntry?
    public var audit: AuditEntry

    public init(time: Date, ledger: LedgerEntry?, audit: AuditEntry) {
        self.time = time
        self.ledger = ledger
        self.audit = audit
    }
}

/// A place in the journal: the byte just after some record of some segment.
public struct JournalPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: UInt64
    public var offset: Int64

    public init(segment: UInt64, offset: Int64) {
        self.segment = segment
        self.offset = offset
    }

    public static func < (lhs: JournalPosition, rhs: JournalPosition) -> Bool {
        (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
    }

    public var description: String { "segment \(segment) offset \(offset)" }
}

/// The policy files a controller enforces, as text: what `serve` and `reconcile` record in the
/// store, so a command that decides alone (`approve`, `kill`, ...) decides under exactly the
/// policies in force, never under a directory its caller points at.
public struct PolicySource: Sendable, Hashable, Codable {
    public struct File: Sendable, Hashable, Codable {
        public var name: String
        public var text: String

        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    /// In file-name order.
    public var files: [File]

    public init(files: [File]) { self.files = files }

    /// SHA-256 of the files' canonical JSON, hex: names the policy set in audit entries.
    public var digest: String { SHA256.hex((try? CanonicalJSON.encode(files)) ?? "") }
}

extension AuditEntry {
    /// `policy.enforce`: `actor` now enforces `source` (its digest and file names).
    public static func policiesEnforced(_ source: PolicySource, by actor: String) -> AuditEntry {
        AuditEntry(
            actor: actor, action: "policy.enforce", target: "policies", outcome: "enforced",
            detail: ["digest": source.digest, "files": source.files.map(\.name).joined(separator: ",")])
    }
}
