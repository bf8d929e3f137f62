// The Cedar policy parser: recursive descent over the tokens of `Lexer`, following the grammar at
// docs.cedarpolicy.com/policies/syntax-grammar.html, producing the AST of `AST.swift` directly.

/// A syntax error: where, and what was expected.
public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The first character of the offending token (1-based line and column, columns counting
    /// Unicode scalars; `offset` is the UTF-8 byte offset).
    public var position: SourcePosition
    /// What was expected and what was found, e.g. `expected ')' but found '{'`.
    public var message: String

    public init(position: SourcePosition, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { "\(position): \(message)" }
}

/// Parses a policy set; ids are `policy0`, `policy1`, ... in file order.
///
/// Templates (slots such as `?principal`) are rejected. Throws the first syntax error in reading order.
public func parsePolicies(_ text: String) throws(ParseError) -> [Policy] {
    var parser = Parser(text)
    return try parser.policies()
}

/// Parses an entity reference such as `User::"alice"` or `A::B::"x"`; the whole text (apart from
/// white space and comments) must be that one entity literal.
public func parseEntityUID(_ text: String) throws(ParseError) -> EntityUID {
    var parser = Parser(text)
    let uid = try parser.entityLiteral(what: "an entity literal such as User::\"alice\"")
    try parser.expectEnd()
    return uid
}

/// Parses one Cedar expression, e.g. `principal.age >= 18 && context has ip`; the whole text must be
/// that one expression.
public func parseExpression(_ text: String) throws(ParseError) -> Expr {
    var parser = Parser(text)
    let node = try parser.expression()
    try parser.expectEnd()
    return node.expr
}

/// An expression with the height of its tree (to bound the depth of what the evaluator recurses on).
struct Node {
    var expr: Expr
    var height: Int
}

struct Parser {
    /// The most nested brackets, parentheses, braces and `if`s accepted.
    static let maxNesting = 200
    /// The tallest expression tree accepted (long `&&` chains, repeated `!`, member chains, ...).
    static let maxHeight = 1000

    static let reserved: Set<String> = ["true", "false", "if", "then", "else", "in", "like", "has", "is", "__cedar"]
    static let variables: [String: Variable] = [
        "principal": .principal, "action": .action, "resource": .resource, "context": .context,
    ]
    static let extensionFunctions: Set<String> = ["decimal", "ip", "datetime", "duration"]
    static let binaryMethods: [String: BinaryOperator] = [
        "contains": .contains, "containsAll": .containsAll, "containsAny": .containsAny,
        "getTag": .getTag, "hasTag": .hasTag,
    ]
    static let extensionMethods: Set<String> = [
        "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual",
        "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange",
        "offset", "durationSince", "toDate", "toTime",
        "toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds",
    ]

    let bytes: [UInt8]
    let tokens: [Token]
    var index = 0
    var nesting = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
        tokens = Lexer.tokenize(bytes)
    }

    // MARK: Tokens

    var current: Token { tokens[index] }

    func peek(_ ahead: Int) -> Token { tokens[min(index + ahead, tokens.count - 1)] }

    mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    /// How a token is shown in messages.
    func describe(_ token: Token) -> String {
        switch token.kind {
        case .endOfInput: return "end of input"
        case .string:
            let raw = String(decoding: bytes[token.start..<token.end], as: UTF8.self)
            return "string literal \(raw.count > 24 ? String(raw.prefix(20)) + "...\"" : raw)"
        case .integer, .identifier, .punct:
            let raw = String(decoding: bytes[token.start..<token.end], as: UTF8.self)
            return "'\(raw.count > 24 ? String(raw.prefix(20)) + "..." : raw)'"
        case .error: return token.text
        }
    }

    /// An error at `token`: a lexical error token reports its own message.
    func error(_ message: String, at token: Token) -> ParseError {
        if token.kind == .error { return ParseError(position: token.position, message: token.text) }
        return ParseError(position: token.position, message: message)
    }

    func expected(_ what: String) -> ParseError {
        error("expected \(what) but found \(describe(current))", at: current)
    }

    mutating func expect(_ p: Punct) throws(ParseError) {
        guard current.isPunct(p) else { throw expected("'\(p.spelling)'") }
        advance()
    }

    mutating func expectKeyword(_ word: String) throws(ParseError) {
        guard current.isIdentifier(word) else { throw expected("'\(word)'") }
        advance()
    }

    mutating func expectEnd() throws(ParseError) {
        guard current.kind == .endOfInput else { throw expected("end of input") }
    }

    /// A non-reserved identifier, returned as text.
    mutating func identifier(what: String = "an identifier") throws(ParseError) -> String {
        guard current.kind == .identifier else { throw expected(what) }
        let text = current.text
        guard !Self.reserved.contains(text) else {
            throw error("expected \(what) but found reserved word '\(text)'", at: current)
        }
        advance()
        return text
    }

    /// Position of a byte offset inside the token `token` (for errors inside string literals).
    func position(ofOffset offset: Int, in token: Token) -> SourcePosition {
        var line = token.position.line
        var column = token.position.column
        var i = token.start
        while i < offset && i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if bytes[i] & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return SourcePosition(line: line, column: column, offset: offset)
    }

    /// The current string literal token decoded (as a string or a `like` pattern); advances past it.
    mutating func stringBody(pattern: Bool) throws(ParseError) -> [StringBody.Element] {
        let token = current
        guard token.kind == .string else { throw expected(pattern ? "a pattern string" : "a string literal") }
        do {
            let body = try StringBody.decode(bytes, from: token.start + 1, to: token.end - 1, pattern: pattern)
            advance()
            return body
        } catch {
            throw ParseError(position: position(ofOffset: error.offset, in: token), message: error.message)
        }
    }

    mutating func string(what: String = "a string literal") throws(ParseError) -> String {
        guard current.kind == .string else { throw expected(what) }
        var out = String.UnicodeScalarView()
        for element in try stringBody(pattern: false) {
            if case .scalar(let s) = element { out.append(s) }
        }
        return String(out)
    }

    // MARK: Policies

    mutating func policies() throws(ParseError) -> [Policy] {
        var result: [Policy] = []
        while current.kind != .endOfInput {
            result.append(try policy(id: "policy\(result.count)"))
        }
        return result
    }

    mutating func policy(id: String) throws(ParseError) -> Policy {
        let start = current.position
        var annotations: [Annotation] = []
        while current.isPunct(.at) {
            advance()
            guard current.kind == .identifier else { throw expected("an annotation name") }
            let nameToken = current
            advance()
            if annotations.contains(where: { $0.name == nameToken.text }) {
                throw error("duplicate annotation '@\(nameToken.text)'", at: nameToken)
            }
            var value: String? = nil
            if current.isPunct(.leftParen) {
                advance()
                value = try string()
                try expect(.rightParen)
            }
            annotations.append(Annotation(name: nameToken.text, value: value))
        }
        let effect: Effect
        if current.isIdentifier("permit") {
            effect = .permit
        } else if current.isIdentifier("forbid") {
            effect = .forbid
        } else {
            throw expected(annotations.isEmpty ? "'permit', 'forbid' or '@'" : "'permit', 'forbid' or '@'")
        }
        advance()
        try expect(.leftParen)
        let principal = try scope(variable: "principal")
        try expect(.comma)
        let action = try actionScope()
        try expect(.comma)
        let resource = try scope(variable: "resource")
        try expect(.rightParen)
        var conditions: [Condition] = []
        while true {
            let kind: Condition.Kind
            if current.isIdentifier("when") {
                kind = .when
            } else if current.isIdentifier("unless") {
                kind = .unless
            } else {
                break
            }
            advance()
            try expect(.leftBrace)
            let body = try expression()
            try expect(.rightBrace)
            conditions.append(Condition(kind: kind, body: body.expr))
        }
        guard current.isPunct(.semicolon) else { throw expected("'when', 'unless' or ';'") }
        advance()
        return Policy(
            id: id, effect: effect, annotations: annotations, principal: principal, action: action,
            resource: resource, conditions: conditions, position: start)
    }

    mutating func rejectSlot() throws(ParseError) {
        if current.isPunct(.question) {
            throw error(
                "templates are not supported: found a slot '?\(peek(1).kind == .identifier ? peek(1).text : "")'",
                at: current)
        }
    }

    /// `principal` or `resource` with its optional constraint.
    mutating func scope(variable: String) throws(ParseError) -> ScopeConstraint {
        try expectKeyword(variable)
        if current.isPunct(.equal) {
            advance()
            try rejectSlot()
            return .equal(try entityLiteral())
        }
        if current.isIdentifier("in") {
            advance()
            try rejectSlot()
            return .in(try entityLiteral())
        }
        if current.isIdentifier("is") {
            advance()
            let type = try path(what: "an entity type")
            if current.isIdentifier("in") {
                advance()
                try rejectSlot()
                return .isIn(type, try entityLiteral())
            }
            guard current.isPunct(variable == "principal" ? .comma : .rightParen) else {
                throw expected(variable == "principal" ? "'in' or ','" : "'in' or ')'")
            }
            return .is(type)
        }
        guard current.isPunct(variable == "principal" ? .comma : .rightParen) else {
            throw expected(variable == "principal" ? "'==', 'in', 'is' or ','" : "'==', 'in', 'is' or ')'")
        }
        return .any
    }

    mutating func actionScope() throws(ParseError) -> ActionConstraint {
        try expectKeyword("action")
        if current.isPunct(.equal) {
            advance()
            return .equal(try actionEntity())
        }
        if current.isIdentifier("in") {
            advance()
            if current.isPunct(.leftBracket) {
                advance()
                var list: [EntityUID] = []
                if !current.isPunct(.rightBracket) {
                    list.append(try actionEntity())
                    while current.isPunct(.comma) {
                        advance()
                        list.append(try actionEntity())
                    }
                }
                try expect(.rightBracket)
                return .inSet(list)
            }
            return .in(try actionEntity())
        }
        if current.isIdentifier("is") {
            throw error("'is' is not allowed in the action scope", at: current)
        }
        guard current.isPunct(.comma) else { throw expected("'==', 'in' or ','") }
        return .any
    }

    /// An entity literal in the action scope: its type must be `Action` or `Namespace::Action`.
    mutating func actionEntity() throws(ParseError) -> EntityUID {
        let token = current
        try rejectSlot()
        let uid = try entityLiteral()
        guard uid.type == "Action" || uid.type.hasSuffix("::Action") else {
            throw error("expected an action entity of type 'Action' but found type '\(uid.type)'", at: token)
        }
        return uid
    }

    /// `Path :: STR`.
    mutating func entityLiteral(what: String = "an entity literal") throws(ParseError) -> EntityUID {
        guard current.kind == .identifier else { throw expected(what) }
        var components: [String] = [try identifier(what: what)]
        while true {
            try expect(.doubleColon)
            if current.kind == .string {
                return EntityUID(type: components.joined(separator: "::"), id: try string())
            }
            components.append(try identifier(what: "an identifier or a string literal"))
        }
    }

    /// `IDENT {:: IDENT}`, e.g. an entity type after `is`.
    mutating func path(what: String) throws(ParseError) -> EntityType {
        var components: [String] = [try identifier(what: what)]
        while current.isPunct(.doubleColon) && peek(1).kind == .identifier {
            advance()
            components.append(try identifier())
        }
        return components.joined(separator: "::")
    }

    // MARK: Expressions

    func node(_ expr: Expr, _ children: Node..., at token: Token) throws(ParseError) -> Node {
        var height = 0
        for child in children { height = max(height, child.height) }
        height += 1
        guard height <= Self.maxHeight else {
            throw error("expression is too deeply nested (more than \(Self.maxHeight) levels)", at: token)
        }
        return Node(expr: expr, height: height)
    }

    mutating func enter() throws(ParseError) {
        nesting += 1
        guard nesting <= Self.maxNesting else {
            throw error("expression is too deeply nested (more than \(Self.maxNesting) levels)", at: current)
        }
    }

    /// `Expr ::= Or | 'if' Expr 'then' Expr 'else' Expr`
    mutating func expression() throws(ParseError) -> Node {
        try enter()
        defer { nesting -= 1 }
        if current.isIdentifier("if") {
            let token = current
            advance()
            let condition = try expression()
            try expectKeyword("then")
            let then = try expression()
            try expectKeyword("else")
            let otherwise = try expression()
            return try node(.ifThenElse(condition.expr, then.expr, otherwise.expr), condition, then, otherwise, at: token)
        }
        return try or()
    }

    mutating func or() throws(ParseError) -> Node {
        var lhs = try and()
        while current.isPunct(.or) {
            let token = current
            advance()
            let rhs = try and()
            lhs = try node(.or(lhs.expr, rhs.expr), lhs, rhs, at: token)
        }
        return lhs
    }

    mutating func and() throws(ParseError) -> Node {
        var lhs = try relation()
        while current.isPunct(.and) {
            let token = current
            advance()
            let rhs = try relation()
            lhs = try node(.and(lhs.expr, rhs.expr), lhs, rhs, at: token)
        }
        return lhs
    }

    func relationalOperator(_ token: Token) -> BinaryOperator? {
        switch token.kind {
        case .punct(.equal): .equal
        case .punct(.notEqual): .notEqual
        case .punct(.less): .less
        case .punct(.lessOrEqual): .lessOrEqual
        case .punct(.greater): .greater
        case .punct(.greaterOrEqual): .greaterOrEqual
        case .identifier where token.text == "in": .in
        default: nil
        }
    }

    func startsRelation(_ token: Token) -> Bool {
        relationalOperator(token) != nil || token.isIdentifier("has") || token.isIdentifier("like")
            || token.isIdentifier("is")
    }

    /// `Relation ::= Add [RELOP Add] | Add 'has' (IDENT | STR) {'.' IDENT} | Add 'like' PAT | Add 'is' Path ['in' Add]`
    /// Relations do not chain: `a == b == c` is an error.
    mutating func relation() throws(ParseError) -> Node {
        let lhs = try add()
        let token = current
        let result: Node
        if let op = relationalOperator(token) {
            advance()
            let rhs = try add()
            result = try node(.binary(op, lhs.expr, rhs.expr), lhs, rhs, at: token)
        } else if token.isIdentifier("has") {
            advance()
            if current.kind == .string {
                let name = try string()
                result = try node(.hasAttribute(lhs.expr, name), lhs, at: token)
            } else {
                // `e has a.b.c` is `e has a && e.a has b && e.a.b has c`.
                var name = try identifier(what: "an attribute name")
                var target = lhs
                var chain = try node(.hasAttribute(target.expr, name), target, at: token)
                while current.isPunct(.dot) {
                    advance()
                    target = try node(.getAttribute(target.expr, name), target, at: token)
                    name = try identifier(what: "an attribute name")
                    let test = try node(.hasAttribute(target.expr, name), target, at: token)
                    chain = try node(.and(chain.expr, test.expr), chain, test, at: token)
                }
                result = chain
            }
        } else if token.isIdentifier("like") {
            advance()
            let pattern = try stringBody(pattern: true).map { element -> PatternElement in
                switch element {
                case .scalar(let s): .literal(s)
                case .wildcard: .wildcard
                }
            }
            result = try node(.like(lhs.expr, pattern), lhs, at: token)
        } else if token.isIdentifier("is") {
            advance()
            let type = try path(what: "an entity type")
            if current.isIdentifier("in") {
                let inToken = current
                advance()
                let rhs = try add()
                let test = try node(.isType(lhs.expr, type), lhs, at: token)
                let membership = try node(.binary(.in, lhs.expr, rhs.expr), lhs, rhs, at: inToken)
                result = try node(.and(test.expr, membership.expr), test, membership, at: token)
            } else {
                result = try node(.isType(lhs.expr, type), lhs, at: token)
            }
        } else {
            return lhs
        }
        if startsRelation(current) {
            throw error(
                "unexpected \(describe(current)) after a comparison; comparisons do not chain, add parentheses",
                at: current)
        }
        return result
    }

    /// `Add ::= Mult {('+' | '-') Mult}`
    mutating func add() throws(ParseError) -> Node {
        var lhs = try mult()
        while current.isPunct(.plus) || current.isPunct(.minus) {
            let token = current
            let op: BinaryOperator = token.isPunct(.plus) ? .add : .subtract
            advance()
            let rhs = try mult()
            lhs = try node(.binary(op, lhs.expr, rhs.expr), lhs, rhs, at: token)
        }
        return lhs
    }

    /// `Mult ::= Unary {'*' Unary}`
    mutating func mult() throws(ParseError) -> Node {
        var lhs = try unary()
        while current.isPunct(.star) {
            let token = current
            advance()
            let rhs = try unary()
            lhs = try node(.binary(.multiply, lhs.expr, rhs.expr), lhs, rhs, at: token)
        }
        return lhs
    }

    /// `Unary ::= {'!' | '-'} Member`; a `-` directly before an integer literal folds into it.
    mutating func unary() throws(ParseError) -> Node {
        var operators: [Token] = []
        while current.isPunct(.not) || current.isPunct(.minus) {
            operators.append(current)
            advance()
            guard operators.count <= Self.maxHeight else {
                throw error("too many unary operators (more than \(Self.maxHeight))", at: current)
            }
        }
        var operand: Node
        if let last = operators.last, last.isPunct(.minus), current.kind == .integer,
            !peek(1).isPunct(.dot), !peek(1).isPunct(.leftBracket)
        {
            let token = current
            guard let magnitude = token.integer, magnitude <= UInt64(Int64.max) + 1 else {
                throw error("integer literal -\(describe(token).dropFirst().dropLast()) is out of range", at: last)
            }
            advance()
            let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            operators.removeLast()
            operand = Node(expr: .literal(.long(value)), height: 1)
        } else {
            operand = try member()
        }
        for token in operators.reversed() {
            operand = try node(.unary(token.isPunct(.not) ? .not : .negate, operand.expr), operand, at: token)
        }
        return operand
    }

    /// `Member ::= Primary {Access}` with `Access ::= '.' IDENT ['(' [ExprList] ')'] | '[' STR ']'`
    mutating func member() throws(ParseError) -> Node {
        var target = try primary()
        while true {
            if current.isPunct(.dot) {
                let dot = current
                advance()
                let nameToken = current
                let name = try identifier(what: "an attribute or method name")
                if current.isPunct(.leftParen) {
                    let args = try arguments()
                    target = try method(name, target, args, at: nameToken)
                } else {
                    target = try node(.getAttribute(target.expr, name), target, at: dot)
                }
            } else if current.isPunct(.leftBracket) {
                let bracket = current
                advance()
                let name = try string(what: "a string literal attribute name")
                try expect(.rightBracket)
                target = try node(.getAttribute(target.expr, name), target, at: bracket)
            } else {
                return target
            }
        }
    }

    /// A method call `receiver.name(args)`.
    func method(_ name: String, _ receiver: Node, _ args: [Node], at token: Token) throws(ParseError) -> Node {
        if let op = Self.binaryMethods[name] {
            guard args.count == 1 else {
                throw error("'\(name)' takes exactly 1 argument but was given \(args.count)", at: token)
            }
            return try node(.binary(op, receiver.expr, args[0].expr), receiver, args[0], at: token)
        }
        if name == "isEmpty" {
            guard args.isEmpty else {
                throw error("'isEmpty' takes no arguments but was given \(args.count)", at: token)
            }
            return try node(.unary(.isEmpty, receiver.expr), receiver, at: token)
        }
        guard Self.extensionMethods.contains(name) else {
            if Self.extensionFunctions.contains(name) {
                throw error("'\(name)' is a function, not a method: write \(name)(...)", at: token)
            }
            throw error("unknown method '\(name)'", at: token)
        }
        return try callNode(name, [receiver] + args, at: token)
    }

    func callNode(_ name: String, _ args: [Node], at token: Token) throws(ParseError) -> Node {
        let height = (args.map(\.height).max() ?? 0) + 1
        guard height <= Self.maxHeight else {
            throw error("expression is too deeply nested (more than \(Self.maxHeight) levels)", at: token)
        }
        return Node(expr: .call(name, args.map(\.expr)), height: height)
    }

    /// `'(' [ExprList] ')'`
    mutating func arguments() throws(ParseError) -> [Node] {
        try expect(.leftParen)
        var args: [Node] = []
        if current.isPunct(.rightParen) {
            advance()
            return args
        }
        while true {
            args.append(try expression())
            if current.isPunct(.comma) {
                advance()
                continue
            }
            guard current.isPunct(.rightParen) else { throw expected("',' or ')'") }
            advance()
            return args
        }
    }

    /// Literals, variables, entity literals, function calls, `( Expr )`, sets and records.
    mutating func primary() throws(ParseError) -> Node {
        let token = current
        switch token.kind {
        case .integer:
            guard let magnitude = token.integer, magnitude <= UInt64(Int64.max) else {
                throw error("integer literal \(describe(token).dropFirst().dropLast()) is out of range", at: token)
            }
            advance()
            return Node(expr: .literal(.long(Int64(magnitude))), height: 1)
        case .string:
            return Node(expr: .literal(.string(try string())), height: 1)
        case .punct(.leftParen):
            advance()
            let inner = try expression()
            try expect(.rightParen)
            return inner
        case .punct(.leftBracket):
            advance()
            var elements: [Node] = []
            if !current.isPunct(.rightBracket) {
                while true {
                    elements.append(try expression())
                    if current.isPunct(.comma) {
                        advance()
                        continue
                    }
                    guard current.isPunct(.rightBracket) else { throw expected("',' or ']'") }
                    break
                }
            }
            advance()
            let height = (elements.map(\.height).max() ?? 0) + 1
            return Node(expr: .set(elements.map(\.expr)), height: height)
        case .punct(.leftBrace):
            return try record()
        case .punct(.question):
            try rejectSlot()
            throw expected("an expression")
        case .identifier:
            break
        default:
            throw expected("an expression")
        }

        // An identifier: a boolean, a variable, an entity literal or a function call.
        switch token.text {
        case "true", "false":
            advance()
            return Node(expr: .literal(.bool(token.text == "true")), height: 1)
        default:
            break
        }
        if let variable = Self.variables[token.text], !peek(1).isPunct(.doubleColon) {
            advance()
            return Node(expr: .variable(variable), height: 1)
        }
        if Self.reserved.contains(token.text) {
            throw error("expected an expression but found reserved word '\(token.text)'", at: token)
        }
        var components: [String] = [try identifier()]
        while current.isPunct(.doubleColon) {
            advance()
            if current.kind == .string {
                let id = try string()
                return Node(
                    expr: .literal(.entity(EntityUID(type: components.joined(separator: "::"), id: id))),
                    height: 1)
            }
            components.append(try identifier(what: "an identifier or a string literal"))
        }
        if current.isPunct(.leftParen) {
            let name = components.joined(separator: "::")
            guard Self.extensionFunctions.contains(name) else {
                if Self.extensionMethods.contains(name) || Self.binaryMethods[name] != nil || name == "isEmpty" {
                    throw error("'\(name)' is a method, not a function: write e.\(name)(...)", at: token)
                }
                throw error("unknown function '\(name)'", at: token)
            }
            let args = try arguments()
            return try callNode(name, args, at: token)
        }
        if components.count == 1 {
            throw error("unknown variable '\(components[0])'; expected an expression", at: token)
        }
        throw expected("'::' and an entity id string or '('")
    }

    /// `'{' [RecInits] '}'` with `RecInits ::= (IDENT | STR) ':' Expr {',' (IDENT | STR) ':' Expr}`
    mutating func record() throws(ParseError) -> Node {
        try expect(.leftBrace)
        var entries: [RecordEntry] = []
        var keys: Set<String> = []
        var height = 0
        if current.isPunct(.rightBrace) {
            advance()
            return Node(expr: .record([]), height: 1)
        }
        while true {
            let keyToken = current
            let key: String
            if current.kind == .string {
                key = try string()
            } else {
                key = try identifier(what: "a record key")
            }
            guard keys.insert(key).inserted else {
                throw error("duplicate record key \(cedarQuoted(key))", at: keyToken)
            }
            try expect(.colon)
            let value = try expression()
            height = max(height, value.height)
            entries.append(RecordEntry(key: key, value: value.expr))
            if current.isPunct(.comma) {
                advance()
                continue
            }
            guard current.isPunct(.rightBrace) else { throw expected("',' or '}'") }
            advance()
            return Node(expr: .record(entries), height: height + 1)
        }
    }
}
