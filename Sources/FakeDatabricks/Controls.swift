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

/// Run-time control of a running fake: change any endpoint's knobs (latency, faults, rate
/// limit, dropped streams), and read what it received (calls per endpoint, request bodies).
/// Thread-safe; share one instance between the server and the test.
public final class FakeDatabricksControls: Sendable {
    /// What the server should do with one accepted call.
    enum Admission: Sendable {
        case proceed
        case fault(FakeFault)
        case rateLimited(limit: Int, retryAfterSeconds: Int?)
    }

    private struct State {
        var knobs: [String: EndpointKnobs]
        var calls: [String: Int] = [:]
        var requests: [String: [RecordedRequest]] = [:]
        var accepted: [String: [ContinuousClock.Instant]] = [:]
        var listCalls = 0
    }

    /// How many requests per endpoint `requests(for:)` keeps (the oldest are dropped).
    public static let keptRequests = 200

    private let initialKnobs: [String: EndpointKnobs]
    private let state: Mutex<State>

    public init(configuration: FakeDatabricksConfiguration) {
        var knobs: [String: EndpointKnobs] = [:]
        for endpoint in configuration.endpoints { knobs[endpoint.name] = endpoint.knobs }
        self.initialKnobs = knobs
        self.state = Mutex(State(knobs: knobs))
    }

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

    /// Forgets counters and recorded requests, and restores every endpoint's configured knobs.
    public func reset() {
        state.withLock { $0 = State(knobs: initialKnobs) }
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
