/// A Databricks SQL statement the fake cannot run, as the warehouse reports it: an error class
/// (`[PARSE_SYNTAX_ERROR]`, `[TABLE_OR_VIEW_NOT_FOUND]`, ...), a message and a SQLSTATE. The
/// statement ends FAILED with it; the HTTP request still succeeds.
struct SQLFailure: Error, Sendable, Hashable, CustomStringConvertible {
    var errorClass: String
    var message: String
    var sqlState: String

    /// The message as Databricks writes it: `[CLASS] message SQLSTATE: xxxxx`.
    var description: String { "[\(errorClass)] \(message) SQLSTATE: \(sqlState)" }

    static func syntax(near token: SQLToken) -> SQLFailure {
        let near = token.kind == .end ? "end of input" : "'\(token.text)'"
        return SQLFailure(errorClass: "PARSE_SYNTAX_ERROR", message: "Syntax error at or near \(near).", sqlState: "42601")
    }

    static func unsupported(_ what: String) -> SQLFailure {
        SQLFailure(
            errorClass: "UNSUPPORTED_FEATURE",
            message: "The fake Databricks SQL engine does not support \(what) (it runs SELECT queries over the billing tables).",
            sqlState: "0A000")
    }
}

/// One token of a statement; `text` keeps the original spelling (unquoted for identifiers and
/// strings).
struct SQLToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// A bare word: keyword or identifier.
        case word
        /// A backquoted identifier.
        case quotedIdentifier
        /// A string literal, unescaped; Spark takes '...' and "..." both as strings.
        case string
        case number
        /// `:name`, text the name.
        case parameter
        case symbol
        case end
    }

    var kind: Kind
    var text: String
    /// Character offset in the statement.
    var position: Int

    /// The word upper-cased, nil for any other token (quoted identifiers are never keywords).
    var keyword: String? { kind == .word ? text.uppercased() : nil }

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
    func isKeyword(_ word: String) -> Bool { keyword == word }
}

