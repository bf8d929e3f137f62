@testable import Cedar

// Shared fixtures and helpers for the evaluator, extension and authorizer tests.

enum Fixture {
    static let alice = EntityUID(type: "User", id: "alice")
    static let bob = EntityUID(type: "User", id: "bob")
    static let ghost = EntityUID(type: "User", id: "ghost")  // not in the store
    static let admins = EntityUID(type: "Group", id: "admins")
    static let staff = EntityUID(type: "Group", id: "staff")
    static let everyone = EntityUID(type: "Group", id: "everyone")  // an ancestor that is not an entity
    static let view = EntityUID(type: "Action", id: "view")
    static let edit = EntityUID(type: "Action", id: "edit")
    static let readActions = EntityUID(type: "Action", id: "read")
    static let doc = EntityUID(type: "Doc", id: "d1")
    static let folder = EntityUID(type: "Folder", id: "f1")

    static let entities = makeEntities([
        Entity(
            uid: alice,
            attributes: [
                "name": .string("Alice"), "age": .long(30), "manager": .entity(bob),
                "address": .record(["city": .string("Oslo")]),
            ],
            ancestors: [admins], tags: ["team": .string("red"), "level": .long(3)]),
        Entity(uid: bob, attributes: ["name": .string("Bob")], ancestors: [staff]),
        Entity(uid: admins, ancestors: [staff]),
        Entity(uid: staff, ancestors: [everyone]),
        Entity(uid: view, ancestors: [readActions]),
        Entity(uid: edit),
        Entity(uid: doc, attributes: ["owner": .entity(alice), "public": .bool(false)], ancestors: [folder]),
    ])

    static let request = Request(
        principal: alice, action: view, resource: doc,
        context: ["ip": .string("10.0.0.1"), "n": .long(7), "flag": .bool(true)])
}

/// Builds an entity store with transitively closed ancestors.
func makeEntities(_ list: [Entity]) -> Entities {
    Entities(closingParentsOf: list)
}

enum ErrorKind: Equatable {
    case type, entity, attribute, tag, overflow, extensionError
}

func kind(of error: EvaluationError) -> ErrorKind {
    switch error {
    case .typeError: .type
    case .entityDoesNotExist: .entity
    case .attributeDoesNotExist: .attribute
    case .tagDoesNotExist: .tag
    case .integerOverflow: .overflow
    case .extensionError: .extensionError
    }
}

func evaluate(_ expr: Expr, request: Request = Fixture.request, entities: Entities = Fixture.entities)
    -> Result<Value, EvaluationError>
{
    let evaluator = Evaluator(request: request, entities: entities)
    return Result { () throws(EvaluationError) -> Value in try evaluator.evaluate(expr) }
}

/// The value, or nil on error.
func value(_ expr: Expr) -> Value? { try? evaluate(expr).get() }

/// The error's kind, or nil on success.
func errorKind(_ expr: Expr) -> ErrorKind? {
    if case .failure(let error) = evaluate(expr) { return kind(of: error) }
    return nil
}

func callKind(_ name: String, _ arguments: [Value]) -> ErrorKind? {
    do throws(EvaluationError) {
        _ = try Extensions.call(name, arguments)
        return nil
    } catch {
        return kind(of: error)
    }
}

func call(_ name: String, _ arguments: [Value]) -> Value? {
    try? Extensions.call(name, arguments)
}

// Expression builders.
func lit(_ v: Value) -> Expr { .literal(v) }
func long(_ i: Int64) -> Expr { .literal(.long(i)) }
func str(_ s: String) -> Expr { .literal(.string(s)) }
func bool(_ b: Bool) -> Expr { .literal(.bool(b)) }
func uid(_ u: EntityUID) -> Expr { .literal(.entity(u)) }
func bin(_ op: BinaryOperator, _ a: Expr, _ b: Expr) -> Expr { .binary(op, a, b) }
func pattern(_ text: String) -> [PatternElement] {
    text.unicodeScalars.map { $0 == "*" ? .wildcard : .literal($0) }
}
func ext(_ name: String, _ s: String) -> Expr { .call(name, [str(s)]) }
/// An expression that always errors (attribute of a missing entity).
let failing: Expr = .getAttribute(uid(Fixture.ghost), "x")
