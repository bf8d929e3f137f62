import Foundation
import GRDB

/// Exact decimal arithmetic for the billing tables' DECIMAL columns.
///
/// Quantities are `decimal(38,18)` and prices are decimals: the fake must add and multiply them
/// exactly, as Databricks does, so they live as decimal text in SQLite and every operation goes
/// through `Foundation.Decimal` here, never through binary floating point. `Decimal` holds 38
/// significant digits and silently rounds beyond them (and `NSDecimalMultiply` on Linux reports no
/// loss of precision), so each operation checks that its exact result fits before computing it,
/// and fails with `overflow` rather than answer an inexact value.
enum ExactDecimal {
    /// The digits `Foundation.Decimal` holds exactly.
    static let maxDigits = 38

    /// A failure to compute exactly.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A parsed decimal and the shape of its digits, for the exactness checks.
    struct Value: Sendable {
        var decimal: Decimal
        /// Digits before the point (0 for a value below 1).
        var integerDigits: Int
        /// Digits after the point, trailing zeros dropped.
        var fractionDigits: Int
        var isZero: Bool { decimal.isZero }
        /// Significant digits (an upper bound: leading fraction zeros count).
        var digits: Int { integerDigits + fractionDigits }
    }

    /// Parses `[+-]digits[.digits]` (or `.digits`), strictly: nil for anything else, including
    /// exponents, spaces, and values of more than 38 significant digits.
    static func parse(_ text: String) -> Value? {
        var body = Substring(text)
        var negative = false
        if let first = body.first, first == "-" || first == "+" {
            negative = first == "-"
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let integerPart = parts.first else { return nil }
        var fractionPart = parts.count == 2 ? parts[1] : ""
        guard !(integerPart.isEmpty && fractionPart.isEmpty) else { return nil }
        guard integerPart.allSatisfy(\.isASCIIDigit), fractionPart.allSatisfy(\.isASCIIDigit) else { return nil }
        if parts.count == 2 && fractionPart.isEmpty && integerPart.isEmpty { return nil }
        while fractionPart.last == "0" { fractionPart = fractionPart.dropLast() }
        let integerDigits = String(integerPart.drop { $0 == "0" })
        guard integerDigits.count + fractionPart.count <= maxDigits else { return nil }
        let normalized = (negative ? "-" : "") + (integerDigits.isEmpty ? "0" : integerDigits)
            + (fractionPart.isEmpty ? "" : "." + fractionPart)
        guard let decimal = Decimal(string: normalized, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        return Value(decimal: decimal, integerDigits: integerDigits.count, fractionDigits: fractionPart.count)
    }

    /// The value of an integer.
    static func value(_ integer: Int64) -> Value {
        parse(String(integer))!
    }

    static func product(_ lhs: Value, _ rhs: Value) throws(Failure) -> Value {
        if lhs.isZero || rhs.isZero { return parse("0")! }
        guard lhs.digits + rhs.digits <= maxDigits else {
            throw Failure(description: "the exact product of \(text(lhs)) and \(text(rhs)) needs more than 38 digits")
        }
        return try reparse(lhs.decimal * rhs.decimal)
    }

    static func sum(_ lhs: Value, _ rhs: Value) throws(Failure) -> Value {
        let integer = max(lhs.integerDigits, rhs.integerDigits) + 1
        guard integer + max(lhs.fractionDigits, rhs.fractionDigits) <= maxDigits else {
            throw Failure(description: "the exact sum of \(text(lhs)) and \(text(rhs)) needs more than 38 digits")
        }
        return try reparse(lhs.decimal + rhs.decimal)
    }

    static func negated(_ value: Value) -> Value {
        var copy = value
        copy.decimal = -value.decimal
        return copy
    }

    /// The quotient, rounded half-up to `scale` digits (division is the one operation that is not
    /// exact in general; Databricks rounds it too).
    static func quotient(_ lhs: Value, _ rhs: Value, scale: Int = 18) throws(Failure) -> Value {
        guard !rhs.isZero else { throw Failure(description: "division by zero") }
        return try rounded(lhs.decimal / rhs.decimal, scale: scale)
    }

    /// `value` rounded half away from zero to `scale` fraction digits.
    static func rounded(_ value: Decimal, scale: Int) throws(Failure) -> Value {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, scale, .plain)
        return try reparse(output)
    }

    static func compare(_ lhs: Value, _ rhs: Value) -> Int {
        lhs.decimal < rhs.decimal ? -1 : (lhs.decimal > rhs.decimal ? 1 : 0)
    }

    /// Plain notation, at least `minimumScale` fraction digits (Databricks writes a DECIMAL(38,18)
    /// value with all 18), more when the exact value needs them.
    static func text(_ value: Value, minimumScale: Int = 0) -> String {
        var plain = value.decimal.description
        let fraction = plain.firstIndex(of: ".").map { plain.distance(from: $0, to: plain.endIndex) - 1 } ?? 0
        if fraction < minimumScale {
            if fraction == 0 { plain += "." }
            plain += String(repeating: "0", count: minimumScale - fraction)
        }
        return plain
    }

    private static func reparse(_ decimal: Decimal) throws(Failure) -> Value {
        guard let value = parse(decimal.description) else {
            throw Failure(description: "the value \(decimal) does not fit in 38 digits")
        }
        return value
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// The SQLite functions through which translated queries compute on DECIMAL values (stored as
/// decimal text) exactly. A value that is not a decimal, or a result that would not be exact,
/// fails the statement with a message naming the value.
enum DecimalFunctions {
    static func register(in db: Database) {
        db.add(function: binary("dec_mul") { (lhs, rhs) throws(ExactDecimal.Failure) in try ExactDecimal.product(lhs, rhs) })
        db.add(function: binary("dec_add") { (lhs, rhs) throws(ExactDecimal.Failure) in try ExactDecimal.sum(lhs, rhs) })
        db.add(function: binary("dec_sub") { (lhs, rhs) throws(ExactDecimal.Failure) in try ExactDecimal.sum(lhs, ExactDecimal.negated(rhs)) })
        db.add(function: binary("dec_div") { (lhs, rhs) throws(ExactDecimal.Failure) in try ExactDecimal.quotient(lhs, rhs) })
        db.add(function: DatabaseFunction("dec_neg", argumentCount: 1, pure: true) { values in
            try operand(values[0]).map { ExactDecimal.text(ExactDecimal.negated($0)) }
        })
        db.add(function: DatabaseFunction("dec_cmp", argumentCount: 2, pure: true) { values in
            guard let lhs = try operand(values[0]), let rhs = try operand(values[1]) else { return nil }
            return ExactDecimal.compare(lhs, rhs)
        })
        // dec_cast(value, precision, scale): CAST(value AS DECIMAL(precision, scale)), rounding
        // half up; ANSI mode (Databricks SQL's default) fails a value that does not fit.
        db.add(function: DatabaseFunction("dec_cast", argumentCount: 3, pure: true) { values in
            guard let value = try operand(values[0]) else { return nil }
            let precision = Int(Int64.fromDatabaseValue(values[1]) ?? 38)
            let scale = Int(Int64.fromDatabaseValue(values[2]) ?? 18)
            let rounded = try checked { () throws(ExactDecimal.Failure) in try ExactDecimal.rounded(value.decimal, scale: scale) }
            guard rounded.integerDigits <= precision - scale else {
                throw DatabaseError(message: "[NUMERIC_VALUE_OUT_OF_RANGE] \(ExactDecimal.text(value)) cannot be represented as Decimal(\(precision), \(scale)).")
            }
            return ExactDecimal.text(rounded, minimumScale: scale)
        })
        // dec_int(value): CAST(decimal AS BIGINT), truncating toward zero.
        db.add(function: DatabaseFunction("dec_int", argumentCount: 1, pure: true) { values in
            guard let value = try operand(values[0]) else { return nil }
            var input = value.decimal
            var output = Decimal()
            NSDecimalRound(&output, &input, 0, value.decimal < 0 ? .up : .down)
            return Int64(output.description)
        })
        db.add(function: DatabaseFunction("fake_ts", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).flatMap(CivilTime.canonicalTimestamp)
        })
        db.add(function: DatabaseFunction("dec_sum", argumentCount: 1, pure: true, aggregate: DecimalSum.self))
        db.add(function: DatabaseFunction("dec_avg", argumentCount: 1, pure: true, aggregate: DecimalAverage.self))
        db.add(function: DatabaseFunction("dec_min", argumentCount: 1, pure: true, aggregate: DecimalMinimum.self))
        db.add(function: DatabaseFunction("dec_max", argumentCount: 1, pure: true, aggregate: DecimalMaximum.self))
        db.add(collation: DatabaseCollation("DECIMAL") { lhs, rhs in
            guard let left = ExactDecimal.parse(lhs), let right = ExactDecimal.parse(rhs) else {
                return lhs < rhs ? .orderedAscending : (lhs == rhs ? .orderedSame : .orderedDescending)
            }
            let order = ExactDecimal.compare(left, right)
            return order < 0 ? .orderedAscending : (order == 0 ? .orderedSame : .orderedDescending)
        })
    }

    /// A decimal operand: nil for NULL; integers exactly; text must be a decimal.
    static func operand(_ value: DatabaseValue) throws -> ExactDecimal.Value? {
        switch value.storage {
        case .null: return nil
        case .int64(let integer): return ExactDecimal.value(integer)
        case .string(let text):
            guard let parsed = ExactDecimal.parse(text) else {
                throw DatabaseError(message: "[CAST_INVALID_INPUT] The value '\(text)' of the type \"STRING\" cannot be cast to \"DECIMAL(38,18)\" because it is malformed.")
            }
            return parsed
        case .double(let double):
            guard let parsed = ExactDecimal.parse(String(double)) else {
                throw DatabaseError(message: "[CAST_INVALID_INPUT] The double \(double) cannot be used as an exact decimal.")
            }
            return parsed
        case .blob:
            throw DatabaseError(message: "[DATATYPE_MISMATCH] a binary value cannot be used as a decimal.")
        }
    }

    static func checked<T>(_ body: () throws(ExactDecimal.Failure) -> T) throws -> T {
        do { return try body() } catch { throw DatabaseError(message: "[NUMERIC_VALUE_OUT_OF_RANGE] \(error.description).") }
    }

    private static func binary(
        _ name: String, _ operation: @escaping @Sendable (ExactDecimal.Value, ExactDecimal.Value) throws(ExactDecimal.Failure) -> ExactDecimal.Value
    ) -> DatabaseFunction {
        DatabaseFunction(name, argumentCount: 2, pure: true) { values in
            guard let lhs = try operand(values[0]), let rhs = try operand(values[1]) else { return nil }
            return ExactDecimal.text(try checked { () throws(ExactDecimal.Failure) in try operation(lhs, rhs) })
        }
    }
}

/// `SUM` over decimal text, exact; NULL when every value is NULL, as SQL's SUM.
struct DecimalSum: DatabaseAggregate {
    var total: ExactDecimal.Value?

    mutating func step(_ dbValues: [DatabaseValue]) throws {
        guard let value = try DecimalFunctions.operand(dbValues[0]) else { return }
        let current = total
        total = try DecimalFunctions.checked { () throws(ExactDecimal.Failure) in
            try current.map { (sum) throws(ExactDecimal.Failure) in try ExactDecimal.sum(sum, value) } ?? value
        }
    }

    func finalize() throws -> (any DatabaseValueConvertible)? { total.map { ExactDecimal.text($0) } }
}

/// `AVG` over decimal text: the exact sum divided by the count, rounded to 18 digits.
struct DecimalAverage: DatabaseAggregate {
    var sum = DecimalSum()
    var count: Int64 = 0

    mutating func step(_ dbValues: [DatabaseValue]) throws {
        if !dbValues[0].isNull { count += 1 }
        try sum.step(dbValues)
    }

    func finalize() throws -> (any DatabaseValueConvertible)? {
        guard let total = sum.total, count > 0 else { return nil }
        return ExactDecimal.text(try DecimalFunctions.checked { () throws(ExactDecimal.Failure) in
            try ExactDecimal.quotient(total, ExactDecimal.value(count))
        })
    }
}

/// `MIN` over decimal text by value, not text order.
struct DecimalMinimum: DatabaseAggregate {
    var best: ExactDecimal.Value?

    mutating func step(_ dbValues: [DatabaseValue]) throws {
        guard let value = try DecimalFunctions.operand(dbValues[0]) else { return }
        if best.map({ ExactDecimal.compare(value, $0) < 0 }) ?? true { best = value }
    }

    func finalize() throws -> (any DatabaseValueConvertible)? { best.map { ExactDecimal.text($0) } }
}

/// `MAX` over decimal text by value, not text order.
struct DecimalMaximum: DatabaseAggregate {
    var best: ExactDecimal.Value?

    mutating func step(_ dbValues: [DatabaseValue]) throws {
        guard let value = try DecimalFunctions.operand(dbValues[0]) else { return }
        if best.map({ ExactDecimal.compare(value, $0) > 0 }) ?? true { best = value }
    }

    func finalize() throws -> (any DatabaseValueConvertible)? { best.map { ExactDecimal.text($0) } }
}
