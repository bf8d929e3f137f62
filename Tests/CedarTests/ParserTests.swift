import Cedar
import Testing

// MARK: - Helpers to write expected trees

private let principal = Expr.variable(.principal)
private let action = Expr.variable(.action)
private let resource = Expr.variable(.resource)
private let context = Expr.variable(.context)
private func int(_ v: Int64) -> Expr { .literal(.long(v)) }
private func entity(_ type: String, _ id: String) -> Expr { .literal(.entity(EntityUID(type: type, id: id))) }
private func attr(_ e: Expr, _ name: String) -> Expr { .getAttribute(e, name) }
private func uid(_ type: String, _ id: String) -> EntityUID { EntityUID(type: type, id: id) }

/// One policy around a condition.
private func when(_ body: String) -> String { "permit(principal, action, resource) when { \(body) };" }

// MARK: - Expressions: precedence, associativity, sugar

struct ExpressionCase: Sendable, CustomTestStringConvertible {
    var source: String
    var expected: Expr
    init(_ source: String, _ expected: Expr) {
        self.source = source
        self.expected = expected
    }
    var testDescription: String { source }
}

private let precedenceCases: [ExpressionCase] = [
    // Arithmetic precedence and left associativity.
    .init("1 + 2 * 3", bin(.add, int(1), bin(.multiply, int(2), int(3)))),
    .init("1 * 2 + 3", bin(.add, bin(.multiply, int(1), int(2)), int(3))),
    .init("1 - 2 - 3", bin(.subtract, bin(.subtract, int(1), int(2)), int(3))),
    .init("1 - 2 + 3", bin(.add, bin(.subtract, int(1), int(2)), int(3))),
    .init("1 * 2 * 3", bin(.multiply, bin(.multiply, int(1), int(2)), int(3))),
    .init("(1 + 2) * 3", bin(.multiply, bin(.add, int(1), int(2)), int(3))),
    .init("context.a * principal.b", bin(.multiply, attr(context, "a"), attr(principal, "b"))),
    // Boolean operators: && binds tighter than ||; both left-associative.
    .init("principal || action && resource", .or(principal, .and(action, resource))),
    .init("principal && action || resource", .or(.and(principal, action), resource)),
    .init("principal || action || resource", .or(.or(principal, action), resource)),
    .init("principal && action && resource", .and(.and(principal, action), resource)),
    .init("(principal || action) && resource", .and(.or(principal, action), resource)),
    // Relations bind looser than arithmetic, tighter than &&.
    .init("1 + 2 < 3 * 4", bin(.less, bin(.add, int(1), int(2)), bin(.multiply, int(3), int(4)))),
    .init("1 < 2 && 3 >= 4", .and(bin(.less, int(1), int(2)), bin(.greaterOrEqual, int(3), int(4)))),
    .init("1 <= 2 || 3 > 4", .or(bin(.lessOrEqual, int(1), int(2)), bin(.greater, int(3), int(4)))),
    .init("1 == 2", bin(.equal, int(1), int(2))),
    .init("1 != 2", bin(.notEqual, int(1), int(2))),
    .init("principal in resource", bin(.in, principal, resource)),
    .init("principal in [resource, action]", bin(.in, principal, .set([resource, action]))),
    .init("(1 == 2) == true", bin(.equal, bin(.equal, int(1), int(2)), bool(true))),
    // Unary operators bind tighter than binary ones and looser than member access.
    .init("!principal.admin", .unary(.not, attr(principal, "admin"))),
    .init("!principal && action", .and(.unary(.not, principal), action)),
    .init("-context.x", .unary(.negate, attr(context, "x"))),
    .init("!!principal", .unary(.not, .unary(.not, principal))),
    .init("!!!!!principal", .unary(.not, .unary(.not, .unary(.not, .unary(.not, .unary(.not, principal)))))),
    .init("-!principal", .unary(.negate, .unary(.not, principal))),
    .init("-2 * 3", bin(.multiply, int(-2), int(3))),
    .init("2 - -3", bin(.subtract, int(2), int(-3))),
    .init("2--3", bin(.subtract, int(2), int(-3))),
    // if-then-else: lowest precedence, branches are full expressions.
    .init("if principal then 1 else 2 + 3", .ifThenElse(principal, int(1), bin(.add, int(2), int(3)))),
    .init(
        "if principal then action else resource || context",
        .ifThenElse(principal, action, .or(resource, context))),
    .init(
        "if if principal then action else resource then 1 else 2",
        .ifThenElse(.ifThenElse(principal, action, resource), int(1), int(2))),
    .init(
        "if principal then if action then 1 else 2 else 3",
        .ifThenElse(principal, .ifThenElse(action, int(1), int(2)), int(3))),
    .init("(if principal then 1 else 2) + 3", bin(.add, .ifThenElse(principal, int(1), int(2)), int(3))),
    // Member access and method calls.
    .init("principal.a.b", attr(attr(principal, "a"), "b")),
    .init("principal[\"a b\"]", attr(principal, "a b")),
    .init("principal[\"a\"].b[\"c\"]", attr(attr(attr(principal, "a"), "b"), "c")),
    .init("context.s.contains(1)", bin(.contains, attr(context, "s"), int(1))),
    .init("[1].containsAll([2])", bin(.containsAll, .set([int(1)]), .set([int(2)]))),
    .init("[1].containsAny([2, 3])", bin(.containsAny, .set([int(1)]), .set([int(2), int(3)]))),
    .init("principal.getTag(\"t\")", bin(.getTag, principal, str("t"))),
    .init("principal.hasTag(\"t\")", bin(.hasTag, principal, str("t"))),
    .init("context.s.isEmpty()", .unary(.isEmpty, attr(context, "s"))),
    .init("!context.s.isEmpty()", .unary(.not, .unary(.isEmpty, attr(context, "s")))),
    .init(
        "decimal(\"1.0\").lessThan(decimal(\"2.0\"))",
        .call("lessThan", [.call("decimal", [str("1.0")]), .call("decimal", [str("2.0")])])),
    .init(
        "ip(\"10.0.0.1\").isInRange(ip(\"10.0.0.0/8\"))",
        .call("isInRange", [.call("ip", [str("10.0.0.1")]), .call("ip", [str("10.0.0.0/8")])])),
    .init("ip(\"::1\").isLoopback()", .call("isLoopback", [.call("ip", [str("::1")])])),
    .init(
        "datetime(\"2024-01-01\").offset(duration(\"1h\")).toDate()",
        .call("toDate", [.call("offset", [.call("datetime", [str("2024-01-01")]), .call("duration", [str("1h")])])])),
    .init("duration(\"1d\").toMilliseconds()", .call("toMilliseconds", [.call("duration", [str("1d")])])),
    // Extension functions are not arity-checked by the parser (the evaluator reports it).
    .init("ip(context, 0)", .call("ip", [context, int(0)])),
    // has, like, is.
    .init("principal has name", .hasAttribute(principal, "name")),
    .init("principal has \"full name\"", .hasAttribute(principal, "full name")),
    .init("principal has a.b", .and(.hasAttribute(principal, "a"), .hasAttribute(attr(principal, "a"), "b"))),
    .init(
        "principal has a.b.c",
        .and(
            .and(.hasAttribute(principal, "a"), .hasAttribute(attr(principal, "a"), "b")),
            .hasAttribute(attr(attr(principal, "a"), "b"), "c"))),
    .init(
        "principal has a && principal.a > 1",
        .and(.hasAttribute(principal, "a"), bin(.greater, attr(principal, "a"), int(1)))),
    .init("context.x has y", .hasAttribute(attr(context, "x"), "y")),
    .init(
        "resource like \"a*b\\*c\"",
        .like(resource, [.literal("a"), .wildcard, .literal("b"), .literal("*"), .literal("c")])),
    .init("resource like \"\"", .like(resource, [])),
    .init("resource like \"\\n\\u{e9}*\"", .like(resource, [.literal("\n"), .literal("é"), .wildcard])),
    .init("principal is User", .isType(principal, "User")),
    .init("principal is A::B::C", .isType(principal, "A::B::C")),
    .init(
        "principal is User in Group::\"g\"",
        .and(.isType(principal, "User"), bin(.in, principal, entity("Group", "g")))),
    .init("principal is A::B in resource", .and(.isType(principal, "A::B"), bin(.in, principal, resource))),
    .init("principal is User && true", .and(.isType(principal, "User"), bool(true))),
    // Literals and constructors.
    .init("[]", .set([])),
    .init("[1, \"a\", User::\"x\", true]", .set([int(1), str("a"), entity("User", "x"), bool(true)])),
    .init("{}", .record([])),
    .init("{ \"k\": 1, k2: false }", .record([RecordEntry(key: "k", value: int(1)), RecordEntry(key: "k2", value: bool(false))])),
    .init("{ principal: 1, \"if\": 2 }", .record([RecordEntry(key: "principal", value: int(1)), RecordEntry(key: "if", value: int(2))])),
    .init("A::B::\"id\"", entity("A::B", "id")),
    .init("User::\"a\\\"b\"", entity("User", "a\"b")),
    .init("User :: \"spaced\"", entity("User", "spaced")),
    .init("principal == User::\"alice\"", bin(.equal, principal, entity("User", "alice"))),
    .init("true", bool(true)),
    .init("false", bool(false)),
    .init("context", context),
    .init("action", action),
    // Comments and white space anywhere between tokens.
    .init("1 // one\n+ // plus\n2", bin(.add, int(1), int(2))),
    .init("\u{00A0}1\u{2003}+\t2\r\n", bin(.add, int(1), int(2))),
]

