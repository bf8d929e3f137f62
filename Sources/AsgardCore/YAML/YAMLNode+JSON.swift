extension YAMLNode {
    /// The node as JSON text: mappings as objects (in source order), lists as arrays, and
    /// scalars by their core-schema type (null, booleans and integers bare, everything else,
    /// floats included, as strings, so no number passes through a binary float).
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch value {
        case .mapping(let pairs):
            out += "{"
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(pair.key, to: &out)
                out += ":"
                pair.value.write(to: &out)
            }
            out += "}"
        case .sequence(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .scalar(let scalar):
            switch scalar.resolved {
            case .null: out += "null"
            case .bool(let flag): out += flag ? "true" : "false"
            case .integer where Int64(scalar.text) != nil: out += String(Int64(scalar.text)!)
            default: Self.writeString(scalar.text, to: &out)
            }
        }
    }

    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
