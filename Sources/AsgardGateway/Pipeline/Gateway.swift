public import AsgardCore
import AsgardJSON
import AsgardPolicy
public import Foundation
import Synchronization

/// Which front door a call came through.
public enum ChatEndpoint: Sendable {
    /// `POST /v1/chat/completions`: data class from `X-Asgard-Data-Class`, else the body's
    /// `data_class`, else the key's default.
    case openAICompatible
    /// `POST /api/gateway/chat`: data class from the body's `data_class` (required).
    case asgard
}

/// A plain answer: status, body and headers.
public struct GatewayResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(status: Int, body: [UInt8], headers: [(String, String)]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// An error answer as an OpenAI error object, with the call's request id when there is one.
    public init(error: GatewayError, requestID: String? = nil) {
        var headers = [("Content-Type", "application/json")]
        if let requestID { headers.append(("x-asgard-request-id", requestID)) }
        if let retryAfter = error.retryAfter { headers.append(("Retry-After", String(retryAfter))) }
        self.init(status: error.statusCode, body: Array(error.body.utf8), headers: headers)
    }
}

/// What a chat call comes to: a plain answer (a completion or a refusal), or a stream.
public enum ChatAnswer: Sendable {
    case plain(GatewayResponse)
    case stream(GatewayEventStream)
}

/// The inference pipeline, one staged path for every call, streamed or not:
///
/// authenticate (`KeyAuthenticator`: the key, its expiry, global, project and key kill
/// switches) → kill switches of the vendor and model → the key's rate limit → route (the
/// model, the key's allowance) → Cedar `invoke` → data class → input guardrails → the vendor's
/// configuration → budget reservation (the worst case) → the vendor, through its inference
/// adapter and the upstream transport → output guardrails → settlement → the ledger row and
/// audit entry, durable before the answer (`complete`, the one tail of plain and streamed
/// calls alike).
///
/// Every refusal is an OpenAI error object and exactly one audit entry. Effects are ports
/// (`UpstreamTransport`, `CallRecording`, `GatewayMetering`); the rest is values.
public struct Gateway: Sendable {
    /// The current snapshot; nil until the controller has published one.
    public var snapshot: @Sendable () -> GatewaySnapshot?
    public var transport: any UpstreamTransport
    public var adapters: InferenceAdapters
    public var recorder: any CallRecording
    public var budgets: BudgetLedger
    public var rateLimiter: RateLimiter
    public var killSwitches: KillSwitchBoard
    public var metering: any GatewayMetering
    public var maxBodyBytes = 1 << 20
    public var clock: @Sendable () -> Date = { Date() }

    public init(
        snapshot: @escaping @Sendable () -> GatewaySnapshot?, transport: any UpstreamTransport, recorder: any CallRecording,
        budgets: BudgetLedger, rateLimiter: RateLimiter, killSwitches: KillSwitchBoard, adapters: InferenceAdapters = .standard,
        metering: any GatewayMetering = NoMetering()
    ) {
        self.snapshot = snapshot
        self.transport = transport
        self.recorder = recorder
        self.budgets = budgets
        self.rateLimiter = rateLimiter
        self.killSwitches = killSwitches
        self.adapters = adapters
        self.metering = metering
    }

    /// Authentication as every route does it, over this gateway's snapshot, kill switches and clock.
    public var authenticator: KeyAuthenticator {
        KeyAuthenticator(snapshot: snapshot, killSwitches: killSwitches, clock: clock)
    }

    /// The body parsed once, for callers that look at it before the call; a parse error is
    /// answered only after authentication, like every other refusal.
    public func parse(_ body: [UInt8]) -> Result<ChatRequest, GatewayError> {
        Result { () throws(GatewayError) in try ChatRequest(bytes: body, limit: maxBodyBytes) }
    }

    // MARK: The front doors

    /// A chat call as it arrives over HTTP: the key is authenticated, the body parsed and the
    /// data class read, then the pipeline runs. `"stream": true` in the body makes it a stream.
    public func chat(
        authorization: String?, dataClassHeader: String?, parsed: Result<ChatRequest, GatewayError>,
        endpoint: ChatEndpoint
    ) async -> ChatAnswer {
        var identified: Key?
        do throws(GatewayError) {
            let caller = try authenticator.authenticate(authorization) { identified = $0 }
            return await chat(caller, parsed: parsed, dataClassHeader: dataClassHeader, endpoint: endpoint)
        } catch {
            return .plain(await refuseUnauthenticated(error, key: identified))
        }
    }

