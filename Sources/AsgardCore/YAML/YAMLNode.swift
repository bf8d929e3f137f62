/// A YAML node with the position it came from, as desired-state decoding needs it.
///
/// Only what desired state may contain is representable: scalars, mappings with scalar keys,
/// and sequences. Anchors, aliases and custom tags are refused by `YAMLReader`.
public struct YAMLNode: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case scalar(YAMLScalar)
        case mapping([YAMLPair])
        case sequence([YAMLNode])
    }

    public var value: Value
    /// 1-based line and column of the node's first character.
    public var line: Int
    public var column: Int

    public init(_ value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    /// The name of the node's kind for error messages ("a mapping", "a number", ...).
    public var kindDescription: String {
        switch value {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): scalar.kindDescription
        }
    }
}

/// A mapping entry; the key is always a scalar.
public struct YAMLPair: Sendable, Hashable {
    public var key: String
    public var keyLine: Int
    public var keyColumn: Int
    public var value: YAMLNode
}

/// A scalar's text and whether it was written plain (unquoted), which decides its type
/// under the YAML 1.2 core schema.
public struct YAMLScalar: Sendable, Hashable {
    public let text: String
    public let isPlain: Bool
    /// The core-schema type of the scalar, resolved once.
    public let resolved: Resolved

    public init(text: String, isPlain: Bool) {
        self.text = text
        self.isPlain = isPlain
        self.resolved = Self.resolve(text, isPlain: isPlain)
    }

    /// The core-schema type of the scalar.
    public enum Resolved: Sendable, Hashable {
        case null
        case bool(Bool)
        case integer, float, string
    }

    private static func resolve(_ text: String, isPlain: Bool) -> Resolved {
        guard isPlain else { return .string }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN": return .float
        default: break
        }
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        guard !body.isEmpty else { return .string }
        if body.allSatisfy(\.isASCIIDigit) { return .integer }
        if body.hasPrefix("0x"), body.count > 2, body.dropFirst(2).allSatisfy(\.isHexDigit) { return .integer }
        if body.hasPrefix("0o"), body.count > 2, body.dropFirst(2).allSatisfy({ ("0"..."7").contains($0) }) { return .integer }
        return Self.isFloat(body) ? .float : .string
    }

    private static func isFloat(_ body: Substring) -> Bool {
        // [0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)? with at least one digit before the exponent.
        var index = body.startIndex
        var digits = 0
        while index < body.endIndex, body[index].isASCIIDigit {
            digits += 1
            index = body.index(after: index)
        }
        if index < body.endIndex, body[index] == "." {
            index = body.index(after: index)
            while index < body.endIndex, body[index].isASCIIDigit {
                digits += 1
                index = body.index(after: index)
            }
        }
        guard digits > 0 else { return false }
        if index < body.endIndex, body[index] == "e" || body[index] == "E" {
            index = body.index(after: index)
            if index < body.endIndex, body[index] == "-" || body[index] == "+" { index = body.index(after: index) }
            let start = index
            while index < body.endIndex, body[index].isASCIIDigit { index = body.index(after: index) }
            guard index > start else { return false }
        }
        return index == body.endIndex
    }

    public var kindDescription: String {
        switch resolved {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .float: "a number"
        case .string: "a string"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
