import AsgardController
import AsgardCore
import AsgardJSON

/// Reads a `terraform.tfstate` (format version 4, terraform >= 0.12 and OpenTofu) without
/// running terraform.
enum StateReader {
    /// The managed instances (full addresses, in address order) and serial of the state in `bytes`.
    static func read(_ bytes: [UInt8], path: String) throws(TerraformError) -> WorkspaceState {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw .invalidState(path: path, reason: error.description)
        }
        guard document["version"] == .integer(4) else {
            let found = document["version"].map { $0.jsonText } ?? "none"
            throw .invalidState(path: path, reason: "state format version \(found), expected 4")
        }
        guard case .integer(let serial)? = document["serial"], let serialValue = Int(exactly: serial) else {
            throw .invalidState(path: path, reason: "no integer serial")
        }
        var instances: [WorkspaceState.Instance] = []
        let resources: [JSONValue]
        switch document["resources"] {
        case .array(let items)?: resources = items
        case nil, .null?: resources = []
        case let other?: throw .invalidState(path: path, reason: "resources is \(other.kindName), not an array")
        }
        for (index, resource) in resources.enumerated() where resource["mode"] == .string("managed") {
            guard case .string(let type)? = resource["type"], case .string(let name)? = resource["name"] else {
                throw .invalidState(path: path, reason: "resources[\(index)] has no type or name")
            }
            var base = "\(type).\(name)"
            if case .string(let module)? = resource["module"], !module.isEmpty { base = "\(module).\(base)" }
            guard case .array(let objects)? = resource["instances"] else { continue }
            for object in objects {
                instances.append(WorkspaceState.Instance(address: base + indexSuffix(object["index_key"]), type: type))
            }
        }
        return WorkspaceState(instances: instances.sorted { $0.address < $1.address }, serial: serialValue)
    }

    /// `[0]` for a `count` instance, `["key"]` for a `for_each` instance, nothing otherwise.
    static func indexSuffix(_ key: JSONValue?) -> String {
        switch key {
        case .integer(let number)?: return "[\(number)]"
        case .otherNumber(let text)?: return "[\(text)]"
        case .string(let text)?:
            var quoted: [UInt8] = []
            JSONValue.writeString(text, to: &quoted)
            return "[" + String(decoding: quoted, as: UTF8.self) + "]"
        default: return ""
        }
    }
}

/// Which state a saved plan was made against, recorded beside it as `plans/<digest>.prior`.
///
/// terraform refuses to apply a saved plan whose state lineage or serial changed, but only when
/// the plan was made against an existing state: terraform 1.0.3 applies a plan made against
/// *no* state even after another apply created one (orphaning what that apply created). The
/// connector therefore checks this fingerprint itself before it runs `apply`.
struct PriorState: Sendable, Hashable {
    /// SHA-256 of the state file's bytes; nil when there was no state file.
    var stateDigest: String?

    /// The fingerprint of the state file's current bytes (nil: no state file).
    init(stateBytes: [UInt8]?) {
        stateDigest = stateBytes.map { hexString(SHA256.hash($0)) }
    }

    /// One line: the digest, or `absent`.
    var recorded: String { stateDigest ?? "absent" }

    /// The fingerprint read back from its recorded line; nil when the line is not one.
    init?(recorded: String) {
        let line = recorded.trimmingWhitespace
        if line == "absent" {
            stateDigest = nil
        } else if line.count == 64, line.allSatisfy(\.isHexDigit) {
            stateDigest = line
        } else {
            return nil
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
