// Cedar expression evaluation, following the Lean specification (cedar-spec `Spec/Evaluator.lean`).

/// Evaluates Cedar expressions for one request against one entity store.
///
/// Semantics follow the Lean specification: `&&`, `||` and `if` require booleans and short-circuit,
/// `==` never fails, arithmetic is checked 64-bit, attribute access on a missing entity fails with
/// `.entityDoesNotExist` while `has` on a missing entity is `false`, and so on.
public struct Evaluator: Sendable {
    /// The request whose `principal`, `action`, `resource` and `context` the variables denote.
    public let request: Request
    /// The entity store consulted by `in`, `has`, attribute access and tags.
    public let entities: Entities

    /// An evaluator for `request` against `entities`.
    public init(request: Request, entities: Entities) {
        self.request = request
        self.entities = entities
    }

    /// Evaluates `expr` to a value, or throws the first error the specification's evaluation order meets.
    public func evaluate(_ expr: Expr) throws(EvaluationError) -> Value {
        switch expr {
        case .literal(let value):
            return value
        case .variable(let variable):
            switch variable {
            case .principal: return .entity(request.principal)
            case .action: return .entity(request.action)
            case .resource: return .entity(request.resource)
            case .context: return .record(request.context)
            }
        case .ifThenElse(let condition, let then, let otherwise):
            return try evaluateBool(condition) ? evaluate(then) : evaluate(otherwise)
        case .and(let lhs, let rhs):
            guard try evaluateBool(lhs) else { return .bool(false) }
            return .bool(try evaluateBool(rhs))
        case .or(let lhs, let rhs):
            if try evaluateBool(lhs) { return .bool(true) }
            return .bool(try evaluateBool(rhs))
        case .unary(let op, let operand):
            return try applyUnary(op, evaluate(operand))
        case .binary(let op, let lhs, let rhs):
            let left = try evaluate(lhs)
            let right = try evaluate(rhs)
            return try applyBinary(op, left, right)
        case .getAttribute(let operand, let name):
            return try getAttribute(evaluate(operand), name)
        case .hasAttribute(let operand, let name):
            return try hasAttribute(evaluate(operand), name)
        case .like(let operand, let pattern):
            let value = try evaluate(operand)
            guard case .string(let text) = value else { throw .typeError(expected: "string", found: value.typeName) }
            return .bool(Evaluator.wildcardMatch(text, pattern))
        case .isType(let operand, let type):
            let value = try evaluate(operand)
            guard case .entity(let uid) = value else { throw .typeError(expected: "entity", found: value.typeName) }
            return .bool(uid.type == type)
        case .set(let elements):
            var set = Set<Value>(minimumCapacity: elements.count)
            for element in elements { set.insert(try evaluate(element)) }
            return .set(set)
        case .record(let entries):
            var record = [String: Value](minimumCapacity: entries.count)
            for entry in entries { record[entry.key] = try evaluate(entry.value) }
            return .record(record)
        case .call(let name, let argumentExprs):
            var arguments: [Value] = []
            arguments.reserveCapacity(argumentExprs.count)
            for argument in argumentExprs { arguments.append(try evaluate(argument)) }
            return try Extensions.call(name, arguments)
        }
    }

    /// Evaluates `expr` and requires a boolean.
    @inline(__always)
    func evaluateBool(_ expr: Expr) throws(EvaluationError) -> Bool {
        let value = try evaluate(expr)
        guard case .bool(let b) = value else { throw .typeError(expected: "bool", found: value.typeName) }
        return b
    }

    func applyUnary(_ op: UnaryOperator, _ value: Value) throws(EvaluationError) -> Value {
        switch op {
        case .not:
            guard case .bool(let b) = value else { throw .typeError(expected: "bool", found: value.typeName) }
            return .bool(!b)
        case .negate:
            guard case .long(let i) = value else { throw .typeError(expected: "long", found: value.typeName) }
            let (result, overflow) = Int64(0).subtractingReportingOverflow(i)
            if overflow { throw .integerOverflow }
            return .long(result)
        case .isEmpty:
            guard case .set(let s) = value else { throw .typeError(expected: "set", found: value.typeName) }
            return .bool(s.isEmpty)
        }
    }

