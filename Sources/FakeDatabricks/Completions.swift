public import AsgardJSON

/// An error answered in the Databricks shape `{"error_code": ..., "message": ...}`.
public struct DatabricksAPIError: Error, Sendable, Hashable {
    public var status: Int
    public var errorCode: String
    public var message: String
    /// Extra response headers, e.g. `Retry-After`.
    public var headers: [String: String]

    public init(status: Int, errorCode: String, message: String, headers: [String: String] = [:]) {
        self.status = status
        self.errorCode = errorCode
        self.message = message
        self.headers = headers
    }

    public var body: JSONValue { ["error_code": .string(errorCode), "message": .string(message)] }

    static func invalid(_ message: String) -> DatabricksAPIError {
        DatabricksAPIError(status: 400, errorCode: "INVALID_PARAMETER_VALUE", message: message)
    }
}

/// A chat request after validation.
public struct ChatRequest: Sendable, Hashable {
    public struct Message: Sendable, Hashable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public var messages: [Message]
    public var maxTokens: Int?
    public var temperature: Double?
    public var n: Int
    public var stop: [String]
    public var stream: Bool
    /// `stream_options.include_usage`.
    public var includeUsage: Bool
    public var usageContext: [String: String]?
    public var clientRequestID: String?
    /// The whole body, for the completion id.
    public var raw: JSONValue
}

/// One generated choice.
public struct GeneratedChoice: Sendable, Hashable {
    public var index: Int
    public var text: String
    /// `stop` or `length`.
    public var finishReason: String
}

/// A generated completion, before it is put on the wire.
public struct GeneratedCompletion: Sendable, Hashable {
    public var id: String
    public var choices: [GeneratedChoice]
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }
}

/// The fake's deterministic model. Everything here is a pure function of the request:
///
/// - The reply of choice `i` is
///   `"This is a deterministic answer from <endpoint> to message <h>."`, where `<h>` is the first
///   8 hex digits of the FNV-1a 64-bit hash of the last user message's text, followed, for
///   `i > 0`, by `" Variant <i+1>."`.
/// - `stop` sequences cut the reply before the earliest occurrence (finish reason `stop`);
///   `max_tokens` keeps the first `max_tokens` words (finish reason `length` when it cut).
/// - `prompt_tokens` = for every message, its whitespace-separated words + 1.
/// - `completion_tokens` = whitespace-separated words of every choice's reply, summed.
/// - The id is `chatcmpl-` and the FNV-1a hash of the endpoint name and the canonical
///   (sorted-keys) request body.
public enum FakeModel {
    public static let roles: Set<String> = ["system", "user", "assistant", "tool", "developer"]

    /// Validates a chat request body; errors are 400 INVALID_PARAMETER_VALUE.
    public static func parse(_ json: JSONValue?) -> Result<ChatRequest, DatabricksAPIError> {
        guard let object = json, case .object = object else {
            return .failure(.invalid("Request body must be a JSON object."))
        }
        guard let rawMessages = object["messages"], !rawMessages.isNull else {
            return .failure(.invalid("Missing required field: messages."))
        }
        guard let list = rawMessages.arrayValue else {
            return .failure(.invalid("Invalid value for messages: expected an array."))
        }
        guard !list.isEmpty else {
            return .failure(.invalid("Invalid value for messages: must contain at least one message."))
        }
        var messages: [ChatRequest.Message] = []
        for (index, element) in list.enumerated() {
            guard let role = element["role"]?.stringValue else {
                return .failure(.invalid("Missing required field: messages[\(index)].role."))
            }
            guard roles.contains(role) else {
                return .failure(.invalid("Invalid value for messages[\(index)].role: '\(role)'."))
            }
            let content: String
            switch element["content"] {
            case .string(let text)?: content = text
            case .array(let parts)?:
                content = parts.compactMap { $0["text"]?.stringValue ?? $0.stringValue }.joined(separator: " ")
            case .null?, nil:
                guard role == "assistant" else {
                    return .failure(.invalid("Missing required field: messages[\(index)].content."))
                }
                content = ""
            default:
                return .failure(.invalid("Invalid value for messages[\(index)].content: expected a string."))
            }
            messages.append(.init(role: role, content: content))
        }

        var maxTokens: Int?
        if let value = object["max_tokens"], !value.isNull {
            guard let tokens = value.integralValue, tokens >= 1 else {
                return .failure(.invalid("Invalid value for max_tokens: must be a positive integer."))
            }
            maxTokens = tokens
        }
        var temperature: Double?
        if let value = object["temperature"], !value.isNull {
            guard let number = value.doubleValue, number >= 0, number <= 2 else {
                return .failure(.invalid("Invalid value for temperature: must be a number between 0 and 2."))
            }
            temperature = number
        }
        var n = 1
        if let value = object["n"], !value.isNull {
            guard let number = value.integralValue, (1...5).contains(number) else {
                return .failure(.invalid("Invalid value for n: must be an integer between 1 and 5."))
            }
            n = number
        }
        if let value = object["top_p"], !value.isNull {
            guard let number = value.doubleValue, number > 0, number <= 1 else {
                return .failure(.invalid("Invalid value for top_p: must be a number in (0, 1]."))
            }
        }
        if let value = object["top_k"], !value.isNull {
            guard let number = value.integralValue, number >= 1 else {
                return .failure(.invalid("Invalid value for top_k: must be a positive integer."))
            }
        }
        var stop: [String] = []
        switch object["stop"] {
        case nil, .null?: break
        case .string(let text)?: stop = [text]
        case .array(let items)?:
            let texts = items.compactMap(\.stringValue)
            guard texts.count == items.count else {
                return .failure(.invalid("Invalid value for stop: expected a string or an array of strings."))
            }
            stop = texts
        default:
            return .failure(.invalid("Invalid value for stop: expected a string or an array of strings."))
        }
        stop.removeAll { $0.isEmpty }
        var stream = false
        if let value = object["stream"], !value.isNull {
            guard let flag = value.boolValue else {
                return .failure(.invalid("Invalid value for stream: expected a boolean."))
            }
            stream = flag
        }
        let includeUsage = object["stream_options"]?["include_usage"]?.boolValue ?? false
        var usageContext: [String: String]?
        if let value = object["usage_context"], !value.isNull {
            guard let members = value.members else {
                return .failure(.invalid("Invalid value for usage_context: expected a map of strings."))
            }
            var context: [String: String] = [:]
            for member in members {
                guard let text = member.value.stringValue else {
                    return .failure(.invalid("Invalid value for usage_context.\(member.key): expected a string."))
                }
                context[member.key] = text
            }
            usageContext = context
        }
        if let value = object["extra_params"], !value.isNull, value.members == nil {
            return .failure(.invalid("Invalid value for extra_params: expected an object."))
        }
        return .success(
            ChatRequest(
                messages: messages, maxTokens: maxTokens, temperature: temperature, n: n, stop: stop,
                stream: stream, includeUsage: includeUsage, usageContext: usageContext,
                clientRequestID: object["client_request_id"]?.stringValue, raw: object))
    }