    /// A chat call from a caller an authentication middleware already authenticated: the body
    /// parsed (or why not) and the data class read, then the pipeline; refusals are audited.
    public func chat(
        _ caller: Caller, parsed: Result<ChatRequest, GatewayError>, dataClassHeader: String?,
        endpoint: ChatEndpoint
    ) async -> ChatAnswer {
        var call = CallContext(requestID: Self.newRequestID())
        call.identify(caller.key)
        do throws(GatewayError) {
            let request = try parsed.get()
            let level = try Self.dataClass(of: request, header: dataClassHeader, endpoint: endpoint, key: caller.key)
            return await run(caller, request, level, &call)
        } catch {
            return .plain(await refuse(error, call))
        }
    }

    /// A chat call refused at authentication: audited like every other refusal (under the key's
    /// name when the key was found, expired or killed) and answered.
    public func refuseUnauthenticated(_ error: GatewayError, key: Key?) async -> GatewayResponse {
        var call = CallContext(requestID: Self.newRequestID())
        if let key { call.identify(key) }
        return await refuse(error, call)
    }

    /// `chat` for a body not yet parsed.
    public func chat(authorization: String?, dataClassHeader: String?, body: [UInt8], endpoint: ChatEndpoint) async -> ChatAnswer {
        await chat(authorization: authorization, dataClassHeader: dataClassHeader, parsed: parse(body), endpoint: endpoint)
    }

    /// The pipeline for a caller already authenticated (MCP's `chat` tool calls this, without
    /// HTTP): the same stages, budget, ledger and audit as over HTTP.
    public func chat(_ caller: Caller, _ request: ChatRequest, dataClass level: DataClass) async -> ChatAnswer {
        var call = CallContext(requestID: Self.newRequestID())
        call.identify(caller.key)
        return await run(caller, request, level, &call)
    }

    /// The data class of a call: the Asgard endpoint requires it in the body; the OpenAI one
    /// takes `X-Asgard-Data-Class`, else the body's, else the key's default.
    static func dataClass(of request: ChatRequest, header: String?, endpoint: ChatEndpoint, key: Key) throws(GatewayError) -> DataClass {
        switch endpoint {
        case .asgard:
            guard let stated = request.dataClass else { throw .invalidRequest("data_class is required", param: "data_class") }
            return stated
        case .openAICompatible:
            guard let header else { return request.dataClass ?? key.defaultDataClass }
            guard let stated = DataClass(name: header) else {
                throw .invalidRequest("X-Asgard-Data-Class must be one of public, internal, confidential, restricted", param: "X-Asgard-Data-Class")
            }
            return stated
        }
    }

    // MARK: The stages

    private func run(_ caller: Caller, _ request: ChatRequest, _ level: DataClass, _ call: inout CallContext) async -> ChatAnswer {
        do throws(GatewayError) {
            let admission = try admit(caller, request, level, &call)
            return request.stream ? try await openStream(admission, call) : try await callPlain(admission, call)
        } catch {
            return .plain(await refuse(error, call))
        }
    }

