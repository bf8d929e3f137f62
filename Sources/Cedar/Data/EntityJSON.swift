public import AsgardJSON

// Cedar's JSON data formats without a schema (docs.cedarpolicy.com/auth/entities-syntax.html):
// entities, attribute/tag/context values, and entity references.
//
// Without a schema nothing is implicit inside values: a plain `{"type": ..., "id": ...}` object
// is a record with two string attributes, and a string is a string even when it looks like an
// IP address. Only the `__entity` and `__extn` escapes make entity references and extension
// values. (Entity *references* in `uid`, `parents` and requests take the plain form as well as
// the escape.) Duplicate keys in any object are an error, as are numbers that are not 64-bit
// integers and JSON `null`.

// MARK: - Public API

/// Parses a Cedar entities document: a JSON array of
/// `{"uid": <ref>, "parents": [<ref>...], "attrs": {...}, "tags": {...}}` objects, where a
/// `<ref>` is `{"type": T, "id": I}` or `{"__entity": {"type": T, "id": I}}`. `parents`, `attrs`
/// and `tags` may be omitted (empty). The store's ancestors are closed transitively.
///
/// Two entries with the same uid are an error unless they are identical.
public func parseEntities(json: String) throws(DataError) -> Entities {
    try parseEntities(json: Array(json.utf8))
}

/// Parses a Cedar entities document from UTF-8 bytes; see ``parseEntities(json:)-(String)``.
public func parseEntities(json: [UInt8]) throws(DataError) -> Entities {
    try parseEntities(json: parseDocument(json, root: "entities"))
}

/// Builds the entity store from an already-read entities document; `path` names its root in
/// errors.
public func parseEntities(json: JSONValue, path: String = "entities") throws(DataError) -> Entities {
    Entities(closingParentsOf: try parseEntityList(json: json, path: path))
}

/// The entities of an entities document, each with its *direct* parents in `ancestors`, in
/// document order with identical duplicates dropped (for `Entities(closingParentsOf:)`).
public func parseEntityList(json: JSONValue, path: String = "entities") throws(DataError) -> [Entity] {
    let root = JSONPath(path)
    guard case .array(let elements) = json else {
        throw root.error("expected an array of entities, found \(describe(json))")
    }
    var entities: [Entity] = []
    var seen: [EntityUID: (index: Int, entity: Entity)] = [:]
    for (index, element) in elements.enumerated() {
        let entity = try entityFromJSON(element, at: root.index(index))
        if let earlier = seen[entity.uid] {
            guard earlier.entity == entity else {
                throw root.index(index).error("duplicate entity \(entity.uid) (first at index \(earlier.index)) with different data")
            }
            continue
        }
        seen[entity.uid] = (index, entity)
        entities.append(entity)
    }
    return entities
}

/// Parses one Cedar value in the JSON value format (attributes, tags, contexts):
/// booleans, integers (64-bit, exact), strings, arrays (→ sets), objects (→ records), and the
/// escapes `{"__entity": {"type": T, "id": I}}` → an entity reference,
/// `{"__extn": {"fn": F, "arg": A}}` → `F(A)`, and `{"__extn": {"fn": F, "args": [A, B, ...]}}`
/// → `F(A, B, ...)` (e.g. `offset`), the arguments being values in this format too.
public func parseValue(json: String) throws(DataError) -> Value {
    try parseValue(json: Array(json.utf8))
}

/// Parses one Cedar value from UTF-8 bytes; see ``parseValue(json:)-(String)``.
public func parseValue(json: [UInt8]) throws(DataError) -> Value {
    try parseValue(json: parseDocument(json, root: "value"), path: "value")
}

/// Converts an already-read JSON value to a Cedar value; `path` names it in errors.
public func parseValue(json: JSONValue, path: String = "value") throws(DataError) -> Value {
    try valueFromJSON(json, at: JSONPath(path))
}

