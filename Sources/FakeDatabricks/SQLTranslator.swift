import GRDB

/// A statement parameter as the request gave it: `value` (nil is NULL) and the optional SQL
/// `type` (`STRING` when absent).
public struct FakeStatementParameter: Sendable, Hashable {
    public var name: String
    public var value: String?
    public var type: String?

    public init(name: String, value: String?, type: String? = nil) {
        self.name = name
        self.value = value
        self.type = type
    }
}

/// A Databricks SELECT, translated to SQLite over the fake's tables: the SQL, its bound
/// parameters, the result columns with their Databricks types, and the tables it reads.
struct TranslatedQuery: Sendable {
    var sql: String
    var arguments: [String: DatabaseValue]
    var columns: [(name: String, type: SQLType)]
    /// Three-part names, in order of appearance (for access checks).
    var tables: [String]
}

/// Translates the SELECT dialect of `SQLParser` to SQLite, resolving names against
/// `BillingCatalog` and typing every expression, because the typing decides the SQL:
///
/// - three-part names (`system.billing.usage`; one- and two-part names complete with the
///   request's `catalog` and `schema`) become the SQLite tables of the same name;
/// - map access `m['k']` and struct fields `pricing.effective_list.default` read the JSON the
///   columns hold (`json_extract`);
/// - arithmetic, comparison, SUM/MIN/MAX/AVG and ORDER BY on DECIMAL values go through the exact
///   decimal functions of `DecimalFunctions`, never SQLite's floating point;
/// - DATE and TIMESTAMP values compare with strings as Spark casts them (`date(...)`,
///   `fake_ts(...)`), so `usage_date BETWEEN :from AND :to` works on ISO strings;
/// - GROUP BY / ORDER BY ordinals and select aliases refer to the select list;
/// - `:name` parameters bind with their declared type.
///
/// Unknown tables, columns, fields and functions fail as Databricks reports them.
struct SQLTranslator {
    private struct Binding {
        var alias: String
        var table: TableSchema
    }

    private struct Compiled {
        var sql: String
        var type: SQLType
    }

    private var scope: [Binding] = []
    private var tables: [String] = []
    private var arguments: [String: DatabaseValue] = [:]
    private let parameters: [String: FakeStatementParameter]
    private let catalog: String
    private let schema: String

    init(parameters: [FakeStatementParameter], catalog: String?, schema: String?) {
        var byName: [String: FakeStatementParameter] = [:]
        for parameter in parameters { byName[parameter.name] = parameter }
        self.parameters = byName
        self.catalog = catalog ?? "hive_metastore"
        self.schema = schema ?? "default"
    }

    /// Parses and translates `statement`.
    /// - Throws: `SQLFailure` for a statement the warehouse would refuse, or the fake cannot run.
    static func translate(
        _ statement: String, parameters: [FakeStatementParameter] = [], catalog: String? = nil, schema: String? = nil
    ) throws(SQLFailure) -> TranslatedQuery {
        let select = try SQLParser.parse(statement)
        var translator = SQLTranslator(parameters: parameters, catalog: catalog, schema: schema)
        return try translator.translate(select)
    }

