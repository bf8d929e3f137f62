/// A Cedar runtime value.
public indirect enum Value: Sendable, Hashable {
    case bool(Bool)
    case long(Int64)
    case string(String)
    case entity(EntityUID)
    case set(Set<Value>)
    case record([String: Value])
    case extensionValue(ExtensionValue)

    /// The type's name in messages: `bool`, `long`, `string`, `entity`, `set`, `record`, or the extension type.
    public var typeName: String {
        switch self {
        case .bool: "bool"
        case .long: "long"
        case .string: "string"
        case .entity: "entity"
        case .set: "set"
        case .record: "record"
        case .extensionValue(let e): e.typeName
        }
    }
}

/// Values of Cedar's extension types. Equality is by value (`decimal("1.0") == decimal("1.0000")`).
public enum ExtensionValue: Sendable, Hashable {
    /// A decimal with exactly four fractional digits, as an integer count of 1/10,000.
    case decimal(Int64)
    case ipaddr(IPAddress)
    /// Milliseconds since the Unix epoch.
    case datetime(Int64)
    /// Milliseconds.
    case duration(Int64)

    public var typeName: String {
        switch self {
        case .decimal: "decimal"
        case .ipaddr: "ipaddr"
        case .datetime: "datetime"
        case .duration: "duration"
        }
    }
}

/// An IPv4 or IPv6 address with a prefix length (a host address has the full length).
public struct IPAddress: Sendable, Hashable {
    public enum Family: Sendable, Hashable {
        case v4
        case v6
    }

    public var family: Family
    /// The address bits, right-aligned (IPv4 in the low 32 bits).
    public var address: UInt128
    /// 0...32 for IPv4, 0...128 for IPv6.
    public var prefixLength: UInt8

    public init(family: Family, address: UInt128, prefixLength: UInt8) {
        self.family = family
        self.address = address
        self.prefixLength = prefixLength
    }
}

/// Why evaluating an expression failed. Messages are for people; the corpus compares only
/// which policies erred.
public enum EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An operand had the wrong type.
    case typeError(expected: String, found: String)
    /// An entity was used that is not in the entity store (attribute access, getTag).
    case entityDoesNotExist(EntityUID)
    /// A record or entity lacks the attribute.
    case attributeDoesNotExist(String)
    /// An entity lacks the tag.
    case tagDoesNotExist(String)
    /// 64-bit integer overflow in `+`, `-`, `*` or negation.
    case integerOverflow
    /// An extension function refused its input (a bad decimal literal, overflow, ...).
    case extensionError(String)

    public var description: String {
        switch self {
        case .typeError(let expected, let found): "type error: expected \(expected), found \(found)"
        case .entityDoesNotExist(let uid): "entity \(uid) does not exist"
        case .attributeDoesNotExist(let name): "attribute \(cedarQuoted(name)) does not exist"
        case .tagDoesNotExist(let name): "tag \(cedarQuoted(name)) does not exist"
        case .integerOverflow: "integer overflow"
        case .extensionError(let message): message
        }
    }
}
