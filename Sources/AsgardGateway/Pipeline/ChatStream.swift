import AsgardCore
import AsgardJSON
import Foundation

// MARK: - Server-sent events

/// One server-sent event: its `data:` lines joined with `\n`, and its `event:` name if any.
public struct SSEEvent: Sendable, Hashable {
    public var data: String
    public var event: String?

    public init(data: String, event: String? = nil) {
        self.data = data
        self.event = event
    }
}

/// Splits a byte stream into server-sent events, whatever the chunk boundaries.
///
/// Lines end with LF, CRLF or CR (a CRLF split across chunks counts once). An event ends at a
/// blank line; `data:` lines (one optional space after the colon is dropped) are joined with
/// `\n`; `event:` names it; comments (`:`…) and other fields (`id:`, `retry:`) are ignored; an
/// event without any `data:` line is not dispatched. `finish()` dispatches a last event that
/// the stream did not terminate with a blank line (a lenient reading, so a vendor that omits
/// the final blank line loses nothing).
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var event: String?
    private var afterCR = false
    /// The longest line kept; longer lines are truncated (a misbehaving vendor cannot exhaust memory).
    var maxLineBytes = 1 << 20

    public init() {}

    public mutating func push(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var out: [SSEEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                afterCR = true
                endLine(into: &out)
            case 0x0A:
                endLine(into: &out)
            default:
                if line.count < maxLineBytes { line.append(byte) }
            }
        }
        return out
    }

    /// Ends the stream: a pending line and an unterminated event are dispatched.
    public mutating func finish() -> [SSEEvent] {
        var out: [SSEEvent] = []
        if !line.isEmpty { endLine(into: &out) }
        endLine(into: &out)
        return out
    }

    private mutating func endLine(into out: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if hasData { out.append(SSEEvent(data: String(decoding: data, as: UTF8.self), event: event)) }
            data.removeAll(keepingCapacity: true)
            hasData = false
            event = nil
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            event = String(decoding: value, as: UTF8.self)
        }
    }
}

// MARK: - The per-chunk transformation

/// Turns the vendor's `chat.completion.chunk` events into the client's, pure and synchronous:
/// each choice's `delta.content` goes through its own `StreamGuardrail` (so a match split across
/// chunks is still caught), `usage` is captured, and the raw generated text is counted.
///
/// Per the project's guardrail action for the call's data class:
/// - `redact`: the client gets the guardrail's output (held back by its window, flushed at the
///   choice's `finish_reason` or at `finish()`), matches replaced by `[REDACTED:<detector>]`;
/// - `log`: the text passes unchanged and at once; findings are collected for the audit entry;
/// - `block`: the client gets the guardrail's output as long as it has no finding; at the first
///   finding `blocked` is set and nothing more is produced (the match is never forwarded).
///
/// The vendor's `[DONE]` is swallowed (`sawDone`); the gateway sends its own after the ledger
/// row is durable. The `usage` chunk is forwarded only when the client asked for it
/// (`stream_options.include_usage`); the gateway asks the vendor regardless.
struct ChatStreamTransformer: Sendable {
    let action: GuardrailAction
    let detectors: Set<GuardrailDetector>
    /// Whether `usage` is passed on to the client.
    let forwardUsage: Bool
    /// Reads the vendor's events into OpenAI chunks.
    let adapter: any InferenceAdapter

    private var guardrails: [Int64: StreamGuardrail] = [:]
    /// Choice indexes in order of first appearance.
    private var order: [Int64] = []
    private var finished: Set<Int64> = []
    /// The last chunk's envelope (`id`, `object`, `created`, `model`), for chunks the gateway makes.
    private var envelope: JSONValue = .object([JSONMember(key: "object", value: .string("chat.completion.chunk"))])

    /// Bytes of content the vendor generated (before any redaction), all choices.
    private(set) var generatedBytes = 0
    /// The vendor's reported usage, if a chunk carried it.
    private(set) var usage: (prompt: Int, completion: Int)?
    private(set) var sawDone = false
    /// Set when the vendor sent an error object instead of a chunk (its code, if any).
    private(set) var upstreamFailure: String?
    /// Set when the `block` action stopped the stream.
    private(set) var blocked: GuardrailDetector?
    /// Detectors that fired, in order (offsets are not kept).
    private(set) var findings: [GuardrailDetector] = []

