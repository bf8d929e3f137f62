/// What the fake Databricks workspace holds and how it behaves: the bearer token it expects, the
/// serving endpoints it starts with, per-endpoint knobs (latency, faults, rate limit, streaming),
/// and the billing history and SQL warehouse behind the Statement Execution API.
/// Endpoints change at run time (created, deleted, retagged through the API or
/// `FakeDatabricksControls`); this configuration is where every run, and `reset()`, starts.
public struct FakeDatabricksConfiguration: Sendable {
    /// The personal access token every API call must carry as `Authorization: Bearer <token>`.
    public var token: String
    /// Tokens that authenticate but may neither query nor manage endpoints (invocations,
    /// creation, deletion and tag changes answer 403 PERMISSION_DENIED; listing still works),
    /// like a user without CAN_QUERY or CAN_MANAGE.
    public var readOnlyTokens: Set<String>
    /// The serving endpoints the workspace starts with, in listing order.
    public var endpoints: [FakeServingEndpoint]
    /// The knobs of endpoints created at run time (`POST /api/2.0/serving-endpoints`).
    public var createdEndpointKnobs: EndpointKnobs
    /// The `created` second stamped on completions; nil stamps the wall clock instead.
    /// Fixed by default so that every response body is a pure function of the request.
    public var createdTimestamp: Int?
    /// Milliseconds since the epoch reported as endpoints' creation and update times.
    public var endpointTimestampMillis: Int
    /// The upper bound on a request body.
    public var maxBodyBytes: Int
    /// The billing history the workspace starts with (`system.billing.usage` and
    /// `list_prices`); nil: no usage rows, and `FakeListPrice.defaults` as the price list.
    public var billing: FakeBillingSeed?
    /// The SQL warehouse ids `POST /api/2.0/sql/statements` accepts.
    public var warehouseIDs: Set<String>
    /// Rows per result chunk of a statement.
    public var rowsPerChunk: Int
    /// How long statements stay PENDING/RUNNING before they complete.
    public var statementLatency: Duration
    /// `account_id` of billing rows.
    public var accountID: String
    /// `workspace_id` of billing rows.
    public var workspaceID: String

    public init(
        token: String = "dapi-fake-token",
        readOnlyTokens: Set<String> = [],
        endpoints: [FakeServingEndpoint] = FakeServingEndpoint.shipped,
        createdTimestamp: Int? = 1_735_689_600,
        endpointTimestampMillis: Int = 1_735_689_600_000,
        maxBodyBytes: Int = 8 << 20,
        createdEndpointKnobs: EndpointKnobs = EndpointKnobs(),
        billing: FakeBillingSeed? = nil,
        warehouseIDs: Set<String> = ["fake-warehouse"],
        rowsPerChunk: Int = 10_000,
        statementLatency: Duration = .zero,
        accountID: String = "00000000-0000-4000-8000-00000000fake",
        workspaceID: String = "1234567890123456"
    ) {
        self.token = token
        self.readOnlyTokens = readOnlyTokens
        self.endpoints = endpoints
        self.createdTimestamp = createdTimestamp
        self.endpointTimestampMillis = endpointTimestampMillis
        self.maxBodyBytes = maxBodyBytes
        self.createdEndpointKnobs = createdEndpointKnobs
        self.billing = billing
        self.warehouseIDs = warehouseIDs
        self.rowsPerChunk = rowsPerChunk
        self.statementLatency = statementLatency
        self.accountID = accountID
        self.workspaceID = workspaceID
    }

    /// The configured endpoint named `name`, if any (`FakeDatabricksControls.endpoint(named:)`
    /// answers for the running workspace).
    public func endpoint(named name: String) -> FakeServingEndpoint? {
        endpoints.first { $0.name == name }
    }

    /// Applies `change` to the knobs of every endpoint, those created at run time included
    /// (e.g. `fake-databricks --latency-ms`).
    public mutating func setKnobsForAll(_ change: (inout EndpointKnobs) -> Void) {
        for index in endpoints.indices { change(&endpoints[index].knobs) }
        change(&createdEndpointKnobs)
    }
}

