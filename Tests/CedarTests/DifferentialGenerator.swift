// The generator of Cedar's differential test (see DifferentialTests.swift): deterministic cases of
// an entity graph, 1–4 policies as Cedar text and a few requests, plus their Cedar entity JSON.
// Written for this test from the Cedar language reference; shares no code with any Cedar
// implementation or fuzzer.

import Cedar

// MARK: - Randomness

/// SplitMix64 (named apart from other tests' generators in this module): small, fast, and the same sequence on every platform for one seed.
struct DiffRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }
}

// MARK: - Expressions as generated (printed fully parenthesised, shrunk by the harness)

indirect enum DiffExpr: Hashable, Sendable {
    /// A literal or variable, printed as is (`true`, `-3`, `"a"`, `User::"x"`, `principal`).
    case raw(String)
    /// `!e` or `-e`
    case unary(String, DiffExpr)
    /// Infix: `== != < <= > >= + - * && || in`
    case binary(String, DiffExpr, DiffExpr)
    /// `e.name(args)`
    case method(DiffExpr, String, [DiffExpr])
    /// `name(args)`: the extension constructors.
    case call(String, [DiffExpr])
    /// `e.name` or `e["name"]`
    case attr(DiffExpr, String)
    /// `e has name` or `e has "name"`
    case has(DiffExpr, String)
    /// `e like "<pattern>"` (the pattern already in Cedar syntax, quotes included)
    case like(DiffExpr, String)
    /// `e is T` or `e is T in e2`
    case isType(DiffExpr, String, DiffExpr?)
    case ite(DiffExpr, DiffExpr, DiffExpr)
    case set([DiffExpr])
    case record([DiffRecordEntry])

    var text: String {
        switch self {
        case .raw(let s): return s
        case .unary(let op, let e): return "\(op)(\(e.text))"
        case .binary(let op, let a, let b): return "(\(a.text)) \(op) (\(b.text))"
        case .method(let e, let name, let args): return "(\(e.text)).\(name)(\(args.map(\.text).joined(separator: ", ")))"
        case .call(let name, let args): return "\(name)(\(args.map(\.text).joined(separator: ", ")))"
        case .attr(let e, let name):
            return DiffNames.isIdentifier(name) ? "(\(e.text)).\(name)" : "(\(e.text))[\(cedarQuoted(name))]"
        case .has(let e, let name):
            return "(\(e.text)) has \(DiffNames.isIdentifier(name) ? name : cedarQuoted(name))"
        case .like(let e, let pattern): return "(\(e.text)) like \(pattern)"
        case .isType(let e, let type, nil): return "(\(e.text)) is \(type)"
        case .isType(let e, let type, let target?): return "(\(e.text)) is \(type) in (\(target.text))"
        case .ite(let c, let t, let f): return "(if \(c.text) then \(t.text) else \(f.text))"
        case .set(let items): return "[\(items.map(\.text).joined(separator: ", "))]"
        case .record(let entries):
            let body = entries.map { "\(DiffNames.isIdentifier($0.key) ? $0.key : cedarQuoted($0.key)): \($0.value.text)" }
            return "{\(body.joined(separator: ", "))}"
        }
    }

    /// Direct sub-expressions, in order.
    var children: [DiffExpr] {
        switch self {
        case .raw: return []
        case .unary(_, let e), .attr(let e, _), .has(let e, _), .like(let e, _), .isType(let e, _, nil): return [e]
        case .isType(let e, _, let target?): return [e, target]
        case .binary(_, let a, let b): return [a, b]
        case .method(let e, _, let args): return [e] + args
        case .call(_, let args), .set(let args): return args
        case .ite(let c, let t, let f): return [c, t, f]
        case .record(let entries): return entries.map(\.value)
        }
    }

    /// The same node with its direct sub-expressions replaced (same count as `children`).
    func replacingChildren(_ new: [DiffExpr]) -> DiffExpr {
        switch self {
        case .raw: return self
        case .unary(let op, _): return .unary(op, new[0])
        case .attr(_, let name): return .attr(new[0], name)
        case .has(_, let name): return .has(new[0], name)
        case .like(_, let pattern): return .like(new[0], pattern)
        case .isType(_, let type, nil): return .isType(new[0], type, nil)
        case .isType(_, let type, .some): return .isType(new[0], type, new[1])
        case .binary(let op, _, _): return .binary(op, new[0], new[1])
        case .method(_, let name, _): return .method(new[0], name, Array(new.dropFirst()))
        case .call(let name, _): return .call(name, new)
        case .set: return .set(new)
        case .ite: return .ite(new[0], new[1], new[2])
        case .record(let entries):
            return .record(zip(entries, new).map { DiffRecordEntry(key: $0.key, value: $1) })
        }
    }

    var size: Int { 1 + children.reduce(0) { $0 + $1.size } }

    /// Every expression one simplification step smaller: a node replaced by a literal, by one of
    /// its children, or (sets and records) with one element dropped. Outermost first.
    var simplifications: [DiffExpr] {
        var out: [DiffExpr] = []
        if case .raw = self {
        } else {
            out += [.raw("true"), .raw("false"), .raw("0"), .raw("\"\"")]
            out += children
        }
        switch self {
        case .set(let items):
            for i in items.indices {
                var less = items
                less.remove(at: i)
                out.append(.set(less))
            }
        case .record(let entries):
            for i in entries.indices {
                var less = entries
                less.remove(at: i)
                out.append(.record(less))
            }
        case .isType(let e, let type, .some): out.append(.isType(e, type, nil))
        default: break
        }
        let kids = children
        for (i, kid) in kids.enumerated() {
            for smaller in kid.simplifications {
                var changed = kids
                changed[i] = smaller
                out.append(replacingChildren(changed))
            }
        }
        return out
    }
}

