import AsgardJSON

extension YAMLNode {
    /// The node as JSON text: mappings as objects (in source order), lists as arrays, and
    /// scalars by their core-schema type (null, booleans and integers bare, everything else,
    /// floats included, as strings, so no number passes through a binary float).
    public var jsonText: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(to out: inout [UInt8]) {
        switch value {
        case .mapping(let pairs):
            out.append(UInt8(ascii: "{"))
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(pair.key, to: &out)
                out.append(UInt8(ascii: ":"))
                pair.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .sequence(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .scalar(let scalar):
            switch scalar.resolved {
            case .null: out.append(contentsOf: "null".utf8)
            case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
            case .integer where Int64(scalar.text) != nil: out.append(contentsOf: String(Int64(scalar.text)!).utf8)
            default: JSONValue.writeString(scalar.text, to: &out)
            }
        }
    }
}
