public import AsgardCore
public import AsgardJSON

/// An OpenAI-style chat request as the gateway reads it: the whole body kept as parsed JSON
/// (so fields Asgard does not know pass through to the vendor untouched, numbers exactly as
/// written), plus the fields the pipeline needs, validated.
public struct ChatRequest: Sendable {
    /// The body, an object.
    public var body: JSONValue
    /// The public model id, `<vendor>/<name>` (a `model:` prefix is accepted and removed).
    public var model: String
    /// Each message's text, for guardrails and the prompt-token estimate.
    public var messageTexts: [String]
    public var maxTokens: Int?
    public var stream: Bool
    /// `data_class` from the body (Asgard's own endpoint); nil when absent.
    public var dataClass: DataClass?

    static let roles: Set<String> = ["system", "user", "assistant", "tool", "developer"]

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
        guard case .object(let members) = body else { throw .invalidRequest("the body must be a JSON object") }
        var seen: Set<String> = []
        for member in members where !seen.insert(member.key).inserted {
            throw .invalidRequest("the field \(member.key) appears twice", param: member.key)
        }
        guard case .string(var model)? = body["model"] else {
            throw .invalidRequest(body["model"] == nil ? "the field model is required" : "model must be a string", param: "model")
        }
        if model.hasPrefix("model:") { model.removeFirst(6) }
        guard case .array(let messages)? = body["messages"] else {
            throw .invalidRequest(body["messages"] == nil ? "the field messages is required" : "messages must be an array", param: "messages")
        }
        guard !messages.isEmpty else { throw .invalidRequest("messages must not be empty", param: "messages") }
        var texts: [String] = []
        for (index, message) in messages.enumerated() {
            guard case .object = message else { throw .invalidRequest("each message must be an object", param: "messages[\(index)]") }
            guard case .string(let role)? = message["role"], Self.roles.contains(role) else {
                throw .invalidRequest("role must be one of \(Self.roles.sorted().joined(separator: ", "))", param: "messages[\(index)].role")
            }
            switch message["content"] {
            case .string(let text)?:
                texts.append(text)
            case .array(let parts)?:
                var joined: [String] = []
                for (partIndex, part) in parts.enumerated() {
                    guard case .string(let text)? = part["text"] else {
                        throw .invalidRequest(
                            "content parts must be {\"type\": \"text\", \"text\": ...}", param: "messages[\(index)].content[\(partIndex)]")
                    }
                    joined.append(text)
                }
                texts.append(joined.joined(separator: "\n"))
            case .null?, nil:
                // Only an assistant turn (e.g. one that called tools) may carry no content.
                guard role == "assistant" else {
                    throw .invalidRequest("content is required", param: "messages[\(index)].content")
                }
                texts.append("")
            default:
                throw .invalidRequest("content must be a string or an array of text parts", param: "messages[\(index)].content")
            }
        }
        var maxTokens: Int?
        switch body["max_tokens"] {
        case nil, .null?: maxTokens = nil
        case .integer(let value)? where value > 0 && value <= 10_000_000: maxTokens = Int(value)
        default: throw .invalidRequest("max_tokens must be a positive integer", param: "max_tokens")
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
        self.messageTexts = texts
        self.maxTokens = maxTokens
        self.stream = stream
        self.dataClass = dataClass
    }

    /// The body to send upstream: the vendor's model name (`{model}` in the path carries it too,
    /// harmlessly), Asgard's own fields removed, `max_tokens` set to what was reserved, message
    /// texts replaced by `redactedTexts` when given, `usage_context` added when asked for, and
    /// usage requested for streams.
    public func upstreamBody(upstreamModel: String, maxTokens: Int, redactedTexts: [String]?, usageContextProject: String?) -> JSONValue {
        var body = self.body.removing("data_class").setting("model", to: .string(upstreamModel))
            .setting("max_tokens", to: .integer(Int64(maxTokens)))
        if let redactedTexts, case .array(let messages)? = body["messages"] {
            let replaced = zip(messages, redactedTexts).map { message, text in message.setting("content", to: .string(text)) }
            body = body.setting("messages", to: .array(replaced))
        }
        if let project = usageContextProject {
            body = body.setting("usage_context", to: .object([JSONMember(key: "project", value: .string(project))]))
        }
        if stream {
            body = body.setting("stream_options", to: .object([JSONMember(key: "include_usage", value: .bool(true))]))
        }
        return body
    }
}