struct DiffRecordEntry: Hashable, Sendable {
    var key: String
    var value: DiffExpr
}

enum DiffNames {
    static let reserved: Set<String> = [
        "true", "false", "if", "then", "else", "in", "is", "like", "has", "permit", "forbid",
        "when", "unless", "principal", "action", "resource", "context", "__cedar",
    ]

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !reserved.contains(name) else { return false }
        func ascii(_ s: Unicode.Scalar, digits: Bool) -> Bool {
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || s == "_" || (digits && s >= "0" && s <= "9")
        }
        return ascii(first, digits: false) && name.unicodeScalars.allSatisfy { ascii($0, digits: true) }
    }
}

// MARK: - Policies, requests, cases

struct DiffCondition: Hashable, Sendable {
    var when: Bool
    var body: DiffExpr
}

struct DiffPolicy: Hashable, Sendable {
    var effect: Effect
    var annotations: [String]
    /// Scope constraints as Cedar text (`principal`, `principal in Group::"g"`, ...).
    var principal: String
    var action: String
    var resource: String
    var conditions: [DiffCondition]

    var text: String {
        var out = annotations.map { $0 + "\n" }.joined()
        out += "\(effect.rawValue)(\(principal), \(action), \(resource))"
        for condition in conditions {
            out += "\n  \(condition.when ? "when" : "unless") { \(condition.body.text) }"
        }
        return out + ";\n"
    }
}

struct DiffCase: Sendable {
    var policies: [DiffPolicy]
    /// Each entity's `ancestors` holds its direct parents only (the store closes them).
    var entities: [Entity]
    var requests: [Request]

    var policyText: String { policies.map(\.text).joined(separator: "\n") }

    var store: Entities { Entities(closingParentsOf: entities) }

    var entitiesJSON: String { DiffJSON.entities(entities) }

    func requestJSON(_ request: Request) -> String { DiffJSON.request(request) }

    /// The case as one element of the reference script's input.
    var json: String {
        "{\"policies\": \(DiffJSON.string(policyText)), \"entities\": \(entitiesJSON), \"requests\": ["
            + requests.map(requestJSON).joined(separator: ", ") + "]}"
    }
}

// MARK: - Cedar entity JSON

enum DiffJSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func uid(_ uid: EntityUID) -> String { "{\"type\": \(string(uid.type)), \"id\": \(string(uid.id))}" }

    static func object(_ fields: [String: Value]) -> String {
        "{" + fields.keys.sorted().map { "\(string($0)): \(value(fields[$0]!))" }.joined(separator: ", ") + "}"
    }

    static func value(_ v: Value) -> String {
        switch v {
        case .bool(let b): return b ? "true" : "false"
        case .long(let n): return String(n)
        case .string(let s): return string(s)
        case .entity(let e): return "{\"__entity\": \(uid(e))}"
        case .set(let items): return "[" + items.map(value).sorted().joined(separator: ", ") + "]"
        case .record(let fields): return object(fields)
        case .extensionValue(let x):
            let (fn, arg) = DiffExtension.render(x)
            return "{\"__extn\": {\"fn\": \(string(fn)), \"arg\": \(string(arg))}}"
        }
    }

    static func entities(_ entities: [Entity]) -> String {
        "["
            + entities.map { entity in
                "{\"uid\": \(uid(entity.uid)), \"attrs\": \(object(entity.attributes)), \"parents\": ["
                    + entity.ancestors.sorted().map(uid).joined(separator: ", ") + "], \"tags\": \(object(entity.tags))}"
            }.joined(separator: ",\n ") + "]"
    }

    static func request(_ r: Request) -> String {
        "{\"principal\": \(string(r.principal.description)), \"action\": \(string(r.action.description)), "
            + "\"resource\": \(string(r.resource.description)), \"context\": \(object(r.context))}"
    }
}

