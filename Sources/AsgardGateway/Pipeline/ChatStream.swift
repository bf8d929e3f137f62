import AsgardCore
import AsgardJSON
import Foundation
import Synchronization

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
/// `produce` must be run at most once (it owns the budget reservation and the upstream body).
/// A stream whose body is never produced (the client left before its head could be written)
/// is settled when its last copy goes away: the worst case, estimated, `client_disconnected`,
/// since the vendor was already at work.
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
    private let unproduced: UnproducedStream

    init(gateway: Gateway, admission: Admission, call: CallContext, forwardUsage: Bool, upstream: any UpstreamBody) {
        self.gateway = gateway
        self.admission = admission
        self.call = call
        self.forwardUsage = forwardUsage
        self.upstream = upstream
        unproduced = UnproducedStream { _ = await gateway.complete(admission, call, usage: .worstCase(of: admission), ending: "client_disconnected") }
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
        precondition(unproduced.claim(), "a stream's body is produced once")
        var transformer = ChatStreamTransformer(
            action: admission.guardrailAction, detectors: GuardrailDetector.all, forwardUsage: forwardUsage, adapter: admission.adapter)
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
                completion: ChatStreamTransformer.estimateCompletionTokens(bytes: transformer.generatedBytes, maxTokens: admission.completionBound),
                estimated: true, findings: [])
        var found = usage
        found.findings = transformer.findings.map(\.rawValue)
        return await gateway.complete(admission, call, usage: found, ending: ending.rawValue) != nil
    }
}

/// Settles a stream whose body was never produced, when the last copy of it goes away.
private final class UnproducedStream: Sendable {
    private let produced = Atomic(false)
    private let settle: @Sendable () async -> Void

    init(settle: @escaping @Sendable () async -> Void) { self.settle = settle }

    /// Marks the body as produced; false when it already was.
    func claim() -> Bool { !produced.exchange(true, ordering: .acquiringAndReleasing) }

    deinit {
        guard !produced.load(ordering: .acquiring) else { return }
        Task { [settle] in await settle() }
    }
}