    mutating func translate(_ select: SQLSelect) throws(SQLFailure) -> TranslatedQuery {
        var from = ""
        if let table = select.from {
            from = " FROM " + (try bind(table))
            for join in select.joins {
                let reference = try bind(join.table)
                switch join.kind {
                case "CROSS": from += " CROSS JOIN " + reference
                case "LEFT": from += " LEFT JOIN " + reference
                default: from += " JOIN " + reference
                }
                if let condition = join.condition {
                    from += " ON " + (try boolean(condition, aggregates: false))
                }
            }
        }
        // The select list: every item gets an internal alias c0, c1, ... that ORDER BY uses.
        var items: [(sql: String, name: String, type: SQLType)] = []
        // Per item: whether it must appear in GROUP BY (it reads columns outside any aggregate).
        var grouped: [(text: String, expression: SQLExpression?, needsGroup: Bool)] = []
        for item in select.items {
            if case .star(let qualifier) = item.expression {
                let bindings = try qualifier.map { (name) throws(SQLFailure) -> [Binding] in
                    guard let binding = scope.first(where: { $0.alias == name.lowercased() }) else {
                        throw SQLFailure(
                            errorClass: "CANNOT_RESOLVE_STAR_EXPAND",
                            message: "Cannot resolve `\(name)`.* given input columns \(scope.map { "`\($0.alias)`" }.joined(separator: ", ")).",
                            sqlState: "42704")
                    }
                    return [binding]
                } ?? scope
                guard !bindings.isEmpty else {
                    throw SQLFailure(errorClass: "INVALID_USAGE_OF_STAR_OR_REGEX", message: "Invalid usage of '*' in a SELECT without FROM.", sqlState: "42000")
                }
                for binding in bindings {
                    for column in binding.table.columns {
                        items.append(("\(quote(binding.alias)).\(quote(column.name))", column.name, column.type))
                        grouped.append(("\(binding.alias).\(column.name)", nil, true))
                    }
                }
                continue
            }
            let compiled = try compile(item.expression, aggregates: true)
            items.append((compiled.sql, item.alias ?? Self.defaultName(item), compiled.type))
            grouped.append((item.text, item.expression, Self.readsColumnsOutsideAggregates(item.expression)))
        }
        let aggregated = !select.groupBy.isEmpty || select.items.contains { Self.containsAggregate($0.expression) }
        var sql = "SELECT " + (select.distinct ? "DISTINCT " : "")
        sql += items.enumerated().map { index, item in "\(item.sql) AS \(quote("c\(index)"))" }.joined(separator: ", ")
        sql += from
        if let filter = select.filter { sql += " WHERE " + (try boolean(filter, aggregates: false)) }
        if !select.groupBy.isEmpty {
            var terms: [String] = []
            for expression in select.groupBy {
                if case .number(let text) = expression {
                    guard let position = Int(text), (1...items.count).contains(position) else {
                        throw SQLFailure(
                            errorClass: "GROUP_BY_POS_OUT_OF_RANGE",
                            message: "GROUP BY position \(text) is not in select list (valid range is [1, \(items.count)]).", sqlState: "42805")
                    }
                    terms.append(items[position - 1].sql)
                } else if case .column(let parts) = expression, parts.count == 1, !resolves(parts),
                    let index = items.firstIndex(where: { $0.name.lowercased() == parts[0].lowercased() })
                {
                    terms.append(items[index].sql)
                } else {
                    terms.append(try compile(expression, aggregates: false).sql)
                }
            }
            sql += " GROUP BY " + terms.joined(separator: ", ")
            // Spark refuses what SQLite would answer with an arbitrary row of each group.
            for (index, item) in grouped.enumerated() where item.needsGroup && !terms.contains(items[index].sql) {
                if let expression = item.expression, try covered(expression, by: Set(terms)) { continue }
                throw SQLFailure(
                    errorClass: "MISSING_AGGREGATION",
                    message: "The non-aggregating expression \"\(item.text)\" is based on columns which are not participating in the GROUP BY clause. Add the columns or the expression to the GROUP BY, aggregate the expression, or use \"any_value(\(item.text))\" if you do not care which of the values within a group is returned.",
                    sqlState: "42803")
            }
        } else if aggregated, let item = grouped.first(where: \.needsGroup) {
            throw SQLFailure(
                errorClass: "MISSING_GROUP_BY",
                message: "The query does not include a GROUP BY clause, yet \"\(item.text)\" is not aggregated. Add GROUP BY or turn it into the window functions using OVER clauses.",
                sqlState: "42803")
        }
        if let having = select.having { sql += " HAVING " + (try boolean(having, aggregates: true)) }
        if !select.orderBy.isEmpty {
            var terms: [String] = []
            for order in select.orderBy {
                var term: String
                var type: SQLType
                if case .number(let text) = order.expression {
                    guard let position = Int(text), (1...items.count).contains(position) else {
                        throw SQLFailure(
                            errorClass: "ORDER_BY_POS_OUT_OF_RANGE",
                            message: "ORDER BY position \(text) is not in select list (valid range is [1, \(items.count)]).", sqlState: "42805")
                    }
                    term = quote("c\(position - 1)")
                    type = items[position - 1].type
                } else if case .column(let parts) = order.expression, parts.count == 1,
                    let index = items.firstIndex(where: { $0.name.lowercased() == parts[0].lowercased() })
                {
                    term = quote("c\(index)")
                    type = items[index].type
                } else {
                    let compiled = try compile(order.expression, aggregates: true)
                    term = compiled.sql
                    type = compiled.type
                }
                if type.isDecimal { term += " COLLATE \"DECIMAL\"" }
                if order.descending { term += " DESC" }
                if let nullsFirst = order.nullsFirst { term += nullsFirst ? " NULLS FIRST" : " NULLS LAST" }
                terms.append(term)
            }
            sql += " ORDER BY " + terms.joined(separator: ", ")
        }
        if let limit = select.limit { sql += " LIMIT \(limit)" }
        return TranslatedQuery(
            sql: sql, arguments: arguments, columns: items.map { ($0.name, $0.type) }, tables: tables)
    }