@Test("precedence, associativity and sugar", arguments: precedenceCases)
func expressionTrees(_ c: ExpressionCase) throws {
    #expect(try parseExpression(c.source) == c.expected)
    // The same expression inside a policy gives the same condition body.
    let policies = try parsePolicies(when(c.source))
    let policy = try #require(policies.first)
    #expect(policy.conditions == [Condition(kind: .when, body: c.expected)])
}

// MARK: - Integer literals

@Test(
    "integer literals and the folding of '-'",
    arguments: [
        ("0", int(0)),
        ("007", int(7)),
        ("9223372036854775807", int(Int64.max)),
        ("-9223372036854775808", int(Int64.min)),
        ("- 9223372036854775808", int(Int64.min)),
        ("-9223372036854775807", int(-Int64.max)),
        ("--9223372036854775808", .unary(.negate, int(Int64.min))),
        ("--1", .unary(.negate, int(-1))),
        ("---1", .unary(.negate, .unary(.negate, int(-1)))),
        ("!-1", .unary(.not, int(-1))),
        ("-(1)", .unary(.negate, int(1))),
        ("-(-1)", .unary(.negate, int(-1))),
        ("-1.foo", .unary(.negate, attr(int(1), "foo"))),
        ("1-1", bin(.subtract, int(1), int(1))),
    ] as [(String, Expr)])