/// One serving endpoint of the fake workspace.
public struct FakeServingEndpoint: Sendable, Hashable {
    /// `state.ready` as the API reports it.
    public enum Ready: String, Sendable, Hashable {
        case ready = "READY"
        case notReady = "NOT_READY"
    }
    /// `state.config_update` as the API reports it.
    public enum ConfigUpdate: String, Sendable, Hashable {
        case notUpdating = "NOT_UPDATING"
        case inProgress = "IN_PROGRESS"
        case updateFailed = "UPDATE_FAILED"
        case updateCanceled = "UPDATE_CANCELED"
    }

    public var name: String
    /// The system-generated id; nil derives a stable one from the name.
    public var id: String?
    public var ready: Ready
    public var configUpdate: ConfigUpdate
    /// `tags[{key, value}]`, in order.
    public var tags: [(key: String, value: String)]
    /// e.g. `llm/v1/chat`.
    public var task: String
    /// `config.served_entities` as the API describes them.
    public var servedEntities: [FakeServedEntity]
    /// The `model` field of completions (what the endpoint serves): the first served entity's
    /// `entityName`, or the endpoint's name when it serves nothing.
    public var model: String { servedEntities.first?.entityName ?? name }
    /// The `served-model-name` response header: the first served entity's `name`, or the
    /// endpoint's name when it serves nothing.
    public var servedModelName: String { servedEntities.first?.name ?? name }
    /// `creation_timestamp` (milliseconds since the epoch); nil reports the configuration's
    /// `endpointTimestampMillis`.
    public var creationTimestampMillis: Int?
    /// `last_updated_timestamp`; nil reports the creation time.
    public var lastUpdatedTimestampMillis: Int?
    /// The behaviour knobs this endpoint starts with (change them at run time with
    /// `FakeDatabricksControls`).
    public var knobs: EndpointKnobs

    /// `model` and `servedModelName` only seed the single served entity used when
    /// `servedEntities` is nil (`servedModelName` defaults to `model`, `model` to `name`).
    public init(
        name: String,
        ready: Ready = .ready,
        configUpdate: ConfigUpdate = .notUpdating,
        tags: [(key: String, value: String)] = [],
        task: String = "llm/v1/chat",
        model: String? = nil,
        servedModelName: String? = nil,
        knobs: EndpointKnobs = EndpointKnobs(),
        id: String? = nil,
        servedEntities: [FakeServedEntity]? = nil,
        creationTimestampMillis: Int? = nil,
        lastUpdatedTimestampMillis: Int? = nil
    ) {
        self.name = name
        self.id = id
        self.ready = ready
        self.configUpdate = configUpdate
        self.tags = tags
        self.task = task
        let model = model ?? name
        self.servedEntities = servedEntities ?? [FakeServedEntity(name: servedModelName ?? model, entityName: model)]
        self.creationTimestampMillis = creationTimestampMillis
        self.lastUpdatedTimestampMillis = lastUpdatedTimestampMillis
        self.knobs = knobs
    }

    /// A 32-hex-digit id derived from `seed`, shaped like the API's endpoint ids.
    static func derivedID(_ seed: String) -> String {
        FakeModel.hex(FakeModel.fnv1a("endpoint:" + seed)) + FakeModel.hex(FakeModel.fnv1a(seed))
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.id == rhs.id && lhs.ready == rhs.ready && lhs.configUpdate == rhs.configUpdate
            && lhs.tags.map { [$0.key, $0.value] } == rhs.tags.map { [$0.key, $0.value] }
            && lhs.task == rhs.task && lhs.servedEntities == rhs.servedEntities && lhs.creationTimestampMillis == rhs.creationTimestampMillis
            && lhs.lastUpdatedTimestampMillis == rhs.lastUpdatedTimestampMillis && lhs.knobs == rhs.knobs
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// The shipped workspace: the pay-per-token Llama endpoint and a dedicated `fraud-triage`
    /// endpoint carrying a project tag.
    public static let shipped: [FakeServingEndpoint] = [
        FakeServingEndpoint(
            name: "databricks-meta-llama-3-3-70b-instruct",
            model: "meta-llama-3.3-70b-instruct-121024",
            servedModelName: "databricks-meta-llama-3-3-70b-instruct"
        ),
        FakeServingEndpoint(
            name: "fraud-triage",
            tags: [(key: "project", value: "fraud-detection"), (key: "team", value: "risk")],
            model: "fraud-triage-llm",
            servedModelName: "fraud-triage-llm-1"
        ),
    ]
}

/// An error the fake answers instead of a completion: status, `error_code` and `message`.
public struct FakeFault: Sendable, Hashable {
    public var status: Int
    public var errorCode: String
    public var message: String
    /// How many further calls fail this way; nil means every call.
    public var remaining: Int?
    /// A `Retry-After` header (seconds) to send with it, if any.
    public var retryAfterSeconds: Int?