    func applyBinary(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws(EvaluationError) -> Value {
        switch op {
        case .equal:
            return .bool(Evaluator.valuesEqual(lhs, rhs))
        case .notEqual:
            return .bool(!Evaluator.valuesEqual(lhs, rhs))
        case .less:
            return .bool(try Evaluator.compare(lhs, rhs) < 0)
        case .lessOrEqual:
            return .bool(try Evaluator.compare(lhs, rhs) <= 0)
        case .greater:
            return .bool(try Evaluator.compare(lhs, rhs) > 0)
        case .greaterOrEqual:
            return .bool(try Evaluator.compare(lhs, rhs) >= 0)
        case .add, .subtract, .multiply:
            guard case .long(let a) = lhs else { throw .typeError(expected: "long", found: lhs.typeName) }
            guard case .long(let b) = rhs else { throw .typeError(expected: "long", found: rhs.typeName) }
            let (result, overflow) =
                switch op {
                case .add: a.addingReportingOverflow(b)
                case .subtract: a.subtractingReportingOverflow(b)
                default: a.multipliedReportingOverflow(by: b)
                }
            if overflow { throw .integerOverflow }
            return .long(result)
        case .in:
            guard case .entity(let uid) = lhs else { throw .typeError(expected: "entity", found: lhs.typeName) }
            switch rhs {
            case .entity(let target):
                return .bool(entities.isDescendant(uid, of: target))
            case .set(let targets):
                // Every element must be an entity, even after a match (the spec maps the whole set first).
                var found = false
                for target in targets {
                    guard case .entity(let targetUID) = target else {
                        throw .typeError(expected: "entity", found: target.typeName)
                    }
                    if !found && entities.isDescendant(uid, of: targetUID) { found = true }
                }
                return .bool(found)
            default:
                throw .typeError(expected: "entity or set", found: rhs.typeName)
            }
        case .contains:
            guard case .set(let s) = lhs else { throw .typeError(expected: "set", found: lhs.typeName) }
            return .bool(s.contains(rhs))
        case .containsAll:
            guard case .set(let a) = lhs else { throw .typeError(expected: "set", found: lhs.typeName) }
            guard case .set(let b) = rhs else { throw .typeError(expected: "set", found: rhs.typeName) }
            return .bool(b.isSubset(of: a))
        case .containsAny:
            guard case .set(let a) = lhs else { throw .typeError(expected: "set", found: lhs.typeName) }
            guard case .set(let b) = rhs else { throw .typeError(expected: "set", found: rhs.typeName) }
            return .bool(!a.isDisjoint(with: b))
        case .hasTag:
            guard case .entity(let uid) = lhs else { throw .typeError(expected: "entity", found: lhs.typeName) }
            guard case .string(let tag) = rhs else { throw .typeError(expected: "string", found: rhs.typeName) }
            return .bool(entities[uid]?.tags[tag] != nil)
        case .getTag:
            guard case .entity(let uid) = lhs else { throw .typeError(expected: "entity", found: lhs.typeName) }
            guard case .string(let tag) = rhs else { throw .typeError(expected: "string", found: rhs.typeName) }
            guard let entity = entities[uid] else { throw .entityDoesNotExist(uid) }
            guard let value = entity.tags[tag] else { throw .tagDoesNotExist(tag) }
            return value
        }
    }

    func getAttribute(_ value: Value, _ name: String) throws(EvaluationError) -> Value {
        switch value {
        case .record(let record):
            guard let result = record[name] else { throw .attributeDoesNotExist(name) }
            return result
        case .entity(let uid):
            guard let entity = entities[uid] else { throw .entityDoesNotExist(uid) }
            guard let result = entity.attributes[name] else { throw .attributeDoesNotExist(name) }
            return result
        default:
            throw .typeError(expected: "entity or record", found: value.typeName)
        }
    }

    func hasAttribute(_ value: Value, _ name: String) throws(EvaluationError) -> Value {
        switch value {
        case .record(let record):
            return .bool(record[name] != nil)
        case .entity(let uid):
            return .bool(entities[uid]?.attributes[name] != nil)
        default:
            throw .typeError(expected: "entity or record", found: value.typeName)
        }
    }

    /// Orders two longs, two datetimes or two durations (-1, 0, 1); any other pair is a type error.
    static func compare(_ lhs: Value, _ rhs: Value) throws(EvaluationError) -> Int {
        let a: Int64
        let b: Int64
        switch (lhs, rhs) {
        case (.long(let x), .long(let y)):
            (a, b) = (x, y)
        case (.extensionValue(.datetime(let x)), .extensionValue(.datetime(let y))):
            (a, b) = (x, y)
        case (.extensionValue(.duration(let x)), .extensionValue(.duration(let y))):
            (a, b) = (x, y)
        case (.long, _):
            throw .typeError(expected: "long", found: rhs.typeName)
        case (.extensionValue(.datetime), _):
            throw .typeError(expected: "datetime", found: rhs.typeName)
        case (.extensionValue(.duration), _):
            throw .typeError(expected: "duration", found: rhs.typeName)
        default:
            throw .typeError(expected: "long, datetime or duration", found: lhs.typeName)
        }
        return a < b ? -1 : (a == b ? 0 : 1)
    }

    /// Cedar's `==`: structural, never an error, values of different types are unequal. Strings
    /// (also inside entity references and records) compare by Unicode scalars, as the
    /// specification does, not by Swift's canonical equivalence.
    public static func valuesEqual(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.bool(let a), .bool(let b)): return a == b
        case (.long(let a), .long(let b)): return a == b
        case (.string(let a), .string(let b)): return sameBytes(a, b)
        case (.entity(let a), .entity(let b)): return uidsEqual(a, b)
        case (.extensionValue(let a), .extensionValue(let b)): return a == b
        case (.record(let a), .record(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b[key], valuesEqual(value, other) else { return false }
            }
            return true
        case (.set(let a), .set(let b)):
            return a == b
        default:
            return false
        }
    }

