/// Why Cedar JSON data (entities, a value, a context, an entity reference) was refused.
///
/// `path` locates the offending JSON value from the document's root, e.g.
/// `entities[3].attrs.owner` or `context["source ip"]`; `message` says what is wrong there.
public struct DataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the document, e.g. `entities[3].attrs.owner` (empty for the whole document).
    public var path: String
    /// What is wrong, for people.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, or just the message when there is no path.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A JSON path under construction: `root`, `.key` (or `["odd key"]`), `[index]`.
struct JSONPath {
    private(set) var text: String

    init(_ root: String) { text = root }

    func key(_ key: String) -> JSONPath {
        var next = self
        next.text += isPlainKey(key) ? ".\(key)" : "[\(cedarQuoted(key))]"
        return next
    }

    func index(_ index: Int) -> JSONPath {
        var next = self
        next.text += "[\(index)]"
        return next
    }

    func error(_ message: String) -> DataError { DataError(path: text, message: message) }

    private func isPlainKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, first == "_" || isASCIILetter(first) else {
            return false
        }
        return key.unicodeScalars.allSatisfy { $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }
    }

    private func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