    init(action: GuardrailAction, detectors: Set<GuardrailDetector>, forwardUsage: Bool, adapter: any InferenceAdapter = OpenAICompatibleAdapter()) {
        self.action = action
        self.detectors = detectors
        self.forwardUsage = forwardUsage
        self.adapter = adapter
    }

    init(settings: GuardrailSettings, dataClass: DataClass, forwardUsage: Bool, adapter: any InferenceAdapter = OpenAICompatibleAdapter()) {
        self.init(action: settings.action(for: dataClass), detectors: GuardrailDetector.all, forwardUsage: forwardUsage, adapter: adapter)
    }

    /// Whether nothing more should be read from the vendor.
    var isStopped: Bool { sawDone || blocked != nil || upstreamFailure != nil }

    /// Whether the vendor ended the stream properly: `[DONE]`, or every choice it started
    /// reached a `finish_reason` (`[DONE]` is not guaranteed by Databricks).
    var isComplete: Bool { sawDone || (!order.isEmpty && order.allSatisfy(finished.contains)) }

    /// The client's SSE frames for one vendor event (none, one, or — never more than — one).
    mutating func accept(_ event: SSEEvent) -> [[UInt8]] {
        guard !isStopped else { return [] }
        let chunk: JSONValue
        switch adapter.chunk(from: event) {
        case .done:
            sawDone = true
            return []
        case .failure(let code):
            upstreamFailure = code
            return []
        case .ignored:
            // An event that cannot be read cannot be scanned, so it is not forwarded.
            return []
        case .chunk(let read):
            chunk = read
        }
        if case .object? = chunk["usage"], case .integer(let prompt)? = chunk["usage"]?["prompt_tokens"],
            case .integer(let completion)? = chunk["usage"]?["completion_tokens"]
        {
            usage = (Int(prompt), Int(completion))
        }
        envelope = chunk.removing("choices").removing("usage")
        var out = forwardUsage ? chunk : chunk.removing("usage")
        var hadChoices = false
        if case .array(let choices)? = chunk["choices"] {
            hadChoices = !choices.isEmpty
            var replaced: [JSONValue] = []
            for choice in choices {
                let index: Int64
                if case .integer(let stated)? = choice["index"] { index = stated } else { index = 0 }
                if guardrails[index] == nil {
                    guardrails[index] = StreamGuardrail(detectors: detectors)
                    order.append(index)
                }
                var content = ""
                var hadContent = false
                if case .string(let raw)? = choice["delta"]?["content"] {
                    hadContent = true
                    guard let passed = scan(raw, choice: index) else { return [] }
                    content = passed
                }
                var isFinal = false
                if let reason = choice["finish_reason"], reason != .null { isFinal = true }
                if isFinal, !finished.contains(index) {
                    guard let rest = flush(choice: index) else { return [] }
                    if !rest.isEmpty { hadContent = true }
                    content += rest
                    finished.insert(index)
                }
                if hadContent {
                    let delta = choice["delta"] ?? .object([])
                    replaced.append(choice.setting("delta", to: delta.setting("content", to: .string(content))))
                } else {
                    replaced.append(choice)
                }
            }
            out = out.setting("choices", to: .array(replaced))
        }
        // A usage-only chunk the client did not ask for is dropped.
        if !hadChoices, !forwardUsage { return [] }
        return [Self.frame(out)]
    }

    /// Ends the stream (normally or not): text still held by a guardrail is flushed in
    /// gateway-made chunks, one per unfinished choice. Nothing once stopped by `block`.
    mutating func finish() -> [[UInt8]] {
        guard blocked == nil else { return [] }
        var out: [[UInt8]] = []
        for index in order where !finished.contains(index) {
            guard let rest = flush(choice: index) else { return [] }
            finished.insert(index)
            guard !rest.isEmpty else { continue }
            let delta = JSONValue.object([JSONMember(key: "content", value: .string(rest))])
            let choice = JSONValue.object([
                JSONMember(key: "index", value: .integer(index)), JSONMember(key: "delta", value: delta),
                JSONMember(key: "finish_reason", value: .null),
            ])
            out.append(Self.frame(envelope.setting("choices", to: .array([choice]))))
        }
        return out
    }

