/// One spelling for every JSON value: object members sorted by key (by UTF-8 bytes, stable for
/// repeated keys), no insignificant whitespace, strings re-escaped minimally (so `\u003c` and `<`
/// write the same), numbers exactly as read. Two documents that mean the same write the same
/// bytes, so their SHA-256 can name a plan.
public enum CanonicalJSON {
    /// The canonical order of object keys: by UTF-8 bytes (the order of Unicode scalar values).
    /// Compares the strings' contiguous UTF-8 in place (the audit log sorts an object's keys
    /// per gateway call; iterating the UTF-8 views cost ~10× more).
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        var (lhs, rhs) = (lhs, rhs)
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                for index in 0..<min(left.count, right.count) where left[index] != right[index] {
                    return left[index] < right[index]
                }
                return left.count < right.count
            }
        }
    }

    /// The canonical bytes of `value`.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        sorted(value).jsonBytes
    }

    /// The canonical text of `value`.
    public static func text(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// `value` with every object's members in canonical order, recursively.
    public static func sorted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items):
            return .array(items.map(sorted))
        case .object(let members):
            let ordered = members.enumerated().sorted { lhs, rhs in
                if lhs.element.key == rhs.element.key { return lhs.offset < rhs.offset }
                return precedes(lhs.element.key, rhs.element.key)
            }
            return .object(ordered.map { JSONMember(key: $0.element.key, value: sorted($0.element.value)) })
        case .null, .bool, .integer, .otherNumber, .string:
            return value
        }
    }

    /// The canonical value indented by two spaces per level, one member per line: for files
    /// people read (`main.tf.json`, `asgard-workspace.json`). Ends with a newline.
    public static func pretty(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        writePretty(sorted(value), indent: 0, to: &out)
        out.append(UInt8(ascii: "\n"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func writePretty(_ value: JSONValue, indent: Int, to out: inout [UInt8]) {
        let inner = [UInt8](repeating: UInt8(ascii: " "), count: (indent + 1) * 2)
        let outer = [UInt8](repeating: UInt8(ascii: " "), count: indent * 2)
        switch value {
        case .array(let items) where !items.isEmpty:
            out.append(contentsOf: "[\n".utf8)
            for (index, item) in items.enumerated() {
                out.append(contentsOf: inner)
                writePretty(item, indent: indent + 1, to: &out)
                out.append(contentsOf: (index < items.count - 1 ? ",\n" : "\n").utf8)
            }
            out.append(contentsOf: outer)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(contentsOf: "{\n".utf8)
            for (index, member) in members.enumerated() {
                out.append(contentsOf: inner)
                JSONValue.writeString(member.key, to: &out)
                out.append(contentsOf: ": ".utf8)
                writePretty(member.value, indent: indent + 1, to: &out)
                out.append(contentsOf: (index < members.count - 1 ? ",\n" : "\n").utf8)
            }
            out.append(contentsOf: outer)
            out.append(UInt8(ascii: "}"))
        default:
            value.write(to: &out)
        }
    }
}
