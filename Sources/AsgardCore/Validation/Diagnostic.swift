/// A place in a desired-state file: 1-based line and column.
public struct SourceLocation: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in desired state: where, which object and field, and what is wrong.
///
/// Messages never contain a secret-looking value: they are built with `quoted(_:)`.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public var location: SourceLocation
    /// `Kind/id` of the object the problem belongs to, when known.
    public var object: String?
    /// The field path inside the object, e.g. `inference.models[0].upstream`.
    public var field: String?
    public var message: String

    /// Anything secret-looking in the object, field or message is replaced by `<not shown>`,
    /// whichever path built the message.
    public init(_ location: SourceLocation, object: String? = nil, field: String? = nil, _ message: String) {
        self.location = location
        self.object = object.map(SecretDetector.redacting)
        self.field = field.map(SecretDetector.redacting)
        self.message = SecretDetector.redacting(message)
    }

    /// Orders by position, then by text, so reports are deterministic.
    public static func inFileOrder(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
        if a.location != b.location { return a.location < b.location }
        return a.description < b.description
    }

    /// `file:line:column: error: Kind/id field: message`
    public var description: String {
        var text = "\(location): error: "
        if let object { text += object + " " }
        if let field, !field.isEmpty { text += field + ": " }
        return text + message
    }
}

/// Every diagnostic of a failed load or validation, in file order.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics.sorted(by: Diagnostic.inFileOrder) }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Quotes a value from a manifest for an error message: secret-looking values are never echoed,
/// long ones are shortened, control characters are escaped.
public func quoted(_ value: String) -> String {
    if SecretDetector.mayContainSecret(value) {
        let kind = SecretDetector.matches(in: value, stopAtFirst: true, requireBoundary: false)[0].kind
        return "<a value that looks like \(kind.article) \(kind.displayName), not shown>"
    }
    var text = ""
    for scalar in value.unicodeScalars.prefix(60) {
        switch scalar {
        case "\"": text += "\\\""
        case "\\": text += "\\\\"
        case "\n": text += "\\n"
        case "\t": text += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                text += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
    }
    if value.unicodeScalars.count > 60 { text += "…" }
    return "\"\(text)\""
}