/// Parses a request context: a JSON object whose members are Cedar values (as for
/// ``parseValue(json:)-(String)``).
public func parseContext(json: String) throws(DataError) -> [String: Value] {
    try parseContext(json: Array(json.utf8))
}

/// Parses a request context from UTF-8 bytes.
public func parseContext(json: [UInt8]) throws(DataError) -> [String: Value] {
    try parseContext(json: parseDocument(json, root: "context"), path: "context")
}

/// Converts an already-read JSON value to a request context; `path` names it in errors.
public func parseContext(json: JSONValue, path: String = "context") throws(DataError) -> [String: Value] {
    let at = JSONPath(path)
    guard case .object(let members) = json else {
        throw at.error("a context must be a record (a JSON object), found \(describe(json))")
    }
    if let escape = members.first(where: { reservedEscapes.contains($0.key) }) {
        throw at.error("a context must be a record, not an `\(escape.key)` escape")
    }
    return try recordFromJSON(members, at: at)
}

/// Parses an entity reference: `{"type": T, "id": I}` or `{"__entity": {"type": T, "id": I}}`.
/// The type must be a normalized entity type name such as `User` or `Ns::Type`.
public func parseEntityUIDJSON(json: String) throws(DataError) -> EntityUID {
    try parseEntityUIDJSON(json: Array(json.utf8))
}

/// Parses an entity reference from UTF-8 bytes.
public func parseEntityUIDJSON(json: [UInt8]) throws(DataError) -> EntityUID {
    try parseEntityUIDJSON(json: parseDocument(json, root: "uid"), path: "uid")
}

/// Converts an already-read JSON value to an entity reference; `path` names it in errors.
public func parseEntityUIDJSON(json: JSONValue, path: String = "uid") throws(DataError) -> EntityUID {
    try entityReference(json, at: JSONPath(path))
}

/// Whether `text` is a normalized Cedar entity type or extension function name: identifiers
/// joined by `::`, no whitespace or comments, no reserved word (`true`, `if`, `__cedar`, ...).
public func isNormalizedCedarName(_ text: String) -> Bool {
    let parts = text.split(separator: "::", omittingEmptySubsequences: false)
    return parts.allSatisfy { part in
        guard let first = part.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        guard part.unicodeScalars.allSatisfy({ $0 == "_" || isASCIILetter($0) || ("0"..."9").contains($0) }) else { return false }
        return !reservedWords.contains(String(part))
    }
}

// MARK: - Implementation

private let reservedEscapes: Set<String> = ["__entity", "__extn", "__expr"]
private let reservedWords: Set<String> = ["true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"]

private func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
    ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
}

/// Reads a JSON document; a syntax error becomes a `DataError` at `root` whose message is the
/// reader's `invalid JSON at line L, column C: ...`.
private func parseDocument(_ bytes: [UInt8], root: String) throws(DataError) -> JSONValue {
    do {
        return try JSONValue.parse(bytes)
    } catch {
        throw DataError(path: root, message: error.description)
    }
}

/// `a string "..."`, `an object`, ... for "found ..." messages.
private func describe(_ json: JSONValue) -> String {
    switch json {
    case .null: "null"
    case .bool(let b): "the boolean \(b)"
    case .integer(let i): "the number \(i)"
    case .otherNumber(let text): "the number \(text)"
    case .string(let s): "the string \(cedarQuoted(s.count > 40 ? String(s.prefix(40)) + "…" : s))"
    case .array: "an array"
    case .object: "an object"
    }
}

/// The members of an object as a dictionary, refusing duplicate keys.
private func uniqueMembers(_ members: [JSONMember], at path: JSONPath) throws(DataError) -> [String: JSONValue] {
    var result: [String: JSONValue] = [:]
    result.reserveCapacity(members.count)
    for member in members {
        if result.updateValue(member.value, forKey: member.key) != nil {
            throw path.error("duplicate key \(cedarQuoted(member.key))")
        }
    }
    return result
}