    /// Whether `expression` is computed from the GROUP BY `terms` alone (or aggregates), as
    /// Spark requires of a select item: it is a term, an aggregate, a constant, or built from
    /// such expressions (`lower(custom_tags['project'])` grouped by `custom_tags['project']`).
    private mutating func covered(_ expression: SQLExpression, by terms: Set<String>) throws(SQLFailure) -> Bool {
        if case .function(let name, _, _, _) = expression, Self.aggregateFunctions.contains(name) { return true }
        if terms.contains(try compile(expression, aggregates: true).sql) { return true }
        switch expression {
        case .column, .star, .subscripted: return false
        default:
            for child in Self.children(expression) where !(try covered(child, by: terms)) { return false }
            return true
        }
    }

    static let aggregateFunctions: Set<String> = ["SUM", "COUNT", "MIN", "MAX", "AVG", "MEAN"]

    /// Whether `expression` calls an aggregate function.
    static func containsAggregate(_ expression: SQLExpression) -> Bool {
        if case .function(let name, _, _, _) = expression, aggregateFunctions.contains(name) { return true }
        return children(expression).contains(where: containsAggregate)
    }

    /// Whether `expression` reads a column other than through an aggregate function.
    static func readsColumnsOutsideAggregates(_ expression: SQLExpression) -> Bool {
        switch expression {
        case .column, .star: return true
        case .function(let name, _, _, _) where aggregateFunctions.contains(name): return false
        default: return children(expression).contains(where: readsColumnsOutsideAggregates)
        }
    }

    private static func children(_ expression: SQLExpression) -> [SQLExpression] {
        switch expression {
        case .column, .string, .number, .null, .boolean, .typedLiteral, .parameter, .star: return []
        case .subscripted(let base, _): return [base]
        case .negate(let inner), .not(let inner), .isNull(let inner, _), .cast(let inner, _): return [inner]
        case .binary(_, let left, let right), .like(let left, let right, _): return [left, right]
        case .between(let value, let low, let high, _): return [value, low, high]
        case .inList(let value, let list, _): return [value] + list
        case .function(_, let arguments, _, _): return arguments
        case .caseWhen(let operand, let branches, let otherwise):
            return (operand.map { [$0] } ?? []) + branches.flatMap { [$0.0, $0.1] } + (otherwise.map { [$0] } ?? [])
        }
    }

    /// Databricks' name for an unaliased column: a column's (or field's) own name, else the
    /// expression's text.
    private static func defaultName(_ item: SQLSelect.Item) -> String {
        switch item.expression {
        case .column(let parts): return parts.last ?? item.text
        case .subscripted(.column(let parts), let key): return "\(parts.last ?? "")[\(key)]"
        default: return item.text
        }
    }

    // MARK: Tables and names

    private mutating func bind(_ reference: SQLTableReference) throws(SQLFailure) -> String {
        let parts: [String]
        switch reference.parts.count {
        case 1: parts = [catalog, schema, reference.parts[0]]
        case 2: parts = [catalog] + reference.parts
        case 3: parts = reference.parts
        default:
            throw SQLFailure(
                errorClass: "REQUIRES_SINGLE_PART_NAMESPACE",
                message: "Table name \(reference.parts.joined(separator: ".")) has too many parts.", sqlState: "42K05")
        }
        let name = parts.joined(separator: ".").lowercased()
        guard let table = BillingCatalog.table(name) else {
            throw SQLFailure(
                errorClass: "TABLE_OR_VIEW_NOT_FOUND",
                message: "The table or view \(parts.map { "`\($0)`" }.joined(separator: ".")) cannot be found. Verify the spelling and correctness of the schema and catalog.",
                sqlState: "42P01")
        }
        let alias = (reference.alias ?? parts[2]).lowercased()
        guard !scope.contains(where: { $0.alias == alias }) else {
            throw SQLFailure(
                errorClass: "AMBIGUOUS_REFERENCE", message: "The table alias `\(alias)` is used twice; give each table its own alias.",
                sqlState: "42702")
        }
        scope.append(Binding(alias: alias, table: table))
        if !tables.contains(table.name) { tables.append(table.name) }
        return "\(table.sqliteName) AS \(quote(alias))"
    }

    /// Whether `parts` names a column of the tables in scope.
    private func resolves(_ parts: [String]) -> Bool {
        scope.contains { $0.table.column(parts[0]) != nil }
    }