    public init(status: Int, errorCode: String, message: String? = nil, times: Int? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.errorCode = errorCode
        self.message = message ?? "\(errorCode): injected fault (HTTP \(status))"
        self.remaining = times
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static func internalError(times: Int? = nil) -> FakeFault {
        FakeFault(status: 500, errorCode: "INTERNAL_ERROR", message: "Internal error.", times: times)
    }

    public static func unavailable(times: Int? = nil) -> FakeFault {
        FakeFault(
            status: 503, errorCode: "TEMPORARILY_UNAVAILABLE",
            message: "The service is temporarily unavailable. Please try again later.", times: times)
    }

    public static func permissionDenied(times: Int? = nil) -> FakeFault {
        FakeFault(
            status: 403, errorCode: "PERMISSION_DENIED",
            message: "User does not have permission to query this serving endpoint.", times: times)
    }

    public static func rateLimited(times: Int? = nil, retryAfterSeconds: Int? = 1) -> FakeFault {
        FakeFault(
            status: 429, errorCode: "REQUEST_LIMIT_EXCEEDED",
            message: "REQUEST_LIMIT_EXCEEDED: Exceeded workspace rate limit.", times: times,
            retryAfterSeconds: retryAfterSeconds)
    }

    public static func timeout(times: Int? = nil) -> FakeFault {
        FakeFault(status: 504, errorCode: "DEADLINE_EXCEEDED", message: "The request timed out.", times: times)
    }
}

/// Whether a stream ends with a chunk carrying `usage` (the wire fact is unverified, so the
/// fake can do either).
public enum StreamUsageMode: Sendable, Hashable {
    /// Only when the request asks with `stream_options.include_usage: true` (the default).
    case whenRequested
    /// Always.
    case always
    /// Never.
    case never
}

/// Per-endpoint behaviour knobs.
public struct EndpointKnobs: Sendable, Hashable {
    /// Added before every answer of this endpoint (errors included, auth failures excepted).
    public var latency: Duration
    /// Added before every stream frame after the first (and before a stream is dropped).
    public var chunkDelay: Duration
    /// The fault answered instead of a completion (while `remaining` is nil or positive).
    public var fault: FakeFault?
    /// 429 REQUEST_LIMIT_EXCEEDED once this many calls were accepted in the last minute.
    public var rateLimitPerMinute: Int?
    /// The `Retry-After` header (seconds) sent with rate-limit answers; nil sends none.
    public var rateLimitRetryAfterSeconds: Int?
    /// Close the connection after writing this many SSE frames of a stream.
    public var dropStreamAfterChunks: Int?
    /// Whether streams end with a `usage` chunk.
    public var streamUsage: StreamUsageMode
    /// Whether streams end with `data: [DONE]`.
    public var streamDone: Bool

    public init(
        latency: Duration = .zero,
        chunkDelay: Duration = .zero,
        fault: FakeFault? = nil,
        rateLimitPerMinute: Int? = nil,
        rateLimitRetryAfterSeconds: Int? = 1,
        dropStreamAfterChunks: Int? = nil,
        streamUsage: StreamUsageMode = .whenRequested,
        streamDone: Bool = true
    ) {
        self.latency = latency
        self.chunkDelay = chunkDelay
        self.fault = fault
        self.rateLimitPerMinute = rateLimitPerMinute
        self.rateLimitRetryAfterSeconds = rateLimitRetryAfterSeconds
        self.dropStreamAfterChunks = dropStreamAfterChunks
        self.streamUsage = streamUsage
        self.streamDone = streamDone
    }
}
