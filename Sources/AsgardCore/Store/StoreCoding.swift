import AsgardJSON
package import Foundation

/// How values cross a store's boundary, whatever the database: instants as integer
/// microseconds, the audit log's RFC 3339 times, canonical JSON, and the JSON columns of
/// approvals and routes. Shared by the SQLite and PostgreSQL stores (package access), so both
/// write exactly the same bytes for the same value.
package enum StoreCoding {
    // MARK: Instants

    /// Microseconds since 1970-01-01T00:00:00Z, rounded to the nearest microsecond.
    package static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    package static func date(micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// `date` truncated to the microsecond, exactly as it reads back from the database.
    package static func stored(_ date: Date) -> Date { Self.date(micros: micros(date)) }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:42:34.123Z` (truncated, not rounded,
    /// so an entry is never stamped later than it happened).
    package static func rfc3339Milliseconds(_ date: Date) -> String {
        let micros = micros(date)
        // Floor division, so instants before 1970 still split into a second and a positive remainder.
        let millis = micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000)
        let seconds = millis >= 0 ? millis / 1000 : -((-millis + 999) / 1000)
        let milliseconds = Int(millis - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.date(days: Int(days))
        let (hour, minute, second) = (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
        guard (0...9999).contains(year) else {
            return pad(Int(year), 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
                + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2) + "." + pad(milliseconds, 3) + "Z"
        }
        // Written in place (the audit chain stamps every gateway call with one of these): the
        // same text as the concatenation above, without its twenty-odd small strings.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func put(_ value: Int, width: Int, then separator: Unicode.Scalar) {
                var rest = value
                for place in stride(from: width - 1, through: 0, by: -1) {
                    buffer[at + place] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                buffer[at + width] = UInt8(ascii: separator)
                at += width + 1
            }
            put(Int(year), width: 4, then: "-")
            put(month, width: 2, then: "-")
            put(day, width: 2, then: "T")
            put(hour, width: 2, then: ":")
            put(minute, width: 2, then: ":")
            put(second, width: 2, then: ".")
            put(milliseconds, width: 3, then: "Z")
            return at
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    // MARK: JSON

    /// Canonical JSON: sorted keys, unescaped slashes, ISO 8601 dates (as `DesiredObject.canonicalJSON`).
    package static func canonicalJSON<Value: Encodable>(_ value: Value) throws -> String {
        try CanonicalJSON.encode(value)
    }

    /// Decodes JSON written by `canonicalJSON`.
    package static func decodeJSON<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// A text column holding the raw value of `type`.
    package static func decodeEnum<Value: RawRepresentable>(_ type: Value.Type, _ raw: String, column: String, table: String) throws -> Value
    where Value.RawValue == String {
        guard let value = Value(rawValue: raw) else { throw CorruptRow(table: table, column: column, value: raw) }
        return value
    }

    /// A text column holding a data class name.
    package static func decodeDataClass(_ name: String, column: String, table: String) throws -> DataClass {
        guard let value = DataClass(name: name) else { throw CorruptRow(table: table, column: column, value: name) }
        return value
    }

    // MARK: Costs

    /// A cost record's `detail` column (the query, why it is an estimate, or why it is not
    /// measured) and `basis` (what an estimate stands on; nil otherwise).
    package static func costColumns(_ record: CostRecord) -> (detail: String, basis: String?) {
        switch record.measurement {
        case .measured(_, let query): (query, nil)
        case .estimate(_, let reason, let basis): (reason, basis)
        case .notMeasured(let reason): (reason, nil)
        }
    }

    /// The measurement a `costs` row holds; a label that contradicts its amount is a corrupt row.
    package static func costMeasurement(label: String, amount: Int64?, detail: String, basis: String?) throws -> CostMeasurement {
        switch (label, amount) {
        case ("measured", let amount?): return .measured(MicroDollars(amount), query: detail)
        case ("estimate", let amount?): return .estimate(MicroDollars(amount), reason: detail, basis: basis ?? "")
        case ("not_measured", nil): return .notMeasured(reason: detail)
        default: throw CorruptRow(table: "costs", column: "measurement", value: "\(label) with amount \(amount.map(String.init) ?? "NULL")")
        }
    }

    // MARK: Approvals and routes

    /// A new approval id: `apr_` and 16 lower-case hex digits from the system's secure random source.
    package static func newApprovalID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = String(generator.next() as UInt64, radix: 16)
        return "apr_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// `changes` as a JSON array of `{address, type, action, before, after}` (attribute values exact).
    package static func changesJSON(_ changes: [PlannedChange]) -> String {
        JSONValue.array(
            changes.map { change in
                .object([
                    JSONMember(key: "address", value: .string(change.address)),
                    JSONMember(key: "type", value: .string(change.type)),
                    JSONMember(key: "action", value: .string(change.action)),
                    JSONMember(key: "before", value: change.before ?? .null),
                    JSONMember(key: "after", value: change.after ?? .null),
                ])
            }
        ).jsonText
    }

    /// The planned changes written by `changesJSON`.
    package static func changes(_ text: String) throws -> [PlannedChange] {
        let corrupt = CorruptRow(table: "approvals", column: "changes_json", value: String(text.prefix(120)))
        guard case .array(let items)? = try? JSONValue.parse(text) else { throw corrupt }
        return try items.map { item in
            guard case .string(let address)? = item["address"], case .string(let type)? = item["type"],
                case .string(let action)? = item["action"]
            else { throw corrupt }
            // (`JSONValue` is nil-literal expressible: spell out the absent case.)
            let before: JSONValue? = item["before"] == .null ? Optional.none : item["before"]
            let after: JSONValue? = item["after"] == .null ? Optional.none : item["after"]
            return PlannedChange(address: address, type: type, action: action, before: before, after: after)
        }
    }

    /// A route's `shared_with_json`: the project ids as a JSON array of strings.
    package static func sharedWithJSON(_ projects: [String]) -> String {
        JSONValue.array(projects.map(JSONValue.string)).jsonText
    }

    /// The project ids written by `sharedWithJSON`.
    package static func sharedWith(_ text: String) throws -> [String] {
        guard case .array(let items)? = try? JSONValue.parse(text) else {
            throw CorruptRow(table: "routes", column: "shared_with_json", value: text)
        }
        return try items.map { item in
            guard case .string(let id) = item else { throw CorruptRow(table: "routes", column: "shared_with_json", value: text) }
            return id
        }
    }
}

/// A row whose stored value this binary cannot interpret (edited by hand, or written by a bug).
package struct CorruptRow: Error, CustomStringConvertible {
    package var table: String
    package var column: String
    package var value: String

    package init(table: String, column: String, value: String) {
        self.table = table
        self.column = column
        self.value = value
    }

    package var description: String { "the store's \(table).\(column) holds \(value.debugDescription), which is not a valid value" }
}

/// A caller asked for something the store's contract does not allow (a programming error).
package struct InvalidRequest: Error, CustomStringConvertible {
    package var description: String

    package init(description: String) { self.description = description }
}
