// Cedar's extension functions (cedar-spec `Spec/ExtFun.lean`).

/// Cedar's extension functions by name (`decimal`, `ip`, `datetime`, `duration`, and the
/// methods, receiver first), shared by the evaluator and the entity-JSON `__extn` escape.
///
/// A constructor given a `.string` it cannot parse, or an arithmetic result outside the
/// `Int64` range, throws `.extensionError`; a wrong number or type of arguments throws
/// `.typeError`; an unknown name throws `.extensionError`.
public enum Extensions {
    /// Applies the extension function `name` to `arguments` (for methods, the receiver first).
    public static func call(_ name: String, _ arguments: [Value]) throws(EvaluationError) -> Value {
        switch name {
        case "decimal":
            let text = try string(arguments, name)
            guard let value = CedarDecimal.parse(text) else {
                throw .extensionError("invalid decimal literal \(cedarQuoted(text))")
            }
            return .extensionValue(.decimal(value))
        case "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual":
            let (a, b) = try decimals(arguments, name)
            let result: Bool =
                switch name {
                case "lessThan": a < b
                case "lessThanOrEqual": a <= b
                case "greaterThan": a > b
                default: a >= b
                }
            return .bool(result)
        case "ip":
            let text = try string(arguments, name)
            guard let address = IPAddress(parsing: text) else {
                throw .extensionError("invalid IP address \(cedarQuoted(text))")
            }
            return .extensionValue(.ipaddr(address))
        case "isIpv4":
            return .bool(try ipaddr(arguments, name).family == .v4)
        case "isIpv6":
            return .bool(try ipaddr(arguments, name).family == .v6)
        case "isLoopback":
            return .bool(try ipaddr(arguments, name).isLoopback)
        case "isMulticast":
            return .bool(try ipaddr(arguments, name).isMulticast)
        case "isInRange":
            try arity(arguments, 2, name)
            guard case .extensionValue(.ipaddr(let a)) = arguments[0] else {
                throw .typeError(expected: "ipaddr", found: arguments[0].typeName)
            }
            guard case .extensionValue(.ipaddr(let b)) = arguments[1] else {
                throw .typeError(expected: "ipaddr", found: arguments[1].typeName)
            }
            return .bool(a.isInRange(b))
        case "datetime":
            let text = try string(arguments, name)
            guard let value = CedarDatetime.parse(text) else {
                throw .extensionError("invalid datetime \(cedarQuoted(text))")
            }
            return .extensionValue(.datetime(value))
        case "duration":
            let text = try string(arguments, name)
            guard let value = CedarDuration.parse(text) else {
                throw .extensionError("invalid duration \(cedarQuoted(text))")
            }
            return .extensionValue(.duration(value))
        case "offset":
            try arity(arguments, 2, name)
            guard case .extensionValue(.datetime(let dt)) = arguments[0] else {
                throw .typeError(expected: "datetime", found: arguments[0].typeName)
            }
            guard case .extensionValue(.duration(let dur)) = arguments[1] else {
                throw .typeError(expected: "duration", found: arguments[1].typeName)
            }
            guard let result = CedarDatetime.offset(dt, by: dur) else { throw .extensionError("datetime overflow in offset") }
            return .extensionValue(.datetime(result))
        case "durationSince":
            try arity(arguments, 2, name)
            guard case .extensionValue(.datetime(let a)) = arguments[0] else {
                throw .typeError(expected: "datetime", found: arguments[0].typeName)
            }
            guard case .extensionValue(.datetime(let b)) = arguments[1] else {
                throw .typeError(expected: "datetime", found: arguments[1].typeName)
            }
            guard let result = CedarDatetime.durationSince(a, b) else {
                throw .extensionError("duration overflow in durationSince")
            }
            return .extensionValue(.duration(result))
        case "toDate":
            guard let result = CedarDatetime.toDate(try datetime(arguments, name)) else {
                throw .extensionError("datetime overflow in toDate")
            }
            return .extensionValue(.datetime(result))
        case "toTime":
            return .extensionValue(.duration(CedarDatetime.toTime(try datetime(arguments, name))))
        case "toMilliseconds":
            return .long(try duration(arguments, name))
        case "toSeconds":
            return .long(CedarDuration.toSeconds(try duration(arguments, name)))
        case "toMinutes":
            return .long(CedarDuration.toMinutes(try duration(arguments, name)))
        case "toHours":
            return .long(CedarDuration.toHours(try duration(arguments, name)))
        case "toDays":
            return .long(CedarDuration.toDays(try duration(arguments, name)))
        default:
            throw .extensionError("unknown extension function \(name)")
        }
    }

    private static func arity(_ arguments: [Value], _ count: Int, _ name: String) throws(EvaluationError) {
        guard arguments.count == count else {
            throw .typeError(
                expected: "\(count) argument\(count == 1 ? "" : "s") for \(name)",
                found: "\(arguments.count)")
        }
    }

    private static func string(_ arguments: [Value], _ name: String) throws(EvaluationError) -> String {
        try arity(arguments, 1, name)
        guard case .string(let text) = arguments[0] else { throw .typeError(expected: "string", found: arguments[0].typeName) }
        return text
    }

    private static func decimals(_ arguments: [Value], _ name: String) throws(EvaluationError) -> (Int64, Int64) {
        try arity(arguments, 2, name)
        guard case .extensionValue(.decimal(let a)) = arguments[0] else {
            throw .typeError(expected: "decimal", found: arguments[0].typeName)
        }
        guard case .extensionValue(.decimal(let b)) = arguments[1] else {
            throw .typeError(expected: "decimal", found: arguments[1].typeName)
        }
        return (a, b)
    }

    private static func ipaddr(_ arguments: [Value], _ name: String) throws(EvaluationError) -> IPAddress {
        try arity(arguments, 1, name)
        guard case .extensionValue(.ipaddr(let a)) = arguments[0] else {
            throw .typeError(expected: "ipaddr", found: arguments[0].typeName)
        }
        return a
    }

    private static func datetime(_ arguments: [Value], _ name: String) throws(EvaluationError) -> Int64 {
        try arity(arguments, 1, name)
        guard case .extensionValue(.datetime(let d)) = arguments[0] else {
            throw .typeError(expected: "datetime", found: arguments[0].typeName)
        }
        return d
    }

    private static func duration(_ arguments: [Value], _ name: String) throws(EvaluationError) -> Int64 {
        try arity(arguments, 1, name)
        guard case .extensionValue(.duration(let d)) = arguments[0] else {
            throw .typeError(expected: "duration", found: arguments[0].typeName)
        }
        return d
    }
}