    static func uidsEqual(_ a: EntityUID, _ b: EntityUID) -> Bool {
        sameBytes(a.type, b.type) && sameBytes(a.id, b.id)
    }

    /// Whether two strings have the same UTF-8 (the same Unicode scalars): lengths first, then
    /// the contiguous bytes in place (iterating the UTF-8 views cost ~6k instructions a
    /// gateway decision).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var (a, b) = (a, b)
        return a.withUTF8 { left in b.withUTF8 { right in left.elementsEqual(right) } }
    }

    /// Whether `text` matches a `like` pattern, comparing Unicode scalars; `*` matches any run
    /// (including the empty one). Greedy with backtracking to the last star: O(n·m) worst case,
    /// no allocation.
    public static func wildcardMatch(_ text: String, _ pattern: [PatternElement]) -> Bool {
        let scalars = text.unicodeScalars
        var t = scalars.startIndex
        let tEnd = scalars.endIndex
        var p = 0
        let pEnd = pattern.count
        var starP = -1
        var starT = t
        while t < tEnd {
            if p < pEnd {
                switch pattern[p] {
                case .wildcard:
                    starP = p
                    starT = t
                    p += 1
                    continue
                case .literal(let c):
                    if scalars[t] == c {
                        p += 1
                        t = scalars.index(after: t)
                        continue
                    }
                }
            }
            // Mismatch (or pattern exhausted): let the last star absorb one more scalar.
            guard starP >= 0 else { return false }
            p = starP + 1
            starT = scalars.index(after: starT)
            t = starT
        }
        while p < pEnd, case .wildcard = pattern[p] { p += 1 }
        return p == pEnd
    }
}
