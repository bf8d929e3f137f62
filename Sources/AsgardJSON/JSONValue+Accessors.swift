// Typed views of a value: each is nil when the value is of another kind, so a reader can
// write `json["n"]?.intValue` and treat "absent" and "wrong kind" alike where that fits.

extension JSONValue {
    /// Whether this is JSON `null`.
    public var isNull: Bool { self == .null }

    /// The boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The text, if this is a string.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The integer, if this is an integer literal (no fraction, no exponent) in the `Int64` range.
    public var int64Value: Int64? {
        guard case .integer(let value) = self else { return nil }
        return value
    }

    /// The integer, if this is an integer literal that fits in `Int`.
    public var intValue: Int? {
        int64Value.flatMap { Int(exactly: $0) }
    }

    /// Any number as the nearest `Double` (so possibly rounded; out-of-range exponents give
    /// an infinity); nil for other kinds.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .otherNumber(let text): Double(text)
        default: nil
        }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// The members in order, if this is an object.
    public var members: [JSONMember]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The element at `index`, if this is an array that long.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}