    /// Whitespace-separated words.
    public static func words(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0.isWhitespace })
    }

    /// prompt_tokens: words of every message + 1 per message.
    public static func promptTokens(_ messages: [ChatRequest.Message]) -> Int {
        messages.reduce(0) { $0 + words($1.content).count + 1 }
    }

    /// FNV-1a, 64 bits, over the UTF-8 bytes.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The untruncated reply of choice `index`.
    public static func reply(endpoint: String, messages: [ChatRequest.Message], index: Int = 0) -> String {
        let last =
            messages.last(where: { $0.role == "user" })?.content
            ?? messages.map(\.content).joined(separator: "\n")
        let tag = String(hex(fnv1a(last)).prefix(8))
        var text = "This is a deterministic answer from \(endpoint) to message \(tag)."
        if index > 0 { text += " Variant \(index + 1)." }
        return text
    }

    /// The whole completion for `request` on `endpoint`.
    public static func complete(endpoint: String, request: ChatRequest) -> GeneratedCompletion {
        var choices: [GeneratedChoice] = []
        for index in 0..<request.n {
            var text = reply(endpoint: endpoint, messages: request.messages, index: index)
            var finish = "stop"
            let cuts = request.stop.compactMap { text.range(of: $0)?.lowerBound }
            if let cut = cuts.min() {
                text = String(text[..<cut])
            }
            if let limit = request.maxTokens {
                let parts = words(text)
                if parts.count > limit {
                    text = parts.prefix(limit).joined(separator: " ")
                    finish = "length"
                }
            }
            choices.append(GeneratedChoice(index: index, text: text, finishReason: finish))
        }
        let id = "chatcmpl-" + hex(fnv1a(endpoint + "\n" + CanonicalJSON.text(request.raw)))
        return GeneratedCompletion(
            id: id, choices: choices, promptTokens: promptTokens(request.messages),
            completionTokens: choices.reduce(0) { $0 + words($1.text).count })
    }

    /// The pieces a stream sends for `text`: word by word, each after the first with its
    /// leading space, so that the pieces concatenate to `text` exactly.
    public static func streamPieces(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var sawWord = false
        for character in text {
            if character.isWhitespace && sawWord {
                pieces.append(current)
                current = ""
                sawWord = false
            }
            current.append(character)
            if !character.isWhitespace { sawWord = true }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}

extension JSONValue {
    /// A whole number as the fake reads counts (`max_tokens`, `n`, `top_k`): an integer, or a
    /// number written with a fraction or exponent whose value is whole and below 10^15 (`2.0`, `1e3`).
    fileprivate var integralValue: Int? {
        switch self {
        case .integer(let value):
            return Int(exactly: value)
        case .otherNumber:
            guard let number = doubleValue, number.rounded() == number, abs(number) < 1e15 else { return nil }
            return Int(number)
        default:
            return nil
        }
    }
}