/// Extension values as the constructor strings Cedar reads (`decimal("1.5000")`, ...), and back.
enum DiffExtension {
    static func render(_ x: ExtensionValue) -> (String, String) {
        switch x {
        case .decimal(let units):
            let magnitude = units.magnitude
            let fraction = String(magnitude % 10_000)
            return ("decimal", (units < 0 ? "-" : "") + "\(magnitude / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction)
        case .ipaddr(let ip): return ("ip", renderIP(ip))
        case .datetime(let ms): return ("datetime", renderDatetime(ms))
        case .duration(let ms): return ("duration", "\(ms)ms")
        }
    }

    static func renderIP(_ ip: IPAddress) -> String {
        switch ip.family {
        case .v4:
            let a = UInt32(truncatingIfNeeded: ip.address)
            let text = [24, 16, 8, 0].map { String((a >> UInt32($0)) & 0xff) }.joined(separator: ".")
            return ip.prefixLength == 32 ? text : "\(text)/\(ip.prefixLength)"
        case .v6:
            let groups = stride(from: 112, through: 0, by: -16).map { String(UInt16(truncatingIfNeeded: ip.address >> UInt128($0)), radix: 16) }
            let text = groups.joined(separator: ":")
            return ip.prefixLength == 128 ? text : "\(text)/\(ip.prefixLength)"
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func renderDatetime(_ ms: Int64) -> String {
        let msPerDay: Int64 = 86_400_000
        let day = ms >= 0 ? ms / msPerDay : -((-ms + msPerDay - 1) / msPerDay)
        let rest = ms - day * msPerDay
        let (y, m, d) = civil(days: Int(day))
        func pad(_ n: Int64, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int64(y), 4))-\(pad(Int64(m), 2))-\(pad(Int64(d), 2))T\(pad(rest / 3_600_000, 2)):\(pad(rest / 60000 % 60, 2)):"
            + "\(pad(rest / 1000 % 60, 2)).\(pad(rest % 1000, 3))Z"
    }
}

// MARK: - The generator

/// The types the expression grammar aims for.
enum DiffType: CaseIterable {
    case bool, long, string, entity, set, record, decimal, ip, datetime, duration
}

struct DiffGenerator {
    var rng: DiffRandom
    /// Entities the policies' scopes name, which requests then favour (so scopes match more often).
    var mentioned: [EntityUID] = []

    init(seed: UInt64) { rng = DiffRandom(seed: seed) }

    // Vocabulary -------------------------------------------------------------------------------

    static let principalTypes = ["User", "Group"]
    static let resourceTypes = ["Photo", "Album", "NS::Doc"]
    static let allTypes = ["User", "Group", "Photo", "Album", "NS::Doc", "Action"]
    static let ids = ["alice", "bob", "carol", "g1", "g2", "", "a b", "\u{fc}", "q\"t", "*"]
    static let actionIds = ["view", "edit", "delete", "readOnly", "write", "all"]

    /// Attribute names and the type their values usually have (entities and context share them).
    static let attributes: [(String, DiffType)] = [
        ("name", .string), ("age", .long), ("flag", .bool), ("owner", .entity), ("friends", .set), ("labels", .set),
        ("nums", .set), ("info", .record), ("score", .decimal), ("addr", .ip), ("when", .datetime), ("ttl", .duration),
        ("big", .long), ("a b", .string), ("if", .bool),
    ]
    static let missingAttributes = ["nope", "Name", "", "ghost"]
    static let recordFields: [(String, DiffType)] = [("level", .long), ("title", .string), ("nested", .record), ("ok", .bool)]
    static let tagKeys: [(String, DiffType)] = [("level", .long), ("dept", .string), ("admin", .bool), ("boss", .entity)]

    static let longs: [Int64] = [
        0, 1, -1, 2, 3, 7, 42, 100, -100, 1000, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1,
        1 << 32, 3_037_000_500, -3_037_000_500, 4_611_686_018_427_387_904,
    ]
    static let strings = ["", "a", "alice", "bob", "a*b", "*", "A", "\u{fc}ber", "a b", "x\ny", "\"", "\\", "ab", "ba", "aab", "\0"]
    static let decimals = [
        "0.0", "1.5", "-1.5", "1.0000", "0.0001", "-0.0001", "2.25", "922337203685477.5807", "-922337203685477.5808",
        "922337203685477.5808", "1.", "1.23456", "abc", "1", "01.10", "-0.0", "10.1",
    ]
    static let ips = [
        "127.0.0.1", "10.0.0.0/8", "10.1.2.3", "192.168.1.1", "192.168.0.0/16", "224.0.0.1", "::1", "ffff::/16", "::",
        "fe80::1", "ff02::1", "192.168.1.300", "1.2.3.4/33", "::ffff:1.2.3.4", "0.0.0.0/0", "127.0.0.0/8", "garbage",
        "10.0.0.1/24", "2001:db8::/32", "2001:db8::1",
    ]
    static let datetimes = [
        "2024-01-01", "2024-02-29T12:00:00Z", "2023-02-29", "2024-01-01T00:00:00.123Z", "1970-01-01",
        "1969-12-31T23:59:59Z", "2024-01-01T00:00:00+0130", "2024-01-01T00:00:00.999-2359", "2024-1-1",
        "2000-06-15T08:30:00Z", "9999-12-31T23:59:59.999Z", "0000-01-01", "2024-13-01", "2024-01-01T24:00:00Z",
    ]
    static let durations = [
        "1d", "-2h30m", "1d2h3m4s5ms", "0ms", "1h1d", "9223372036854775807ms", "-9223372036854775808ms",
        "106751991167d", "90m", "1s", "-1ms", "2h", "", "1x", "1d-2h",
    ]
    static let patterns = ["*", "a*", "*b", "a*b", "\\*", "a\\*b", "**", "", "alice", "*\\**", "x\ny*", "\u{fc}*"]

    mutating func uid(types: [String], present: [EntityUID] = [], presentBias: Double = 0.8) -> EntityUID {
        if !present.isEmpty, rng.chance(presentBias) {
            let candidates = present.filter { types.contains($0.type) }
            if !candidates.isEmpty { return rng.pick(candidates) }
        }
        if types == ["Action"] { return EntityUID(type: "Action", id: rng.pick(Self.actionIds)) }
        return EntityUID(type: rng.pick(types), id: rng.pick(Self.ids))
    }

    // Values (entity attributes, tags, context) -----------------------------------------------

    mutating func long() -> Int64 { rng.chance(0.6) ? rng.pick(Self.longs) : Int64(rng.int(in: -50...50)) }

    mutating func value(_ type: DiffType, depth: Int = 2, uids: [EntityUID]) -> Value {
        switch type {
        case .bool: return .bool(rng.chance(0.5))
        case .long: return .long(long())
        case .string: return .string(rng.pick(Self.strings))
        case .entity: return .entity(uid(types: Self.allTypes, present: uids, presentBias: 0.6))
        case .set:
            let element: DiffType = depth > 0 ? rng.pick([.entity, .string, .long, .long, .entity, .bool, .decimal, .set, .record]) : .long
            let count = rng.below(4)
            var items: Set<Value> = []
            for _ in 0..<count {
                items.insert(
                    rng.chance(0.1) && depth > 0
                        ? value(rng.pick(DiffType.allCases), depth: depth - 1, uids: uids)
                        : value(element, depth: depth - 1, uids: uids))
            }
            return .set(items)
        case .record:
            var fields: [String: Value] = [:]
            for (name, fieldType) in Self.recordFields where rng.chance(0.8) {
                if fieldType == .record, depth <= 0 { continue }
                fields[name] = value(fieldType, depth: depth - 1, uids: uids)
            }
            return .record(fields)
        case .decimal:
            return .extensionValue(.decimal(rng.chance(0.2) ? rng.pick([Int64.max, Int64.min + 1, 0]) : Int64(rng.int(in: -200_000...200_000))))
        case .ip:
            if rng.chance(0.6) {
                let prefix = rng.chance(0.6) ? 32 : rng.pick([0, 8, 16, 24, 31])
                let random = UInt32(truncatingIfNeeded: rng.next())
                var address = UInt128(rng.pick([0x7F00_0001, 0x0A00_0000, 0x0A01_0203, 0xC0A8_0101, 0xE000_0001, 0, random]))
                if prefix < 32 { address &= UInt128(UInt32.max << UInt32(32 - prefix)) & 0xFFFF_FFFF }
                return .extensionValue(.ipaddr(IPAddress(family: .v4, address: address, prefixLength: UInt8(prefix))))
            }
            let prefix = rng.chance(0.6) ? 128 : rng.pick([0, 16, 32, 64, 127])
            let random = UInt128(rng.next()) << 64 | UInt128(rng.next())
            var address: UInt128 = rng.pick([
                1, 0, (0xFE80 as UInt128) << 112 | 1, (0xFF02 as UInt128) << 112 | 1,
                (0x2001_0DB8 as UInt128) << 96 | 7, random,
            ])
            if prefix < 128 { address &= prefix == 0 ? 0 : ~(UInt128.max >> UInt128(prefix)) }
            return .extensionValue(.ipaddr(IPAddress(family: .v6, address: address, prefixLength: UInt8(prefix))))
        case .datetime:
            let day = DiffExtension.days(
                year: rng.pick([1969, 1970, 2000, 2023, 2024, 2024, 2100]), month: rng.int(in: 1...12), day: rng.int(in: 1...28))
            let ms = Int64(day) * 86_400_000 + (rng.chance(0.5) ? 0 : Int64(rng.below(86_400_000)))
            return .extensionValue(.datetime(ms))
        case .duration:
            let ms: Int64 =
                rng.chance(0.2)
                ? rng.pick([0, 1, -1, 86_400_000, 1 << 62, -(1 << 62)])
                : Int64(rng.int(in: -100...100)) * rng.pick([1, 1000, 60000, 3_600_000, 86_400_000])
            return .extensionValue(.duration(ms))
        }
    }

    /// A value of the attribute's usual type, or (sometimes) of another.
    mutating func attributeValue(_ type: DiffType, uids: [EntityUID]) -> Value {
        value(rng.chance(0.1) ? rng.pick(DiffType.allCases) : type, uids: uids)
    }

    mutating func attributes(uids: [EntityUID], probability: Double) -> [String: Value] {
        var out: [String: Value] = [:]
        for (name, type) in Self.attributes where rng.chance(probability) { out[name] = attributeValue(type, uids: uids) }
        return out
    }

    // The entity graph --------------------------------------------------------------------------

    mutating func entities() -> [Entity] {
        var uids: [EntityUID] = []
        let count = rng.int(in: 2...9)
        for _ in 0..<count {
            let u = uid(types: rng.chance(0.25) ? ["Action"] : Self.allTypes)
            if !uids.contains(u) { uids.append(u) }
        }
        // Parents only point "forward" in this order (or to absent entities), so the graph has no cycle.
        var out: [Entity] = []
        for (index, u) in uids.enumerated() {
            var parents: Set<EntityUID> = []
            // cedar-policy requires an action's parents to be actions.
            let later = uids[(index + 1)...].filter { u.type != "Action" || $0.type == "Action" }
            for _ in 0..<rng.below(3) {
                if !later.isEmpty, rng.chance(0.75) {
                    parents.insert(rng.pick(later))
                } else {
                    let dangling = uid(types: u.type == "Action" ? ["Action"] : Self.allTypes)
                    if !uids[...index].contains(dangling) { parents.insert(dangling) }
                }
            }
            var tags: [String: Value] = [:]
            if rng.chance(0.4) {
                for (key, type) in Self.tagKeys where rng.chance(0.5) { tags[key] = attributeValue(type, uids: uids) }
            }
            out.append(Entity(uid: u, attributes: attributes(uids: uids, probability: 0.75), ancestors: parents, tags: tags))
        }
        return out
    }

    // Expressions -------------------------------------------------------------------------------

    /// Scalars for expression literals.
    mutating func longLiteral() -> DiffExpr { .raw(String(long())) }
    mutating func stringLiteral() -> DiffExpr { .raw(cedarQuoted(rng.pick(Self.strings))) }
    mutating func entityLiteral(_ uids: [EntityUID]) -> DiffExpr {
        .raw(uid(types: Self.allTypes, present: uids, presentBias: 0.6).description)
    }

    /// A `like` pattern in Cedar syntax: `*` a wildcard, `\*` a literal star, other characters escaped.
    mutating func pattern() -> String {
        // Wildcards as nil, literal characters as themselves.
        var elements: [Unicode.Scalar?] = []
        if rng.chance(0.3) {
            elements = rng.pick(Self.strings).unicodeScalars.map { Optional($0) } + [nil]
        } else {
            // In the vocabulary, `*` is a wildcard and `\*` a literal star.
            var escaped = false
            for scalar in rng.pick(Self.patterns).unicodeScalars {
                if escaped {
                    elements.append(scalar)
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else {
                    elements.append(scalar == "*" ? nil : scalar)
                }
            }
        }
        var out = "\""
        for element in elements {
            guard let scalar = element else {
                out += "*"
                continue
            }
            out += scalar == "*" ? "\\*" : String(cedarQuoted(String(scalar)).dropFirst().dropLast())
        }
        return out + "\""
    }

    /// An expression of an entity (mostly request variables).
    mutating func entityBase(_ uids: [EntityUID], depth: Int) -> DiffExpr {
        switch rng.below(10) {
        case 0...3: return .raw("principal")
        case 4...5: return .raw("resource")
        case 6: return .raw("action")
        case 7: return entityLiteral(uids)
        case 8: return depth > 0 ? expr(.entity, depth: depth - 1, uids: uids) : .raw("principal")
        default: return .attr(.raw(rng.pick(["principal", "resource"])), "owner")
        }
    }

    /// An attribute name: usually one of the given type, sometimes any or a missing one.
    mutating func attributeName(_ type: DiffType?) -> String {
        if rng.chance(0.08) { return rng.pick(Self.missingAttributes) }
        let candidates = Self.attributes.filter { type == nil || $0.1 == type }
        return candidates.isEmpty ? rng.pick(Self.attributes).0 : rng.pick(candidates).0
    }

    /// A read of data of this type: an attribute of an entity or of the context, a record field, or a tag.
    mutating func read(_ type: DiffType, depth: Int, uids: [EntityUID]) -> DiffExpr? {
        switch rng.below(6) {
        case 0, 1:
            guard Self.attributes.contains(where: { $0.1 == type }) else { return nil }
            return .attr(.raw("context"), attributeName(type))
        case 2, 3:
            guard Self.attributes.contains(where: { $0.1 == type }) else { return nil }
            return .attr(entityBase(uids, depth: depth), attributeName(type))
        case 4:
            guard let field = Self.recordFields.filter({ $0.1 == type }).randomElement(using: &rng) else { return nil }
            var base: DiffExpr = .attr(rng.chance(0.5) ? .raw("context") : entityBase(uids, depth: 0), "info")
            if rng.chance(0.3) { base = .attr(base, "nested") }
            return .attr(base, field.0)
        default:
            guard let tag = Self.tagKeys.filter({ $0.1 == type }).randomElement(using: &rng) else { return nil }
            return .method(entityBase(uids, depth: depth), "getTag", [rng.chance(0.9) ? .raw(cedarQuoted(tag.0)) : stringLiteral()])
        }
    }

    mutating func expr(_ wanted: DiffType, depth: Int, uids: [EntityUID]) -> DiffExpr {
        // Now and then an expression of another type, to exercise type errors.
        let type = rng.chance(0.05) ? rng.pick(DiffType.allCases) : wanted
        if depth <= 0 || rng.chance(0.15) { return leaf(type, uids: uids) }
        if rng.chance(0.2), let read = read(type, depth: depth - 1, uids: uids) { return read }
        if rng.chance(0.06) {
            return .ite(expr(.bool, depth: depth - 1, uids: uids), expr(type, depth: depth - 1, uids: uids), expr(type, depth: depth - 1, uids: uids))
        }
        let d = depth - 1
        switch type {
        case .bool: return boolExpr(depth: d, uids: uids)
        case .long:
            switch rng.below(6) {
            case 0: return .binary("+", expr(.long, depth: d, uids: uids), expr(.long, depth: d, uids: uids))
            case 1: return .binary("-", expr(.long, depth: d, uids: uids), expr(.long, depth: d, uids: uids))
            case 2: return .binary("*", expr(.long, depth: d, uids: uids), expr(.long, depth: d, uids: uids))
            case 3: return .unary("-", expr(.long, depth: d, uids: uids))
            case 4:
                return .method(
                    expr(.duration, depth: d, uids: uids), rng.pick(["toDays", "toHours", "toMinutes", "toSeconds", "toMilliseconds"]), [])
            default: return leaf(.long, uids: uids)
            }
        case .string, .entity: return read(type, depth: d, uids: uids) ?? leaf(type, uids: uids)
        case .set:
            let element: DiffType = rng.pick([.long, .entity, .string, .entity, .bool, .set, .record, .decimal])
            return .set((0..<rng.below(4)).map { _ in expr(element, depth: d, uids: uids) })
        case .record:
            var entries: [DiffRecordEntry] = []
            for (name, fieldType) in Self.recordFields where rng.chance(0.5) {
                entries.append(DiffRecordEntry(key: name, value: expr(fieldType, depth: d, uids: uids)))
            }
            if rng.chance(0.3) { entries.append(DiffRecordEntry(key: rng.pick(["a b", "if", "x"]), value: expr(.long, depth: d, uids: uids))) }
            return .record(entries)
        case .decimal:
            return .call("decimal", [rng.chance(0.9) ? .raw(cedarQuoted(rng.pick(Self.decimals))) : expr(.string, depth: d, uids: uids)])
        case .ip:
            return .call("ip", [rng.chance(0.9) ? .raw(cedarQuoted(rng.pick(Self.ips))) : expr(.string, depth: d, uids: uids)])
        case .datetime:
            switch rng.below(4) {
            case 0: return .method(expr(.datetime, depth: d, uids: uids), "offset", [expr(.duration, depth: d, uids: uids)])
            case 1: return .method(expr(.datetime, depth: d, uids: uids), "toDate", [])
            default: return .call("datetime", [.raw(cedarQuoted(rng.pick(Self.datetimes)))])
            }
        case .duration:
            switch rng.below(4) {
            case 0: return .method(expr(.datetime, depth: d, uids: uids), "durationSince", [expr(.datetime, depth: d, uids: uids)])
            case 1: return .method(expr(.datetime, depth: d, uids: uids), "toTime", [])
            default: return .call("duration", [.raw(cedarQuoted(rng.pick(Self.durations)))])
            }
        }
    }

    mutating func leaf(_ type: DiffType, uids: [EntityUID]) -> DiffExpr {
        switch type {
        case .bool: return .raw(rng.chance(0.65) ? "true" : "false")
        case .long: return longLiteral()
        case .string: return stringLiteral()
        case .entity:
            return rng.chance(0.5) ? .raw(rng.pick(["principal", "resource", "action"])) : entityLiteral(uids)
        case .set:
            return rng.chance(0.5) ? .set([]) : .set([entityLiteral(uids), entityLiteral(uids)])
        case .record: return rng.chance(0.5) ? .raw("context") : .record([])
        case .decimal: return .call("decimal", [.raw(cedarQuoted(rng.pick(Self.decimals)))])
        case .ip: return .call("ip", [.raw(cedarQuoted(rng.pick(Self.ips)))])
        case .datetime: return .call("datetime", [.raw(cedarQuoted(rng.pick(Self.datetimes)))])
        case .duration: return .call("duration", [.raw(cedarQuoted(rng.pick(Self.durations)))])
        }
    }

    mutating func boolExpr(depth d: Int, uids: [EntityUID]) -> DiffExpr {
        switch rng.below(25) {
        case 0: return .unary("!", expr(.bool, depth: d, uids: uids))
        case 1: return .binary("&&", expr(.bool, depth: d, uids: uids), expr(.bool, depth: d, uids: uids))
        case 2, 3, 4: return .binary("||", expr(.bool, depth: d, uids: uids), expr(.bool, depth: d, uids: uids))
        case 5:
            let t = rng.pick(DiffType.allCases)
            return .binary(rng.pick(["==", "!="]), expr(t, depth: d, uids: uids), expr(t, depth: d, uids: uids))
        case 6:
            return .binary(rng.pick(["==", "!="]), entityBase(uids, depth: d), entityLiteral(uids))
        case 7, 8:
            let t: DiffType = rng.chance(0.8) ? .long : rng.pick([.datetime, .duration, .decimal, .string])
            return .binary(rng.pick(["<", "<=", ">", ">="]), expr(t, depth: d, uids: uids), expr(t, depth: d, uids: uids))
        case 9:
            return .binary("in", entityBase(uids, depth: d), rng.chance(0.7) ? entityLiteral(uids) : expr(.entity, depth: d, uids: uids))
        case 10:
            let target: DiffExpr = rng.chance(0.5) ? .set([entityLiteral(uids), entityLiteral(uids)]) : expr(.set, depth: d, uids: uids)
            return .binary("in", entityBase(uids, depth: d), target)
        case 11:
            let base: DiffExpr
            switch rng.below(5) {
            case 0: base = .raw("context")
            case 1: base = .attr(.raw("context"), "info")
            case 2: base = expr(.record, depth: d, uids: uids)
            default: base = entityBase(uids, depth: d)
            }
            return .has(base, rng.chance(0.7) ? attributeName(nil) : rng.pick(Self.recordFields).0)
        case 12:
            return .like(expr(.string, depth: d, uids: uids), pattern())
        case 13:
            let type = rng.pick(Self.allTypes + ["Nope"])
            return .isType(entityBase(uids, depth: d), type, rng.chance(0.3) ? entityLiteral(uids) : nil)
        case 14:
            return .method(expr(.set, depth: d, uids: uids), "contains", [expr(rng.pick([.entity, .long, .string]), depth: d, uids: uids)])
        case 15:
            return .method(expr(.set, depth: d, uids: uids), rng.pick(["containsAll", "containsAny"]), [expr(.set, depth: d, uids: uids)])
        case 16:
            return .method(expr(.set, depth: d, uids: uids), "isEmpty", [])
        case 17:
            return .method(entityBase(uids, depth: d), "hasTag", [.raw(cedarQuoted(rng.chance(0.8) ? rng.pick(Self.tagKeys).0 : "nope"))])
        case 18:
            return .method(
                expr(.decimal, depth: d, uids: uids), rng.pick(["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual"]),
                [expr(.decimal, depth: d, uids: uids)])
        case 19:
            if rng.chance(0.4) { return .method(expr(.ip, depth: d, uids: uids), "isInRange", [expr(.ip, depth: d, uids: uids)]) }
            return .method(expr(.ip, depth: d, uids: uids), rng.pick(["isIpv4", "isIpv6", "isLoopback", "isMulticast"]), [])
        case 20:
            return .binary(rng.pick(["==", "!="]), expr(.long, depth: d, uids: uids), expr(.long, depth: d, uids: uids))
        case 21, 22, 23:
            // The idiom that keeps a read from erring: `e has a && <use of e.a>`.
            let (name, type) = rng.pick(Self.attributes)
            let base: DiffExpr = rng.chance(0.3) ? .raw("context") : entityBase(uids, depth: 0)
            let read: DiffExpr = .attr(base, name)
            let use: DiffExpr
            switch type {
            case .bool: use = read
            case .long: use = .binary(rng.pick(["<", "<=", ">", ">=", "=="]), read, expr(.long, depth: d, uids: uids))
            case .set:
                use = .method(
                    read, rng.pick(["contains", "containsAny"]), [rng.chance(0.5) ? entityLiteral(uids) : expr(.set, depth: d, uids: uids)])
            case .string: use = rng.chance(0.5) ? .like(read, pattern()) : .binary("==", read, stringLiteral())
            case .record: use = .has(read, rng.pick(Self.recordFields).0)
            case .decimal: use = .method(read, "lessThan", [expr(.decimal, depth: d, uids: uids)])
            case .ip: use = .method(read, rng.pick(["isLoopback", "isIpv4", "isInRange"]), [])
            case .datetime: use = .binary(rng.pick(["<", ">="]), read, expr(.datetime, depth: d, uids: uids))
            case .duration: use = .binary(rng.pick(["<", ">="]), .method(read, "toSeconds", []), longLiteral())
            case .entity: use = .binary("in", read, entityLiteral(uids))
            }
            if case .method(let receiver, "isInRange", []) = use {
                return .binary("&&", .has(base, name), .method(receiver, "isInRange", [expr(.ip, depth: d, uids: uids)]))
            }
            return .binary("&&", .has(base, name), use)
        default:
            return read(.bool, depth: d, uids: uids) ?? leaf(.bool, uids: uids)
        }
    }

    // Policies ----------------------------------------------------------------------------------

    /// Notes an entity a scope names.
    mutating func mention(_ uid: EntityUID) -> EntityUID {
        mentioned.append(uid)
        return uid
    }

    mutating func scope(_ variable: String, types: [String], uids: [EntityUID]) -> String {
        switch rng.below(16) {
        case 0...4, 12...14: return variable
        case 5: return "\(variable) == \(mention(uid(types: types, present: uids)))"
        case 6: return "\(variable) in \(mention(uid(types: Self.allTypes, present: uids)))"
        case 7: return "\(variable) in \(mention(uid(types: types, present: uids)))"
        case 8: return "\(variable) is \(rng.pick(types))"
        case 9: return "\(variable) is \(rng.pick(Self.allTypes))"
        case 10: return "\(variable) is \(rng.pick(types)) in \(mention(uid(types: Self.allTypes, present: uids)))"
        default: return "\(variable) == \(mention(uid(types: Self.allTypes, present: uids)))"
        }
    }

    mutating func actionScope(uids: [EntityUID]) -> String {
        switch rng.below(9) {
        case 0, 1, 2, 7, 8: return "action"
        case 3: return "action == \(mention(uid(types: ["Action"], present: uids)))"
        case 4: return "action in \(mention(uid(types: ["Action"], present: uids)))"
        default:
            let members = (0..<rng.int(in: 1...3)).map { _ in mention(uid(types: ["Action"], present: uids)).description }
            return "action in [\(members.joined(separator: ", "))]"
        }
    }

    mutating func policy(uids: [EntityUID]) -> DiffPolicy {
        var annotations: [String] = []
        if rng.chance(0.15) { annotations.append("@id(\(cedarQuoted(rng.pick(["p", "q", ""]))))") }
        if rng.chance(0.05) { annotations.append("@advice") }
        let conditions = (0..<rng.pick([0, 1, 1, 1, 1, 2, 2, 3])).map { _ in
            DiffCondition(when: rng.chance(0.6), body: expr(.bool, depth: rng.pick([1, 2, 2, 3, 3, 4]), uids: uids))
        }
        return DiffPolicy(
            effect: rng.chance(0.72) ? .permit : .forbid, annotations: annotations,
            principal: scope("principal", types: Self.principalTypes, uids: uids),
            action: actionScope(uids: uids),
            resource: scope("resource", types: Self.resourceTypes, uids: uids),
            conditions: conditions)
    }

    mutating func request(uids: [EntityUID]) -> Request {
        let favoured = rng.chance(0.5) ? mentioned + mentioned + uids : uids
        return Request(
            principal: uid(types: Self.principalTypes, present: favoured),
            action: uid(types: ["Action"], present: favoured),
            resource: uid(types: Self.resourceTypes, present: favoured),
            context: attributes(uids: uids, probability: 0.85))
    }

    mutating func nextCase(requests: Int) -> DiffCase {
        let entities = entities()
        let uids = entities.map(\.uid)
        mentioned = []
        let policies = (0..<rng.int(in: 1...4)).map { _ in policy(uids: uids) }
        return DiffCase(policies: policies, entities: entities, requests: (0..<requests).map { _ in request(uids: uids) })
    }
}

extension DiffRandom: RandomNumberGenerator {}