    /// Pushes raw content of one choice through its guardrail; nil when `block` fired.
    private mutating func scan(_ raw: String, choice index: Int64) -> String? {
        generatedBytes += raw.utf8.count
        let (emit, found) = guardrails[index]!.push(raw)
        return judge(emit, found, raw: raw)
    }

    private mutating func flush(choice index: Int64) -> String? {
        guard guardrails[index] != nil else { return "" }
        let (emit, found) = guardrails[index]!.finish()
        return judge(emit, found, raw: nil)
    }

    /// Applies the action to a guardrail's output. `raw` is the pushed text (`log` forwards it).
    private mutating func judge(_ emit: String, _ found: [GuardrailFinding], raw: String?) -> String? {
        findings += found.map(\.detector)
        switch action {
        case .redact:
            return emit
        case .log:
            return raw ?? ""
        case .block:
            if let first = found.first {
                blocked = first.detector
                return nil
            }
            // A long secret is emitted as its marker before its finding is reported (the
            // guardrail swallows the rest of its run): that too is a block.
            if let marker = detectors.sorted().first(where: { emit.contains($0.redactionMarker) }) {
                blocked = marker
                return nil
            }
            return emit
        }
    }

    static func frame(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.jsonBytes + Array("\n\n".utf8)
    }

    static func errorFrame(_ error: GatewayError) -> [UInt8] {
        Array("data: ".utf8) + Array(error.body.utf8) + Array("\n\n".utf8)
    }

    static let doneFrame = Array("data: [DONE]\n\n".utf8)

    /// Completion tokens when the vendor reports none: `⌈bytes / 3⌉` of the generated text
    /// (the same deliberately high rate as `Pricing.estimatePromptTokens`), at most `maxTokens`
    /// (the vendor was told it may not produce more). Zero for no text.
    static func estimateCompletionTokens(bytes: Int, maxTokens: Int) -> Int {
        min(max(maxTokens, 0), (bytes + 2) / 3)
    }
}

// MARK: - The streamed response

/// What `Gateway.chatStream` answers: a refusal (the same error and audit as `chat`), or a stream.
public enum GatewayStreamResponse: Sendable {
    case refused(GatewayResponse)
    case stream(GatewayEventStream)
}

/// How a streamed call ended; also the ledger row's `status`.
public enum GatewayStreamEnding: String, Sendable, Hashable {
    /// The vendor finished; the client got every frame and `data: [DONE]`.
    case ok
    /// The vendor's stream broke (or ended unfinished); the client got an error event.
    case upstreamDropped = "upstream_dropped"
    /// The vendor sent an error object mid-stream; the client got an error event.
    case upstreamError = "upstream_error"
    /// The `block` guardrail fired on the output; the client got an error event, never the match.
    case guardrailBlocked = "guardrail_blocked"
    /// The client went away (a write failed or the task was cancelled).
    case clientDisconnected = "client_disconnected"
}

/// An admitted streamed call: status 200, `headers`, and a body produced by `produce(_:)`.
///
/// `produce` must be run exactly once (it owns the budget reservation and the upstream body).
/// It forwards the vendor's chunks through the output guardrail, and at the end settles the
/// reservation and records the ledger row and audit entry through `CallRecorder` — durable
/// *before* the final `data: [DONE]` is written. Counting: the vendor's `usage` when it sent
/// one, else the prompt estimate and `ChatStreamTransformer.estimateCompletionTokens` of the
/// text generated so far, with the row marked `estimated`. A vendor drop, an upstream error
/// object or a `block` finding ends the stream with `data: {"error":{...}}` (no `[DONE]`); a
/// client that goes away is charged for what was generated so far (`client_disconnected`).
public struct GatewayEventStream: Sendable {
    public let status = 200
    public let headers: [(String, String)]
    public var requestID: String { call.requestID }

    let gateway: Gateway
    let admission: Admission
    let call: CallContext
    let forwardUsage: Bool
    let upstream: any UpstreamBody

