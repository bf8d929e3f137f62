import Foundation
import GRDB

/// Exact decimal arithmetic for the billing tables' DECIMAL columns.
///
/// Quantities are `decimal(38,18)` and prices are decimals: the fake must add and multiply them
/// exactly, as Databricks does, so they live as decimal text in SQLite and every operation goes
/// through here, never through binary floating point. A value is an `Int128` mantissa and a
/// decimal scale (38 significant digits, as Spark's decimals); every operation checks for
/// overflow and fails with `Failure` rather than answer an inexact value. (`Foundation.Decimal`
/// was the first choice, but its text conversions made a query over 10^5 rows take seconds, and
/// on Linux it rounds past 38 digits without reporting it.)
enum ExactDecimal {
    /// The digits a value may have.
    static let maxDigits = 38

    /// A failure to compute exactly.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `mantissa × 10^-scale`, normalized: no trailing zeros in the fraction.
    struct Value: Sendable, Hashable {
        var mantissa: Int128
        var scale: Int

        init(mantissa: Int128, scale: Int) {
            var mantissa = mantissa
            var scale = scale
            while scale > 0, mantissa % 10 == 0 {
                mantissa /= 10
                scale -= 1
            }
            self.mantissa = mantissa
            self.scale = scale
        }

        var isZero: Bool { mantissa == 0 }
        /// Digits after the point.
        var fractionDigits: Int { scale }
        /// Digits before the point (0 for a value below 1).
        var integerDigits: Int {
            let digits = String(mantissa.magnitude).count
            return mantissa == 0 ? 0 : max(0, digits - scale)
        }
        /// Digits in all (an upper bound on the significant ones).
        var digits: Int { integerDigits + fractionDigits }
    }

    /// 10^0 ... 10^38.
    private static let powers: [Int128] = {
        var values: [Int128] = [1]
        for _ in 1...38 { values.append(values.last! * 10) }
        return values
    }()

    /// `mantissa × 10^exponent`, nil on overflow.
    private static func scaled(_ mantissa: Int128, by exponent: Int) -> Int128? {
        guard exponent >= 0 else { return nil }
        if mantissa == 0 { return 0 }
        guard exponent < powers.count else { return nil }
        let (result, overflow) = mantissa.multipliedReportingOverflow(by: powers[exponent])
        return overflow ? nil : result
    }

