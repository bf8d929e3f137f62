import AsgardJSON
import Foundation

/// An `output` a module declares, re-exported by the root configuration.
struct ModuleOutput: Sendable, Hashable, Comparable {
    var name: String
    /// Declared `sensitive = true`: the root output must say so too, or terraform refuses the plan.
    var sensitive: Bool

    static func < (lhs: ModuleOutput, rhs: ModuleOutput) -> Bool { lhs.name < rhs.name }
}

/// Finds the `output` blocks of a module directory without a full HCL parser: a lexical scan of
/// its `*.tf` files for top-level `output "<name>" {` (comments, strings with nested
/// interpolations, and heredocs are skipped as wholes), and the top-level `"output"` key of its
/// `*.tf.json` files. A literal `sensitive = true` in the block marks the output sensitive.
enum ModuleOutputScanner {
    /// The outputs declared by the module in `directory`, by name.
    static func outputs(inModule directory: String) throws(TerraformError) -> [ModuleOutput] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw .fileSystem(operation: "list", path: directory, reason: "\(error.localizedDescription)")
        }
        var found: [ModuleOutput] = []
        for file in files where file.hasSuffix(".tf") || file.hasSuffix(".tf.json") {
            let path = directory + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .invalidModule(path: path, reason: "the file cannot be read")
            }
            if file.hasSuffix(".tf.json") {
                found += try scanJSON(Array(data), path: path)
            } else {
                found += scanHCL(String(decoding: data, as: UTF8.self))
            }
        }
        return merge(found)
    }

    /// One entry per name (sensitive if any declaration says so), sorted.
    static func merge(_ outputs: [ModuleOutput]) -> [ModuleOutput] {
        var byName: [String: Bool] = [:]
        for output in outputs { byName[output.name, default: false] = byName[output.name, default: false] || output.sensitive }
        return byName.map { ModuleOutput(name: $0.key, sensitive: $0.value) }.sorted()
    }

    /// The outputs declared in HCL native syntax.
    static func scanHCL(_ text: String) -> [ModuleOutput] {
        var tokenizer = HCLTokenizer(text)
        let tokens = tokenizer.tokens()
        var outputs: [ModuleOutput] = []
        var depth = 0
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            switch token {
            case .open: depth += 1
            case .close: depth = max(0, depth - 1)
            case .identifier("output") where depth == 0:
                if index + 2 < tokens.count, let name = tokens[index + 1].label, tokens[index + 2] == HCLToken.open {
                    let (sensitive, end) = scanBlockForSensitive(tokens, from: index + 3)
                    outputs.append(ModuleOutput(name: name, sensitive: sensitive))
                    index = end
                    continue
                }
            default: break
            }
            index += 1
        }
        return outputs
    }

    /// Reads a block body from just after its `{` to just after its `}`; whether it holds the
    /// attribute `sensitive = true` at its own level.
    private static func scanBlockForSensitive(_ tokens: [HCLToken], from start: Int) -> (Bool, Int) {
        var depth = 1
        var sensitive = false
        var index = start
        while index < tokens.count, depth > 0 {
            switch tokens[index] {
            case .open: depth += 1
            case .close: depth -= 1
            case .identifier("sensitive") where depth == 1:
                if index + 2 < tokens.count, tokens[index + 1] == .equals, tokens[index + 2] == .identifier("true") {
                    sensitive = true
                }
            default: break
            }
            index += 1
        }
        return (sensitive, index)
    }

    /// The outputs declared in a `*.tf.json` file: `"output": {"<name>": {...}}`, or the
    /// equivalent array of such objects.
    static func scanJSON(_ bytes: [UInt8], path: String) throws(TerraformError) -> [ModuleOutput] {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw .invalidModule(path: path, reason: error.description)
        }
        guard case .object(let members) = document else { return [] }
        var outputs: [ModuleOutput] = []
        for member in members where member.key == "output" {
            let blocks: [JSONValue] = if case .array(let items) = member.value { items } else { [member.value] }
            for case .object(let declarations) in blocks {
                for declaration in declarations {
                    let bodies: [JSONValue] = if case .array(let items) = declaration.value { items } else { [declaration.value] }
                    let sensitive = bodies.contains { $0["sensitive"] == .bool(true) }
                    outputs.append(ModuleOutput(name: declaration.key, sensitive: sensitive))
                }
            }
        }
        return outputs
    }
}