    init(gateway: Gateway, admission: Admission, call: CallContext, forwardUsage: Bool, upstream: any UpstreamBody) {
        self.gateway = gateway
        self.admission = admission
        self.call = call
        self.forwardUsage = forwardUsage
        self.upstream = upstream
        headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("x-asgard-request-id", call.requestID)]
    }

    /// A write to the client failed.
    private struct ClientGone: Error {
        var underlying: any Error
    }

    /// Streams the call to `write`, one SSE frame per call.
    ///
    /// - Returns: how the call ended (anything but `clientDisconnected`).
    /// - Throws: when the client went away: the error `write` threw, or `CancellationError` when
    ///   the task was cancelled. The call is settled and recorded before this returns or throws.
    @discardableResult
    public func produce(_ write: ([UInt8]) async throws -> Void) async throws -> GatewayStreamEnding {
        var transformer = ChatStreamTransformer(
            settings: admission.guardrail, dataClass: admission.level, forwardUsage: forwardUsage,
            adapter: admission.adapter)
        var parser = SSEParser()
        func send(_ frames: [[UInt8]]) async throws(ClientGone) {
            for frame in frames {
                do { try await write(frame) } catch { throw ClientGone(underlying: error) }
            }
        }
        var ending: GatewayStreamEnding = .ok
        do {
            try await upstream.read { chunk in
                if Task.isCancelled { throw CancellationError() }
                for event in parser.push(chunk) {
                    try await send(transformer.accept(event))
                    if transformer.isStopped { return false }
                }
                return true
            }
            if Task.isCancelled { throw CancellationError() }
            if !transformer.isStopped {
                for event in parser.finish() { try await send(transformer.accept(event)) }
            }
            if transformer.blocked != nil {
                ending = .guardrailBlocked
            } else if transformer.upstreamFailure != nil {
                ending = .upstreamError
            } else if !transformer.isComplete {
                ending = .upstreamDropped
            }
            // Text the guardrail still holds was generated and is safe to send (redacted).
            try await send(transformer.finish())
            if transformer.blocked != nil { ending = .guardrailBlocked }
        } catch let gone as ClientGone {
            await settleAndRecord(.clientDisconnected, transformer)
            throw gone.underlying
        } catch {
            if Task.isCancelled || error is CancellationError {
                await settleAndRecord(.clientDisconnected, transformer)
                throw CancellationError()
            }
            ending = .upstreamDropped
            do { try await send(transformer.finish()) } catch {
                await settleAndRecord(.clientDisconnected, transformer)
                throw error.underlying
            }
            if transformer.blocked != nil { ending = .guardrailBlocked }
        }
        let recorded = await settleAndRecord(ending, transformer)
        let last: [UInt8]
        switch ending {
        case .ok:
            last = recorded ? ChatStreamTransformer.doneFrame : ChatStreamTransformer.errorFrame(Self.ledgerUnavailable)
        case .upstreamDropped:
            last = ChatStreamTransformer.errorFrame(
                GatewayError(
                    status: 502, type: "api_error", code: "upstream_dropped", message: "the upstream stream ended before the completion was finished")
            )
        case .upstreamError:
            last = ChatStreamTransformer.errorFrame(.upstream(status: 200, vendorCode: transformer.upstreamFailure, message: "error in the stream"))
        case .guardrailBlocked:
            last = ChatStreamTransformer.errorFrame(.guardrailBlocked((transformer.blocked ?? .privateKey).rawValue, in: "response"))
        case .clientDisconnected:
            last = []
        }
        if !last.isEmpty { try await write(last) }
        return ending
    }

    static let ledgerUnavailable = GatewayError(
        status: 500, type: "api_error", code: "ledger_unavailable",
        message: "the call succeeded but could not be recorded")

    /// The gateway's tail (`Gateway.complete`) for a stream: the vendor's `usage` when it sent
    /// one, else the prompt estimate and the text generated so far; true once durable.
    @discardableResult
    private func settleAndRecord(_ ending: GatewayStreamEnding, _ transformer: ChatStreamTransformer) async -> Bool {
        let usage =
            transformer.usage.map { Gateway.Usage(prompt: $0.prompt, completion: $0.completion, estimated: false, findings: []) }
            ?? Gateway.Usage(
                prompt: admission.promptEstimate,
                completion: ChatStreamTransformer.estimateCompletionTokens(bytes: transformer.generatedBytes, maxTokens: admission.maxTokens),
                estimated: true, findings: [])
        var found = usage
        found.findings = transformer.findings.map(\.rawValue)
        return await gateway.complete(admission, call, usage: found, ending: ending.rawValue)
    }
}