    private func column(_ parts: [String]) throws(SQLFailure) -> Compiled {
        var candidates = scope
        var rest = ArraySlice(parts)
        if parts.count >= 2, let binding = scope.first(where: { $0.alias == parts[0].lowercased() }),
            binding.table.column(parts[1]) != nil || scope.allSatisfy({ $0.table.column(parts[0]) == nil })
        {
            candidates = [binding]
            rest = parts.dropFirst()
        }
        let name = rest.first!
        let matches = candidates.filter { $0.table.column(name) != nil }
        guard let binding = matches.first, let column = binding.table.column(name) else {
            let suggestions = scope.flatMap { binding in binding.table.columns.map { "`\(binding.alias)`.`\($0.name)`" } }
            throw SQLFailure(
                errorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION",
                message: "A column, variable, or function parameter with name \(parts.map { "`\($0)`" }.joined(separator: ".")) cannot be resolved. Did you mean one of the following? [\(suggestions.prefix(5).joined(separator: ", "))].",
                sqlState: "42703")
        }
        guard matches.count == 1 else {
            throw SQLFailure(
                errorClass: "AMBIGUOUS_REFERENCE",
                message: "Reference `\(name)` is ambiguous, could be: [\(matches.map { "`\($0.alias)`.`\(name)`" }.joined(separator: ", "))].",
                sqlState: "42702")
        }
        var sql = "\(quote(binding.alias)).\(quote(column.name))"
        var type = column.type
        let fields = rest.dropFirst()
        guard !fields.isEmpty else { return Compiled(sql: sql, type: type) }
        var path = "$"
        for field in fields {
            guard case .structure(let members) = type else {
                let hint = type == .map ? " Use map['key'] to read a map." : ""
                throw SQLFailure(
                    errorClass: "INVALID_EXTRACT_BASE_FIELD_TYPE",
                    message: "Can't extract a value from `\(column.name)`. Need a complex type [STRUCT, ARRAY, MAP] but got \"\(type.typeText)\".\(hint)",
                    sqlState: "42000")
            }
            guard let member = members.first(where: { $0.name.lowercased() == field.lowercased() }) else {
                throw SQLFailure(
                    errorClass: "FIELD_NOT_FOUND",
                    message: "No such struct field `\(field)` in \(members.map { "`\($0.name)`" }.joined(separator: ", ")).", sqlState: "42704")
            }
            path += ".\"\(member.name)\""
            type = member.type
        }
        sql = "json_extract(\(sql), \(literal(path)))"
        return Compiled(sql: sql, type: type)
    }

    // MARK: Expressions

    private mutating func boolean(_ expression: SQLExpression, aggregates: Bool) throws(SQLFailure) -> String {
        try compile(expression, aggregates: aggregates).sql
    }