func integerLiterals(_ source: String, _ expected: Expr) throws {
    #expect(try parseExpression(source) == expected)
}

@Test(
    "integer literals outside Int64 are errors",
    arguments: [
        ("9223372036854775808", 1, "integer literal 9223372036854775808 is out of range"),
        ("-9223372036854775809", 1, "integer literal -9223372036854775809 is out of range"),
        ("1 + 99999999999999999999999", 5, "integer literal 99999999999999999999999 is out of range"),
        ("-(9223372036854775808)", 3, "integer literal 9223372036854775808 is out of range"),
        ("-9223372036854775808.x", 2, "integer literal 9223372036854775808 is out of range"),
    ] as [(String, Int, String)])
func integerOverflow(_ source: String, _ column: Int, _ message: String) {
    #expect(throws: ParseError(position: SourcePosition(line: 1, column: column, offset: column - 1), message: message)) {
        try parseExpression(source)
    }
}

// MARK: - Strings and escapes

@Test(
    "string literals and escapes",
    arguments: [
        (#""""#, ""),
        (#""plain""#, "plain"),
        (#""a\nb""#, "a\nb"),
        (#""a\rb""#, "a\rb"),
        (#""a\tb""#, "a\tb"),
        (#""a\\b""#, "a\\b"),
        (#""a\0b""#, "a\0b"),
        (#""a\'b""#, "a'b"),
        (#""a\"b""#, "a\"b"),
        (#""\x41\x7f""#, "A\u{7f}"),
        (#""\u{41}""#, "A"),
        (#""\u{e9}\u{00E9}""#, "éé"),
        (#""\u{1F600}""#, "😀"),
        (#""\u{10FFFF}""#, "\u{10FFFF}"),
        (#""é😀 raw""#, "é😀 raw"),
        ("\"multi\nline\"", "multi\nline"),
        (#""a*b""#, "a*b"),
        (#""// not a comment""#, "// not a comment"),
    ] as [(String, String)])
func stringLiterals(_ source: String, _ expected: String) throws {
    #expect(try parseExpression(source) == str(expected))
    // Strings are decoded the same way as entity ids and annotation values.
    #expect(try parseEntityUID("T::\(source)") == uid("T", expected))
    let policy = try #require(try parsePolicies("@a(\(source)) permit(principal, action, resource);").first)
    #expect(policy.annotations == [Annotation(name: "a", value: expected)])
}

@Test(
    "invalid escapes are errors at the backslash",
    arguments: [
        (#""\q""#, 2, #"invalid escape '\q'"#),
        (#""ab\*""#, 4, #"invalid escape '\*'"#),
        (#""\x8""#, 2, #"invalid escape '\x': expected two hex digits"#),
        (#""\x80""#, 2, #"invalid escape '\x': the value must be at most 7F"#),
        (#""\u41""#, 2, #"invalid escape '\u': expected '{'"#),
        (#""\u{}""#, 2, #"invalid escape '\u': expected 1 to 6 hex digits and '}'"#),
        (#""\u{1234567}""#, 2, #"invalid escape '\u': at most 6 hex digits"#),
        (#""\u{110000}""#, 2, #"invalid escape '\u': not a Unicode scalar value"#),
        (#""\u{D800}""#, 2, #"invalid escape '\u': not a Unicode scalar value"#),
        (#""é\z""#, 3, #"invalid escape '\z'"#),
    ] as [(String, Int, String)])
func invalidEscapes(_ source: String, _ column: Int, _ message: String) {
    #expect(throws: ParseError.self) { try parseExpression(source) }
    do {
        _ = try parseExpression(source)
    } catch {
        #expect(error.position.line == 1)
        #expect(error.position.column == column)
        #expect(error.message == message)
    }
}

// MARK: - Scope

struct ScopeCase: Sendable, CustomTestStringConvertible {
    var scope: String
    var principal: ScopeConstraint
    var action: ActionConstraint
    var resource: ScopeConstraint
    var testDescription: String { scope }
}

private let scopeCases: [ScopeCase] = [
    .init(scope: "principal, action, resource", principal: .any, action: .any, resource: .any),
    .init(scope: "principal == User::\"a\", action, resource", principal: .equal(uid("User", "a")), action: .any, resource: .any),
    .init(scope: "principal in Group::\"g\", action, resource", principal: .in(uid("Group", "g")), action: .any, resource: .any),
    .init(scope: "principal is User, action, resource", principal: .is("User"), action: .any, resource: .any),
    .init(
        scope: "principal is NS::User in NS::Group::\"g\", action, resource",
        principal: .isIn("NS::User", uid("NS::Group", "g")), action: .any, resource: .any),
    .init(scope: "principal, action == Action::\"read\", resource", principal: .any, action: .equal(uid("Action", "read")), resource: .any),
    .init(scope: "principal, action in Action::\"all\", resource", principal: .any, action: .in(uid("Action", "all")), resource: .any),
    .init(
        scope: "principal, action in [Action::\"a\", App::Action::\"b\"], resource",
        principal: .any, action: .inSet([uid("Action", "a"), uid("App::Action", "b")]), resource: .any),
    .init(scope: "principal, action in [], resource", principal: .any, action: .inSet([]), resource: .any),
    .init(scope: "principal, action, resource == Photo::\"p\"", principal: .any, action: .any, resource: .equal(uid("Photo", "p"))),
    .init(scope: "principal, action, resource in Album::\"x\"", principal: .any, action: .any, resource: .in(uid("Album", "x"))),
    .init(scope: "principal, action, resource is Photo", principal: .any, action: .any, resource: .is("Photo")),
    .init(
        scope: "principal, action, resource is Photo in Album::\"x\"",
        principal: .any, action: .any, resource: .isIn("Photo", uid("Album", "x"))),
    .init(
        scope: "\n  principal  ==  A :: B :: \"\\u{2603}\" ,\n  action,\n  resource\n",
        principal: .equal(uid("A::B", "☃")), action: .any, resource: .any),
]

@Test("scope forms", arguments: scopeCases)
func scopes(_ c: ScopeCase) throws {
    let policies = try parsePolicies("forbid(\(c.scope));")
    let policy = try #require(policies.first)
    #expect(policies.count == 1)
    #expect(policy.effect == .forbid)
    #expect(policy.principal == c.principal)
    #expect(policy.action == c.action)
    #expect(policy.resource == c.resource)
    #expect(policy.conditions.isEmpty)
}

// MARK: - Policies, annotations, positions

@Test func policySetIdsPositionsAndConditions() throws {
    let text = """
        // leading comment
        permit(principal, action, resource);

        @id("second")
        @advice
        @if("reserved words are fine as annotation names")
        forbid(principal, action, resource)
        when { true }
        unless { false }
        when { 1 < 2 };
          permit (principal, action, resource) unless { context.x };
        """
    let policies = try parsePolicies(text)
    #expect(policies.map(\.id) == ["policy0", "policy1", "policy2"])
    #expect(policies.map(\.effect) == [.permit, .forbid, .permit])
    #expect(policies[0].position == SourcePosition(line: 2, column: 1, offset: 19))
    #expect(policies[0].annotations.isEmpty)
    #expect(policies[1].position.line == 4)
    #expect(policies[1].position.column == 1)
    #expect(
        policies[1].annotations == [
            Annotation(name: "id", value: "second"),
            Annotation(name: "advice", value: nil),
            Annotation(name: "if", value: "reserved words are fine as annotation names"),
        ])
    #expect(
        policies[1].conditions == [
            Condition(kind: .when, body: bool(true)),
            Condition(kind: .unless, body: bool(false)),
            Condition(kind: .when, body: bin(.less, int(1), int(2))),
        ])
    let third = try #require(text.range(of: "  permit (")).lowerBound
    #expect(policies[2].position == SourcePosition(line: 11, column: 3, offset: text.utf8.distance(from: text.startIndex, to: third) + 2))
    #expect(policies[2].conditions == [Condition(kind: .unless, body: attr(context, "x"))])
}

@Test func emptyInputsHaveNoPolicies() throws {
    #expect(try parsePolicies("").isEmpty)
    #expect(try parsePolicies("  // only a comment").isEmpty)
    #expect(try parsePolicies("\n\n\t ").isEmpty)
}

@Test func entityUIDs() throws {
    #expect(try parseEntityUID("User::\"alice\"") == uid("User", "alice"))
    #expect(try parseEntityUID("  A::B::\"x\"  // comment") == uid("A::B", "x"))
    #expect(try parseEntityUID("Action::\"\"") == uid("Action", ""))
    #expect(
        throws: ParseError(
            position: SourcePosition(line: 1, column: 14, offset: 13),
            message: "expected end of input but found ','")
    ) {
        try parseEntityUID("User::\"alice\", User::\"bob\"")
    }
    #expect(
        throws: ParseError(
            position: SourcePosition(line: 1, column: 5, offset: 4),
            message: "expected '::' but found end of input")
    ) {
        try parseEntityUID("User")
    }
    #expect(
        throws: ParseError(
            position: SourcePosition(line: 1, column: 1, offset: 0),
            message: "expected an entity literal such as User::\"alice\" but found string literal \"alice\"")
    ) {
        try parseEntityUID("\"alice\"")
    }
    #expect(
        throws: ParseError(
            position: SourcePosition(line: 1, column: 1, offset: 0),
            message: "expected an entity literal such as User::\"alice\" but found reserved word '__cedar'")
    ) {
        try parseEntityUID("__cedar::\"x\"")
    }
}

// MARK: - Malformed input: exact positions and messages

struct Malformed: Sendable, CustomTestStringConvertible {
    var source: String
    var line: Int
    var column: Int
    var message: String
    init(_ source: String, _ line: Int, _ column: Int, _ message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }
    var testDescription: String { source.debugDescription }
}

private let p = "permit(principal, action, resource)"

private let malformed: [Malformed] = [
    .init("\(p) when { true }", 1, 50, "expected 'when', 'unless' or ';' but found end of input"),
    .init(p, 1, 36, "expected 'when', 'unless' or ';' but found end of input"),
    .init("\(p) when { (1 + 2 }; ", 1, 51, "expected ')' but found '}'"),
    .init("\(p)\nwhen { principal.name == \"x\" }\nunless { true ", 3, 15, "expected '}' but found end of input"),
    .init("\(p) when {\n  context.x #\n};", 2, 13, "unexpected character '#'"),
    .init("permit(principal action, resource);", 1, 18, "expected '==', 'in', 'is' or ',' but found 'action'"),
    .init("permit(principal, action, resource, context);", 1, 35, "expected '==', 'in', 'is' or ')' but found ','"),
    .init("permit(principal, action resource);", 1, 26, "expected '==', 'in' or ',' but found 'resource'"),
    .init("permit(action, principal, resource);", 1, 8, "expected 'principal' but found 'action'"),
    .init("permit principal, action, resource;", 1, 8, "expected '(' but found 'principal'"),
    .init("allow(principal, action, resource);", 1, 1, "expected 'permit', 'forbid' or '@' but found 'allow'"),
    .init("@id(\"x\")", 1, 9, "expected 'permit', 'forbid' or '@' but found end of input"),
    .init("@id(\"a\") @id(\"b\") permit(principal, action, resource);", 1, 11, "duplicate annotation '@id'"),
    .init("@id(x) permit(principal, action, resource);", 1, 5, "expected a string literal but found 'x'"),
    .init("@(\"x\") permit(principal, action, resource);", 1, 2, "expected an annotation name but found '('"),
    .init("permit(principal == User, action, resource);", 1, 25, "expected '::' but found ','"),
    .init("permit(principal == principal, action, resource);", 1, 30, "expected '::' but found ','"),
    .init("permit(principal in [User::\"a\"], action, resource);", 1, 21, "expected an entity literal but found '['"),
    .init("permit(principal == ?principal, action, resource);", 1, 21, "templates are not supported: found a slot '?principal'"),
    .init("permit(principal, action, resource in ?resource);", 1, 39, "templates are not supported: found a slot '?resource'"),
    .init(
        "permit(principal, action == User::\"read\", resource);", 1, 29,
        "expected an action entity of type 'Action' but found type 'User'"),
    .init("permit(principal, action is Action, resource);", 1, 26, "'is' is not allowed in the action scope"),
    .init("permit(principal is User == User::\"a\", action, resource);", 1, 26, "expected 'in' or ',' but found '=='"),
    .init(when("1 == 2 == 3"), 1, 51, "unexpected '==' after a comparison; comparisons do not chain, add parentheses"),
    .init(
        when("principal in resource in context"), 1, 66,
        "unexpected 'in' after a comparison; comparisons do not chain, add parentheses"),
    .init(when("principal has a has b"), 1, 60, "unexpected 'has' after a comparison; comparisons do not chain, add parentheses"),
    .init(when("9223372036854775808"), 1, 44, "integer literal 9223372036854775808 is out of range"),
    .init(when("\"a\\qb\""), 1, 46, "invalid escape '\\q'"),
    .init(when("\"abc };"), 1, 44, "unterminated string literal"),
    .init(when("{a: 1, a: 2}"), 1, 51, "duplicate record key \"a\""),
    .init(when("{a: 1, \"a\": 2}"), 1, 51, "duplicate record key \"a\""),
    .init(when("{a 1}"), 1, 47, "expected ':' but found '1'"),
    .init(when("{if: 1}"), 1, 45, "expected a record key but found reserved word 'if'"),
    .init(when("foo(1)"), 1, 44, "unknown function 'foo'"),
    .init(when("__cedar::decimal(\"1.0\")"), 1, 44, "expected an expression but found reserved word '__cedar'"),
    .init(when("principal.foo(1)"), 1, 54, "unknown method 'foo'"),
    .init(when("principal.contains(1, 2)"), 1, 54, "'contains' takes exactly 1 argument but was given 2"),
    .init(when("principal.containsAll()"), 1, 54, "'containsAll' takes exactly 1 argument but was given 0"),
    .init(when("principal.isEmpty(1)"), 1, 54, "'isEmpty' takes no arguments but was given 1"),
    .init(when("lessThan(1, 2)"), 1, 44, "'lessThan' is a method, not a function: write e.lessThan(...)"),
    .init(when("1.ip()"), 1, 46, "'ip' is a function, not a method: write ip(...)"),
    .init(when("decimal(\"1\", )"), 1, 57, "expected an expression but found ')'"),
    .init(when("decimal(\"1\" \"2\")"), 1, 56, "expected ',' or ')' but found string literal \"2\""),
    .init(when("if true then 1"), 1, 59, "expected 'else' but found '}'"),
    .init(when("if true else 1"), 1, 52, "expected 'then' but found 'else'"),
    .init(when("1 + if true then 1 else 2"), 1, 48, "expected an expression but found reserved word 'if'"),
    .init(when("principal has if"), 1, 58, "expected an attribute name but found reserved word 'if'"),
    .init(when("principal has a."), 1, 61, "expected an attribute name but found '}'"),
    .init(when("principal has 1"), 1, 58, "expected an attribute name but found '1'"),
    .init(when("principal.if"), 1, 54, "expected an attribute or method name but found reserved word 'if'"),
    .init(when("principal like 1"), 1, 59, "expected a pattern string but found '1'"),
    .init(when("principal is 1"), 1, 57, "expected an entity type but found '1'"),
    .init(when("principal is User in"), 1, 65, "expected an expression but found '}'"),
    .init(when("x"), 1, 44, "unknown variable 'x'; expected an expression"),
    .init(when("User::if"), 1, 50, "expected an identifier or a string literal but found reserved word 'if'"),
    .init(when("A::B"), 1, 49, "expected '::' and an entity id string or '(' but found '}'"),
    .init(when("principal = 1"), 1, 54, "unexpected '='; did you mean '=='?"),
    .init(when("principal & action"), 1, 54, "unexpected '&'; did you mean '&&'?"),
    .init(when("principal | action"), 1, 54, "unexpected '|'; did you mean '||'?"),
    .init(when("principal[1]"), 1, 54, "expected a string literal attribute name but found '1'"),
    .init(when("principal[\"a\""), 1, 58, "expected ']' but found '}'"),
    .init(when("[1, 2"), 1, 50, "expected ',' or ']' but found '}'"),
    .init(when("[1,]"), 1, 47, "expected an expression but found ']'"),
    .init(when("\"é\" == é"), 1, 51, "unexpected character 'é'"),
    .init(when("1 \u{1} 2"), 1, 46, "unexpected character U+1"),
    .init(when("?principal"), 1, 44, "templates are not supported: found a slot '?principal'"),
    .init(when(""), 1, 45, "expected an expression but found '}'"),
    .init(when("1 +"), 1, 48, "expected an expression but found '}'"),
    .init(when("1 2"), 1, 46, "expected '}' but found '2'"),
    .init("permit(principal, action, resource) when { true } when;", 1, 55, "expected '{' but found ';'"),
    .init("permit(principal, action, resource) where { true };", 1, 37, "expected 'when', 'unless' or ';' but found 'where'"),
    .init(
        "permit(principal, action, resource);\nforbid(principal, action, resource)\n", 3, 1,
        "expected 'when', 'unless' or ';' but found end of input"),
    .init("permit(principal, action, resource);\n\n  \u{e9}", 3, 3, "unexpected character 'é'"),
    .init("permit(principal,\n\t\u{e9}\u{e9}action, resource);", 2, 2, "unexpected character 'é'"),
    .init(
        "permit(principal, action, resource) when { \"\u{e9}\u{e9}\\u{D800}\" };", 1, 47,
        "invalid escape '\\u': not a Unicode scalar value"),
    .init("permit(principal, action, resource) when { \"line\none\\!\" };", 2, 4, "invalid escape '\\!'"),
]

@Test("malformed inputs: exact positions and messages", arguments: malformed)
func malformedInputs(_ c: Malformed) {
    do {
        let policies = try parsePolicies(c.source)
        Issue.record("expected an error, parsed \(policies.count) policies")
    } catch {
        #expect("\(error.position.line):\(error.position.column) \(error.message)" == "\(c.line):\(c.column) \(c.message)")
        // The offset agrees with the line and column.
        let bytes = Array(c.source.utf8)
        var line = 1
        var column = 1
        for b in bytes[0..<min(error.position.offset, bytes.count)] {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        #expect(line == error.position.line && column == error.position.column)
    }
}

// MARK: - Hostile nesting

/// A hostile input, named so that test output stays short.
struct Bomb: Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    init(_ name: String, _ source: String) {
        self.name = name
        self.source = source
    }
    var testDescription: String { "\(name) (\(source.utf8.count) bytes)" }
}

@Test(
    "depth bombs are errors, not crashes",
    arguments: [
        Bomb("parentheses", String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)),
        Bomb("sets", String(repeating: "[", count: 100_000)),
        Bomb("records", String(repeating: "{a:", count: 100_000)),
        Bomb("if", String(repeating: "if ", count: 100_000)),
        Bomb("not", String(repeating: "!", count: 100_000) + "true"),
        Bomb("negate", String(repeating: "-", count: 100_000) + "1"),
        Bomb("attributes", "principal" + String(repeating: ".a", count: 100_000)),
        Bomb("indexing", "principal" + String(repeating: "[\"a\"]", count: 100_000)),
        Bomb("sum", "1" + String(repeating: " + 1", count: 100_000)),
        Bomb("conjunction", "true" + String(repeating: " && true", count: 100_000)),
        Bomb("dotted has", "principal has a" + String(repeating: ".a", count: 100_000)),
        Bomb("function calls", String(repeating: "decimal(", count: 100_000)),
        Bomb("method arguments", String(repeating: "[1].contains(", count: 100_000)),
        Bomb("extension methods", String(repeating: "ip(\"1\").isInRange(", count: 50_000)),
    ])
func depthBomb(_ bomb: Bomb) {
    do {
        _ = try parsePolicies(when(bomb.source))
        Issue.record("a bomb parsed")
    } catch {
        #expect(
            error.message.contains("too deeply nested") || error.message.contains("too many unary operators"),
            "\(error)")
    }
}

@Test func reasonableNestingParses() throws {
    let depth = 150
    let nested = String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
    #expect(try parseExpression(nested) == int(1))
    let sets = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    var expected = Expr.set([])
    for _ in 1..<depth { expected = .set([expected]) }
    #expect(try parseExpression(sets) == expected)
    let chain = (0..<500).map { _ in "true" }.joined(separator: " && ")
    _ = try parseExpression(chain)
}
