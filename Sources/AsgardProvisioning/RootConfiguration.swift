import AsgardController
import AsgardCore
import AsgardJSON
import Foundation

/// The generated root configuration of a workspace, `main.tf.json`: one `module "service"` call
/// with `name`, `project_id`, `tags` and each parameter as its own argument, and a root `output`
/// re-exporting every output the module declares.
///
/// JSON syntax avoids HCL quoting, but terraform still reads every JSON string (keys included)
/// as a template, so literal `${` and `%{` are written `$${` and `%%{`.
enum RootConfiguration {
    /// The module call's name: resources are addressed `module.service.<type>.<name>`.
    static let moduleName = "service"

    /// Arguments the connector sets itself, and terraform's module meta-arguments: a parameter
    /// by one of these names would change what the module call means.
    static let reservedArguments: Set<String> = [
        "name", "project_id", "tags", "source", "version", "providers", "count", "for_each", "depends_on",
    ]

    /// The `main.tf.json` document for `request`, calling the module at `moduleDirectory`
    /// (absolute) and re-exporting `outputs`.
    static func document(
        for request: ProvisioningRequest, moduleDirectory: String,
        outputs: [ModuleOutput], backend: TerraformStateBackend = .local
    ) throws(TerraformError) -> JSONValue {
        var arguments: [JSONMember] = [
            JSONMember(key: "source", value: .string(moduleDirectory)),
            JSONMember(key: "name", value: .string(literal(request.name))),
            JSONMember(key: "project_id", value: .string(literal(request.project))),
            JSONMember(
                key: "tags",
                value: .object(
                    request.tags.sorted { $0.key < $1.key }.map {
                        JSONMember(key: literal($0.key), value: .string(literal($0.value)))
                    })),
        ]
        for (name, value) in request.parameters.sorted(by: { $0.key < $1.key }) {
            guard !reservedArguments.contains(name) else {
                throw .invalidParameter(name: name, reason: "\(name) is set by the connector or is a terraform meta-argument")
            }
            arguments.append(JSONMember(key: name, value: try json(value, name: name)))
        }
        var document: [JSONMember] = [
            JSONMember(key: "module", value: .object([JSONMember(key: moduleName, value: .object(arguments))]))
        ]
        if case .postgres(let connection, _) = backend {
            let settings: [JSONMember] = [
                JSONMember(key: "conn_str", value: .string(literal(connection))),
                JSONMember(key: "schema_name", value: .string(TerraformStateBackend.schema(for: request.ref.description))),
            ]
            document.append(
                JSONMember(
                    key: "terraform", value: .object([JSONMember(key: "backend", value: .object([JSONMember(key: "pg", value: .object(settings))]))]))
            )
        }
        if !outputs.isEmpty {
            document.append(
                JSONMember(
                    key: "output",
                    value: .object(
                        outputs.map { output in
                            var block = [JSONMember(key: "value", value: .string("${module.\(moduleName).\(output.name)}"))]
                            if output.sensitive { block.append(JSONMember(key: "sensitive", value: .bool(true))) }
                            return JSONMember(key: output.name, value: .object(block))
                        })))
        }
        return .object(document)
    }

    /// A parameter as a terraform JSON value: strings as literal text, numbers as JSON numbers
    /// from their decimal text, lists and maps recursively.
    static func json(_ value: ParameterValue, name: String) throws(TerraformError) -> JSONValue {
        switch value {
        case .string(let text): return .string(literal(text))
        case .bool(let flag): return .bool(flag)
        case .number(let text): return try number(text, name: name)
        case .list(let items):
            var values: [JSONValue] = []
            for (index, item) in items.enumerated() { values.append(try json(item, name: "\(name)[\(index)]")) }
            return .array(values)
        case .map(let entries):
            var members: [JSONMember] = []
            for (key, item) in entries.sorted(by: { $0.key < $1.key }) {
                members.append(JSONMember(key: literal(key), value: try json(item, name: "\(name).\(key)")))
            }
            return .object(members)
        }
    }

    /// A decimal number as written in a manifest (YAML allows `+1`, `.5`, `5.`) as a JSON number.
    /// Hexadecimal, octal, infinities and NaN have no JSON spelling and are refused.
    static func number(_ text: String, name: String) throws(TerraformError) -> JSONValue {
        var digits = text.replacingOccurrences(of: "_", with: "")
        var sign = ""
        if digits.hasPrefix("+") {
            digits.removeFirst()
        } else if digits.hasPrefix("-") {
            digits.removeFirst()
            sign = "-"
        }
        if digits.hasPrefix(".") { digits = "0" + digits }
        if let dot = digits.firstIndex(of: "."), digits.index(after: dot) == digits.endIndex || "eE".contains(digits[digits.index(after: dot)]) {
            digits.insert("0", at: digits.index(after: dot))
        }
        // The JSON reader refuses what JSON cannot spell, leading zeros (`007`) included.
        switch try? JSONValue.parse(sign + digits) {
        case let value? where value.kindName == "number": return value
        default: throw .invalidParameter(name: name, reason: "\(text) is not a decimal number")
        }
    }

    /// `text` as a terraform JSON string that means exactly `text`: template introducers escaped.
    static func literal(_ text: String) -> String {
        text.replacingOccurrences(of: "${", with: "$${").replacingOccurrences(of: "%{", with: "%%{")
    }
}
