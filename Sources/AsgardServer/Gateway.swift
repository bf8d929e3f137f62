import AsgardCore
public import AsgardGateway
import Cedar
public import Foundation
import Synchronization

/// Which front door a call came through.
public enum ChatEndpoint: Sendable {
    /// `POST /v1/chat/completions`: data class from `X-Asgard-Data-Class`, else the key's default.
    case openAICompatible
    /// `POST /api/gateway/chat`: data class from the body's `data_class` (required).
    case asgard
}

/// What the gateway answers.
public struct GatewayResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var headers: [(String, String)]
}

/// The inference pipeline, in the order the design fixes: authenticate → kill switch → model →
/// Cedar `invoke` → data class → input guardrails → rate limit → budget reservation →
/// upstream → output guardrails → settle → ledger and audit (durable) → response.
/// Each refusal is an OpenAI error object and an audit entry.
public struct Gateway: Sendable {
    /// The current snapshot; nil until the controller's first pass has built one.
    public var snapshot: @Sendable () -> GatewaySnapshot?
    public var upstream: HTTPUpstream
    public var recorder: CallRecorder
    public var budgets: BudgetLedger
    public var rateLimiter: RateLimiter
    public var killSwitches: KillSwitchBoard
    /// The process environment, where vendor base URLs and tokens are read by name.
    public var environment: [String: String]
    public var maxBodyBytes = 1 << 20
    public var clock: @Sendable () -> Date = { Date() }
    public var metrics = GatewayMetrics()

    public init(snapshot: @escaping @Sendable () -> GatewaySnapshot?, upstream: HTTPUpstream, recorder: CallRecorder, budgets: BudgetLedger,
                rateLimiter: RateLimiter, killSwitches: KillSwitchBoard, environment: [String: String]) {
        self.snapshot = snapshot
        self.upstream = upstream
        self.recorder = recorder
        self.budgets = budgets
        self.rateLimiter = rateLimiter
        self.killSwitches = killSwitches
        self.environment = environment
    }

    /// Authentication as every route does it, over this gateway's snapshot, kill switches and clock.
    public var authenticator: KeyAuthenticator {
        KeyAuthenticator(snapshot: snapshot, killSwitches: killSwitches, clock: clock)
    }

    /// One non-streamed chat call.
    public func chat(authorization: String?, dataClassHeader: String?, body: [UInt8], endpoint: ChatEndpoint) async -> GatewayResponse {
        await chat(authorization: authorization, dataClassHeader: dataClassHeader, parsed: parse(body), endpoint: endpoint)
    }

    /// The body parsed once, for the caller that must look at `stream` before choosing a path;
    /// a parse error is answered only after authentication, like every other refusal.
    public func parse(_ body: [UInt8]) -> Result<ChatRequest, GatewayError> {
        Result { () throws(GatewayError) in try ChatRequest(bytes: body, limit: maxBodyBytes) }
    }

    /// One non-streamed chat call whose body is already parsed.
    public func chat(authorization: String?, dataClassHeader: String?, parsed body: Result<ChatRequest, GatewayError>,
                     endpoint: ChatEndpoint) async -> GatewayResponse {
        let started = ContinuousClock.now
        let requestID = Self.newRequestID()
        var audit = AuditEntry(actor: "anonymous", action: "gateway.invoke", target: nil, outcome: "denied", detail: ["request_id": requestID])
        do {
            return try await decideAndCall(authorization: authorization, dataClassHeader: dataClassHeader, body: body,
                                           endpoint: endpoint, requestID: requestID, started: started, audit: &audit)
        } catch {
            return await refuse(error, audit: audit, requestID: requestID)
        }
    }

    /// `req_` and 24 hex digits: 8 drawn at random when the process starts, then a 64-bit
    /// counter that starts at a random value. Unique within a process by construction, and
    /// across processes unless two draw the same 32-bit prefix and overlapping counter ranges;
    /// no system call per request (drawing 12 random bytes per call cost 12 `getrandom`s).
    static func newRequestID() -> String {
        let sequence = requestSequence.add(1, ordering: .relaxed).newValue
        return "req_" + requestPrefix + withUnsafeBytes(of: sequence.bigEndian) { hexString($0) }
    }