    private mutating func compile(_ expression: SQLExpression, aggregates: Bool) throws(SQLFailure) -> Compiled {
        switch expression {
        case .column(let parts):
            return try column(parts)
        case .subscripted(let base, let key):
            let map = try compile(base, aggregates: aggregates)
            guard map.type == .map else {
                throw SQLFailure(
                    errorClass: "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE",
                    message: "Cannot use [] on a value of type \"\(map.type.typeText)\": only maps are subscripted here.", sqlState: "42K09")
            }
            guard !key.contains("\""), !key.contains("\\") else { throw .unsupported("map keys containing quotes or backslashes") }
            return Compiled(sql: "json_extract(\(map.sql), \(literal("$.\"\(key)\"")))", type: .string)
        case .string(let text):
            return Compiled(sql: literal(text), type: .string)
        case .number(let text):
            if text.contains("e") || text.contains("E") { return Compiled(sql: text, type: .double) }
            if text.contains(".") {
                guard let value = ExactDecimal.parse(text) else {
                    throw SQLFailure(errorClass: "INVALID_NUMERIC_LITERAL", message: "The literal \(text) is out of range.", sqlState: "22003")
                }
                return Compiled(
                    sql: literal(ExactDecimal.text(value)),
                    type: .decimal(precision: max(value.digits, 1), scale: value.fractionDigits))
            }
            guard Int64(text) != nil else {
                throw SQLFailure(errorClass: "INVALID_NUMERIC_LITERAL", message: "The literal \(text) is out of the BIGINT range.", sqlState: "22003")
            }
            return Compiled(sql: text, type: .long)
        case .null:
            return Compiled(sql: "NULL", type: .null)
        case .boolean(let value):
            return Compiled(sql: value ? "1" : "0", type: .boolean)
        case .typedLiteral(let type, let text):
            if type == .date {
                guard let day = CivilTime.day(String(text.prefix(10))), text.count == 10 || CivilTime.canonicalTimestamp(text) != nil else {
                    throw castFailure(text, to: "DATE")
                }
                return Compiled(sql: literal(CivilTime.text(day: day)), type: .date)
            }
            guard let canonical = CivilTime.canonicalTimestamp(text) else { throw castFailure(text, to: "TIMESTAMP") }
            return Compiled(sql: literal(canonical), type: .timestamp)
        case .parameter(let name):
            return try parameter(name)
        case .negate(let inner):
            let value = try compile(inner, aggregates: aggregates)
            if value.type.isDecimal { return Compiled(sql: "dec_neg(\(value.sql))", type: value.type) }
            try requireNumeric(value, "unary minus")
            return Compiled(sql: "(-\(value.sql))", type: value.type)
        case .not(let inner):
            return Compiled(sql: "(NOT \(try compile(inner, aggregates: aggregates).sql))", type: .boolean)
        case .binary(let op, let left, let right):
            return try binary(op, left, right, aggregates: aggregates)
        case .isNull(let inner, let negated):
            return Compiled(sql: "(\(try compile(inner, aggregates: aggregates).sql) IS \(negated ? "NOT " : "")NULL)", type: .boolean)
        case .between(let value, let low, let high, let negated):
            let subject = try compile(value, aggregates: aggregates)
            let lower = try compile(low, aggregates: aggregates)
            let upper = try compile(high, aggregates: aggregates)
            let test = "(\(try comparison(">=", subject, lower)) AND \(try comparison("<=", subject, upper)))"
            return Compiled(sql: negated ? "(NOT \(test))" : test, type: .boolean)
        case .inList(let value, let list, let negated):
            let subject = try compile(value, aggregates: aggregates)
            var tests: [String] = []
            for element in list { tests.append(try comparison("=", subject, try compile(element, aggregates: aggregates))) }
            let test = "(" + tests.joined(separator: " OR ") + ")"
            return Compiled(sql: negated ? "(NOT \(test))" : test, type: .boolean)
        case .like(let value, let pattern, let negated):
            let subject = try compile(value, aggregates: aggregates)
            let shape = try compile(pattern, aggregates: aggregates)
            return Compiled(sql: "(\(subject.sql) \(negated ? "NOT " : "")LIKE \(shape.sql))", type: .boolean)
        case .function(let name, let arguments, let distinct, let star):
            return try function(name, arguments, distinct: distinct, star: star, aggregates: aggregates)
        case .cast(let inner, let type):
            return try cast(try compile(inner, aggregates: aggregates), to: type)
        case .caseWhen(let operand, let branches, let otherwise):
            var sql = "CASE"
            var type: SQLType = .null
            let subject = try operand.map { (value) throws(SQLFailure) in try compile(value, aggregates: aggregates) }
            for (condition, result) in branches {
                let test = try compile(condition, aggregates: aggregates)
                let value = try compile(result, aggregates: aggregates)
                if type == .null { type = value.type }
                if let subject {
                    sql += " WHEN \(try comparison("=", subject, test)) THEN \(value.sql)"
                } else {
                    sql += " WHEN \(test.sql) THEN \(value.sql)"
                }
            }
            if let otherwise {
                let value = try compile(otherwise, aggregates: aggregates)
                if type == .null { type = value.type }
                sql += " ELSE \(value.sql)"
            }
            return Compiled(sql: sql + " END", type: type)
        case .star:
            throw SQLFailure(errorClass: "INVALID_USAGE_OF_STAR_OR_REGEX", message: "Invalid usage of '*' in an expression.", sqlState: "42000")
        }
    }

    private mutating func parameter(_ name: String) throws(SQLFailure) -> Compiled {
        guard let parameter = parameters[name] else {
            throw SQLFailure(
                errorClass: "UNBOUND_SQL_PARAMETER", message: "Found the unbound parameter: \(name). Please, fix `args` and provide a mapping of the parameter to either a SQL literal or collection constructor functions such as `map()`, `array()`, `struct()`.",
                sqlState: "42P02")
        }
        let declared = (parameter.type ?? "STRING").uppercased().replacingOccurrences(of: " ", with: "")
        let sql = ":" + name
        guard let value = parameter.value else {
            arguments[name] = .null
            return Compiled(sql: sql, type: .null)
        }
        switch declared {
        case "STRING":
            arguments[name] = value.databaseValue
            return Compiled(sql: sql, type: .string)
        case "INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "TINYINT":
            guard let integer = Int64(value) else { throw castFailure(value, to: declared) }
            arguments[name] = integer.databaseValue
            return Compiled(sql: sql, type: .long)
        case "DOUBLE", "FLOAT":
            guard let double = Double(value) else { throw castFailure(value, to: declared) }
            arguments[name] = double.databaseValue
            return Compiled(sql: sql, type: .double)
        case "BOOLEAN":
            guard ["true", "false"].contains(value.lowercased()) else { throw castFailure(value, to: declared) }
            arguments[name] = (value.lowercased() == "true" ? 1 : 0).databaseValue
            return Compiled(sql: sql, type: .boolean)
        case "DATE":
            guard let day = CivilTime.day(String(value.prefix(10))) else { throw castFailure(value, to: declared) }
            arguments[name] = CivilTime.text(day: day).databaseValue
            return Compiled(sql: sql, type: .date)
        case "TIMESTAMP":
            guard let canonical = CivilTime.canonicalTimestamp(value) else { throw castFailure(value, to: declared) }
            arguments[name] = canonical.databaseValue
            return Compiled(sql: sql, type: .timestamp)
        default:
            if declared.hasPrefix("DECIMAL") {
                guard let number = ExactDecimal.parse(value) else { throw castFailure(value, to: declared) }
                arguments[name] = ExactDecimal.text(number).databaseValue
                return Compiled(sql: sql, type: .money)
            }
            throw SQLFailure(
                errorClass: "UNSUPPORTED_DATATYPE", message: "Unsupported parameter type \(parameter.type ?? "")  for :\(name).", sqlState: "0A000")
        }
    }

    private mutating func binary(
        _ op: String, _ left: SQLExpression, _ right: SQLExpression, aggregates: Bool
    ) throws(SQLFailure) -> Compiled {
        let lhs = try compile(left, aggregates: aggregates)
        let rhs = try compile(right, aggregates: aggregates)
        switch op {
        case "AND", "OR":
            return Compiled(sql: "(\(lhs.sql) \(op) \(rhs.sql))", type: .boolean)
        case "=", "<>", "<", "<=", ">", ">=":
            return Compiled(sql: try comparison(op, lhs, rhs), type: .boolean)
        case "||":
            return Compiled(sql: "(\(lhs.sql) || \(rhs.sql))", type: .string)
        default:
            break
        }
        // Arithmetic. Decimals (and strings mixed with them) compute exactly.
        if lhs.type.isDecimal || rhs.type.isDecimal {
            let function: String
            switch op {
            case "+": function = "dec_add"
            case "-": function = "dec_sub"
            case "*": function = "dec_mul"
            case "/": function = "dec_div"
            default: throw .unsupported("the \(op) operator on DECIMAL values")
            }
            if lhs.type == .double || rhs.type == .double {
                return Compiled(sql: "(CAST(\(lhs.sql) AS REAL) \(op) CAST(\(rhs.sql) AS REAL))", type: .double)
            }
            for side in [lhs, rhs] where !(side.type.isNumeric || side.type == .string || side.type == .null) {
                throw mismatch(op, lhs, rhs)
            }
            return Compiled(sql: "\(function)(\(lhs.sql), \(rhs.sql))", type: .money)
        }
        for side in [lhs, rhs] where !(side.type.isNumeric || side.type == .string || side.type == .null) {
            throw mismatch(op, lhs, rhs)
        }
        if op == "/" || lhs.type == .double || rhs.type == .double || lhs.type == .string || rhs.type == .string {
            return Compiled(sql: "(CAST(\(lhs.sql) AS REAL) \(op) CAST(\(rhs.sql) AS REAL))", type: .double)
        }
        return Compiled(sql: "(\(lhs.sql) \(op) \(rhs.sql))", type: .long)
    }

    /// A comparison with Spark's coercions: decimals by value, dates and timestamps against
    /// strings after casting the strings.
    private func comparison(_ op: String, _ lhs: Compiled, _ rhs: Compiled) throws(SQLFailure) -> String {
        let sqliteOp = op == "<>" ? "<>" : op
        if lhs.type.isDecimal || rhs.type.isDecimal {
            for side in [lhs, rhs] where !(side.type.isNumeric || side.type == .string || side.type == .null) {
                throw mismatch(op, lhs, rhs)
            }
            if lhs.type == .double || rhs.type == .double {
                return "(CAST(\(lhs.sql) AS REAL) \(sqliteOp) CAST(\(rhs.sql) AS REAL))"
            }
            return "(dec_cmp(\(lhs.sql), \(rhs.sql)) \(sqliteOp) 0)"
        }
        func coerced(_ side: Compiled, to other: SQLType) -> String {
            switch (other, side.type) {
            case (.date, .string), (.date, .timestamp): return "date(\(side.sql))"
            case (.timestamp, .string), (.timestamp, .date): return "fake_ts(\(side.sql))"
            default: return side.sql
            }
        }
        // A date compared with a timestamp compares as timestamps, as in Spark.
        if lhs.type == .date && rhs.type == .timestamp {
            return "(fake_ts(\(lhs.sql)) \(sqliteOp) \(rhs.sql))"
        }
        if lhs.type == .timestamp && rhs.type == .date {
            return "(\(lhs.sql) \(sqliteOp) fake_ts(\(rhs.sql)))"
        }
        return "(\(coerced(lhs, to: rhs.type)) \(sqliteOp) \(coerced(rhs, to: lhs.type)))"
    }

    private mutating func function(
        _ name: String, _ arguments: [SQLExpression], distinct: Bool, star: Bool, aggregates: Bool
    ) throws(SQLFailure) -> Compiled {
        let aggregateNames = Self.aggregateFunctions
        if aggregateNames.contains(name), !aggregates {
            throw SQLFailure(
                errorClass: "INVALID_WHERE_CONDITION",
                message: "Aggregate function \(name.lowercased())() is not allowed here (WHERE, GROUP BY or JOIN conditions).", sqlState: "42903")
        }
        if star && name != "COUNT" { throw .syntax(near: SQLToken(kind: .symbol, text: "*", position: 0)) }
        var values: [Compiled] = []
        for argument in arguments { values.append(try compile(argument, aggregates: aggregates && !aggregateNames.contains(name))) }
        func arity(_ range: ClosedRange<Int>) throws(SQLFailure) {
            guard range.contains(values.count) else {
                throw SQLFailure(
                    errorClass: "WRONG_NUM_ARGS.WITHOUT_SUGGESTION",
                    message: "The `\(name.lowercased())` requires \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") parameters but the actual number is \(values.count).",
                    sqlState: "42605")
            }
        }
        let distinctSQL = distinct ? "DISTINCT " : ""
        switch name {
        case "COUNT":
            if star { return Compiled(sql: "COUNT(*)", type: .long) }
            try arity(1...1)
            return Compiled(sql: "COUNT(\(distinctSQL)\(values[0].sql))", type: .long)
        case "SUM":
            try arity(1...1)
            let value = values[0]
            if value.type.isDecimal {
                if distinct { throw .unsupported("SUM(DISTINCT ...) on DECIMAL values") }
                return Compiled(sql: "dec_sum(\(value.sql))", type: .money)
            }
            switch value.type {
            case .long, .int, .boolean: return Compiled(sql: "SUM(\(distinctSQL)\(value.sql))", type: .long)
            case .double, .string, .null: return Compiled(sql: "SUM(\(distinctSQL)CAST(\(value.sql) AS REAL))", type: .double)
            default: throw functionMismatch(name, value)
            }
        case "MIN", "MAX":
            try arity(1...1)
            let value = values[0]
            if value.type.isDecimal { return Compiled(sql: "dec_\(name.lowercased())(\(value.sql))", type: value.type) }
            return Compiled(sql: "\(name)(\(value.sql))", type: value.type)
        case "AVG", "MEAN":
            try arity(1...1)
            let value = values[0]
            if value.type.isDecimal { return Compiled(sql: "dec_avg(\(value.sql))", type: .money) }
            guard value.type.isNumeric || value.type == .string || value.type == .null else { throw functionMismatch(name, value) }
            return Compiled(sql: "AVG(\(distinctSQL)CAST(\(value.sql) AS REAL))", type: .double)
        case "COALESCE", "IFNULL", "NVL":
            try arity(name == "COALESCE" ? 1...64 : 2...2)
            let type = values.first { $0.type != .null }?.type ?? .null
            if values.count == 1 { return values[0] }
            return Compiled(sql: "COALESCE(\(values.map(\.sql).joined(separator: ", ")))", type: type)
        case "DATE", "TO_DATE":
            try arity(1...1)
            return Compiled(sql: "date(\(values[0].sql))", type: .date)
        case "DATE_TRUNC":
            try arity(2...2)
            guard case .string(let unit) = arguments[0] else { throw .unsupported("date_trunc with a unit that is not a string literal") }
            let value = values[1].sql
            let format: String
            switch unit.uppercased() {
            case "YEAR", "YYYY", "YY": format = "strftime('%Y-01-01T00:00:00.000Z', \(value))"
            case "MONTH", "MM", "MON": format = "strftime('%Y-%m-01T00:00:00.000Z', \(value))"
            case "WEEK": format = "strftime('%Y-%m-%dT00:00:00.000Z', \(value), '-6 days', 'weekday 1')"
            case "DAY", "DD": format = "strftime('%Y-%m-%dT00:00:00.000Z', \(value))"
            case "HOUR": format = "strftime('%Y-%m-%dT%H:00:00.000Z', \(value))"
            default: throw .unsupported("date_trunc unit '\(unit)' (YEAR, MONTH, WEEK, DAY and HOUR are)")
            }
            return Compiled(sql: format, type: .timestamp)
        case "CURRENT_DATE":
            try arity(0...0)
            return Compiled(sql: "date('now')", type: .date)
        case "CURRENT_TIMESTAMP", "NOW":
            try arity(0...0)
            return Compiled(sql: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", type: .timestamp)
        case "DATE_ADD", "DATEADD", "DATE_SUB":
            try arity(2...2)
            let sign = name == "DATE_SUB" ? "-" : ""
            return Compiled(sql: "date(\(values[0].sql), printf('%+d days', \(sign)(\(values[1].sql))))", type: .date)
        case "YEAR", "MONTH", "DAY", "DAYOFMONTH", "HOUR":
            try arity(1...1)
            let pattern = ["YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "DAYOFMONTH": "%d", "HOUR": "%H"][name]!
            return Compiled(sql: "CAST(strftime('\(pattern)', \(values[0].sql)) AS INTEGER)", type: .int)
        case "LOWER", "LCASE", "UPPER", "UCASE":
            try arity(1...1)
            return Compiled(sql: "\(name.hasPrefix("L") ? "lower" : "upper")(\(values[0].sql))", type: .string)
        case "CONCAT":
            try arity(1...64)
            return Compiled(sql: "(" + values.map(\.sql).joined(separator: " || ") + ")", type: .string)
        case "ROUND":
            try arity(1...2)
            var scale = 0
            if arguments.count == 2 {
                guard case .number(let text) = arguments[1], let value = Int(text), (0...18).contains(value) else {
                    throw .unsupported("round with a scale that is not an integer literal from 0 to 18")
                }
                scale = value
            }
            if values[0].type.isDecimal {
                return Compiled(sql: "dec_cast(\(values[0].sql), 38, \(scale))", type: .decimal(precision: 38, scale: scale))
            }
            return Compiled(sql: "round(\(values[0].sql), \(scale))", type: values[0].type == .double ? .double : values[0].type)
        case "ABS":
            try arity(1...1)
            if values[0].type.isDecimal {
                return Compiled(sql: "CASE WHEN dec_cmp(\(values[0].sql), 0) < 0 THEN dec_neg(\(values[0].sql)) ELSE \(values[0].sql) END", type: values[0].type)
            }
            return Compiled(sql: "abs(\(values[0].sql))", type: values[0].type)
        case "IF", "IFF":
            try arity(3...3)
            return Compiled(sql: "CASE WHEN \(values[0].sql) THEN \(values[1].sql) ELSE \(values[2].sql) END", type: values[1].type == .null ? values[2].type : values[1].type)
        default:
            throw SQLFailure(
                errorClass: "UNRESOLVED_ROUTINE",
                message: "Cannot resolve routine `\(name.lowercased())` on search path [`system`.`builtin`, `system`.`session`]; the fake implements SUM, COUNT, MIN, MAX, AVG, COALESCE, DATE, TO_DATE, DATE_TRUNC, DATE_ADD, DATE_SUB, CURRENT_DATE, CURRENT_TIMESTAMP, YEAR, MONTH, DAY, HOUR, LOWER, UPPER, CONCAT, ROUND, ABS and IF.",
                sqlState: "42883")
        }
    }

    private func cast(_ value: Compiled, to type: SQLType) throws(SQLFailure) -> Compiled {
        switch type {
        case .decimal(let precision, let scale):
            return Compiled(sql: "dec_cast(\(value.sql), \(precision), \(scale))", type: type)
        case .date:
            return Compiled(sql: "date(\(value.sql))", type: .date)
        case .timestamp:
            return Compiled(sql: "fake_ts(\(value.sql))", type: .timestamp)
        case .string:
            if value.type == .boolean {
                return Compiled(sql: "CASE \(value.sql) WHEN 1 THEN 'true' WHEN 0 THEN 'false' END", type: .string)
            }
            return Compiled(sql: "CAST(\(value.sql) AS TEXT)", type: .string)
        case .long, .int:
            if value.type.isDecimal { return Compiled(sql: "dec_int(\(value.sql))", type: type) }
            return Compiled(sql: "CAST(\(value.sql) AS INTEGER)", type: type)
        case .double:
            return Compiled(sql: "CAST(\(value.sql) AS REAL)", type: .double)
        case .boolean:
            return Compiled(sql: "CASE WHEN \(value.sql) IS NULL THEN NULL WHEN lower(\(value.sql)) IN ('true', '1') THEN 1 ELSE 0 END", type: .boolean)
        default:
            throw .unsupported("CAST to \(type.typeText)")
        }
    }

    // MARK: Helpers

    private func requireNumeric(_ value: Compiled, _ what: String) throws(SQLFailure) {
        guard value.type.isNumeric || value.type == .null || value.type == .string else {
            throw SQLFailure(
                errorClass: "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE",
                message: "Cannot apply \(what) to a value of type \"\(value.type.typeText)\".", sqlState: "42K09")
        }
    }

    private func mismatch(_ op: String, _ lhs: Compiled, _ rhs: Compiled) -> SQLFailure {
        SQLFailure(
            errorClass: "DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES",
            message: "Cannot resolve (\(lhs.type.typeText) \(op) \(rhs.type.typeText)) due to data type mismatch: the left and right operands of the binary operator have incompatible types.",
            sqlState: "42K09")
    }

    private func functionMismatch(_ name: String, _ value: Compiled) -> SQLFailure {
        SQLFailure(
            errorClass: "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE",
            message: "Cannot resolve \(name.lowercased())(...) due to data type mismatch: the parameter requires a numeric type, however it has the type \"\(value.type.typeText)\".",
            sqlState: "42K09")
    }

    private func castFailure(_ value: String, to type: String) -> SQLFailure {
        SQLFailure(
            errorClass: "CAST_INVALID_INPUT",
            message: "The value '\(value)' of the type \"STRING\" cannot be cast to \"\(type)\" because it is malformed.", sqlState: "22018")
    }

    private func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