/// Splits a statement into tokens, honouring string literals (with `\` escapes and doubled
/// quotes), backquoted identifiers and comments, so that nothing inside them is rewritten.
enum SQLTokenizer {
    static func tokenize(_ text: String) throws(SQLFailure) -> [SQLToken] {
        let characters = Array(text)
        var tokens: [SQLToken] = []
        var index = 0
        func peek(_ offset: Int = 0) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }
        while index < characters.count {
            let character = characters[index]
            let start = index
            if character.isWhitespace {
                index += 1
            } else if character == "-", peek(1) == "-" {
                while let next = peek(), next != "\n" { index += 1 }
            } else if character == "/", peek(1) == "*" {
                index += 2
                while index < characters.count, !(characters[index] == "*" && peek(1) == "/") { index += 1 }
                guard index < characters.count else {
                    throw SQLFailure(errorClass: "UNCLOSED_BRACKETED_COMMENT", message: "Found an unclosed bracketed comment.", sqlState: "42601")
                }
                index += 2
            } else if character == "'" || character == "\"" {
                index += 1
                var value = ""
                var closed = false
                while let next = peek() {
                    index += 1
                    if next == "\\", let escaped = peek() {
                        index += 1
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: value.append(escaped)
                        }
                    } else if next == character {
                        if peek() == character {
                            value.append(character)
                            index += 1
                        } else {
                            closed = true
                            break
                        }
                    } else {
                        value.append(next)
                    }
                }
                guard closed else {
                    throw SQLFailure(errorClass: "PARSE_SYNTAX_ERROR", message: "Syntax error at or near end of input: unclosed string literal.", sqlState: "42601")
                }
                tokens.append(SQLToken(kind: .string, text: value, position: start))
            } else if character == "`" {
                index += 1
                var value = ""
                var closed = false
                while let next = peek() {
                    index += 1
                    if next == "`" {
                        if peek() == "`" {
                            value.append("`")
                            index += 1
                        } else {
                            closed = true
                            break
                        }
                    } else {
                        value.append(next)
                    }
                }
                guard closed, !value.isEmpty else {
                    throw SQLFailure(errorClass: "PARSE_SYNTAX_ERROR", message: "Syntax error at or near '`': bad quoted identifier.", sqlState: "42601")
                }
                tokens.append(SQLToken(kind: .quotedIdentifier, text: value, position: start))
            } else if character.isNumber && character.isASCII
                || (character == "." && peek(1).map { $0.isASCII && $0.isNumber } == true)
            {
                var value = ""
                var sawPoint = false
                var sawExponent = false
                while let next = peek() {
                    if next.isASCII && next.isNumber {
                        value.append(next)
                    } else if next == ".", !sawPoint, !sawExponent {
                        sawPoint = true
                        value.append(next)
                    } else if next == "e" || next == "E", !sawExponent,
                        let after = peek(1), after.isNumber || ((after == "-" || after == "+") && peek(2)?.isNumber == true)
                    {
                        sawExponent = true
                        value.append(next)
                        if after == "-" || after == "+" {
                            value.append(after)
                            index += 1
                        }
                    } else {
                        break
                    }
                    index += 1
                }
                if let next = peek(), next.isLetter || next == "_" {
                    // Spark's typed literals (10L, 1.5BD, 2D) are not supported.
                    throw SQLFailure.unsupported("the numeric literal suffix in '\(value)\(next)'")
                }
                tokens.append(SQLToken(kind: .number, text: value, position: start))
            } else if character == ":", let next = peek(1), next.isLetter || next == "_" {
                index += 1
                var name = ""
                while let next = peek(), next.isLetter || next.isNumber || next == "_" {
                    name.append(next)
                    index += 1
                }
                tokens.append(SQLToken(kind: .parameter, text: name, position: start))
            } else if character.isLetter || character == "_" {
                var word = ""
                while let next = peek(), next.isLetter || next.isNumber || next == "_" {
                    word.append(next)
                    index += 1
                }
                tokens.append(SQLToken(kind: .word, text: word, position: start))
            } else {
                let two = peek(1).map { String([character, $0]) } ?? ""
                if ["<=", ">=", "<>", "!=", "==", "||", "::"].contains(two) {
                    if two == "::" { throw SQLFailure.unsupported("the :: cast operator (use CAST(x AS type))") }
                    tokens.append(SQLToken(kind: .symbol, text: two == "==" ? "=" : two, position: start))
                    index += 2
                } else if "(),.*+-/%=<>[];".contains(character) {
                    tokens.append(SQLToken(kind: .symbol, text: String(character), position: start))
                    index += 1
                } else if character == "?" {
                    throw SQLFailure.unsupported("positional parameter markers '?' (the Statement Execution API takes named :markers only)")
                } else {
                    throw SQLFailure(
                        errorClass: "PARSE_SYNTAX_ERROR", message: "Syntax error at or near '\(character)'.", sqlState: "42601")
                }
            }
        }
        // A trailing semicolon ends the statement; anything after it is a second statement.
        if let last = tokens.last, last.isSymbol(";") { tokens.removeLast() }
        if tokens.contains(where: { $0.isSymbol(";") }) {
            throw SQLFailure.unsupported("several statements in one request")
        }
        tokens.append(SQLToken(kind: .end, text: "", position: characters.count))
        return tokens
    }
}

/// An expression of the supported SELECT dialect.
indirect enum SQLExpression: Sendable {
    /// `a`, `u.a`, `p.pricing.effective_list.default`: resolved later against the tables.
    case column([String])
    /// `map['key']`.
    case subscripted(SQLExpression, key: String)
    case string(String)
    case number(String)
    case null
    case boolean(Bool)
    /// `DATE '2025-01-01'`, `TIMESTAMP '...'`.
    case typedLiteral(SQLType, String)
    case parameter(String)
    case negate(SQLExpression)
    case not(SQLExpression)
    /// `+ - * / % || = <> != < <= > >= AND OR`.
    case binary(String, SQLExpression, SQLExpression)
    case isNull(SQLExpression, negated: Bool)
    case between(SQLExpression, SQLExpression, SQLExpression, negated: Bool)
    case inList(SQLExpression, [SQLExpression], negated: Bool)
    case like(SQLExpression, SQLExpression, negated: Bool)
    case function(String, [SQLExpression], distinct: Bool, star: Bool)
    case cast(SQLExpression, SQLType)
    case caseWhen(operand: SQLExpression?, branches: [(SQLExpression, SQLExpression)], otherwise: SQLExpression?)
    /// `*` or `t.*`, only as a select item.
    case star(qualifier: String?)
}

/// A table in FROM or JOIN.
struct SQLTableReference: Sendable {
    /// The name as written, parts in order.
    var parts: [String]
    var alias: String?
}

