import AsgardCore
import AsgardJSON
import Foundation
import GRDB

/// How values cross the SQLite boundary: instants, canonical JSON, enums stored as text.
enum Encoding {
    // MARK: Instants

    /// Microseconds since 1970-01-01T00:00:00Z, rounded to the nearest microsecond.
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    static func date(micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// `date` truncated to the microsecond, exactly as it reads back from the database.
    static func stored(_ date: Date) -> Date { Self.date(micros: micros(date)) }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:42:34.123Z` (truncated, not rounded,
    /// so an entry is never stamped later than it happened).
    static func rfc3339Milliseconds(_ date: Date) -> String {
        let micros = micros(date)
        // Floor division, so instants before 1970 still split into a second and a positive remainder.
        let millis = micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000)
        let seconds = millis >= 0 ? millis / 1000 : -((-millis + 999) / 1000)
        let milliseconds = Int(millis - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.date(days: Int(days))
        return pad(Int(year), 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
            + "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
            + "." + pad(milliseconds, 3) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    // MARK: JSON

    /// Canonical JSON: sorted keys, unescaped slashes, ISO 8601 dates (as `DesiredObject.canonicalJSON`).
    static func canonicalJSON<Value: Encodable>(_ value: Value) throws -> String {
        try CanonicalJSON.encode(value)
    }

    /// Decodes JSON written by `canonicalJSON`.
    static func decodeJSON<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    // MARK: Rows

    /// A text column holding the raw value of `type`.
    static func decodeEnum<Value: RawRepresentable>(_ type: Value.Type, _ row: Row, _ column: String, table: String) throws -> Value
    where Value.RawValue == String {
        let raw = try row.decode(String.self, forColumn: column)
        guard let value = Value(rawValue: raw) else {
            throw CorruptRow(table: table, column: column, value: raw)
        }
        return value
    }

    /// A text column holding a data class name.
    static func decodeDataClass(_ row: Row, _ column: String, table: String) throws -> DataClass {
        let name = try row.decode(String.self, forColumn: column)
        guard let value = DataClass(name: name) else {
            throw CorruptRow(table: table, column: column, value: name)
        }
        return value
    }
}

/// A row whose stored value this binary cannot interpret (edited by hand, or written by a bug).
struct CorruptRow: Error, CustomStringConvertible {
    var table: String
    var column: String
    var value: String

    var description: String { "the store's \(table).\(column) holds \(value.debugDescription), which is not a valid value" }
}

/// A caller asked for something the store's contract does not allow (a programming error).
struct InvalidRequest: Error, CustomStringConvertible {
    var description: String
}
