// Whole-document walks: where a key repeats at any depth, and every string (keys included)
// rewritten by one function, for readers that must see everything a document carries.

extension JSONValue {
    /// The path of the first object member whose key repeats an earlier member of the same
    /// object, at any depth (`messages[0].content`), or nil when no key repeats.
    ///
    /// Parsers disagree on repeated keys (most keep the last, some the first), so a document
    /// that has one can mean one thing to the reader that checks it and another to the one
    /// that acts on it.
    public func repeatedKeyPath() -> String? {
        var path: [String] = []
        return repeatedKey(&path)
    }

    private func repeatedKey(_ path: inout [String]) -> String? {
        switch self {
        case .object(let members):
            // Small objects (the common case) compare pairwise; large ones hash.
            if members.count <= 8 {
                for index in members.indices.dropFirst() where members[..<index].contains(where: { $0.key == members[index].key }) {
                    return Self.joined(path + [members[index].key])
                }
            } else {
                var seen = Set<String>(minimumCapacity: members.count)
                for member in members where !seen.insert(member.key).inserted { return Self.joined(path + [member.key]) }
            }
            for member in members {
                path.append(member.key)
                defer { path.removeLast() }
                if let found = member.value.repeatedKey(&path) { return found }
            }
            return nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append("[\(index)]")
                defer { path.removeLast() }
                if let found = element.repeatedKey(&path) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    private static func joined(_ path: [String]) -> String {
        var out = ""
        for component in path {
            if !out.isEmpty, !component.hasPrefix("[") { out += "." }
            out += component
        }
        return out
    }

    /// This value with every string (object keys included) passed through `transform`, which
    /// returns nil to keep a string as it is. Subtrees without a change are returned as they
    /// were (no copy). `transform` may throw to stop the walk.
    public func rewritingStrings<Failure: Error>(_ transform: (String) throws(Failure) -> String?) throws(Failure) -> JSONValue {
        try rewritten(transform) ?? self
    }

    /// The rewritten value, or nil when nothing in it changed.
    private func rewritten<Failure: Error>(_ transform: (String) throws(Failure) -> String?) throws(Failure) -> JSONValue? {
        switch self {
        case .string(let text):
            return try transform(text).map(JSONValue.string)
        case .array(let elements):
            var changed: [JSONValue]?
            for index in elements.indices {
                guard let replaced = try elements[index].rewritten(transform) else { continue }
                if changed == nil { changed = elements }
                changed![index] = replaced
            }
            return changed.map(JSONValue.array)
        case .object(let members):
            var changed: [JSONMember]?
            for index in members.indices {
                let key = try transform(members[index].key)
                let value = try members[index].value.rewritten(transform)
                guard key != nil || value != nil else { continue }
                if changed == nil { changed = members }
                changed![index] = JSONMember(key: key ?? members[index].key, value: value ?? members[index].value)
            }
            return changed.map(JSONValue.object)
        case .null, .bool, .integer, .otherNumber:
            return nil
        }
    }
}
