/// An `application/x-www-form-urlencoded` body, as browsers post forms.
public struct FormData: Sendable, Hashable {
    /// Each field's first value, by name.
    public private(set) var fields: [String: String] = [:]

    /// Why a body is not a form.
    public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `bytes`: `name=value` pairs joined by `&`, `+` for a space, `%XX` escapes, UTF-8.
    /// - Throws: `Malformed` for a bad escape or text that is not UTF-8.
    public init(_ bytes: some Collection<UInt8>) throws(Malformed) {
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            if fields[name] == nil { fields[name] = value }
        }
    }

    public subscript(name: String) -> String? { fields[name] }

    static func decode(_ bytes: some Collection<UInt8>) throws(Malformed) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = bytes.index(after: index)
                guard high != bytes.endIndex, bytes.index(after: high) != bytes.endIndex,
                    let a = hex(bytes[high]), let b = hex(bytes[bytes.index(after: high)])
                else { throw Malformed(description: "a % escape in the form is not followed by two hex digits") }
                out.append(a << 4 | b)
                index = bytes.index(after: high)
            default: out.append(byte)
            }
            index = bytes.index(after: index)
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw Malformed(description: "the form is not UTF-8 text") }
        return text
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