/// A parsed SELECT statement.
struct SQLSelect: Sendable {
    struct Item: Sendable {
        var expression: SQLExpression
        var alias: String?
        /// The source text, Databricks' name for an unaliased expression column.
        var text: String
    }
    struct Join: Sendable {
        /// `INNER`, `LEFT` or `CROSS`.
        var kind: String
        var table: SQLTableReference
        var condition: SQLExpression?
    }
    struct Order: Sendable {
        var expression: SQLExpression
        var descending: Bool
        /// nil: the default (NULLS FIRST ascending, NULLS LAST descending, in Spark as in SQLite).
        var nullsFirst: Bool?
    }

    var distinct: Bool
    var items: [Item]
    var from: SQLTableReference?
    var joins: [Join]
    var filter: SQLExpression?
    var groupBy: [SQLExpression]
    var having: SQLExpression?
    var orderBy: [Order]
    var limit: Int?
}

/// A recursive-descent parser for the SELECT dialect the billing queries use. Anything else
/// (other statements, subqueries, CTEs, set operations, window functions) is refused with a
/// clear message rather than guessed at.
struct SQLParser {
    private var tokens: [SQLToken]
    private var index = 0
    private let source: [Character]

    /// Words that end an expression or clause, so that they are never taken as an alias.
    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL",
        "OUTER", "CROSS", "ON", "AND", "OR", "NOT", "AS", "UNION", "INTERSECT", "EXCEPT", "IS", "NULL", "IN", "BETWEEN",
        "LIKE", "CASE", "WHEN", "THEN", "ELSE", "END", "ASC", "DESC", "NULLS", "DISTINCT", "WITH", "OVER", "WINDOW",
        "QUALIFY", "USING", "NATURAL", "LATERAL", "OFFSET", "CAST", "TRUE", "FALSE", "SEMI", "ANTI",
    ]

    init(_ text: String) throws(SQLFailure) {
        tokens = try SQLTokenizer.tokenize(text)
        source = Array(text)
    }

    static func parse(_ text: String) throws(SQLFailure) -> SQLSelect {
        var parser = try SQLParser(text)
        return try parser.statement()
    }

    private var current: SQLToken { tokens[index] }
    private func lookahead(_ offset: Int) -> SQLToken { tokens[min(index + offset, tokens.count - 1)] }

    private mutating func advance() -> SQLToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private mutating func accept(keyword: String) -> Bool {
        if current.isKeyword(keyword) {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func accept(symbol: String) -> Bool {
        if current.isSymbol(symbol) {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func expect(keyword: String) throws(SQLFailure) {
        guard accept(keyword: keyword) else { throw .syntax(near: current) }
    }

    private mutating func expect(symbol: String) throws(SQLFailure) {
        guard accept(symbol: symbol) else { throw .syntax(near: current) }
    }

    private mutating func identifier() throws(SQLFailure) -> String {
        switch current.kind {
        case .word, .quotedIdentifier: return advance().text
        default: throw .syntax(near: current)
        }
    }

    mutating func statement() throws(SQLFailure) -> SQLSelect {
        if let word = current.keyword, word != "SELECT" {
            switch word {
            case "WITH": throw .unsupported("common table expressions (WITH)")
            case "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE":
                throw SQLFailure(
                    errorClass: "UNSUPPORTED_FEATURE",
                    message: "\(word) is not supported: the system tables are read-only.", sqlState: "0A000")
            case "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "USE", "SET", "VALUES", "TABLE", "FROM":
                throw .unsupported("the \(word) statement")
            default: throw .syntax(near: current)
            }
        }
        guard current.isKeyword("SELECT") else { throw .syntax(near: current) }
        let select = try selectBody()
        if let word = current.keyword, ["UNION", "INTERSECT", "EXCEPT", "MINUS"].contains(word) {
            throw .unsupported("set operations (\(word))")
        }
        guard current.kind == .end else { throw .syntax(near: current) }
        return select
    }

    private mutating func selectBody() throws(SQLFailure) -> SQLSelect {
        try expect(keyword: "SELECT")
        let distinct = accept(keyword: "DISTINCT")
        _ = accept(keyword: "ALL")
        var items: [SQLSelect.Item] = []
        repeat {
            items.append(try selectItem())
        } while accept(symbol: ",")
        var from: SQLTableReference?
        var joins: [SQLSelect.Join] = []
        if accept(keyword: "FROM") {
            from = try tableReference()
            while true {
                if accept(symbol: ",") {
                    joins.append(SQLSelect.Join(kind: "CROSS", table: try tableReference(), condition: nil))
                    continue
                }
                guard let kind = try joinKind() else { break }
                let table = try tableReference()
                var condition: SQLExpression?
                if kind != "CROSS" {
                    if current.isKeyword("USING") { throw .unsupported("JOIN ... USING (write the ON condition)") }
                    try expect(keyword: "ON")
                    condition = try expression()
                }
                joins.append(SQLSelect.Join(kind: kind, table: table, condition: condition))
            }
        }
        var filter: SQLExpression?
        if accept(keyword: "WHERE") { filter = try expression() }
        var groupBy: [SQLExpression] = []
        if accept(keyword: "GROUP") {
            try expect(keyword: "BY")
            if current.isKeyword("ALL") { throw .unsupported("GROUP BY ALL") }
            repeat { groupBy.append(try expression()) } while accept(symbol: ",")
            if current.isKeyword("WITH") || current.isKeyword("GROUPING") { throw .unsupported("grouping sets, ROLLUP and CUBE") }
        }
        var having: SQLExpression?
        if accept(keyword: "HAVING") { having = try expression() }
        if current.isKeyword("QUALIFY") || current.isKeyword("WINDOW") { throw .unsupported("window functions") }
        var orderBy: [SQLSelect.Order] = []
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            repeat {
                let expression = try expression()
                var descending = false
                if accept(keyword: "DESC") { descending = true } else { _ = accept(keyword: "ASC") }
                var nullsFirst: Bool?
                if accept(keyword: "NULLS") {
                    if accept(keyword: "FIRST") {
                        nullsFirst = true
                    } else {
                        try expect(keyword: "LAST")
                        nullsFirst = false
                    }
                }
                orderBy.append(SQLSelect.Order(expression: expression, descending: descending, nullsFirst: nullsFirst))
            } while accept(symbol: ",")
        }
        var limit: Int?
        if accept(keyword: "LIMIT") {
            guard current.kind == .number, let value = Int(current.text), value >= 0 else {
                throw SQLFailure(errorClass: "INVALID_LIMIT_LIKE_EXPRESSION", message: "The limit expression must be a non-negative integer literal.", sqlState: "42K0E")
            }
            _ = advance()
            limit = value
        }
        if current.isKeyword("OFFSET") { throw .unsupported("OFFSET") }
        return SQLSelect(
            distinct: distinct, items: items, from: from, joins: joins, filter: filter, groupBy: groupBy, having: having,
            orderBy: orderBy, limit: limit)
    }

    private mutating func joinKind() throws(SQLFailure) -> String? {
        if accept(keyword: "JOIN") { return "INNER" }
        if current.isKeyword("INNER"), lookahead(1).isKeyword("JOIN") {
            _ = advance()
            _ = advance()
            return "INNER"
        }
        if current.isKeyword("CROSS"), lookahead(1).isKeyword("JOIN") {
            _ = advance()
            _ = advance()
            return "CROSS"
        }
        if current.isKeyword("LEFT") {
            _ = advance()
            if current.isKeyword("SEMI") || current.isKeyword("ANTI") { throw .unsupported("LEFT SEMI and LEFT ANTI joins") }
            _ = accept(keyword: "OUTER")
            try expect(keyword: "JOIN")
            return "LEFT"
        }
        if let word = current.keyword, ["RIGHT", "FULL", "NATURAL", "LATERAL"].contains(word) {
            throw .unsupported("\(word) joins")
        }
        return nil
    }

    private mutating func tableReference() throws(SQLFailure) -> SQLTableReference {
        if current.isSymbol("(") { throw .unsupported("subqueries") }
        var parts = [try identifier()]
        while accept(symbol: ".") { parts.append(try identifier()) }
        if current.isSymbol("(") { throw .unsupported("table-valued functions") }
        var alias: String?
        if accept(keyword: "AS") {
            alias = try identifier()
        } else if current.kind == .quotedIdentifier || (current.kind == .word && !Self.reserved.contains(current.keyword ?? "")) {
            alias = try identifier()
        }
        return SQLTableReference(parts: parts, alias: alias)
    }

    private mutating func selectItem() throws(SQLFailure) -> SQLSelect.Item {
        let start = current.position
        if accept(symbol: "*") { return SQLSelect.Item(expression: .star(qualifier: nil), alias: nil, text: "*") }
        if (current.kind == .word || current.kind == .quotedIdentifier), lookahead(1).isSymbol("."), lookahead(2).isSymbol("*") {
            let qualifier = advance().text
            _ = advance()
            _ = advance()
            return SQLSelect.Item(expression: .star(qualifier: qualifier), alias: nil, text: qualifier + ".*")
        }
        let expression = try expression()
        let end = current.position
        let text = String(source[start..<min(end, source.count)]).trimmingCharacters(in: .whitespacesAndNewlines)
        var alias: String?
        if accept(keyword: "AS") {
            alias = try identifier()
        } else if current.kind == .quotedIdentifier || (current.kind == .word && !Self.reserved.contains(current.keyword ?? "")) {
            alias = try identifier()
        }
        return SQLSelect.Item(expression: expression, alias: alias, text: text)
    }

    // MARK: Expressions, lowest precedence first

    mutating func expression() throws(SQLFailure) -> SQLExpression { try disjunction() }

    private mutating func disjunction() throws(SQLFailure) -> SQLExpression {
        var left = try conjunction()
        while accept(keyword: "OR") { left = .binary("OR", left, try conjunction()) }
        return left
    }

    private mutating func conjunction() throws(SQLFailure) -> SQLExpression {
        var left = try negation()
        while accept(keyword: "AND") { left = .binary("AND", left, try negation()) }
        return left
    }

    private mutating func negation() throws(SQLFailure) -> SQLExpression {
        if accept(keyword: "NOT") { return .not(try negation()) }
        return try comparison()
    }

    private mutating func comparison() throws(SQLFailure) -> SQLExpression {
        let left = try additive()
        if current.kind == .symbol, ["=", "<>", "!=", "<", "<=", ">", ">="].contains(current.text) {
            let op = advance().text
            return .binary(op == "!=" ? "<>" : op, left, try additive())
        }
        if accept(keyword: "IS") {
            let negated = accept(keyword: "NOT")
            if accept(keyword: "NULL") { return .isNull(left, negated: negated) }
            if current.isKeyword("DISTINCT") { throw .unsupported("IS [NOT] DISTINCT FROM") }
            throw .syntax(near: current)
        }
        let negated = accept(keyword: "NOT")
        if accept(keyword: "BETWEEN") {
            let low = try additive()
            try expect(keyword: "AND")
            return .between(left, low, try additive(), negated: negated)
        }
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            if current.isKeyword("SELECT") { throw .unsupported("subqueries") }
            var values: [SQLExpression] = []
            repeat { values.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .inList(left, values, negated: negated)
        }
        if accept(keyword: "LIKE") { return .like(left, try additive(), negated: negated) }
        if current.isKeyword("ILIKE") || current.isKeyword("RLIKE") || current.isKeyword("REGEXP") {
            throw .unsupported(current.text.uppercased())
        }
        if negated { throw .syntax(near: current) }
        return left
    }

    private mutating func additive() throws(SQLFailure) -> SQLExpression {
        var left = try multiplicative()
        while current.kind == .symbol, ["+", "-", "||"].contains(current.text) {
            let op = advance().text
            left = .binary(op, left, try multiplicative())
        }
        return left
    }

    private mutating func multiplicative() throws(SQLFailure) -> SQLExpression {
        var left = try unary()
        while current.kind == .symbol, ["*", "/", "%"].contains(current.text) {
            let op = advance().text
            left = .binary(op, left, try unary())
        }
        return left
    }

    private mutating func unary() throws(SQLFailure) -> SQLExpression {
        if accept(symbol: "-") { return .negate(try unary()) }
        if accept(symbol: "+") { return try unary() }
        var value = try primary()
        while current.isSymbol("[") {
            _ = advance()
            guard current.kind == .string else {
                throw .unsupported("map access with a key other than a string literal")
            }
            let key = advance().text
            try expect(symbol: "]")
            value = .subscripted(value, key: key)
        }
        if current.isSymbol("."), case .subscripted = value { throw .unsupported("field access on a map value") }
        return value
    }

    private mutating func primary() throws(SQLFailure) -> SQLExpression {
        let token = current
        switch token.kind {
        case .string:
            _ = advance()
            return .string(token.text)
        case .number:
            _ = advance()
            return .number(token.text)
        case .parameter:
            _ = advance()
            return .parameter(token.text)
        case .symbol where token.text == "(":
            _ = advance()
            if current.isKeyword("SELECT") { throw .unsupported("subqueries") }
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        case .word, .quotedIdentifier:
            break
        default:
            throw .syntax(near: token)
        }
        if token.kind == .word, let word = token.keyword {
            switch word {
            case "NULL":
                _ = advance()
                return .null
            case "TRUE", "FALSE":
                _ = advance()
                return .boolean(word == "TRUE")
            case "CASE": return try caseExpression()
            case "CAST", "TRY_CAST":
                _ = advance()
                try expect(symbol: "(")
                let value = try expression()
                try expect(keyword: "AS")
                let type = try typeName()
                try expect(symbol: ")")
                return .cast(value, type)
            case "DATE" where lookahead(1).kind == .string, "TIMESTAMP" where lookahead(1).kind == .string:
                _ = advance()
                let literal = advance().text
                return .typedLiteral(word == "DATE" ? .date : .timestamp, literal)
            case "INTERVAL": throw .unsupported("INTERVAL literals")
            case "EXISTS": throw .unsupported("subqueries")
            case "CURRENT_DATE" where !lookahead(1).isSymbol("("), "CURRENT_TIMESTAMP" where !lookahead(1).isSymbol("("):
                _ = advance()
                return .function(word, [], distinct: false, star: false)
            default:
                if Self.reserved.contains(word) { throw .syntax(near: token) }
            }
        }
        var parts = [advance().text]
        if current.isSymbol("("), token.kind == .word {
            _ = advance()
            if accept(symbol: ")") { return try windowCheck(.function(parts[0].uppercased(), [], distinct: false, star: false)) }
            if accept(symbol: "*") {
                try expect(symbol: ")")
                return try windowCheck(.function(parts[0].uppercased(), [], distinct: false, star: true))
            }
            let distinct = accept(keyword: "DISTINCT")
            var arguments: [SQLExpression] = []
            repeat { arguments.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return try windowCheck(.function(parts[0].uppercased(), arguments, distinct: distinct, star: false))
        }
        while current.isSymbol("."), [.word, .quotedIdentifier].contains(lookahead(1).kind) {
            _ = advance()
            parts.append(advance().text)
        }
        return .column(parts)
    }

    private mutating func windowCheck(_ call: SQLExpression) throws(SQLFailure) -> SQLExpression {
        if current.isKeyword("OVER") { throw .unsupported("window functions (OVER)") }
        if current.isKeyword("FILTER") { throw .unsupported("aggregate FILTER clauses") }
        return call
    }

    private mutating func caseExpression() throws(SQLFailure) -> SQLExpression {
        try expect(keyword: "CASE")
        var operand: SQLExpression?
        if !current.isKeyword("WHEN") { operand = try expression() }
        var branches: [(SQLExpression, SQLExpression)] = []
        while accept(keyword: "WHEN") {
            let condition = try expression()
            try expect(keyword: "THEN")
            branches.append((condition, try expression()))
        }
        guard !branches.isEmpty else { throw .syntax(near: current) }
        var otherwise: SQLExpression?
        if accept(keyword: "ELSE") { otherwise = try expression() }
        try expect(keyword: "END")
        return .caseWhen(operand: operand, branches: branches, otherwise: otherwise)
    }

    /// A type in CAST: STRING, BIGINT/LONG, INT/INTEGER, DOUBLE/FLOAT, BOOLEAN, DATE, TIMESTAMP,
    /// DECIMAL[(p[,s])].
    private mutating func typeName() throws(SQLFailure) -> SQLType {
        guard let word = current.keyword else { throw .syntax(near: current) }
        _ = advance()
        switch word {
        case "STRING", "VARCHAR", "CHAR":
            if accept(symbol: "(") {
                _ = advance()
                try expect(symbol: ")")
            }
            return .string
        case "BIGINT", "LONG": return .long
        case "INT", "INTEGER", "SMALLINT", "TINYINT", "SHORT", "BYTE": return .int
        case "DOUBLE", "FLOAT", "REAL": return .double
        case "BOOLEAN": return .boolean
        case "DATE": return .date
        case "TIMESTAMP", "TIMESTAMP_NTZ": return .timestamp
        case "DECIMAL", "DEC", "NUMERIC":
            var precision = 10
            var scale = 0
            if accept(symbol: "(") {
                guard current.kind == .number, let value = Int(advance().text) else { throw .syntax(near: current) }
                precision = value
                if accept(symbol: ",") {
                    guard current.kind == .number, let value = Int(advance().text) else { throw .syntax(near: current) }
                    scale = value
                }
                try expect(symbol: ")")
            }
            guard (1...38).contains(precision), (0...precision).contains(scale) else {
                throw SQLFailure(
                    errorClass: "DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION",
                    message: "Decimal precision \(precision) and scale \(scale) are invalid (precision 1 to 38, scale 0 to precision).",
                    sqlState: "22003")
            }
            return .decimal(precision: precision, scale: scale)
        default:
            throw .unsupported("CAST to \(word)")
        }
    }
}
