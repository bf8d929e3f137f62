public import AsgardCore
public import AsgardJSON
import Foundation

/// How the gateway speaks one kind of vendor chat API (the manifest's `inference.kind`).
///
/// The gateway's own language is OpenAI's chat completions: clients send and receive it, and
/// guardrails, pricing and the ledger read it. An adapter translates between it and its vendor:
/// it builds the request (URL, headers with the credential, body), reads a reply into an OpenAI
/// `chat.completion`, a stream event into an OpenAI `chat.completion.chunk`, and an error
/// answer into the caller's error. Adapters are values in an `InferenceAdapters` registry built
/// at the composition root; no vendor is known by name.
public protocol InferenceAdapter: Sendable {
    /// The top-level request fields this kind of vendor may receive (besides Asgard's own
    /// `data_class`); a request with any other is refused, naming them. Every field listed is
    /// one whose cost the reservation bounds: its text is counted, and no field that changes the
    /// price (`service_tier`), the token count (`n` aside, which is counted), or passes opaque
    /// parameters (`extra_params`) is listed unless priced.
    var requestFields: Set<String> { get }

    /// The request for `body` (already the vendor's model name, the reserved `max_tokens`).
    func request(_ body: JSONValue, stream: Bool, to endpoint: UpstreamEndpoint) -> UpstreamRequest

    /// A 2xx answer as an OpenAI `chat.completion`.
    /// - Throws: `GatewayError.upstreamInvalidResponse` when it is not one.
    func completion(from reply: UpstreamReply) throws(GatewayError) -> JSONValue

    /// One server-sent event of a 2xx stream.
    func chunk(from event: SSEEvent) -> StreamChunk

    /// A non-2xx answer as the caller's error: the vendor's code kept, `secrets` scrubbed.
    func failure(_ reply: UpstreamReply, secrets: [String]) -> GatewayError
}

/// One event of a vendor's stream, as the gateway reads it.
public enum StreamChunk: Sendable {
    /// An OpenAI `chat.completion.chunk`.
    case chunk(JSONValue)
    /// The end of the stream (`[DONE]`).
    case done
    /// The vendor reported an error in the stream (its code, if any).
    case failure(String)
    /// Nothing to forward (not JSON, or not a chunk): it cannot be scanned, so it is dropped.
    case ignored
}

/// The adapters by inference kind.
public struct InferenceAdapters: Sendable {
    private var adapters: [InferenceSpec.APIKind: any InferenceAdapter]

    public init(_ adapters: [InferenceSpec.APIKind: any InferenceAdapter]) { self.adapters = adapters }

    /// Every kind Asgard speaks: `openai-compatible`.
    public static let standard = InferenceAdapters([.openAICompatible: OpenAICompatibleAdapter()])

    public subscript(kind: InferenceSpec.APIKind) -> (any InferenceAdapter)? { adapters[kind] }
}

/// `openai-compatible`: OpenAI's chat completions as they are (Databricks Model Serving,
/// OpenAI, LiteLLM, Azure OpenAI with `auth_header: api-key`).
public struct OpenAICompatibleAdapter: InferenceAdapter {
    public init() {}

    /// OpenAI's chat completion fields whose cost is bounded by their text and the token caps,
    /// plus Databricks' `top_k` and `client_request_id`. Not listed: `service_tier` (priced per
    /// tier, which no manifest gives), `extra_params` (opaque), `usage_context` (the gateway's
    /// own attribution), `store` and `metadata` (retention at the vendor), `audio`,
    /// `modalities` and `prediction` (costs the body does not bound), `functions` and
    /// `function_call` (deprecated for `tools`).
    public let requestFields: Set<String> = [
        "model", "messages", "max_tokens", "max_completion_tokens", "n", "stream", "stream_options", "temperature", "top_p", "top_k",
        "stop", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "user", "response_format",
        "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort", "client_request_id",
    ]

    public func request(_ body: JSONValue, stream: Bool, to endpoint: UpstreamEndpoint) -> UpstreamRequest {
        UpstreamRequest(
            url: endpoint.url,
            headers: [
                (endpoint.credentialHeader, endpoint.credential), ("Content-Type", "application/json"),
                ("Accept", stream ? "text/event-stream" : "application/json"),
            ], body: body.jsonBytes)
    }

    public func completion(from reply: UpstreamReply) throws(GatewayError) -> JSONValue {
        guard let json = try? JSONValue.parse(reply.body), case .object = json else {
            throw .upstreamInvalidResponse("the upstream answered \(reply.status) with a body that is not a JSON object")
        }
        return json
    }

    public func chunk(from event: SSEEvent) -> StreamChunk {
        let trimmed = event.data.trimmingCharacters(in: .whitespaces)
        if trimmed == "[DONE]" { return .done }
        guard let chunk = try? JSONValue.parse(trimmed), case .object = chunk else { return .ignored }
        if let error = chunk["error"], error != .null {
            if case .string(let code)? = error["code"] { return .failure(code) }
            if case .string(let code)? = error["error_code"] { return .failure(code) }
            return .failure("error")
        }
        return .chunk(chunk)
    }

    public func failure(_ reply: UpstreamReply, secrets: [String]) -> GatewayError {
        let parsed = try? JSONValue.parse(reply.body)
        var code: String?
        var message = "no message"
        if case .string(let vendorCode)? = parsed?["error_code"] { code = vendorCode }
        if case .string(let vendorCode)? = parsed?["error"]?["code"] { code = vendorCode }
        if case .string(let text)? = parsed?["message"] { message = text }
        if case .string(let text)? = parsed?["error"]?["message"] { message = text }
        for secret in secrets where !secret.isEmpty { message = message.replacingOccurrences(of: secret, with: "[REDACTED]") }
        message = Guardrails.redact(message)
        if reply.status == 504 { return .upstreamTimeout(after: 0) }
        return .upstream(status: reply.status, vendorCode: code, message: String(message.prefix(500)))
    }
}
