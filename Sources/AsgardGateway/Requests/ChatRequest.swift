public import AsgardCore
public import AsgardJSON

/// An OpenAI-style chat request as the gateway reads it: the whole body kept as parsed JSON
/// (numbers exactly as written), plus the fields the pipeline needs, validated. Which other
/// fields may pass to the vendor is its inference adapter's to say (`InferenceAdapter.requestFields`).
public struct ChatRequest: Sendable {
    /// The body, an object; no key repeats at any depth.
    public var body: JSONValue
    /// The public model id, `<vendor>/<name>` (a `model:` prefix is accepted and removed).
    public var model: String
    /// `max_tokens`, when given.
    public var maxTokens: Int?
    /// `max_completion_tokens`, when given.
    public var maxCompletionTokens: Int?
    /// `n`: how many completions the vendor generates (1 unless given).
    public var choices: Int
    public var messageCount: Int
    /// Entries of `tools`.
    public var toolCount: Int
    public var stream: Bool
    /// `data_class` from the body (Asgard's own endpoint); nil when absent.
    public var dataClass: DataClass?
    /// The body's length as received, in bytes.
    public var receivedBytes: Int

    static let roles: Set<String> = ["system", "user", "assistant", "tool", "developer"]
    /// The largest `n` (OpenAI's limit).
    public static let maxChoices = 128
    /// The largest token cap a request may ask for.
    public static let maxTokenCap = 10_000_000

    /// Parses and validates a body.
    /// - Throws: `GatewayError` 413 over `limit` bytes, 400 naming the field otherwise.
    public init(bytes: [UInt8], limit: Int) throws(GatewayError) {
        guard bytes.count <= limit else { throw .bodyTooLarge(limit: limit) }
        let body: JSONValue
        do {
            body = try JSONValue.parse(bytes)
        } catch {
            throw .invalidRequest("the body is not valid JSON: \(error)")
        }
        guard case .object = body else { throw .invalidRequest("the body must be a JSON object") }
        // Vendors' parsers keep the last of repeated keys, the scanners would read the first.
        if let repeated = body.repeatedKeyPath() {
            throw .invalidRequest("the field \(repeated) appears twice", param: repeated)
        }
        guard case .string(var model)? = body["model"] else {
            throw .invalidRequest(body["model"] == nil ? "the field model is required" : "model must be a string", param: "model")
        }
        if model.hasPrefix("model:") { model.removeFirst(6) }
        guard case .array(let messages)? = body["messages"] else {
            throw .invalidRequest(body["messages"] == nil ? "the field messages is required" : "messages must be an array", param: "messages")
        }
        guard !messages.isEmpty else { throw .invalidRequest("messages must not be empty", param: "messages") }
        for (index, message) in messages.enumerated() {
            guard case .object = message else { throw .invalidRequest("each message must be an object", param: "messages[\(index)]") }
            guard case .string(let role)? = message["role"], Self.roles.contains(role) else {
                throw .invalidRequest("role must be one of \(Self.roles.sorted().joined(separator: ", "))", param: "messages[\(index)].role")
            }
            switch message["content"] {
            case .string?:
                break
            case .array(let parts)?:
                // Text only: an image or audio part costs tokens its bytes do not bound.
                for (partIndex, part) in parts.enumerated() {
                    guard case .string? = part["text"], part["type"] == nil || part["type"] == .string("text") else {
                        throw .invalidRequest(
                            "content parts must be {\"type\": \"text\", \"text\": ...}", param: "messages[\(index)].content[\(partIndex)]")
                    }
                }
            case .null?, nil:
                // Only an assistant turn (e.g. one that called tools) may carry no content.
                guard role == "assistant" else {
                    throw .invalidRequest("content is required", param: "messages[\(index)].content")
                }
            default:
                throw .invalidRequest("content must be a string or an array of text parts", param: "messages[\(index)].content")
            }
        }
        let toolCount: Int
        switch body["tools"] {
        case nil, .null?: toolCount = 0
        case .array(let tools)?: toolCount = tools.count
        default: throw .invalidRequest("tools must be an array", param: "tools")
        }
        var stream = false
        switch body["stream"] {
        case nil, .null?: stream = false
        case .bool(let flag)?: stream = flag
        default: throw .invalidRequest("stream must be true or false", param: "stream")
        }
        var dataClass: DataClass?
        switch body["data_class"] {
        case nil: dataClass = nil
        case .string(let name)?:
            guard let parsed = DataClass(name: name) else {
                throw .invalidRequest("data_class must be one of public, internal, confidential, restricted", param: "data_class")
            }
            dataClass = parsed
        default: throw .invalidRequest("data_class must be a string", param: "data_class")
        }
        self.body = body
        self.model = model
        self.maxTokens = try Self.count(body, "max_tokens", upTo: Self.maxTokenCap)
        self.maxCompletionTokens = try Self.count(body, "max_completion_tokens", upTo: Self.maxTokenCap)
        self.choices = try Self.count(body, "n", upTo: Self.maxChoices) ?? 1
        self.messageCount = messages.count
        self.toolCount = toolCount
        self.stream = stream
        self.dataClass = dataClass
        self.receivedBytes = bytes.count
    }

    /// An optional positive integer field, at most `limit`.
    private static func count(_ body: JSONValue, _ field: String, upTo limit: Int) throws(GatewayError) -> Int? {
        switch body[field] {
        case nil, .null?: return nil
        case .integer(let value)? where value > 0 && value <= limit: return Int(value)
        default: throw .invalidRequest("\(field) must be an integer from 1 to \(limit)", param: field)
        }
    }

    /// The completion-token cap of each choice: the larger of `max_tokens` and
    /// `max_completion_tokens` when either is given, else `defaultCap` (which is then sent).
    public func tokenCap(default defaultCap: Int) -> Int {
        switch (maxTokens, maxCompletionTokens) {
        case (nil, nil): defaultCap
        case (let a?, nil): a
        case (nil, let b?): b
        case (let a?, let b?): max(a, b)
        }
    }

    /// Top-level fields the vendor would receive that `allowed` does not list, sorted.
    public func fields(notIn allowed: Set<String>) -> [String] {
        guard case .object(let members) = body else { return [] }
        return members.map(\.key).filter { !allowed.contains($0) && $0 != "data_class" }.sorted()
    }

    /// The body to send upstream: the vendor's model name (`{model}` in the path carries it
    /// too, harmlessly), Asgard's own fields removed, the token cap set when the request gave
    /// none (`max_tokens: defaultCap`), `usage_context` added when asked for, and usage
    /// requested for streams. `body` is the request's after the input guardrails.
    public func upstreamBody(_ body: JSONValue, upstreamModel: String, defaultCap: Int, usageContextProject: String?) -> JSONValue {
        var body = body.removing("data_class").setting("model", to: .string(upstreamModel))
        if maxTokens == nil, maxCompletionTokens == nil { body = body.setting("max_tokens", to: .integer(Int64(defaultCap))) }
        if let project = usageContextProject {
            body = body.setting("usage_context", to: .object([JSONMember(key: "project", value: .string(project))]))
        }
        if stream {
            body = body.setting("stream_options", to: .object([JSONMember(key: "include_usage", value: .bool(true))]))
        }
        return body
    }
}
