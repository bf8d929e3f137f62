import Foundation

/// Collects diagnostics for one file while its objects are decoded.
final class DecodeContext {
    let file: String
    var diagnostics: [Diagnostic] = []
    /// `Kind/id` of the object being decoded, once known.
    var object: String?

    init(file: String) { self.file = file }

    func error(_ line: Int, _ column: Int, _ field: String, _ message: String) {
        diagnostics.append(Diagnostic(SourceLocation(file: file, line: line, column: column), object: object, field: field, message))
    }

    func error(at node: YAMLNode, _ field: String, _ message: String) {
        error(node.line, node.column, field, message)
    }

    /// Opens a mapping for strict reading: reports unknown and missing fields at once.
    /// Returns nil (after reporting) when `node` is not a mapping.
    func fields(_ node: YAMLNode, at path: String, required: [String], optional: [String] = []) -> Fields? {
        guard case .mapping(let pairs) = node.value else {
            error(at: node, path, "expected a mapping, found \(node.kindDescription)")
            return nil
        }
        let known = Set(required + optional)
        var byName: [String: YAMLPair] = [:]
        for pair in pairs {
            if known.contains(pair.key) {
                byName[pair.key] = pair
            } else {
                let suggestion = Self.closest(to: pair.key, in: known).map { " (did you mean \"\($0)\"?)" } ?? ""
                error(pair.keyLine, pair.keyColumn, join(path, pair.key), "unknown field\(suggestion)")
            }
        }
        for name in required where byName[name] == nil {
            error(at: node, join(path, name), "missing required field")
        }
        return Fields(context: self, node: node, path: path, pairs: byName)
    }

    /// A known name within edit distance 2 of `name`, for "did you mean".
    private static func closest(to name: String, in known: Set<String>) -> String? {
        guard !SecretDetector.mayContainSecret(name) else { return nil }
        let candidates = known.map { ($0, editDistance(Array(name), Array($0))) }
            .filter { $0.1 <= 2 || (name.count >= 4 && ($0.0.hasPrefix(name) || name.hasPrefix($0.0))) }
        return candidates.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}

/// Appends a field name to a path; a name that looks like a secret is not repeated.
func join(_ path: String, _ name: String) -> String {
    let shown = !SecretDetector.mayContainSecret(name) ? name : "<a name that looks like a secret, not shown>"
    return path.isEmpty ? shown : "\(path).\(shown)"
}

/// The fields of one mapping, read by typed accessors that report wrong types and bad values.
/// Every accessor returns nil after reporting when the field is absent or invalid.
struct Fields {
    let context: DecodeContext
    let node: YAMLNode
    let path: String
    let pairs: [String: YAMLPair]

    func has(_ name: String) -> Bool { pairs[name] != nil }

    func node(_ name: String) -> YAMLNode? { pairs[name]?.value }

    func fieldPath(_ name: String) -> String { join(path, name) }

    /// A string scalar. Plain numbers are accepted as text (an id `2024` is a string), but
    /// booleans, null and collections are type errors.
    func string(_ name: String) -> String? {
        guard let value = node(name) else { return nil }
        return Self.string(value, context: context, path: fieldPath(name))
    }

    static func string(_ value: YAMLNode, context: DecodeContext, path: String) -> String? {
        guard case .scalar(let scalar) = value.value else {
            context.error(at: value, path, "expected a string, found \(value.kindDescription)")
            return nil
        }
        switch scalar.resolved {
        case .null, .bool:
            context.error(at: value, path, "expected a string, found \(scalar.kindDescription)")
            return nil
        case .integer, .float, .string:
            if scalar.text.isEmpty {
                context.error(at: value, path, "must not be empty")
                return nil
            }
            return scalar.text
        }
    }

    /// A string matching `rule`, whose description is used in the error.
    func string(_ name: String, matching rule: (String) -> Bool, expected: String) -> String? {
        guard let text = string(name), let value = node(name) else { return nil }
        guard rule(text) else {
            context.error(at: value, fieldPath(name), "\(quoted(text)) is not \(expected)")
            return nil
        }
        return text
    }

    /// An optional field: `.some(nil)` when absent, `.some(value)` when valid, and nil (after
    /// `read` reported why) when present but invalid.
    func optional<T>(_ name: String, _ read: (String) -> T?) -> T?? {
        guard has(name) else { return .some(nil) }
        return read(name).map { .some($0) }
    }

