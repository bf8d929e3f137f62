import Testing

@testable import Cedar

@Suite("Evaluator")
struct EvaluatorTests {
    typealias F = Fixture

    // MARK: Literals, variables, collections

    @Test func literalsAndVariables() {
        #expect(value(long(5)) == .long(5))
        #expect(value(.variable(.principal)) == .entity(F.alice))
        #expect(value(.variable(.action)) == .entity(F.view))
        #expect(value(.variable(.resource)) == .entity(F.doc))
        #expect(value(.variable(.context)) == .record(F.request.context))
    }

    @Test func setAndRecordLiterals() {
        #expect(value(.set([long(1), long(2), long(1)])) == .set([.long(1), .long(2)]))
        #expect(value(.set([])) == .set([]))
        #expect(
            value(.record([RecordEntry(key: "a", value: long(1)), RecordEntry(key: "b", value: str("x"))]))
                == .record(["a": .long(1), "b": .string("x")]))
        #expect(errorKind(.set([long(1), failing])) == .entity)
        #expect(errorKind(.record([RecordEntry(key: "a", value: failing)])) == .entity)
    }

    // MARK: Boolean operators

    @Test func andOrShortCircuit() {
        #expect(value(.and(bool(false), failing)) == .bool(false))
        #expect(value(.or(bool(true), failing)) == .bool(true))
        #expect(value(.and(bool(false), long(1))) == .bool(false))  // second operand's type unchecked
        #expect(value(.or(bool(true), long(1))) == .bool(true))
        #expect(value(.and(bool(true), bool(false))) == .bool(false))
        #expect(value(.or(bool(false), bool(true))) == .bool(true))
        #expect(errorKind(.and(bool(true), failing)) == .entity)
        #expect(errorKind(.or(bool(false), failing)) == .entity)
        #expect(errorKind(.and(bool(true), long(1))) == .type)
        #expect(errorKind(.or(bool(false), str("x"))) == .type)
        #expect(errorKind(.and(long(1), bool(true))) == .type)
        #expect(errorKind(.or(long(0), bool(true))) == .type)
    }

    @Test func ifThenElse() {
        #expect(value(.ifThenElse(bool(true), long(1), failing)) == .long(1))
        #expect(value(.ifThenElse(bool(false), failing, long(2))) == .long(2))
        #expect(errorKind(.ifThenElse(long(1), long(1), long(2))) == .type)
        #expect(errorKind(.ifThenElse(failing, long(1), long(2))) == .entity)
    }

    @Test func not() {
        #expect(value(.unary(.not, bool(true))) == .bool(false))
        #expect(errorKind(.unary(.not, long(1))) == .type)
    }

    // MARK: Equality

    @Test func equalityNeverErrs() {
        #expect(value(bin(.equal, long(1), long(1))) == .bool(true))
        #expect(value(bin(.equal, long(1), str("1"))) == .bool(false))
        #expect(value(bin(.notEqual, long(1), str("1"))) == .bool(true))
        #expect(value(bin(.equal, uid(F.alice), uid(F.alice))) == .bool(true))
        #expect(value(bin(.equal, uid(F.alice), uid(F.bob))) == .bool(false))
        #expect(value(bin(.equal, uid(F.alice), str("alice"))) == .bool(false))
        #expect(value(bin(.equal, .set([long(1), long(2)]), .set([long(2), long(1)]))) == .bool(true))
        #expect(value(bin(.equal, .set([long(1)]), .set([long(1), long(2)]))) == .bool(false))
        let r1: Expr = .record([RecordEntry(key: "a", value: long(1)), RecordEntry(key: "b", value: .set([]))])
        let r2: Expr = .record([RecordEntry(key: "b", value: .set([])), RecordEntry(key: "a", value: long(1))])
        #expect(value(bin(.equal, r1, r2)) == .bool(true))
        #expect(value(bin(.equal, r1, .record([RecordEntry(key: "a", value: long(1))]))) == .bool(false))
        #expect(value(bin(.equal, ext("decimal", "1.0"), ext("decimal", "1.0000"))) == .bool(true))
        #expect(value(bin(.equal, ext("ip", "10.0.0.1"), ext("ip", "10.0.0.1/32"))) == .bool(true))
        #expect(value(bin(.equal, ext("ip", "10.0.0.1/24"), ext("ip", "10.0.0.0/24"))) == .bool(false))
        #expect(value(bin(.equal, ext("datetime", "1970-01-01"), ext("duration", "0ms"))) == .bool(false))
        #expect(value(bin(.equal, bool(true), long(1))) == .bool(false))
        #expect(errorKind(bin(.equal, failing, long(1))) == .entity)
    }

    @Test func stringEqualityIsByScalars() {
        // Cedar compares strings by code points, not by canonical equivalence.
        #expect(value(bin(.equal, str("\u{E9}"), str("e\u{301}"))) == .bool(false))
        #expect(value(bin(.equal, str("é"), str("é"))) == .bool(true))
    }

    // MARK: Comparison and arithmetic

    @Test(arguments: [
        (BinaryOperator.less, Int64(1), Int64(2), true), (.less, 2, 2, false),
        (.lessOrEqual, 2, 2, true), (.lessOrEqual, 3, 2, false),
        (.greater, 3, 2, true), (.greater, 2, 2, false),
        (.greaterOrEqual, 2, 2, true), (.greaterOrEqual, 1, 2, false),
        (.less, Int64.min, Int64.max, true),
    ])
    func longComparison(op: BinaryOperator, a: Int64, b: Int64, expected: Bool) {
        #expect(value(bin(op, long(a), long(b))) == .bool(expected))
    }

    @Test func comparisonOnDatetimeAndDuration() {
        #expect(value(bin(.less, ext("datetime", "2024-01-01"), ext("datetime", "2024-01-02"))) == .bool(true))
        #expect(value(bin(.greaterOrEqual, ext("datetime", "2024-01-01"), ext("datetime", "2024-01-02"))) == .bool(false))
        #expect(value(bin(.lessOrEqual, ext("duration", "1h"), ext("duration", "60m"))) == .bool(true))
        #expect(value(bin(.greater, ext("duration", "1h"), ext("duration", "-1d"))) == .bool(true))
    }

    @Test(arguments: [BinaryOperator.less, .lessOrEqual, .greater, .greaterOrEqual])
    func comparisonTypeErrors(op: BinaryOperator) {
        #expect(errorKind(bin(op, long(1), str("2"))) == .type)
        #expect(errorKind(bin(op, str("a"), str("b"))) == .type)
        #expect(errorKind(bin(op, ext("decimal", "1.0"), ext("decimal", "2.0"))) == .type)
        #expect(errorKind(bin(op, ext("datetime", "2024-01-01"), ext("duration", "1d"))) == .type)
        #expect(errorKind(bin(op, ext("duration", "1d"), long(1))) == .type)
        #expect(errorKind(bin(op, ext("ip", "::1"), ext("ip", "::1"))) == .type)
    }

    @Test(arguments: [
        (BinaryOperator.add, Int64(2), Int64(3), Int64?.some(5)),
        (.add, Int64.max, 1, nil), (.add, Int64.min, -1, nil), (.add, Int64.max, Int64.min, -1),
        (.subtract, 2, 3, -1), (.subtract, Int64.min, 1, nil), (.subtract, 0, Int64.min, nil),
        (.subtract, -1, Int64.max, Int64.min),
        (.multiply, 6, 7, 42), (.multiply, Int64.max, 2, nil), (.multiply, Int64.min, -1, nil),
        (.multiply, Int64.min, 1, Int64.min), (.multiply, 4_294_967_296, 4_294_967_296, nil),
    ])
    func arithmetic(op: BinaryOperator, a: Int64, b: Int64, expected: Int64?) {
        let result = evaluate(bin(op, long(a), long(b)))
        if let expected {
            #expect(result == .success(.long(expected)))
        } else {
            #expect(result == .failure(.integerOverflow))
        }
    }

    @Test func arithmeticTypeErrors() {
        #expect(errorKind(bin(.add, long(1), str("1"))) == .type)
        #expect(errorKind(bin(.multiply, bool(true), long(1))) == .type)
        #expect(errorKind(bin(.subtract, ext("decimal", "1.0"), ext("decimal", "1.0"))) == .type)
    }

    @Test func negation() {
        #expect(value(.unary(.negate, long(5))) == .long(-5))
        #expect(value(.unary(.negate, long(Int64.max))) == .long(-Int64.max))
        #expect(evaluate(.unary(.negate, long(Int64.min))) == .failure(.integerOverflow))
        #expect(errorKind(.unary(.negate, str("1"))) == .type)
    }

    // MARK: Hierarchy

    @Test func inEntity() {
        #expect(value(bin(.in, uid(F.alice), uid(F.alice))) == .bool(true))  // reflexive
        #expect(value(bin(.in, uid(F.alice), uid(F.admins))) == .bool(true))
        #expect(value(bin(.in, uid(F.alice), uid(F.staff))) == .bool(true))  // transitive
        #expect(value(bin(.in, uid(F.alice), uid(F.everyone))) == .bool(true))  // through a non-entity ancestor
        #expect(value(bin(.in, uid(F.bob), uid(F.admins))) == .bool(false))
        #expect(value(bin(.in, uid(F.staff), uid(F.alice))) == .bool(false))
        #expect(value(bin(.in, uid(F.ghost), uid(F.ghost))) == .bool(true))  // missing entity: only itself
        #expect(value(bin(.in, uid(F.ghost), uid(F.admins))) == .bool(false))
    }

    @Test func inSet() {
        #expect(value(bin(.in, uid(F.alice), .set([uid(F.bob), uid(F.staff)]))) == .bool(true))
        #expect(value(bin(.in, uid(F.alice), .set([uid(F.bob)]))) == .bool(false))
        #expect(value(bin(.in, uid(F.alice), .set([]))) == .bool(false))
        // Every element must be an entity, even when another already matched.
        #expect(errorKind(bin(.in, uid(F.alice), .set([uid(F.alice), long(1)]))) == .type)
        #expect(errorKind(bin(.in, uid(F.alice), .set([str("Group::\"admins\"")]))) == .type)
    }

    @Test func inTypeErrors() {
        #expect(errorKind(bin(.in, str("alice"), uid(F.admins))) == .type)
        #expect(errorKind(bin(.in, uid(F.alice), str("admins"))) == .type)
        #expect(errorKind(bin(.in, .set([uid(F.alice)]), .set([uid(F.admins)]))) == .type)
    }

    @Test func isType() {
        #expect(value(.isType(uid(F.alice), "User")) == .bool(true))
        #expect(value(.isType(uid(F.alice), "Group")) == .bool(false))
        #expect(value(.isType(uid(F.ghost), "User")) == .bool(true))
        #expect(errorKind(.isType(str("User"), "User")) == .type)
        // `is T in e` arrives as `is T && in e`.
        let isIn: Expr = .and(.isType(uid(F.alice), "User"), bin(.in, uid(F.alice), uid(F.staff)))
        #expect(value(isIn) == .bool(true))
    }

    // MARK: Attributes

    @Test func attributeAccess() {
        #expect(value(.getAttribute(uid(F.alice), "name")) == .string("Alice"))
        #expect(value(.getAttribute(.getAttribute(uid(F.alice), "address"), "city")) == .string("Oslo"))
        #expect(value(.getAttribute(.getAttribute(.variable(.resource), "owner"), "age")) == .long(30))
        #expect(value(.getAttribute(.variable(.context), "n")) == .long(7))
        #expect(evaluate(.getAttribute(uid(F.alice), "salary")) == .failure(.attributeDoesNotExist("salary")))
        #expect(evaluate(.getAttribute(uid(F.ghost), "name")) == .failure(.entityDoesNotExist(F.ghost)))
        #expect(evaluate(.getAttribute(.variable(.context), "missing")) == .failure(.attributeDoesNotExist("missing")))
        #expect(errorKind(.getAttribute(long(1), "a")) == .type)
        #expect(errorKind(.getAttribute(.set([]), "a")) == .type)
        // An entity in the store but an ancestor-only entity is not: attribute access fails.
        #expect(errorKind(.getAttribute(uid(F.everyone), "a")) == .entity)
    }

    @Test func hasAttribute() {
        #expect(value(.hasAttribute(uid(F.alice), "name")) == .bool(true))
        #expect(value(.hasAttribute(uid(F.alice), "salary")) == .bool(false))
        #expect(value(.hasAttribute(uid(F.ghost), "name")) == .bool(false))  // missing entity: false, no error
        #expect(value(.hasAttribute(.variable(.context), "flag")) == .bool(true))
        #expect(value(.hasAttribute(.variable(.context), "nope")) == .bool(false))
        #expect(errorKind(.hasAttribute(str("x"), "a")) == .type)
        #expect(errorKind(.hasAttribute(failing, "a")) == .entity)
        // `has a.b` arrives desugared; the guard protects the access.
        let guarded: Expr = .and(
            .hasAttribute(uid(F.alice), "address"),
            .hasAttribute(.getAttribute(uid(F.alice), "address"), "city"))
        #expect(value(guarded) == .bool(true))
        let guardedMissing: Expr = .and(
            .hasAttribute(uid(F.bob), "address"),
            .hasAttribute(.getAttribute(uid(F.bob), "address"), "city"))
        #expect(value(guardedMissing) == .bool(false))
    }

    // MARK: like

    @Test(arguments: [
        ("", "", true), ("a", "", false), ("a", "a", true), ("", "*", true), ("a", "*", true),
        ("abababa", "abababa", true), ("abababa", "*", true), ("abababa", "*aba", true),
        ("abababa", "aba*", true), ("abababa", "*aba*", true), ("abababa", "a*", true),
        ("abababa", "a*b", false), ("abababa", "*a**b**b*", true), ("abababa", "*a**b**b", false),
        ("hello world", "hello*", true), ("hello world", "*world", true), ("hello world", "*o w*", true),
        ("hello", "h*l*o", true), ("hello", "h*x*o", false), ("hello", "hello*", true), ("hello", "hell", false),
        ("héllo 🎉", "h?llo*", false), ("héllo 🎉", "h*🎉", true), ("héllo 🎉", "hé*", true),
        ("aaa", "a*a*a", true), ("aa", "a*a*a", false), ("ab", "a**", true), ("mississippi", "*iss*ppi", true),
    ])
    func like(text: String, patternText: String, expected: Bool) {
        #expect(value(.like(str(text), pattern(patternText))) == .bool(expected))
        #expect(Evaluator.wildcardMatch(text, pattern(patternText)) == expected)
    }

    @Test func likeEscapedStarIsLiteral() {
        // `\*` in the source arrives as a literal `*` scalar.
        let literalStar: [PatternElement] = [.literal("a"), .literal("*"), .literal("b")]
        #expect(value(.like(str("a*b"), literalStar)) == .bool(true))
        #expect(value(.like(str("axb"), literalStar)) == .bool(false))
        let mixed: [PatternElement] = [.wildcard, .literal("*"), .wildcard]
        #expect(value(.like(str("no star"), mixed)) == .bool(false))
        #expect(value(.like(str("a * b"), mixed)) == .bool(true))
    }

    @Test func likeComparesScalarsNotGraphemes() {
        // "e" + combining acute is two scalars; a single-scalar pattern "é" does not match it.
        #expect(value(.like(str("e\u{301}"), [.literal("\u{E9}")])) == .bool(false))
        #expect(value(.like(str("e\u{301}"), [.literal("e"), .wildcard])) == .bool(true))
    }

    @Test func likePathologicalIsFast() {
        let text = String(repeating: "f", count: 20_000)
        let p: [PatternElement] = [.wildcard, .wildcard, .wildcard, .literal("\\"), .literal("0"), .wildcard, .literal("x")]
        #expect(value(.like(str(text), p)) == .bool(false))
        let p2: [PatternElement] = Array(repeating: [PatternElement.wildcard, .literal("f")], count: 50).flatMap { $0 } + [.literal("g")]
        #expect(value(.like(str(text), p2)) == .bool(false))
    }

    @Test func likeTypeError() {
        #expect(errorKind(.like(long(1), pattern("*"))) == .type)
        #expect(errorKind(.like(uid(F.alice), pattern("*"))) == .type)
    }

    // MARK: Sets

    @Test func contains() {
        let s: Expr = .set([long(1), str("a"), uid(F.alice)])
        #expect(value(bin(.contains, s, long(1))) == .bool(true))
        #expect(value(bin(.contains, s, uid(F.alice))) == .bool(true))
        #expect(value(bin(.contains, s, long(2))) == .bool(false))
        #expect(value(bin(.contains, s, .set([]))) == .bool(false))
        #expect(errorKind(bin(.contains, long(1), long(1))) == .type)
        #expect(errorKind(bin(.contains, str("abc"), str("a"))) == .type)
    }

    @Test func containsAllAndAny() {
        let s: Expr = .set([long(1), long(2), long(3)])
        #expect(value(bin(.containsAll, s, .set([long(1), long(3)]))) == .bool(true))
        #expect(value(bin(.containsAll, s, .set([long(1), long(4)]))) == .bool(false))
        #expect(value(bin(.containsAll, s, .set([]))) == .bool(true))
        #expect(value(bin(.containsAny, s, .set([long(4), long(3)]))) == .bool(true))
        #expect(value(bin(.containsAny, s, .set([long(4)]))) == .bool(false))
        #expect(value(bin(.containsAny, s, .set([]))) == .bool(false))
        #expect(value(bin(.containsAny, .set([]), .set([]))) == .bool(false))
        #expect(errorKind(bin(.containsAll, s, long(1))) == .type)
        #expect(errorKind(bin(.containsAny, s, long(1))) == .type)
        #expect(errorKind(bin(.containsAll, long(1), s)) == .type)
        #expect(errorKind(bin(.containsAny, .record([]), s)) == .type)
    }

    @Test func isEmpty() {
        #expect(value(.unary(.isEmpty, .set([]))) == .bool(true))
        #expect(value(.unary(.isEmpty, .set([long(1)]))) == .bool(false))
        #expect(errorKind(.unary(.isEmpty, str(""))) == .type)
        #expect(errorKind(.unary(.isEmpty, .record([]))) == .type)
    }

    // MARK: Tags

    @Test func tags() {
        #expect(value(bin(.hasTag, uid(F.alice), str("team"))) == .bool(true))
        #expect(value(bin(.hasTag, uid(F.alice), str("name"))) == .bool(false))  // attributes are not tags
        #expect(value(bin(.hasTag, uid(F.ghost), str("team"))) == .bool(false))  // missing entity: false
        #expect(value(bin(.getTag, uid(F.alice), str("team"))) == .string("red"))
        #expect(value(bin(.getTag, uid(F.alice), str("level"))) == .long(3))
        #expect(evaluate(bin(.getTag, uid(F.alice), str("nope"))) == .failure(.tagDoesNotExist("nope")))
        #expect(evaluate(bin(.getTag, uid(F.ghost), str("team"))) == .failure(.entityDoesNotExist(F.ghost)))
        #expect(errorKind(bin(.hasTag, uid(F.alice), long(1))) == .type)
        #expect(errorKind(bin(.getTag, str("alice"), str("team"))) == .type)
        #expect(errorKind(bin(.hasTag, .record([]), str("team"))) == .type)
    }

    // MARK: Extension calls through the evaluator

    @Test func extensionCalls() {
        #expect(value(.call("lessThan", [ext("decimal", "1.5"), ext("decimal", "2.25")])) == .bool(true))
        #expect(value(.call("isInRange", [ext("ip", "10.0.0.1"), ext("ip", "10.0.0.0/8")])) == .bool(true))
        #expect(value(.call("toDays", [ext("duration", "2d12h")])) == .long(2))
        #expect(errorKind(ext("decimal", "1.23456")) == .extensionError)
        #expect(errorKind(.call("decimal", [long(1)])) == .type)
        #expect(errorKind(.call("decimal", [failing])) == .entity)
        #expect(errorKind(.call("isIpv4", [ext("decimal", "1.0")])) == .type)
    }
}
