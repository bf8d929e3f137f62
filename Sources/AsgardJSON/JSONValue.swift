// One JSON value type for every Asgard module. Numbers stay exact: an integer that fits in 64
// bits is `.integer`, any other number keeps its text. Objects keep their members in order,
// duplicates included, so a caller can report a duplicate key, and a parse-then-write round
// trip loses nothing.

/// A JSON document (RFC 8259), with integers kept exact and object members in order.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer literal (no fraction, no exponent) that fits in `Int64`.
    case integer(Int64)
    /// Any other number, as written: with a fraction or exponent, or out of the `Int64` range.
    case otherNumber(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key may repeat (the reader does not judge that).
    case object([JSONMember])

    /// Parses one JSON document (surrounding whitespace and a leading UTF-8 byte-order mark
    /// allowed, nothing else after it).
    /// - Throws: `JSONSyntaxError` for anything that is not exactly one valid JSON value.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        return try reader.document()
    }

    /// Parses one JSON document from text; see `parse(_:)` for bytes.
    /// - Throws: `JSONSyntaxError` for anything that is not exactly one valid JSON value.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// The kind of value, for messages: `null`, `boolean`, `number`, `string`, `array`, `object`.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .otherNumber: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    /// The member `key: value`.
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
