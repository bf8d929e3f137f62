// An object's members by key, the way a dictionary reads and writes them, while the member
// list keeps its order (and any repeated key) underneath.

extension JSONValue {
    /// The value of the first member named `key`, if this is an object that has one.
    ///
    /// Setting replaces the first member of that name (or appends one); setting nil removes
    /// every member of that name. Setting on a value that is not an object leaves it unchanged.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.key == key }?.value
        }
        set {
            self = newValue.map { setting(key, to: $0) } ?? removing(key)
        }
    }

    /// A copy of this object with `key` set to `value` (replacing the first member of that
    /// name, or appended); other values are returned unchanged.
    public func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(JSONMember(key: key, value: value))
        }
        return .object(members)
    }

    /// A copy of this object without any member named `key`; other values are returned unchanged.
    public func removing(_ key: String) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.key != key })
    }
}