    /// The stages before the vendor: kill switches, rate limit, route, Cedar, data class,
    /// input guardrails, the vendor's configuration, the reservation. On success the caller
    /// owns the reservation.
    func admit(_ caller: Caller, _ request: ChatRequest, _ level: DataClass, _ call: inout CallContext) throws(GatewayError) -> Admission {
        let (key, project, snapshot) = (caller.key, caller.project, caller.snapshot)
        call.audit.target = request.model
        call.audit.detail["data_class"] = level.name
        if request.stream { call.audit.detail["stream"] = "true" }
        // Kill switches of the vendor and the model (global, project and key ones were checked at authentication).
        let vendor = request.model.split(separator: "/").first.map(String.init) ?? ""
        if let kill = killSwitches.check(vendor: vendor, model: request.model, project: project.id, key: key.id) {
            throw .killed(scope: kill.scope.rawValue, target: kill.id, reason: kill.reason)
        }
        // The key's rate limit, before anything costly.
        if let limit = key.requestsPerMinute, case .limited(let retryAfter) = rateLimiter.acquire(key: key.id, limit: limit, now: .now) {
            throw .rateLimited(retryAfter: retryAfter)
        }
        // Route: the model exists.
        guard let route = snapshot.routes[request.model] else { throw .modelNotFound(request.model) }
        let maxTokens = request.maxTokens ?? route.defaultMaxTokens
        let promptEstimate = Pricing.estimatePromptTokens(messages: request.messageTexts)
        let worstCase = Pricing.worstCase(promptTokens: promptEstimate, maxTokens: maxTokens, pricing: route.pricing)
        // Cedar decides who may call what at which data class (`key-invokes-allowed-model`: the
        // key's allowlist, and the level within the model's, the key's and the project's).
        let decision = snapshot.policy.decide(
            InvokeEntities.request(key: key.id, model: route.model, level: level, estimatedCost: worstCase, now: clock()),
            entities: snapshot.entities)
        call.audit.detail["policies"] = decision.response.reasons.sorted().joined(separator: ",")
        if !decision.response.errors.isEmpty {
            call.audit.detail["policy_errors"] = decision.response.errors.sorted()
                .map { "\($0): \(decision.response.errorMessages[$0] ?? "")" }.joined(separator: "; ")
        }
        guard decision.allowed else {
            let reasons = decision.response.reasons.sorted()
            let failedClosed = decision.failedClosedOn.sorted()
            // No permit applied: name what the shipped permit asks for, when that is what is missing.
            if reasons.isEmpty, failedClosed.isEmpty, let missing = InvokeDenial.explain(key: key, route: route, project: project, level: level) {
                throw missing
            }
            throw .policyDenied(reasons, failedClosedOn: failedClosed)
        }
        // Input guardrails.
        let guardrail = snapshot.guardrails(of: project.id)
        var redacted: [String]?
        var findings: [String] = []
        for (index, text) in request.messageTexts.enumerated() {
            switch Guardrails.apply(guardrail, dataClass: level, to: text) {
            case .blocked(let detector):
                throw .guardrailBlocked(detector.rawValue, in: "request")
            case .pass(let passed, let found):
                findings += found.map(\.detector.rawValue)
                if passed != text {
                    if redacted == nil { redacted = request.messageTexts }
                    redacted?[index] = passed
                }
            }
        }
        if !findings.isEmpty { call.audit.detail["input_findings"] = findings.joined(separator: ",") }
        // The vendor can be called: its variables are set and its API kind has an adapter.
        let endpoint: UpstreamEndpoint
        switch snapshot.upstreams[route.model] {
        case .success(let resolved)?: endpoint = resolved
        case .failure(let missing)?: throw .vendorUnconfigured(vendor: route.vendor, variable: missing.variable)
        case nil: throw .vendorUnconfigured(vendor: route.vendor, variable: route.baseURLEnv)
        }
        guard let adapter = adapters[route.kind] else {
            throw GatewayError(status: 503, type: "api_error", code: "vendor_unsupported", message: "no adapter speaks \(route.kind.rawValue)")
        }
        // Budget: reserve the worst case.
        let reservation: BudgetReservation
        switch budgets.reserve(project: project.id, amount: worstCase, now: clock()) {
        case .success(let granted): reservation = granted
        case .failure(let exceeded):
            throw .budgetExceeded(
                project: project.id, budget: exceeded.budget.description, spent: exceeded.spent.description,
                reserved: exceeded.reserved.description, requested: exceeded.requested.description)
        }
        return Admission(
            key: key, project: project, route: route, endpoint: endpoint, adapter: adapter, request: request, level: level,
            maxTokens: maxTokens, promptEstimate: promptEstimate, guardrail: guardrail, redactedTexts: redacted,
            reservation: reservation)
    }