/// An object with exactly the `required` keys, and possibly the `optional` ones.
private func fields(
    of json: JSONValue, required: [String], optional: [String] = [], what: String, at path: JSONPath
) throws(DataError) -> [String: JSONValue] {
    guard case .object(let members) = json else {
        throw path.error("expected \(what), found \(describe(json))")
    }
    let fields = try uniqueMembers(members, at: path)
    for key in required where fields[key] == nil {
        throw path.error("\(what) needs the key \(cedarQuoted(key))")
    }
    let allowed = Set(required + optional)
    if let extra = members.first(where: { !allowed.contains($0.key) }) {
        let expected = (required + optional).map(cedarQuoted).joined(separator: ", ")
        throw path.error("unexpected key \(cedarQuoted(extra.key)) in \(what) (expected \(expected))")
    }
    return fields
}

private func string(_ json: JSONValue, what: String, at path: JSONPath) throws(DataError) -> String {
    guard case .string(let text) = json else { throw path.error("\(what) must be a string, found \(describe(json))") }
    return text
}

/// `{"type": T, "id": I}`, the payload of `__entity` and the plain form of a reference.
private func typeAndID(_ json: JSONValue, at path: JSONPath) throws(DataError) -> EntityUID {
    let fields = try fields(of: json, required: ["type", "id"], what: "an entity reference", at: path)
    let type = try string(fields["type"]!, what: "an entity type", at: path.key("type"))
    let id = try string(fields["id"]!, what: "an entity id", at: path.key("id"))
    guard isNormalizedCedarName(type) else {
        throw path.key("type").error("\(cedarQuoted(type)) is not a normalized entity type name (identifiers joined by `::`)")
    }
    return EntityUID(type: type, id: id)
}

/// An entity reference where one is expected (`uid`, `parents`, requests): the plain form or
/// the `__entity` escape.
private func entityReference(_ json: JSONValue, at path: JSONPath) throws(DataError) -> EntityUID {
    guard case .object(let members) = json else {
        throw path.error("expected an entity reference {\"type\": ..., \"id\": ...}, found \(describe(json))")
    }
    if members.contains(where: { $0.key == "__entity" }) {
        let fields = try fields(of: json, required: ["__entity"], what: "an `__entity` escape", at: path)
        return try typeAndID(fields["__entity"]!, at: path.key("__entity"))
    }
    if members.contains(where: { $0.key == "__expr" }) {
        throw path.error("the `__expr` escape is no longer supported; use {\"type\": ..., \"id\": ...}")
    }
    return try typeAndID(json, at: path)
}

private func entityFromJSON(_ json: JSONValue, at path: JSONPath) throws(DataError) -> Entity {
    let fields = try fields(of: json, required: ["uid"], optional: ["parents", "attrs", "tags"], what: "an entity", at: path)
    let uid = try entityReference(fields["uid"]!, at: path.key("uid"))

    var parents: Set<EntityUID> = []
    if let json = fields["parents"] {
        let at = path.key("parents")
        guard case .array(let elements) = json else { throw at.error("expected an array of entity references, found \(describe(json))") }
        for (index, element) in elements.enumerated() {
            parents.insert(try entityReference(element, at: at.index(index)))
        }
    }
    let attributes = try fields["attrs"].map { json throws(DataError) in try attributeRecord(json, what: "attrs", at: path.key("attrs")) } ?? [:]
    let tags = try fields["tags"].map { json throws(DataError) in try attributeRecord(json, what: "tags", at: path.key("tags")) } ?? [:]
    return Entity(uid: uid, attributes: attributes, ancestors: parents, tags: tags)
}

/// `attrs` and `tags`: a JSON object of values (itself never an escape).
private func attributeRecord(_ json: JSONValue, what: String, at path: JSONPath) throws(DataError) -> [String: Value] {
    guard case .object(let members) = json else {
        throw path.error("\(what) must be an object, found \(describe(json))")
    }
    return try recordFromJSON(members, at: path)
}