    /// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 instant.
    func instant(_ name: String) -> Date? {
        guard let text = string(name), let value = node(name) else { return nil }
        guard let date = parseInstant(text) else {
            context.error(at: value, fieldPath(name), "\(quoted(text)) is not a date (YYYY-MM-DD) or an RFC 3339 time")
            return nil
        }
        return date
    }

    func bool(_ name: String) -> Bool? {
        guard let value = node(name) else { return nil }
        guard case .scalar(let scalar) = value.value, case .bool(let flag) = scalar.resolved else {
            context.error(at: value, fieldPath(name), "expected true or false, found \(value.kindDescription)")
            return nil
        }
        return flag
    }

    /// A whole number in `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = node(name) else { return nil }
        guard case .scalar(let scalar) = value.value, scalar.resolved == .integer || scalar.resolved == .string else {
            context.error(at: value, fieldPath(name), "expected a whole number, found \(value.kindDescription)")
            return nil
        }
        guard let number = Int(scalar.text), range.contains(number) else {
            context.error(
                at: value, fieldPath(name), "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(quoted(scalar.text))")
            return nil
        }
        return number
    }

    /// A non-negative amount of dollars written as a decimal number (plain or quoted).
    func dollars(_ name: String) -> MicroDollars? {
        guard let value = node(name) else { return nil }
        guard case .scalar(let scalar) = value.value, scalar.resolved != .null, scalar.resolved != .bool(true), scalar.resolved != .bool(false) else {
            context.error(at: value, fieldPath(name), "expected an amount of US dollars such as 12.50, found \(value.kindDescription)")
            return nil
        }
        do {
            return try MicroDollars(dollars: scalar.text)
        } catch {
            context.error(at: value, fieldPath(name), "\(quoted(scalar.text)) \(error.description): expected an amount of US dollars such as 12.50")
            return nil
        }
    }

    func dataClass(_ name: String) -> DataClass? {
        enumeration(name, DataClass.allCases.map(\.name)).flatMap(DataClass.init(name:))
    }

    /// One of `allowed`.
    func enumeration(_ name: String, _ allowed: [String]) -> String? {
        guard let text = string(name), let value = node(name) else { return nil }
        guard allowed.contains(text) else {
            context.error(at: value, fieldPath(name), "\(quoted(text)) is not one of \(allowed.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// The name of an environment variable (never its value).
    func envVarName(_ name: String) -> String? {
        guard let value = node(name) else { return nil }
        return Self.envVarName(value, context: context, path: fieldPath(name))
    }

    static func envVarName(_ value: YAMLNode, context: DecodeContext, path: String) -> String? {
        guard let text = string(value, context: context, path: path) else { return nil }
        guard Rules.isEnvVarName(text) else {
            if SecretDetector.firstMatch(in: text) == nil {
                context.error(
                    at: value, path,
                    "\(quoted(text)) is not a valid environment variable name (expected letters, digits and _, not starting with a digit, e.g. DATABRICKS_TOKEN)"
                )
            }
            return nil
        }
        return text
    }

    /// A list; each element decoded by `element` with its index path.
    func list<T>(_ name: String, _ element: (YAMLNode, String) -> T?) -> [T]? {
        guard let value = node(name) else { return nil }
        guard case .sequence(let items) = value.value else {
            context.error(at: value, fieldPath(name), "expected a list, found \(value.kindDescription)")
            return nil
        }
        var result: [T] = []
        var ok = true
        for (index, item) in items.enumerated() {
            if let decoded = element(item, "\(fieldPath(name))[\(index)]") { result.append(decoded) } else { ok = false }
        }
        return ok ? result : nil
    }

    /// A list of strings, each checked by `rule`.
    func strings(_ name: String, matching rule: @escaping (String) -> Bool = { _ in true }, expected: String = "") -> [String]? {
        list(name) { item, path in
            guard let text = Self.string(item, context: context, path: path) else { return nil }
            guard rule(text) else {
                context.error(at: item, path, "\(quoted(text)) is not \(expected)")
                return nil
            }
            return text
        }
    }

    /// A mapping of parameter values passed to terraform modules.
    func parameters(_ name: String) -> [String: ParameterValue]? {
        guard let value = node(name) else { return nil }
        guard case .mapping = value.value else {
            context.error(at: value, fieldPath(name), "expected a mapping of parameters, found \(value.kindDescription)")
            return nil
        }
        guard case .map(let map)? = Self.parameter(value, context: context, path: fieldPath(name)) else { return nil }
        return map
    }

    private static func parameter(_ node: YAMLNode, context: DecodeContext, path: String) -> ParameterValue? {
        switch node.value {
        case .scalar(let scalar):
            switch scalar.resolved {
            case .null:
                context.error(at: node, path, "null is not a parameter value: leave the parameter out instead")
                return nil
            case .bool(let flag): return .bool(flag)
            case .integer, .float: return .number(scalar.text)
            case .string: return .string(scalar.text)
            }
        case .sequence(let items):
            var values: [ParameterValue] = []
            for (index, item) in items.enumerated() {
                guard let value = parameter(item, context: context, path: "\(path)[\(index)]") else { return nil }
                values.append(value)
            }
            return .list(values)
        case .mapping(let pairs):
            var values: [String: ParameterValue] = [:]
            for pair in pairs {
                guard Rules.isParameterName(pair.key) else {
                    context.error(
                        pair.keyLine, pair.keyColumn, join(path, pair.key), "parameter names are letters, digits and _, starting with a letter")
                    return nil
                }
                guard let value = parameter(pair.value, context: context, path: join(path, pair.key)) else { return nil }
                values[pair.key] = value
            }
            return .map(values)
        }
    }
}

/// The lexical rules of desired state, each a pure predicate.
public enum Rules {
    /// Object ids: lower-case letters, digits and `-`, 1...63, starting with a letter or digit.
    public static func isID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), isLowerAlnum(bytes[0]) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == 45 }
    }