    /// The vendor, answered whole; then the output guardrails and the tail.
    private func callPlain(_ admission: Admission, _ call: CallContext) async throws(GatewayError) -> ChatAnswer {
        let reply: UpstreamReply
        let completion: JSONValue
        do throws(GatewayError) {
            reply = try await transport.send(admission.upstreamRequest(stream: false), timeoutSeconds: admission.route.timeoutSeconds)
            guard (200..<300).contains(reply.status) else { throw admission.adapter.failure(reply, secrets: admission.endpoint.secrets) }
            completion = try admission.adapter.completion(from: reply)
        } catch {
            // Nothing usable came back: nothing is charged.
            _ = budgets.release(admission.reservation)
            throw error
        }
        var usage = Usage(of: completion, admission: admission)
        var findings: [String] = []
        var answer = completion
        if case .array(let choices)? = completion["choices"] {
            var replaced: [JSONValue] = []
            for choice in choices {
                guard case .string(let content)? = choice["message"]?["content"] else {
                    replaced.append(choice)
                    continue
                }
                switch Guardrails.apply(admission.guardrail, dataClass: admission.level, to: content) {
                case .blocked(let detector):
                    // The vendor did the work: charged and recorded once, as blocked; the answer withheld.
                    usage.findings = findings + [detector.rawValue]
                    await complete(admission, call, usage: usage, ending: "guardrail_blocked")
                    return .plain(GatewayResponse(error: .guardrailBlocked(detector.rawValue, in: "response"), requestID: call.requestID))
                case .pass(let passed, let found):
                    findings += found.map(\.detector.rawValue)
                    replaced.append(
                        passed == content
                            ? choice : choice.setting("message", to: (choice["message"] ?? .null).setting("content", to: .string(passed))))
                }
            }
            answer = completion.setting("choices", to: .array(replaced))
        }
        usage.findings = findings
        guard await complete(admission, call, usage: usage, ending: "ok") else {
            return .plain(GatewayResponse(error: Self.ledgerUnavailable, requestID: call.requestID))
        }
        return .plain(
            GatewayResponse(
                status: 200, body: answer.jsonBytes,
                headers: [("Content-Type", "application/json"), ("x-asgard-request-id", call.requestID)]))
    }

    /// The vendor, streamed: admitted once it answers 2xx with a stream.
    private func openStream(_ admission: Admission, _ call: CallContext) async throws(GatewayError) -> ChatAnswer {
        let opening: UpstreamOpening
        do throws(GatewayError) {
            opening = try await transport.open(admission.upstreamRequest(stream: true), timeoutSeconds: admission.route.timeoutSeconds)
            if case .refused(let reply) = opening { throw admission.adapter.failure(reply, secrets: admission.endpoint.secrets) }
        } catch {
            _ = budgets.release(admission.reservation)
            throw error
        }
        guard case .streaming(let body) = opening else { preconditionFailure("a refused opening was thrown above") }
        let wantsUsage: Bool
        if case .bool(true)? = admission.request.body["stream_options"]?["include_usage"] { wantsUsage = true } else { wantsUsage = false }
        return .stream(GatewayEventStream(gateway: self, admission: admission, call: call, forwardUsage: wantsUsage, upstream: body))
    }

    // MARK: The tail

    /// What a finished call consumed, and what the output guardrails found.
    struct Usage {
        var prompt: Int
        var completion: Int
        var estimated: Bool
        var findings: [String] = []

        /// The vendor's `usage` when it reported one; else the prompt estimate and the answer's
        /// text at the estimating rate, marked estimated.
        init(of completion: JSONValue, admission: Admission) {
            if case .integer(let prompt)? = completion["usage"]?["prompt_tokens"],
                case .integer(let generated)? = completion["usage"]?["completion_tokens"]
            {
                (self.prompt, self.completion, estimated) = (Int(prompt), Int(generated), false)
                return
            }
            var bytes = 0
            if case .array(let choices)? = completion["choices"] {
                for choice in choices { if case .string(let content)? = choice["message"]?["content"] { bytes += content.utf8.count } }
            }
            (prompt, self.completion, estimated) = (
                admission.promptEstimate,
                ChatStreamTransformer.estimateCompletionTokens(bytes: bytes, maxTokens: admission.maxTokens), true
            )
        }

        init(prompt: Int, completion: Int, estimated: Bool, findings: [String]) {
            (self.prompt, self.completion, self.estimated, self.findings) = (prompt, completion, estimated, findings)
        }
    }