    private static let requestPrefix = withUnsafeBytes(of: UInt32.random(in: .min ... .max)) { hexString($0) }
    private static let requestSequence = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A refusal, streamed call or not: counted, audited (durably, before the caller hears of
    /// it) and answered as an OpenAI error object.
    func refuse(_ error: GatewayError, audit: AuditEntry, requestID: String) async -> GatewayResponse {
        var audit = audit
        audit.detail["reason"] = error.code
        audit.detail["status"] = String(error.status)
        audit.outcome = "denied"
        if error.status == 502 || error.status == 504 {
            metrics.upstreamError(vendor: audit.target.flatMap { $0.split(separator: "/").first.map(String.init) } ?? "unknown", code: error.code)
        }
        try? await recorder.record(ledger: nil, audit: audit)
        var headers = [("Content-Type", "application/json"), ("x-asgard-request-id", requestID)]
        if let retryAfter = error.retryAfter { headers.append(("Retry-After", String(retryAfter))) }
        return GatewayResponse(status: error.status, body: Array(error.body.utf8), headers: headers)
    }

    private func decideAndCall(authorization: String?, dataClassHeader: String?, body: Result<ChatRequest, GatewayError>, endpoint: ChatEndpoint,
                               requestID: String, started: ContinuousClock.Instant, audit: inout AuditEntry) async throws(GatewayError) -> GatewayResponse {
        let admission = try admit(authorization: authorization, dataClassHeader: dataClassHeader, body: body, endpoint: endpoint, audit: &audit)
        let (key, route, request, level, guardrail) = (admission.key, admission.route, admission.request, admission.level, admission.guardrail)
        let (maxTokens, promptEstimate, reservation, redacted) = (admission.maxTokens, admission.promptEstimate, admission.reservation, admission.redactedTexts)
        let project = admission.project
        // 9. Upstream.
        let reply: UpstreamReply
        do {
            let target = try route.endpoint(in: environment)
            let upstreamBody = request.upstreamBody(upstreamModel: route.upstream, maxTokens: maxTokens, redactedTexts: redacted,
                                                    usageContextProject: route.sendsUsageContext ? project.id : nil)
            reply = try await upstream.post(url: target.url, token: target.token, body: upstreamBody.jsonBytes, timeoutSeconds: route.timeoutSeconds)
            guard (200..<300).contains(reply.status) else {
                throw Self.upstreamError(reply, token: target.token)
            }
        } catch let error as GatewayError {
            _ = budgets.release(reservation)
            throw error
        } catch {
            _ = budgets.release(reservation)
            throw .upstream(status: 0, vendorCode: nil, message: "\(error)")
        }
        // 10. Output guardrails, 11. settle, 12. ledger and audit, 13. response.
        var response = (try? JSONValue.parse(reply.body)) ?? .null
        let usage = response["usage"]
        // Without the vendor's usage, count from the answer's text (as streams do) and say so.
        var generatedBytes = 0
        if case .array(let choices)? = response["choices"] {
            for choice in choices { if case .string(let content)? = choice["message"]?["content"] { generatedBytes += content.utf8.count } }
        }
        var promptTokens = promptEstimate
        var completionTokens = ChatStreamTransformer.estimateCompletionTokens(bytes: generatedBytes, maxTokens: maxTokens)
        var estimated = true
        if case .integer(let prompt)? = usage?["prompt_tokens"], case .integer(let completion)? = usage?["completion_tokens"] {
            promptTokens = Int(prompt)
            completionTokens = Int(completion)
            estimated = false
        }
        if case .array(let choices)? = response["choices"] {
            var replaced: [JSONValue] = []
            for choice in choices {
                guard case .string(let content)? = choice["message"]?["content"] else { replaced.append(choice); continue }
                switch Guardrails.apply(guardrail, dataClass: level, to: content) {
                case .blocked(let detector):
                    let cost = Pricing.cost(promptTokens: promptTokens, completionTokens: completionTokens, pricing: route.pricing)
                    _ = budgets.settle(reservation, actual: cost)
                    try? await recordCall(requestID: requestID, key: key, route: route, prompt: promptTokens, completion: completionTokens,
                                          cost: cost, started: started, status: "guardrail_blocked", estimated: estimated, audit: audit)
                    throw .guardrailBlocked(detector.rawValue, in: "response")
                case .pass(let passed, let found):
                    if !found.isEmpty { audit.detail["output_findings"] = found.map(\.detector.rawValue).joined(separator: ",") }
                    replaced.append(passed == content ? choice : choice.setting("message", to: (choice["message"] ?? .null).setting("content", to: .string(passed))))
                }
            }
            response = response.setting("choices", to: .array(replaced))
        }
        let cost = Pricing.cost(promptTokens: promptTokens, completionTokens: completionTokens, pricing: route.pricing)
        _ = budgets.settle(reservation, actual: cost)
        audit.outcome = "allowed"
        do {
            try await recordCall(requestID: requestID, key: key, route: route, prompt: promptTokens, completion: completionTokens,
                                 cost: cost, started: started, status: "ok", estimated: estimated, audit: audit)
        } catch {
            throw GatewayError(status: 500, type: "api_error", code: "ledger_unavailable",
                               message: "the call succeeded but could not be recorded, so its answer is withheld")
        }
        return GatewayResponse(status: 200, body: response.jsonBytes, headers: [("Content-Type", "application/json"), ("x-asgard-request-id", requestID)])
    }

    /// Steps 1–8 of the pipeline: authenticate, kill switch, model, Cedar, data class, input
    /// guardrails, rate limit, budget reservation. On success the caller owns the reservation.
    func admit(authorization: String?, dataClassHeader: String?, body: Result<ChatRequest, GatewayError>, endpoint: ChatEndpoint,
               audit: inout AuditEntry) throws(GatewayError) -> GatewayAdmission {
        // 1. Authenticate: Bearer asg_..., looked up by its SHA-256 digest; expiry; the caller's
        // global, project and key kill switches.
        let caller = try authenticator.authenticate(authorization) { key in
            audit.actor = "Key/\(key.id)"
            audit.detail["project"] = key.project
        }
        let (key, project, snapshot) = (caller.key, caller.project, caller.snapshot)

        let request = try body.get()
        audit.target = request.model
        let vendor = request.model.split(separator: "/").first.map(String.init) ?? ""
        // 2. Kill switches of the vendor and the model.
        if let kill = killSwitches.check(vendor: vendor, model: request.model, project: project.id, key: key.id) {
            throw .killed(scope: kill.scope.rawValue, target: kill.id, reason: kill.reason)
        }
        // 3. The model: routed at all, and allowed to this key.
        guard let route = snapshot.routes[request.model] else { throw .modelNotFound(request.model) }
        guard key.allows(model: route.model, vendor: route.vendor) else { throw .modelNotAllowed(request.model) }
        let level: DataClass
        switch endpoint {
        case .asgard:
            guard let stated = request.dataClass else { throw .invalidRequest("data_class is required", param: "data_class") }
            level = stated
        case .openAICompatible:
            if let header = dataClassHeader {
                guard let stated = DataClass(name: header) else {
                    throw .invalidRequest("X-Asgard-Data-Class must be one of public, internal, confidential, restricted", param: "X-Asgard-Data-Class")
                }
                level = stated
            } else {
                level = request.dataClass ?? key.defaultDataClass
            }
        }
        audit.detail["data_class"] = level.name
        let maxTokens = request.maxTokens ?? route.defaultMaxTokens
        let promptEstimate = Pricing.estimatePromptTokens(messages: request.messageTexts)
        let worstCase = Pricing.worstCase(promptTokens: promptEstimate, maxTokens: maxTokens, pricing: route.pricing)
        // 4. Cedar.
        let decision = snapshot.policy.decide(InvokeEntities.request(key: key.id, model: route.model, level: level, estimatedCost: worstCase, now: clock()),
                                              entities: snapshot.entities)
        audit.detail["policies"] = decision.response.reasons.sorted().joined(separator: ",")
        if !decision.response.errors.isEmpty {
            audit.detail["policy_errors"] = decision.response.errors.sorted().map { "\($0): \(decision.response.errorMessages[$0] ?? "")" }.joined(separator: "; ")
        }
        guard decision.allowed else {
            throw .policyDenied(decision.response.reasons.sorted(), failedClosedOn: decision.failedClosedOn.sorted())
        }
        // 5. Data classes: the request may not exceed the model, the key or the project.
        if level > route.maxDataClass { throw .dataClassDenied("\(level.name) data may not be sent to \(route.model) (at most \(route.maxDataClass.name))") }
        if level > key.maxDataClass { throw .dataClassDenied("this key may send at most \(key.maxDataClass.name) data, not \(level.name)") }
        if level > project.classification { throw .dataClassDenied("project \(project.id) is classified \(project.classification.name), below \(level.name)") }
        // 6. Input guardrails.
        let guardrail = snapshot.guardrailPolicy(of: project.id)
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
        if !findings.isEmpty { audit.detail["input_findings"] = findings.joined(separator: ",") }
        // 7. Rate limit.
        if let limit = key.requestsPerMinute, case .limited(let retryAfter) = rateLimiter.acquire(key: key.id, limit: limit, now: .now) {
            throw .rateLimited(retryAfter: retryAfter)
        }
        // 8. Budget: reserve the worst case.
        let reservation: BudgetReservation
        switch budgets.reserve(project: project.id, amount: worstCase, now: clock()) {
        case .success(let granted): reservation = granted
        case .failure(let exceeded):
            throw .budgetExceeded(project: project.id, budget: exceeded.budget.description, spent: exceeded.spent.description,
                                  reserved: exceeded.reserved.description, requested: exceeded.requested.description)
        }
        return GatewayAdmission(key: key, project: project, route: route, request: request, level: level, maxTokens: maxTokens,
                                promptEstimate: promptEstimate, guardrail: guardrail, redactedTexts: redacted, reservation: reservation)
    }


    func recordCall(requestID: String, key: Key, route: Route, prompt: Int, completion: Int, cost: MicroDollars,
                            started: ContinuousClock.Instant, status: String, estimated: Bool, audit: AuditEntry) async throws {
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        var audit = audit
        audit.detail["cost_micros"] = String(cost.value)
        metrics.spend(project: key.project, vendor: route.vendor, micros: cost.value)
        try await recorder.record(ledger: LedgerEntry(
            requestID: requestID, time: clock(), project: key.project, keyID: key.id, vendor: route.vendor, model: route.model,
            upstream: route.upstream, promptTokens: prompt, completionTokens: completion, cost: cost,
            latencyMicroseconds: micros, status: status, estimated: estimated), audit: audit)
    }

    /// Maps a vendor's error answer to 502, keeping the vendor's error code and scrubbing the token.
    static func upstreamError(_ reply: UpstreamReply, token: String) -> GatewayError {
        let parsed = try? JSONValue.parse(reply.body)
        var code: String?
        var message = "no message"
        if case .string(let vendorCode)? = parsed?["error_code"] { code = vendorCode }
        if case .string(let vendorCode)? = parsed?["error"]?["code"] { code = vendorCode }
        if case .string(let text)? = parsed?["message"] { message = text }
        if case .string(let text)? = parsed?["error"]?["message"] { message = text }
        if !token.isEmpty { message = message.replacingOccurrences(of: token, with: "[REDACTED]") }
        message = Guardrails.redact(message)
        if reply.status == 504 { return .upstreamTimeout(after: 0) }
        return .upstream(status: reply.status, vendorCode: code, message: String(message.prefix(500)))
    }
}

/// Everything the admission steps (authenticate … budget reservation) established for one call.
/// Both the streamed and the non-streamed path start with `Gateway.admit`.
struct GatewayAdmission: Sendable {
    var key: Key
    var project: Project
    var route: Route
    var request: ChatRequest
    var level: DataClass
    var maxTokens: Int
    var promptEstimate: Int
    var guardrail: GuardrailPolicy
    /// Message texts after input guardrails, nil when unchanged.
    var redactedTexts: [String]?
    var reservation: BudgetReservation
}
