public import AsgardJSON
import Foundation
import Synchronization

/// One request the fake received for a serving endpoint.
public struct RecordedRequest: Sendable, Hashable {
    public var endpoint: String
    public var method: String
    public var path: String
    /// Header names lower-cased; repeated headers joined with ", ".
    public var headers: [String: String]
    /// The raw body as text.
    public var body: String
    /// The body parsed as JSON, nil when it was not JSON.
    public var json: JSONValue?
}

/// Run-time control of a running fake: the live registry of serving endpoints (the server's
/// create, delete and tag calls change it; a test changes it out of band, as someone clicking
/// in the Databricks UI would), any endpoint's knobs (latency, faults, rate limit, dropped
/// streams), and what it received (calls per endpoint, request bodies).
/// Thread-safe: one lock guards all of it, so each change is atomic. Share one instance between
/// the server and the test.
public final class FakeDatabricksControls: Sendable {
    /// What the server should do with one accepted call.
    enum Admission: Sendable {
        case proceed
        case fault(FakeFault)
        case rateLimited(limit: Int, retryAfterSeconds: Int?)
    }

    private struct State {
        var registry: EndpointRegistry
        var knobs: [String: EndpointKnobs]
        var calls: [String: Int] = [:]
        var requests: [String: [RecordedRequest]] = [:]
        var accepted: [String: [ContinuousClock.Instant]] = [:]
        var listCalls = 0
    }

    /// How many requests per endpoint `requests(for:)` keeps (the oldest are dropped).
    public static let keptRequests = 200

    private let initialEndpoints: [FakeServingEndpoint]
    private let createdEndpointKnobs: EndpointKnobs
    private let state: Mutex<State>
    /// The billing tables, the SQL warehouse and their knobs.
    public let billing: FakeBilling

    public init(configuration: FakeDatabricksConfiguration) {
        self.initialEndpoints = configuration.endpoints
        self.createdEndpointKnobs = configuration.createdEndpointKnobs
        self.state = Mutex(Self.initialState(configuration.endpoints))
        self.billing = FakeBilling(configuration: configuration)
    }

    /// A workspace holding `endpoints` with their configured knobs, and nothing received yet.
    private static func initialState(_ endpoints: [FakeServingEndpoint]) -> State {
        var knobs: [String: EndpointKnobs] = [:]
        for endpoint in endpoints { knobs[endpoint.name] = endpoint.knobs }
        return State(registry: EndpointRegistry(endpoints), knobs: knobs)
    }

    // MARK: Endpoints

    /// The serving endpoints the workspace has now, in listing order.
    public var endpoints: [FakeServingEndpoint] { state.withLock { $0.registry.endpoints } }

    /// The names of the serving endpoints the workspace has now, in listing order.
    public var endpointNames: [String] { endpoints.map(\.name) }

    /// The endpoint named `name`, if the workspace has one now.
    public func endpoint(named name: String) -> FakeServingEndpoint? {
        state.withLock { $0.registry.endpoint(named: name) }
    }

    /// Adds `endpoint` as `POST /api/2.0/serving-endpoints` does: listed last, with a fresh id
    /// and creation time unless it has them. It keeps knobs already set for its name, else gets
    /// the configuration's `createdEndpointKnobs`.
    /// - Throws: `DatabricksAPIError` 400 INVALID_PARAMETER_VALUE for a bad name or a duplicate
    ///   or empty tag key, 400 RESOURCE_ALREADY_EXISTS when the name is taken.
    @discardableResult
    public func createEndpoint(_ endpoint: FakeServingEndpoint) throws(DatabricksAPIError) -> FakeServingEndpoint {
        let now = Self.nowMillis()
        return try state.withLock { (state: inout State) throws(DatabricksAPIError) -> FakeServingEndpoint in
            let created = try state.registry.create(endpoint, nowMillis: now)
            if state.knobs[created.name] == nil { state.knobs[created.name] = createdEndpointKnobs }
            return created
        }
    }

    /// Deletes the endpoint named `name` (and its knobs), as `DELETE` does or as someone
    /// deleting it out of band would; returns it, or nil when there was none.
    @discardableResult
    public func removeEndpoint(named name: String) -> FakeServingEndpoint? {
        state.withLock { state in
            let removed = state.registry.remove(named: name)
            if removed != nil { state.knobs[name] = nil }
            return removed
        }
    }