    /// The one tail of every call that reached the vendor, plain or streamed, however it ended:
    /// settles the reservation at the cost of `usage` and records the ledger row (status
    /// `ending`) and the audit entry (allowed for `ok` and a client that left, denied with the
    /// ending as reason otherwise), once.
    /// - Returns: whether they are durable (the caller must not see success otherwise).
    @discardableResult
    func complete(_ admission: Admission, _ call: CallContext, usage: Usage, ending: String) async -> Bool {
        let route = admission.route
        let cost = Pricing.cost(promptTokens: usage.prompt, completionTokens: usage.completion, pricing: route.pricing)
        _ = budgets.settle(admission.reservation, actual: cost)
        var audit = call.audit
        let allowed = ending == "ok" || ending == GatewayStreamEnding.clientDisconnected.rawValue
        audit.outcome = allowed ? "allowed" : "denied"
        if !allowed { audit.detail["reason"] = ending }
        if admission.request.stream { audit.detail["stream_status"] = ending }
        if !usage.findings.isEmpty { audit.detail["output_findings"] = usage.findings.joined(separator: ",") }
        audit.detail["cost_micros"] = String(cost.value)
        metering.spend(project: admission.key.project, vendor: route.vendor, micros: cost.value)
        let elapsed = ContinuousClock.now - call.started
        do {
            try await recorder.record(
                ledger: LedgerEntry(
                    requestID: call.requestID, time: clock(), project: admission.key.project, keyID: admission.key.id, vendor: route.vendor,
                    model: route.model, upstream: route.upstream, promptTokens: usage.prompt, completionTokens: usage.completion, cost: cost,
                    latencyMicroseconds: elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000,
                    status: ending, estimated: usage.estimated), audit: audit)
            return true
        } catch {
            return false
        }
    }

    /// A refusal: counted, audited (durably, before the caller hears of it) and answered as an
    /// OpenAI error object.
    func refuse(_ error: GatewayError, _ call: CallContext) async -> GatewayResponse {
        var audit = call.audit
        audit.detail["reason"] = error.code
        audit.detail["status"] = String(error.statusCode)
        audit.outcome = "denied"
        if error.statusCode == 502 || error.statusCode == 504 {
            metering.upstreamError(vendor: audit.target.flatMap { $0.split(separator: "/").first.map(String.init) } ?? "unknown", code: error.code)
        }
        try? await recorder.record(ledger: nil, audit: audit)
        return GatewayResponse(error: error, requestID: call.requestID)
    }

    static let ledgerUnavailable = GatewayError(
        status: 500, type: "api_error", code: "ledger_unavailable",
        message: "the call succeeded but could not be recorded, so its answer is withheld")

    // MARK: Request ids

    /// `req_` and 24 hex digits: 8 drawn at random when the process starts, then a 64-bit
    /// counter that starts at a random value. Unique within a process by construction, and
    /// across processes unless two draw the same 32-bit prefix and overlapping counter ranges;
    /// no system call per request (drawing 12 random bytes per call cost 12 `getrandom`s).
    public static func newRequestID() -> String {
        let sequence = requestSequence.add(1, ordering: .relaxed).newValue
        return "req_" + requestPrefix + withUnsafeBytes(of: sequence.bigEndian) { hexString($0) }
    }

    private static let requestPrefix = withUnsafeBytes(of: UInt32.random(in: .min ... .max)) { hexString($0) }
    private static let requestSequence = Atomic<UInt64>(UInt64.random(in: .min ... .max))
}

/// One call on its way through the pipeline: its id, when it started, and its audit entry as
/// the stages fill it in.
struct CallContext: Sendable {
    let requestID: String
    let started = ContinuousClock.now
    var audit: AuditEntry

    init(requestID: String) {
        self.requestID = requestID
        audit = AuditEntry(actor: "anonymous", action: "gateway.invoke", target: nil, outcome: "denied", detail: ["request_id": requestID])
    }

    /// The key is known: refusals from here on are audited under its name.
    mutating func identify(_ key: Key) {
        audit.actor = "Key/\(key.id)"
        audit.detail["project"] = key.project
    }
}

/// Everything the stages before the vendor established for one call. The plain and the
/// streamed path both start from it.
struct Admission: Sendable {
    var key: Key
    var project: Project
    var route: Route
    var endpoint: UpstreamEndpoint
    var adapter: any InferenceAdapter
    var request: ChatRequest
    var level: DataClass
    var maxTokens: Int
    var promptEstimate: Int
    var guardrail: GuardrailSettings
    /// Message texts after input guardrails, nil when unchanged.
    var redactedTexts: [String]?
    var reservation: BudgetReservation

    /// The vendor's request: its model name, the reserved cap, redactions, the usage context.
    func upstreamRequest(stream: Bool) -> UpstreamRequest {
        var request = self.request
        if stream, !request.stream {
            request.stream = true
            request.body = request.body.setting("stream", to: .bool(true))
        }
        let body = request.upstreamBody(
            upstreamModel: route.upstream, maxTokens: maxTokens, redactedTexts: redactedTexts,
            usageContextProject: route.sendsUsageContext ? project.id : nil)
        return adapter.request(body, stream: stream, to: endpoint)
    }
}
