// The contract between Cedar's parser, evaluator and data layer. Pure values, no I/O.

/// A position in a policy text: 1-based line and column, and the UTF-8 offset.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(line):\(column)" }
}

/// An entity type name, e.g. `User` or `Namespace::Type`, as written (path joined by `::`).
public typealias EntityType = String

/// An entity reference: its type and id, e.g. `User::"alice"`.
public struct EntityUID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var type: EntityType
    public var id: String

    public init(type: EntityType, id: String) {
        self.type = type
        self.id = id
    }

    /// Cedar syntax: `Type::"id"` with the id escaped as a Cedar string.
    public var description: String { "\(type)::\(cedarQuoted(id))" }

    public static func < (lhs: EntityUID, rhs: EntityUID) -> Bool { (lhs.type, lhs.id) < (rhs.type, rhs.id) }
}

/// Quotes a string as a Cedar string literal (for messages and round trips).
public func cedarQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\0": out += "\\0"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

public enum Effect: String, Sendable, Hashable {
    case permit
    case forbid
}

/// A policy's constraint on the principal or the resource.
public enum ScopeConstraint: Sendable, Hashable {
    /// No constraint.
    case any
    /// `== E`
    case equal(EntityUID)
    /// `in E`
    case `in`(EntityUID)
    /// `is T`
    case `is`(EntityType)
    /// `is T in E`
    case isIn(EntityType, EntityUID)
}

/// A policy's constraint on the action.
public enum ActionConstraint: Sendable, Hashable {
    case any
    /// `== Action::"a"`
    case equal(EntityUID)
    /// `in Action::"a"`
    case `in`(EntityUID)
    /// `in [Action::"a", Action::"b"]`
    case inSet([EntityUID])
}

/// One `when { ... }` or `unless { ... }` clause.
public struct Condition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case when
        case unless
    }

    public var kind: Kind
    public var body: Expr

    public init(kind: Kind, body: Expr) {
        self.kind = kind
        self.body = body
    }
}

/// One policy, as parsed.
public struct Policy: Sendable, Hashable {
    /// `policy0`, `policy1`, ... in file order (the `@id` annotation does not change it).
    public var id: String
    public var effect: Effect
    /// Annotations in order: `@name("value")` or `@name` (value nil).
    public var annotations: [Annotation]
    public var principal: ScopeConstraint
    public var action: ActionConstraint
    public var resource: ScopeConstraint
    public var conditions: [Condition]
    /// Where the policy starts in its text.
    public var position: SourcePosition

    public init(
        id: String, effect: Effect, annotations: [Annotation], principal: ScopeConstraint, action: ActionConstraint,
        resource: ScopeConstraint, conditions: [Condition], position: SourcePosition
    ) {
        self.id = id
        self.effect = effect
        self.annotations = annotations
        self.principal = principal
        self.action = action
        self.resource = resource
        self.conditions = conditions
        self.position = position
    }
}

public struct Annotation: Sendable, Hashable {
    public var name: String
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// The four request variables.
public enum Variable: String, Sendable, Hashable, CaseIterable {
    case principal
    case action
    case resource
    case context
}

/// Binary operators (all evaluate both operands, except where the evaluator short-circuits
/// `&&`/`||`, which are separate `Expr` cases).
public enum BinaryOperator: String, Sendable, Hashable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case `in` = "in"
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    /// `a.contains(b)`
    case contains
    /// `a.containsAll(b)`
    case containsAll
    /// `a.containsAny(b)`
    case containsAny
    /// `e.getTag(k)`
    case getTag
    /// `e.hasTag(k)`
    case hasTag
}

public enum UnaryOperator: String, Sendable, Hashable {
    /// `!e`
    case not = "!"
    /// `-e` (on a non-literal; `-<integer literal>` is folded into the literal by the parser)
    case negate = "-"
    /// `e.isEmpty()`
    case isEmpty
}

/// One element of a `like` pattern.
public enum PatternElement: Sendable, Hashable {
    /// A literal Unicode scalar (escapes such as `\*` already resolved).
    case literal(Unicode.Scalar)
    /// `*`: any sequence of characters.
    case wildcard
}

/// A Cedar expression.
public indirect enum Expr: Sendable, Hashable {
    /// A literal: boolean, integer (Int64), string, or entity reference.
    case literal(Value)
    case variable(Variable)
    case ifThenElse(Expr, Expr, Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `e.attr` or `e["attr"]`
    case getAttribute(Expr, String)
    /// `e has attr` (a dotted `e has a.b` is parsed as `e has a && e.a has b`)
    case hasAttribute(Expr, String)
    case like(Expr, [PatternElement])
    /// `e is T`
    case isType(Expr, EntityType)
    /// `[e, ...]`
    case set([Expr])
    /// `{ "k": e, ... }` in source order (duplicate keys are a parse error)
    case record([RecordEntry])
    /// An extension function or method call: `decimal("1.0")`, `ip("10.0.0.1")`,
    /// `datetime(...)`, `duration(...)`, and methods as `name(receiver, args...)`:
    /// `lessThan`, `lessThanOrEqual`, `greaterThan`, `greaterThanOrEqual`, `isIpv4`, `isIpv6`,
    /// `isLoopback`, `isMulticast`, `isInRange`, `offset`, `durationSince`, `toDate`, `toTime`,
    /// `toDays`, `toHours`, `toMinutes`, `toSeconds`, `toMilliseconds`.
    case call(String, [Expr])
}

/// One `key: value` of a record literal.
public struct RecordEntry: Sendable, Hashable {
    public var key: String
    public var value: Expr

    public init(key: String, value: Expr) {
        self.key = key
        self.value = value
    }
}
