import AsgardController
import AsgardJSON

/// Reads `terraform output -json`: `{"<name>": {"sensitive": Bool, "type": …, "value": …}}`.
enum OutputsReader {
    /// What a sensitive output's value is replaced by: the value itself is never kept.
    static let sensitivePlaceholder = JSONValue.string("(sensitive)")

    /// The outputs in `bytes` (already scrubbed of credentials).
    static func read(_ bytes: [UInt8]) throws(TerraformError) -> ProvisioningOutputs {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw .invalidOutputJSON(error.description)
        }
        guard case .object(let members) = document else {
            throw .invalidOutputJSON("expected an object, found \(document.kindName)")
        }
        var values: [String: JSONValue] = [:]
        for member in members {
            guard case .object = member.value else {
                throw .invalidOutputJSON("output \(member.key) is \(member.value.kindName), not an object")
            }
            if member.value["sensitive"] == .bool(true) {
                values[member.key] = sensitivePlaceholder
            } else {
                values[member.key] = member.value["value"] ?? .null
            }
        }
        return ProvisioningOutputs(values: values)
    }
}
