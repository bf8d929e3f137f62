import Foundation

/// Canonical JSON of `Encodable` values, in the one canonical form (`CanonicalJSON.bytes`):
/// object keys sorted, no insignificant whitespace, `/` unescaped, control characters escaped,
/// dates as RFC 3339 seconds (`2027-06-30T00:00:00Z`), integers only. Today these are the same
/// bytes as `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` and `.iso8601` dates (a
/// test checks it), so stored specs decode with `JSONDecoder`; owning the format means a
/// Foundation update cannot change the spec digests that the store keeps, which would make
/// every object look changed.
///
/// Floating-point values are refused: money and counts in Asgard are integers.
extension CanonicalJSON {
    /// Encodes `value`.
    /// - Throws: `EncodingError.invalidValue` for a floating-point value or a value that encodes nothing.
    public static func encode<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = TreeEncoder()
        try encoder.encodeValue(value)
        guard let root = encoder.root else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "the value encoded nothing"))
        }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        root.write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes an object of strings: the same bytes as `encode(_:)` gives for it, without
    /// building a tree (the audit log writes one of these per gateway call).
    public static func encodeStrings(_ members: [String: String]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(32 * members.count + 2)
        out.append(UInt8(ascii: "{"))
        for (index, member) in members.sorted(by: { precedes($0.key, $1.key) }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONValue.writeString(member.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// A JSON value under construction; containers are shared boxes so nested encoders write into them.
private enum Node {
    case object(ObjectBox)
    case array(ArrayBox)
    case string(String)
    case literal(String)

    func write(to out: inout [UInt8]) {
        switch self {
        case .literal(let text):
            out.append(contentsOf: text.utf8)
        case .string(let text):
            JSONValue.writeString(text, to: &out)
        case .array(let box):
            out.append(UInt8(ascii: "["))
            for (index, item) in box.items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let box):
            out.append(UInt8(ascii: "{"))
            for (index, key) in box.members.keys.sorted(by: CanonicalJSON.precedes).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                box.members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

private final class ObjectBox { var members: [String: Node] = [:] }
private final class ArrayBox { var items: [Node] = [] }

/// Where an encoder puts what it encodes: the root, a key of an object, or the end of an array.
private enum Slot {
    case root(TreeEncoder)
    case member(ObjectBox, String)
    case element(ArrayBox)

    func store(_ node: Node) {
        switch self {
        case .root(let encoder): encoder.root = node
        case .member(let box, let key): box.members[key] = node
        case .element(let box): box.items.append(node)
        }
    }
}

private let rfc3339: Date.ISO8601FormatStyle = .iso8601

private final class TreeEncoder: Encoder {
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var root: Node?
    private let slot: Slot?

    init(codingPath: [any CodingKey] = [], slot: Slot? = nil) {
        self.codingPath = codingPath
        self.slot = slot
    }

    private var target: Slot { slot ?? .root(self) }

    /// Encodes `value`, handling the types whose JSON form is not their `Encodable` form.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if let date = value as? Date {
            target.store(.string(date.formatted(rfc3339)))
        } else if let integer = value as? any BinaryInteger {
            target.store(.literal(String(describing: integer)))
        } else if value is any BinaryFloatingPoint {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "floating-point values are not canonical: use integers"))
        } else {
            try value.encode(to: self)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box = ObjectBox()
        target.store(.object(box))
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box = ArrayBox()
        target.store(.array(box))
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self, slot: target)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: ObjectBox
    var codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { box.members[key.stringValue] = .literal("null") }
    mutating func encode(_ value: Bool, forKey key: Key) throws { box.members[key.stringValue] = .literal(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { box.members[key.stringValue] = .string(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { box.members[key.stringValue] = .literal(String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { box.members[key.stringValue] = .literal(String(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try TreeEncoder(codingPath: codingPath + [key], slot: .member(box, key.stringValue)).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        box.members[key.stringValue] = .object(nested)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        box.members[key.stringValue] = .array(nested)
        return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(codingPath: codingPath, slot: .member(box, "super")) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { TreeEncoder(codingPath: codingPath + [key], slot: .member(box, key.stringValue)) }
}

private struct IndexKey: CodingKey {
    var stringValue: String { String(intValue!) }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: ArrayBox
    var codingPath: [any CodingKey]
    var count: Int { box.items.count }

    mutating func encodeNil() throws { box.items.append(.literal("null")) }
    mutating func encode(_ value: Bool) throws { box.items.append(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { box.items.append(.string(value)) }
    mutating func encode(_ value: Int) throws { box.items.append(.literal(String(value))) }
    mutating func encode(_ value: Int64) throws { box.items.append(.literal(String(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try TreeEncoder(codingPath: codingPath + [IndexKey(count)], slot: .element(box)).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        box.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [IndexKey(count - 1)]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        box.items.append(.array(nested))
        return UnkeyedContainer(box: nested, codingPath: codingPath + [IndexKey(count - 1)])
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(codingPath: codingPath, slot: .element(box)) }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    let slot: Slot
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { slot.store(.literal("null")) }
    mutating func encode(_ value: Bool) throws { slot.store(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { slot.store(.string(value)) }
    mutating func encode(_ value: Int) throws { slot.store(.literal(String(value))) }
    mutating func encode(_ value: Int64) throws { slot.store(.literal(String(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try TreeEncoder(codingPath: codingPath, slot: slot).encodeValue(value)
    }
}
