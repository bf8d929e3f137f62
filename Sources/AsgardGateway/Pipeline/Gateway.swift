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
    /// The call's ledger row, as it was made durable before this answer (a completed call).
    public var ledger: LedgerEntry?

    public init(status: Int, body: [UInt8], headers: [(String, String)], ledger: LedgerEntry? = nil) {
        self.status = status
        self.body = body
        self.headers = headers
        self.ledger = ledger
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
    /// Set when several replicas share the budgets (`BudgetLeaseStore`): grows this replica's
    /// grant when a call does not fit in it, and the call is admitted again.
    public var leases: BudgetLeaseKeeper?
    /// Set when several replicas share the rate limits (`RateShareStore`; the rate limiter is
    /// then leased): grows this replica's share of a key's limit when a request does not fit in
    /// it, and the request is counted again.
    public var rateShares: RateShareKeeper?
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

    // MARK: The front doors

    /// A chat call as it arrives over HTTP: the key is authenticated, then the pipeline runs on
    /// the body. `"stream": true` in the body makes it a stream.
    public func chat(authorization: String?, dataClassHeader: String?, body: [UInt8], endpoint: ChatEndpoint) async -> ChatAnswer {
        var identified: Key?
        do throws(GatewayError) {
            let caller = try authenticator.authenticate(authorization) { identified = $0 }
            return await chat(caller, body: .success(body), dataClassHeader: dataClassHeader, endpoint: endpoint)
        } catch {
            return .plain(await refuseUnauthenticated(error, key: identified))
        }
    }

    /// A chat call from a caller an authentication middleware already authenticated: the key's
    /// rate limit first (before the body is even parsed), then the body parsed and the data
    /// class read, then the pipeline; refusals are audited.
    public func chat(
        _ caller: Caller, body: Result<[UInt8], GatewayError>, dataClassHeader: String?, endpoint: ChatEndpoint
    ) async -> ChatAnswer {
        var call = CallContext(requestID: Self.newRequestID())
        call.identify(caller.key)
        do throws(GatewayError) {
            try await rateLimit(caller.key)
            let request = try ChatRequest(bytes: body.get(), limit: maxBodyBytes)
            let level = try Self.dataClass(of: request, header: dataClassHeader, endpoint: endpoint, key: caller.key)
            return await run(caller, request, level, &call)
        } catch {
            return .plain(await refuse(error, call))
        }
    }

    /// The pipeline for a caller already authenticated and a body already parsed (MCP's `chat`
    /// tool calls this, without HTTP): the same stages, budget, ledger and audit as over HTTP.
    public func chat(_ caller: Caller, _ request: ChatRequest, dataClass level: DataClass) async -> ChatAnswer {
        var call = CallContext(requestID: Self.newRequestID())
        call.identify(caller.key)
        do throws(GatewayError) {
            try await rateLimit(caller.key)
        } catch {
            return .plain(await refuse(error, call))
        }
        return await run(caller, request, level, &call)
    }

    /// A chat call refused at authentication. A key that was found (expired or killed) is
    /// audited under its name like every other refusal; a credential that matches no key is
    /// only counted (`GatewayMetering.unauthenticated`): whoever holds no key cannot make the
    /// audit log grow.
    public func refuseUnauthenticated(_ error: GatewayError, key: Key?) async -> GatewayResponse {
        guard let key else {
            metering.unauthenticated(code: error.code)
            return GatewayResponse(error: error)
        }
        var call = CallContext(requestID: Self.newRequestID())
        call.identify(key)
        return await refuse(error, call)
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

    /// The key's requests-per-minute limit.
    private func rateLimit(_ key: Key) async throws(GatewayError) {
        guard let limit = key.requestsPerMinute else { return }
        var decision = rateLimiter.acquire(key: key.id, limit: limit, now: .now)
        // Leased: while the refusal is for want of this replica's share, and the share grows.
        while case .limited = decision, let rateShares, rateLimiter.isShort(key: key.id, limit: limit, now: .now),
            await rateShares.grow(key: key.id, limit: limit)
        {
            decision = rateLimiter.acquire(key: key.id, limit: limit, now: .now)
        }
        if case .limited(let retryAfter) = decision { throw .rateLimited(retryAfter: retryAfter) }
    }

    private func run(_ caller: Caller, _ request: ChatRequest, _ level: DataClass, _ call: inout CallContext) async -> ChatAnswer {
        do throws(GatewayError) {
            var admission: Admission
            do throws(GatewayError) {
                admission = try admit(caller, request, level, &call)
            } catch where error.code == GatewayError.budgetExceededCode {
                // A shared budget: this replica's grant may grow (a trip to the store), then the
                // call is admitted again from the start, so nothing decided before is reused.
                guard let leases, await leases.grow(project: caller.project.id, now: clock()) else { throw error }
                admission = try admit(caller, request, level, &call)
            }
            return request.stream ? await openStream(admission, call) : await callPlain(admission, call)
        } catch {
            return .plain(await refuse(error, call))
        }
    }

    /// The stages before the vendor: kill switches, route, the vendor's fields, Cedar, data
    /// class, input guardrails, the vendor's configuration, the reservation. On success the
    /// caller owns the reservation.
    func admit(_ caller: Caller, _ request: ChatRequest, _ level: DataClass, _ call: inout CallContext) throws(GatewayError) -> Admission {
        let (key, project, snapshot) = (caller.key, caller.project, caller.snapshot)
        call.audit.target = CallContext.boundedTarget(request.model)
        call.audit.detail["data_class"] = level.name
        if request.stream { call.audit.detail["stream"] = "true" }
        // Kill switches of the vendor and the model (global, project and key ones were checked at authentication).
        let vendor = Self.vendorPrefix(of: request.model)
        if let kill = killSwitches.check(vendor: vendor, model: request.model, project: project.id, key: key.id) {
            throw .killed(scope: kill.scope.rawValue, target: kill.id, reason: kill.reason)
        }
        // Route: the model exists, and its vendor's kind has an adapter that takes every field sent.
        guard let route = snapshot.routes[request.model] else { throw .modelNotFound(request.model) }
        guard let adapter = adapters[route.kind] else {
            throw GatewayError(status: 503, type: "api_error", code: "vendor_unsupported", message: "no adapter speaks \(route.kind.rawValue)")
        }
        let refused = request.fields(notIn: adapter.requestFields)
        if let first = refused.first {
            throw .invalidRequest(
                "\(refused.joined(separator: ", ")) \(refused.count == 1 ? "is" : "are") not accepted for \(route.kind.rawValue) vendors "
                    + "(a field the reservation cannot price or bound)", param: first)
        }
        let completionBound = request.tokenCap(default: route.defaultMaxTokens) * request.choices
        // Cedar decides who may call what at which data class (`key-invokes-allowed-model`: the
        // key's allowlist, and the level within the model's, the key's and the project's). The
        // cost it sees is the worst case of the body as received.
        let receivedBound = Pricing.promptTokenBound(bodyBytes: request.receivedBytes, messages: request.messageCount, tools: request.toolCount)
        let decision = snapshot.policy.decide(
            InvokeEntities.request(
                key: key.id, model: route.model, level: level,
                estimatedCost: Pricing.worstCase(promptTokens: receivedBound, completionTokens: completionBound, pricing: route.pricing),
                now: clock()),
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
        // Input guardrails, over every string the vendor will read, at no less than the
        // project's classification asks for.
        let action = snapshot.guardrails(of: project.id).action(for: level, projectClassification: project.classification)
        var scan = DocumentGuardrail(action: action)
        let guarded: JSONValue
        do {
            guarded = try scan.apply(request.body)
        } catch {
            throw .guardrailBlocked(error.detector.rawValue, in: "request")
        }
        if !scan.findings.isEmpty { call.audit.detail["input_findings"] = scan.findings.map(\.rawValue).joined(separator: ",") }
        // The vendor can be called: its variables are set.
        let endpoint: UpstreamEndpoint
        switch snapshot.upstreams[route.model] {
        case .success(let resolved)?: endpoint = resolved
        case .failure(let missing)?: throw .vendorUnconfigured(vendor: route.vendor, variable: missing.variable)
        case nil: throw .vendorUnconfigured(vendor: route.vendor, variable: route.baseURLEnv)
        }
        var upstream = adapter.request(
            request.upstreamBody(
                guarded, upstreamModel: route.upstream, defaultCap: route.defaultMaxTokens,
                usageContextProject: route.sendsUsageContext ? project.id : nil),
            stream: request.stream, to: endpoint)
        // The vendor's logs and Asgard's ledger name the call alike.
        upstream.headers.append(("x-asgard-request-id", call.requestID))
        // Budget: reserve the worst case of what is sent.
        let promptBound = Pricing.promptTokenBound(bodyBytes: upstream.body.count, messages: request.messageCount, tools: request.toolCount)
        let worstCase = Pricing.worstCase(promptTokens: promptBound, completionTokens: completionBound, pricing: route.pricing)
        let reservation: BudgetReservation
        switch budgets.reserve(project: project.id, amount: worstCase, now: clock()) {
        case .success(let granted): reservation = granted
        case .failure(let exceeded):
            throw .budgetExceeded(
                project: project.id, budget: exceeded.budget.description, spent: exceeded.spent.description,
                reserved: exceeded.reserved.description, requested: exceeded.requested.description,
                vendorSpent: exceeded.vendorSpent.value > 0 ? exceeded.vendorSpent.description : nil,
                heldElsewhere: exceeded.heldElsewhere.value > 0 ? exceeded.heldElsewhere.description : nil)
        }
        return Admission(
            key: key, project: project, route: route, endpoint: endpoint, adapter: adapter, request: request, level: level,
            upstream: upstream, promptBound: promptBound, completionBound: completionBound,
            promptEstimate: Pricing.estimatePromptTokens(bodyBytes: upstream.body.count, messages: request.messageCount, tools: request.toolCount),
            guardrailAction: action, reservation: reservation)
    }

    /// The first `/`-separated part of a model name that is not empty (`databricks` of
    /// `databricks/dbrx`), "" when there is none: what a vendor's kill switch is matched
    /// against. Split over bytes (`split` over `Character`s cost ~8k instructions a call), so a
    /// `/` followed by a combining mark still separates.
    static func vendorPrefix(of model: String) -> String {
        let bytes = model.utf8
        guard let start = bytes.firstIndex(where: { $0 != UInt8(ascii: "/") }) else { return "" }
        let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The vendor, answered whole; then the output guardrails and the tail.
    private func callPlain(_ admission: Admission, _ call: CallContext) async -> ChatAnswer {
        let reply: UpstreamReply
        do {
            reply = try await transport.send(admission.upstream, timeoutSeconds: admission.route.timeoutSeconds)
        } catch {
            return .plain(await failedInTransit(error, admission, call))
        }
        let completion: JSONValue
        do throws(GatewayError) {
            guard (200..<300).contains(reply.status) else { throw admission.adapter.failure(reply, secrets: admission.endpoint.secrets) }
            completion = try admission.adapter.completion(from: reply)
        } catch {
            // The vendor refused, or answered nothing usable: nothing is charged.
            _ = budgets.release(admission.reservation)
            return .plain(await refuse(error, call))
        }
        var usage = Usage(of: completion, admission: admission)
        let answer: JSONValue
        do {
            let found: [GuardrailDetector]
            (answer, found) = try CompletionGuardrail.apply(completion, action: admission.guardrailAction)
            usage.findings = found.map(\.rawValue)
        } catch {
            // The vendor did the work: charged and recorded once, as blocked; the answer withheld.
            usage.findings = [error.detector.rawValue]
            _ = await complete(admission, call, usage: usage, ending: "guardrail_blocked")
            return .plain(GatewayResponse(error: .guardrailBlocked(error.detector.rawValue, in: "response"), requestID: call.requestID))
        }
        guard let ledger = await complete(admission, call, usage: usage, ending: "ok") else {
            return .plain(GatewayResponse(error: Self.ledgerUnavailable, requestID: call.requestID))
        }
        return .plain(
            GatewayResponse(
                status: 200, body: Self.forwarded(reply.body, unlessChanged: answer, findings: usage.findings),
                headers: [("Content-Type", "application/json"), ("x-asgard-request-id", call.requestID)], ledger: ledger))
    }

    /// The bytes the caller gets for an answer that passed the output guardrails: the vendor's
    /// own when nothing was found (the strict parser read every string of them, so they mean
    /// to any JSON reader what was scanned), the rewritten document otherwise. A leading
    /// byte-order mark, which the parser tolerates and some readers do not, is re-encoded too.
    static func forwarded(_ vendorBytes: [UInt8], unlessChanged answer: JSONValue, findings: [String]) -> [UInt8] {
        guard findings.isEmpty, !vendorBytes.starts(with: [0xEF, 0xBB, 0xBF]) else { return answer.jsonBytes }
        return vendorBytes
    }

    /// The vendor, streamed: admitted once it answers 2xx with a stream.
    private func openStream(_ admission: Admission, _ call: CallContext) async -> ChatAnswer {
        let opening: UpstreamOpening
        do {
            opening = try await transport.open(admission.upstream, timeoutSeconds: admission.route.timeoutSeconds)
        } catch {
            return .plain(await failedInTransit(error, admission, call))
        }
        switch opening {
        case .refused(let reply):
            _ = budgets.release(admission.reservation)
            return .plain(await refuse(admission.adapter.failure(reply, secrets: admission.endpoint.secrets), call))
        case .streaming(let body):
            let wantsUsage: Bool
            if case .bool(true)? = admission.request.body["stream_options"]?["include_usage"] { wantsUsage = true } else { wantsUsage = false }
            return .stream(GatewayEventStream(gateway: self, admission: admission, call: call, forwardUsage: wantsUsage, upstream: body))
        }
    }

    /// The transport failed. When the request never left (`upstream_unreachable`) nothing is
    /// charged. Otherwise the vendor may have done all the work (a timeout, a connection
    /// broken after sending, the client leaving while the vendor worked): the worst case is
    /// settled, marked estimated, and the call recorded once, with the ending as its status.
    private func failedInTransit(_ error: GatewayError, _ admission: Admission, _ call: CallContext) async -> GatewayResponse {
        guard error.code != GatewayError.unreachableCode else {
            _ = budgets.release(admission.reservation)
            return await refuse(error, call)
        }
        let ending = Task.isCancelled ? GatewayStreamEnding.clientDisconnected.rawValue : error.code
        metering.upstreamError(vendor: admission.route.vendor, code: error.code)
        _ = await complete(admission, call, usage: .worstCase(of: admission), ending: ending)
        return GatewayResponse(error: error, requestID: call.requestID)
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
                (self.prompt, self.completion, estimated) = (Self.clamped(prompt), Self.clamped(generated), false)
                return
            }
            var bytes = 0
            if case .array(let choices)? = completion["choices"] {
                for choice in choices { if case .string(let content)? = choice["message"]?["content"] { bytes += content.utf8.count } }
            }
            (prompt, self.completion, estimated) = (
                admission.promptEstimate,
                ChatStreamTransformer.estimateCompletionTokens(bytes: bytes, maxTokens: admission.completionBound), true
            )
        }

        init(prompt: Int, completion: Int, estimated: Bool, findings: [String]) {
            (self.prompt, self.completion, self.estimated, self.findings) = (prompt, completion, estimated, findings)
        }

        /// Everything the request could have cost, marked estimated.
        static func worstCase(of admission: Admission) -> Usage {
            Usage(prompt: admission.promptBound, completion: admission.completionBound, estimated: true, findings: [])
        }

        /// A vendor's count as an `Int`, negatives as zero.
        static func clamped(_ count: Int64) -> Int { Int(max(count, 0)) }
    }

    /// The one tail of every call that reached the vendor, plain or streamed, however it ended:
    /// settles the reservation at the cost of `usage` and records the ledger row (status
    /// `ending`) and the audit entry (allowed for `ok` and a client that left, denied with the
    /// ending as reason otherwise), once.
    ///
    /// Usage beyond what the request could have produced (its prompt bound, `n` × its token
    /// cap) is not believed: the bound is charged, the row marked `overrun`, and the metering
    /// told. So settlement never charges more than the reservation.
    /// - Returns: whether they are durable (the caller must not see success otherwise).
    @discardableResult
    /// - Returns: the ledger row recorded, or nil when it could not be.
    func complete(_ admission: Admission, _ call: CallContext, usage: Usage, ending: String) async -> LedgerEntry? {
        let route = admission.route
        let prompt = min(usage.prompt, admission.promptBound)
        let generated = min(usage.completion, admission.completionBound)
        let overrun = prompt < usage.prompt || generated < usage.completion
        let cost = Pricing.cost(promptTokens: prompt, completionTokens: generated, pricing: route.pricing)
        _ = budgets.settle(admission.reservation, actual: cost)
        var audit = call.audit
        let allowed = ending == "ok" || ending == GatewayStreamEnding.clientDisconnected.rawValue
        audit.outcome = allowed ? "allowed" : "denied"
        if !allowed { audit.detail["reason"] = ending }
        if admission.request.stream { audit.detail["stream_status"] = ending }
        if !usage.findings.isEmpty { audit.detail["output_findings"] = usage.findings.joined(separator: ",") }
        audit.detail["cost_micros"] = String(cost.value)
        if overrun {
            audit.detail["overrun"] = "reported \(usage.prompt)+\(usage.completion) tokens, bound \(admission.promptBound)+\(admission.completionBound)"
            metering.overrun(project: admission.key.project, vendor: route.vendor, model: route.model, requestID: call.requestID)
        }
        metering.spend(project: admission.key.project, vendor: route.vendor, micros: cost.value)
        let elapsed = ContinuousClock.now - call.started
        let ledger = LedgerEntry(
            requestID: call.requestID, time: clock(), project: admission.key.project, keyID: admission.key.id, vendor: route.vendor,
            model: route.model, upstream: route.upstream, promptTokens: prompt, completionTokens: generated, cost: cost,
            latencyMicroseconds: elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000,
            status: ending, estimated: usage.estimated, overrun: overrun)
        do {
            try await recorder.record(ledger: ledger, audit: audit)
            return ledger
        } catch {
            return nil
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
            let vendor = audit.target.map(Self.vendorPrefix(of:)) ?? ""
            metering.upstreamError(vendor: vendor.isEmpty ? "unknown" : vendor, code: error.code)
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

    /// The longest audit target kept, in UTF-8 bytes: a model id is the caller's text, and the
    /// audit log must not grow by what a caller chooses to send.
    static let maxTargetBytes = 200

    /// `model` as an audit target: at most `maxTargetBytes` bytes (on a character boundary),
    /// marked with `…` when cut.
    static func boundedTarget(_ model: String) -> String {
        guard model.utf8.count > maxTargetBytes else { return model }
        var cut = ""
        for character in model {
            guard cut.utf8.count + character.utf8.count <= maxTargetBytes else { break }
            cut.append(character)
        }
        return cut + "…"
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
    /// The vendor's request: its model name, the guarded body, the token cap, the usage context.
    var upstream: UpstreamRequest
    /// The most prompt tokens the request can cost (`Pricing.promptTokenBound` of what is sent).
    var promptBound: Int
    /// The most completion tokens it can cost: `n` × its token cap.
    var completionBound: Int
    /// Charged when the vendor reports no usage.
    var promptEstimate: Int
    /// The output guardrails' action: the project's, for the call's data class and at least its classification's.
    var guardrailAction: GuardrailAction
    var reservation: BudgetReservation
}