    /// Changes the endpoint named `name` in place (not its name), e.g. its tags or state.
    /// `change` runs under the controls' lock: it must not call back into the controls.
    /// - Throws: `DatabricksAPIError` 404 RESOURCE_DOES_NOT_EXIST when there is no such
    ///   endpoint, 400 INVALID_PARAMETER_VALUE when the change leaves a duplicate or empty tag key.
    @discardableResult
    public func updateEndpoint(
        named name: String, _ change: (inout FakeServingEndpoint) -> Void
    ) throws(DatabricksAPIError) -> FakeServingEndpoint {
        let now = Self.nowMillis()
        return try state.withLock { (state: inout State) throws(DatabricksAPIError) -> FakeServingEndpoint in
            try state.registry.update(name, nowMillis: now, change)
        }
    }

    /// Replaces every tag of the endpoint named `name` (out of band; the API only patches).
    /// - Throws: as `updateEndpoint(named:_:)`.
    public func setTags(_ tags: [(key: String, value: String)], onEndpoint name: String) throws(DatabricksAPIError) {
        try updateEndpoint(named: name) { $0.tags = tags }
    }

    /// `PATCH /api/2.0/serving-endpoints/{name}/tags`: removes the keys in `delete`, then adds
    /// `add` (a key already present takes the new value). Returns the endpoint's tags after.
    /// - Throws: as `updateEndpoint(named:_:)`.
    @discardableResult
    public func patchTags(
        onEndpoint name: String, add: [(key: String, value: String)] = [], delete: [String] = []
    ) throws(DatabricksAPIError) -> [(key: String, value: String)] {
        let now = Self.nowMillis()
        return try state.withLock { (state: inout State) throws(DatabricksAPIError) -> [(key: String, value: String)] in
            try state.registry.patchTags(name, add: add, delete: delete, nowMillis: now)
        }
    }