private func recordFromJSON(_ members: [JSONMember], at path: JSONPath) throws(DataError) -> [String: Value] {
    var record: [String: Value] = [:]
    record.reserveCapacity(members.count)
    for member in members {
        let value = try valueFromJSON(member.value, at: path.key(member.key))
        if record.updateValue(value, forKey: member.key) != nil {
            throw path.error("duplicate key \(cedarQuoted(member.key))")
        }
    }
    return record
}

private func valueFromJSON(_ json: JSONValue, at path: JSONPath) throws(DataError) -> Value {
    switch json {
    case .null:
        throw path.error("null is not a Cedar value")
    case .bool(let b):
        return .bool(b)
    case .integer(let i):
        return .long(i)
    case .otherNumber(let text):
        throw path.error("\(text) is not a Cedar long (a 64-bit integer without fraction or exponent)")
    case .string(let s):
        return .string(s)
    case .array(let elements):
        var set = Set<Value>()
        set.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            set.insert(try valueFromJSON(element, at: path.index(index)))
        }
        return .set(set)
    case .object(let members):
        if let escape = members.first(where: { reservedEscapes.contains($0.key) }) {
            return try escapedValue(escape.key, json, at: path)
        }
        return .record(try recordFromJSON(members, at: path))
    }
}

/// `{"__entity": ...}`, `{"__extn": ...}` or the retired `{"__expr": ...}`: the escape must be
/// the object's only key.
private func escapedValue(_ key: String, _ json: JSONValue, at path: JSONPath) throws(DataError) -> Value {
    let fields = try fields(of: json, required: [key], what: "an `\(key)` escape", at: path)
    let payload = fields[key]!
    let at = path.key(key)
    switch key {
    case "__entity":
        return .entity(try typeAndID(payload, at: at))
    case "__extn":
        return try extensionCall(payload, at: at)
    default:
        throw path.error("the `__expr` escape is no longer supported; use `__entity` or `__extn`")
    }
}

/// The payload of `__extn`: `{"fn": F, "arg": A}` or `{"fn": F, "args": [A, ...]}`.
private func extensionCall(_ json: JSONValue, at path: JSONPath) throws(DataError) -> Value {
    let fields = try fields(of: json, required: ["fn"], optional: ["arg", "args"], what: "an `__extn` escape", at: path)
    let name = try string(fields["fn"]!, what: "fn", at: path.key("fn"))
    guard isNormalizedCedarName(name) else {
        throw path.key("fn").error("\(cedarQuoted(name)) is not a normalized extension function name")
    }
    var arguments: [Value] = []
    switch (fields["arg"], fields["args"]) {
    case (let arg?, nil):
        arguments = [try valueFromJSON(arg, at: path.key("arg"))]
    case (nil, let args?):
        guard case .array(let elements) = args else {
            throw path.key("args").error("args must be an array, found \(describe(args))")
        }
        for (index, element) in elements.enumerated() {
            arguments.append(try valueFromJSON(element, at: path.key("args").index(index)))
        }
    case (nil, nil):
        throw path.error("an `__extn` escape needs \"arg\" or \"args\"")
    case (_?, _?):
        throw path.error("an `__extn` escape takes \"arg\" or \"args\", not both")
    }
    do {
        return try Extensions.call(name, arguments)
    } catch {
        throw path.error("\(name)(\(arguments.map(describeArgument).joined(separator: ", "))): \(error)")
    }
}

private func describeArgument(_ value: Value) -> String {
    switch value {
    case .string(let s): cedarQuoted(s)
    case .long(let i): String(i)
    case .bool(let b): String(b)
    case .entity(let uid): uid.description
    case .extensionValue(let e): "<\(e.typeName)>"
    case .set: "[...]"
    case .record: "{...}"
    }
}
