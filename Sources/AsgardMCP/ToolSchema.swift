public import MCP

/// MCP's JSON value (Cedar has a `Value` too).
public typealias Value = MCP.Value

/// The JSON Schema subset Asgard's tools take their arguments in: what `tools/list` shows a
/// client, and what `tools/call` checks arguments against before a tool runs, so a bad argument
/// is a JSON-RPC invalid-params error naming its field and never reaches a desk.
public indirect enum ToolSchema: Sendable {
    /// An object with these properties (no others), of which `required` must be present.
    case object([String: ToolSchema], required: [String] = [], description: String? = nil)
    /// A string of 1 to `maxLength` characters, one of `oneOf` when given, accepted by `check` when given.
    case string(description: String, maxLength: Int = 256, oneOf: [String]? = nil, pattern: String? = nil, check: (@Sendable (String) -> Bool)? = nil)
    case integer(description: String, minimum: Int, maximum: Int)
    case boolean(description: String)
    /// An array of at most `maxItems` items (at least `minItems`).
    case array(ToolSchema, description: String, minItems: Int = 0, maxItems: Int)
    /// An object whose every value is a string, an integer or a boolean (module parameters).
    case scalarMap(description: String, maxProperties: Int)
    /// Any JSON value (output schemas only).
    case any(description: String)

    /// The schema as JSON Schema (draft 2020-12), for `tools/list`.
    public var json: Value {
        switch self {
        case .object(let properties, let required, let description):
            var schema: [String: Value] = [
                "type": "object", "properties": .object(properties.mapValues(\.json)), "additionalProperties": false,
            ]
            if !required.isEmpty { schema["required"] = .array(required.sorted().map { .string($0) }) }
            if let description { schema["description"] = .string(description) }
            return .object(schema)
        case .string(let description, let maxLength, let oneOf, let pattern, _):
            var schema: [String: Value] = ["type": "string", "description": .string(description), "minLength": 1, "maxLength": .int(maxLength)]
            if let oneOf { schema["enum"] = .array(oneOf.map { .string($0) }) }
            if let pattern { schema["pattern"] = .string(pattern) }
            return .object(schema)
        case .integer(let description, let minimum, let maximum):
            return ["type": "integer", "description": .string(description), "minimum": .int(minimum), "maximum": .int(maximum)]
        case .boolean(let description):
            return ["type": "boolean", "description": .string(description)]
        case .array(let items, let description, let minItems, let maxItems):
            return [
                "type": "array", "description": .string(description), "items": items.json, "minItems": .int(minItems), "maxItems": .int(maxItems),
            ]
        case .scalarMap(let description, let maxProperties):
            return [
                "type": "object", "description": .string(description), "maxProperties": .int(maxProperties),
                "additionalProperties": ["type": ["string", "integer", "boolean"]],
            ]
        case .any(let description):
            return ["description": .string(description)]
        }
    }

    /// A bad argument: the field's path (`parameters.cluster_size`, `messages[0].role`) and why.
    public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var problem: String
        public var description: String { "\(field): \(problem)" }
    }

    /// Checks `value` (nil: absent) at `path`.
    /// - Throws: the first `Violation`.
    public func validate(_ value: Value?, at path: String) throws(Violation) {
        let field = path.isEmpty ? "arguments" : path
        guard let value, value != .null else { throw Violation(field: field, problem: "is required") }
        switch self {
        case .object(let properties, let required, _):
            guard case .object(let members) = value else { throw Violation(field: field, problem: "must be an object, not \(Self.kind(value))") }
            for name in members.keys.sorted() where properties[name] == nil {
                throw Violation(
                    field: Self.join(path, name),
                    problem: properties.isEmpty
                        ? "is not an argument: \(path.isEmpty ? "this tool takes none" : "\(path) takes no fields")"
                        : "is not an argument (\(path.isEmpty ? "this tool" : path) takes \(properties.keys.sorted().joined(separator: ", ")))")
            }
            for name in required where members[name] == nil || members[name] == .null {
                throw Violation(field: Self.join(path, name), problem: "is required")
            }
            for (name, schema) in properties.sorted(by: { $0.key < $1.key }) {
                guard let member = members[name], member != .null else { continue }
                try schema.validate(member, at: Self.join(path, name))
            }
        case .string(_, let maxLength, let oneOf, _, let check):
            guard case .string(let text) = value else { throw Violation(field: field, problem: "must be a string, not \(Self.kind(value))") }
            guard !text.isEmpty else { throw Violation(field: field, problem: "must not be empty") }
            guard text.count <= maxLength else { throw Violation(field: field, problem: "must be at most \(maxLength) characters") }
            if let oneOf, !oneOf.contains(text) {
                throw Violation(field: field, problem: "must be one of \(oneOf.joined(separator: ", "))")
            }
            if let check, !check(text) { throw Violation(field: field, problem: "is not well formed (\(Self.printable(text)))") }
        case .integer(_, let minimum, let maximum):
            guard case .int(let number) = value else { throw Violation(field: field, problem: "must be an integer, not \(Self.kind(value))") }
            guard (minimum...maximum).contains(number) else { throw Violation(field: field, problem: "must be between \(minimum) and \(maximum)") }
        case .boolean:
            guard case .bool = value else { throw Violation(field: field, problem: "must be true or false, not \(Self.kind(value))") }
        case .array(let items, _, let minItems, let maxItems):
            guard case .array(let elements) = value else { throw Violation(field: field, problem: "must be an array, not \(Self.kind(value))") }
            guard elements.count >= minItems else { throw Violation(field: field, problem: "must have at least \(minItems) item\(minItems == 1 ? "" : "s")") }
            guard elements.count <= maxItems else { throw Violation(field: field, problem: "must have at most \(maxItems) items") }
            for (index, element) in elements.enumerated() { try items.validate(element, at: "\(field)[\(index)]") }
        case .scalarMap(_, let maxProperties):
            guard case .object(let members) = value else { throw Violation(field: field, problem: "must be an object, not \(Self.kind(value))") }
            guard members.count <= maxProperties else { throw Violation(field: field, problem: "must have at most \(maxProperties) entries") }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                guard !name.isEmpty, name.count <= 64 else { throw Violation(field: field, problem: "has a name that is empty or longer than 64 characters") }
                switch member {
                case .string(let text) where text.count <= 1024: continue
                case .int, .bool: continue
                default:
                    throw Violation(field: Self.join(field, name), problem: "must be a string (at most 1024 characters), an integer or a boolean")
                }
            }
        case .any:
            return
        }
    }

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    static func kind(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number with a fraction"
        case .string: "a string"
        case .data: "binary data"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// At most 40 characters of `text`, control characters shown as `?`.
    static func printable(_ text: String) -> String {
        String(String(text.unicodeScalars.prefix(40).map { $0.properties.generalCategory == .control ? "?" : Character($0) }))
    }
}