    static func nowMillis() -> Int { Int((Date().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Knobs

    /// The knobs `endpoint` currently has.
    public func knobs(for endpoint: String) -> EndpointKnobs {
        state.withLock { $0.knobs[endpoint] ?? EndpointKnobs() }
    }

    /// Changes the knobs of `endpoint` in place.
    public func update(_ endpoint: String, _ change: (inout EndpointKnobs) -> Void) {
        state.withLock { state in
            var knobs = state.knobs[endpoint] ?? EndpointKnobs()
            change(&knobs)
            state.knobs[endpoint] = knobs
        }
    }

    /// Fixed latency added before every answer of `endpoint`.
    public func setLatency(_ latency: Duration, for endpoint: String) {
        update(endpoint) { $0.latency = latency }
    }

    /// Answers `fault` instead of completions (for its `remaining` calls, or always); nil clears it.
    public func setFault(_ fault: FakeFault?, for endpoint: String) {
        update(endpoint) { $0.fault = fault }
    }

    /// Fails the next `times` calls (nil: every call) of `endpoint` with `status` and `errorCode`.
    public func injectFault(
        status: Int, errorCode: String, message: String? = nil, times: Int? = nil, for endpoint: String
    ) {
        setFault(FakeFault(status: status, errorCode: errorCode, message: message, times: times), for: endpoint)
    }

    /// 429 REQUEST_LIMIT_EXCEEDED once `perMinute` calls were accepted in the last minute; nil lifts it.
    public func setRateLimit(perMinute: Int?, for endpoint: String) {
        update(endpoint) { $0.rateLimitPerMinute = perMinute }
    }

    /// Closes streams of `endpoint` after `chunks` SSE frames; nil streams to the end.
    public func setDropStream(afterChunks chunks: Int?, for endpoint: String) {
        update(endpoint) { $0.dropStreamAfterChunks = chunks }
    }

    // MARK: What was received

    /// Invocations received for `endpoint` (after authentication), faults and rejections included.
    public func callCount(for endpoint: String) -> Int {
        state.withLock { $0.calls[endpoint] ?? 0 }
    }

    /// Invocations received, per endpoint.
    public var callCounts: [String: Int] { state.withLock { $0.calls } }

    /// `GET /api/2.0/serving-endpoints` calls received (after authentication).
    public var listCallCount: Int { state.withLock { $0.listCalls } }

    /// The most recent invocations of `endpoint`, oldest first.
    public func requests(for endpoint: String) -> [RecordedRequest] {
        state.withLock { $0.requests[endpoint] ?? [] }
    }

    /// The last request `endpoint` received.
    public func lastRequest(for endpoint: String) -> RecordedRequest? {
        state.withLock { $0.requests[endpoint]?.last }
    }

    /// The raw body of the last request `endpoint` received.
    public func lastRequestBody(for endpoint: String) -> String? {
        lastRequest(for: endpoint)?.body
    }

    /// The JSON body of the last request `endpoint` received.
    public func lastRequestJSON(for endpoint: String) -> JSONValue? {
        lastRequest(for: endpoint)?.json
    }

    /// Forgets counters and recorded requests, and restores the configured endpoints (created
    /// ones go, deleted ones come back) with their configured knobs, and the billing tables
    /// and warehouse as configured (`FakeBilling.reset()`).
    public func reset() {
        let initial = Self.initialState(initialEndpoints)
        state.withLock { $0 = initial }
        billing.reset()
    }

    // MARK: Billing

    /// Bills `dbus` DBUs (a decimal string) on `day` (`YYYY-MM-DD`) for every serving endpoint
    /// the workspace has now except the shared pay-per-token `databricks-*` ones, whose usage
    /// Databricks bills without the workspace's tags: one `system.billing.usage` record each
    /// (00:00 to the next 00:00) on `FakeListPrice.servingSKU`, with the endpoint's tags as
    /// `custom_tags` and `usage_metadata.endpoint_name`/`endpoint_id`. Tests decide time by
    /// calling this. Returns the endpoints billed.
    /// - Throws: `FakeBillingError` for a bad day or quantity.
    @discardableResult
    public func accrueServingUsage(day: String, dbus: String) throws -> [String] {
        let billed = endpoints.filter { !$0.name.hasPrefix("databricks-") }
        let records = billed.map { endpoint in
            var tags: [String: String] = [:]
            for tag in endpoint.tags { tags[tag.key] = tag.value }
            return FakeUsageRecord(
                skuName: FakeListPrice.servingSKU, usageDate: day, quantity: dbus, customTags: tags,
                usageMetadata: ["endpoint_name": endpoint.name, "endpoint_id": endpoint.id ?? FakeServingEndpoint.derivedID(endpoint.name)],
                billingOriginProduct: "MODEL_SERVING")
        }
        try billing.addUsage(records)
        return billed.map(\.name)
    }

    // MARK: Used by the server

    func recordList() {
        state.withLock { $0.listCalls += 1 }
    }

    /// Records `request` and decides, atomically, what `endpoint` answers it: returns the knobs
    /// in force and the admission (a pending fault is consumed; a proceeding call counts
    /// toward the rate limit).
    func admit(_ request: RecordedRequest, now: ContinuousClock.Instant = .now) -> (EndpointKnobs, Admission) {
        state.withLock { state in
            let endpoint = request.endpoint
            state.calls[endpoint, default: 0] += 1
            state.requests[endpoint, default: []].append(request)
            if state.requests[endpoint]!.count > Self.keptRequests {
                state.requests[endpoint]!.removeFirst(state.requests[endpoint]!.count - Self.keptRequests)
            }
            var knobs = state.knobs[endpoint] ?? EndpointKnobs()
            if var fault = knobs.fault, fault.remaining.map({ $0 > 0 }) ?? true {
                if let remaining = fault.remaining {
                    fault.remaining = remaining - 1
                    knobs.fault = remaining - 1 > 0 ? fault : nil
                    state.knobs[endpoint] = knobs
                }
                return (knobs, .fault(fault))
            }
            if let limit = knobs.rateLimitPerMinute {
                let windowStart = now - .seconds(60)
                var accepted = state.accepted[endpoint, default: []]
                accepted.removeAll { $0 <= windowStart }
                if accepted.count >= limit {
                    state.accepted[endpoint] = accepted
                    return (knobs, .rateLimited(limit: limit, retryAfterSeconds: knobs.rateLimitRetryAfterSeconds))
                }
                accepted.append(now)
                state.accepted[endpoint] = accepted
            }
            return (knobs, .proceed)
        }
    }
}