    /// Parses `[+-]digits[.digits]` (or `.digits`), strictly: nil for anything else, including
    /// exponents, spaces, and values of more than 38 significant digits.
    static func parse(_ text: String) -> Value? {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        var mantissa: Int128 = 0
        var significant = 0
        var scale = 0
        var sawDigit = false
        var sawPoint = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard !sawPoint else { return nil }
                sawPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            let digit = Int128(byte - UInt8(ascii: "0"))
            if sawPoint { scale += 1 }
            if mantissa == 0 && digit == 0 { continue }
            significant += 1
            guard significant <= maxDigits else { return nil }
            mantissa = mantissa * 10 + digit
        }
        guard sawDigit, scale <= maxDigits else { return nil }
        return Value(mantissa: negative ? -mantissa : mantissa, scale: scale)
    }

    /// The value of an integer.
    static func value(_ integer: Int64) -> Value {
        Value(mantissa: Int128(integer), scale: 0)
    }

    static func product(_ lhs: Value, _ rhs: Value) throws(Failure) -> Value {
        let (mantissa, overflow) = lhs.mantissa.multipliedReportingOverflow(by: rhs.mantissa)
        guard !overflow, mantissa.magnitude < powers[maxDigits].magnitude else {
            throw Failure(description: "the exact product of \(text(lhs)) and \(text(rhs)) needs more than 38 digits")
        }
        return Value(mantissa: mantissa, scale: lhs.scale + rhs.scale)
    }

    static func sum(_ lhs: Value, _ rhs: Value) throws(Failure) -> Value {
        let scale = max(lhs.scale, rhs.scale)
        guard let left = scaled(lhs.mantissa, by: scale - lhs.scale), let right = scaled(rhs.mantissa, by: scale - rhs.scale) else {
            throw Failure(description: "the exact sum of \(text(lhs)) and \(text(rhs)) needs more than 38 digits")
        }
        let (mantissa, overflow) = left.addingReportingOverflow(right)
        guard !overflow, mantissa.magnitude < powers[maxDigits].magnitude else {
            throw Failure(description: "the exact sum of \(text(lhs)) and \(text(rhs)) needs more than 38 digits")
        }
        return Value(mantissa: mantissa, scale: scale)
    }

    static func negated(_ value: Value) -> Value {
        Value(mantissa: -value.mantissa, scale: value.scale)
    }

    /// The quotient, rounded half away from zero to `scale` digits (division is the one
    /// operation that is not exact in general; Databricks rounds it too).
    static func quotient(_ lhs: Value, _ rhs: Value, scale: Int = 18) throws(Failure) -> Value {
        guard !rhs.isZero else { throw Failure(description: "division by zero") }
        // One digit more than asked, to round on.
        let exponent = scale + 1 + rhs.scale - lhs.scale
        var numerator = lhs.mantissa
        var denominator = rhs.mantissa
        if exponent >= 0 {
            guard let value = scaled(numerator, by: exponent) else {
                throw Failure(description: "the quotient of \(text(lhs)) by \(text(rhs)) needs more than 38 digits")
            }
            numerator = value
        } else {
            guard let value = scaled(denominator, by: -exponent) else { return Value(mantissa: 0, scale: 0) }
            denominator = value
        }
        var quotient = numerator / denominator
        let last = quotient % 10
        quotient /= 10
        if last.magnitude >= 5 { quotient += (numerator < 0) != (denominator < 0) ? -1 : 1 }
        return Value(mantissa: quotient, scale: scale)
    }

    /// `value` rounded half away from zero to `scale` fraction digits.
    static func rounded(_ value: Value, scale: Int) -> Value {
        guard value.scale > scale else { return value }
        let drop = value.scale - scale
        guard drop < powers.count else { return Value(mantissa: 0, scale: 0) }
        let divisor = powers[drop]
        var quotient = value.mantissa / divisor
        let remainder = value.mantissa % divisor
        if remainder.magnitude * 2 >= divisor.magnitude { quotient += value.mantissa < 0 ? -1 : 1 }
        return Value(mantissa: quotient, scale: scale)
    }

    /// The integer part, truncated toward zero.
    static func truncated(_ value: Value) -> Int128 {
        value.scale < powers.count ? value.mantissa / powers[value.scale] : 0
    }

    static func compare(_ lhs: Value, _ rhs: Value) -> Int {
        func order(_ a: Int128, _ b: Int128) -> Int { a < b ? -1 : (a > b ? 1 : 0) }
        if lhs.scale == rhs.scale { return order(lhs.mantissa, rhs.mantissa) }
        if lhs.scale < rhs.scale {
            // Scaling up overflows only for a magnitude beyond any the other side can have.
            guard let left = scaled(lhs.mantissa, by: rhs.scale - lhs.scale) else { return lhs.mantissa < 0 ? -1 : 1 }
            return order(left, rhs.mantissa)
        }
        guard let right = scaled(rhs.mantissa, by: lhs.scale - rhs.scale) else { return rhs.mantissa < 0 ? 1 : -1 }
        return order(lhs.mantissa, right)
    }

    /// Plain notation, at least `minimumScale` fraction digits (Databricks writes a DECIMAL(38,18)
    /// value with all 18), more when the exact value needs them.
    static func text(_ value: Value, minimumScale: Int = 0) -> String {
        var digits = String(value.mantissa.magnitude)
        if value.scale > 0 {
            if digits.count <= value.scale { digits = String(repeating: "0", count: value.scale + 1 - digits.count) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -value.scale))
        }
        if value.scale < minimumScale {
            if value.scale == 0 { digits += "." }
            digits += String(repeating: "0", count: minimumScale - value.scale)
        }
        return (value.mantissa < 0 ? "-" : "") + digits
    }
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
            let rounded = ExactDecimal.rounded(value, scale: scale)
            guard rounded.integerDigits <= precision - scale else {
                throw DatabaseError(message: "[NUMERIC_VALUE_OUT_OF_RANGE] \(ExactDecimal.text(value)) cannot be represented as Decimal(\(precision), \(scale)).")
            }
            return ExactDecimal.text(rounded, minimumScale: scale)
        })
        // dec_int(value): CAST(decimal AS BIGINT), truncating toward zero.
        db.add(function: DatabaseFunction("dec_int", argumentCount: 1, pure: true) { values in
            guard let value = try operand(values[0]) else { return nil }
            guard let integer = Int64(exactly: ExactDecimal.truncated(value)) else {
                throw DatabaseError(message: "[CAST_OVERFLOW] The value \(ExactDecimal.text(value)) of the type \"DECIMAL\" cannot be cast to \"BIGINT\" due to an overflow.")
            }
            return integer
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