    /// Vendor serving endpoint names: letters, digits, `-` and `_`, 1...63.
    public static func isEndpointName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 }
    }

    /// Public model ids: `<vendor>/<name>`, the vendor an id, the name letters, digits, `.`, `_`, `-`.
    public static func isModelID(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isID(String(parts[0])) else { return false }
        let name = Array(parts[1].utf8)
        guard (1...128).contains(name.count), isLowerAlnum(name[0]) || (name[0] >= 65 && name[0] <= 90) else { return false }
        return name.allSatisfy { isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// POSIX-style environment variable names: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 long.
    public static func isEnvVarName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...128).contains(bytes.count), !(bytes[0] >= 48 && bytes[0] <= 57) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) || $0 == 95 }
    }

    /// Terraform identifiers: resource types, attribute and parameter names.
    public static func isParameterName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), (bytes[0] >= 97 && bytes[0] <= 122) || (bytes[0] >= 65 && bytes[0] <= 90) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) || $0 == 95 }
    }

    /// An email address as people are named: `local@domain`, one `@`, a dot in the domain, no
    /// whitespace or control characters, at most 254 bytes. (Deliverability is not Asgard's to check.)
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return text.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// `sha256:` followed by 64 lower-case hex digits.
    public static func isKeyDigest(_ text: String) -> Bool {
        guard text.hasPrefix("sha256:") else { return false }
        let hex = Array(text.utf8.dropFirst(7))
        return hex.count == 64 && hex.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// A relative module path under `modules/`, with no `..`, `.` or empty segments.
    public static func isModulePath(_ text: String) -> Bool {
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 2, segments[0] == "modules" else { return false }
        return segments.dropFirst().allSatisfy { isID(String($0)) }
    }

    /// An absolute URL path containing `{model}`, e.g. `/serving-endpoints/{model}/invocations`.
    public static func isChatPath(_ text: String) -> Bool {
        text.hasPrefix("/") && text.contains("{model}") && !text.contains(" ") && !text.contains("..")
    }

    /// A header name to carry a vendor credential: letters, digits and `-`, 1...64, not a header
    /// the gateway sets for its own purposes.
    public static func isCredentialHeader(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            }
            && !["content-type", "accept", "host", "content-length", "transfer-encoding", "connection"].contains(text.lowercased())
    }

    /// An authorization scheme (`Bearer`, `Token`, ...): letters, digits and `-`, 1...32; `none`
    /// for the bare credential.
    public static func isAuthScheme(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            }
    }

    /// An OpenAI project id: `proj_` followed by 1...64 ASCII letters and digits.
    public static func isOpenAIProjectID(_ text: String) -> Bool {
        guard text.hasPrefix("proj_") else { return false }
        let rest = Array(text.utf8.dropFirst(5))
        return (1...64).contains(rest.count) && rest.allSatisfy { isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }
}
