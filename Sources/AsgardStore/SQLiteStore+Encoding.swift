import AsgardCore
import Foundation
import GRDB

/// How values cross the SQLite boundary: `StoreCoding` (shared with the PostgreSQL store), and
/// reading its text columns from GRDB rows.
typealias Encoding = StoreCoding

extension StoreCoding {
    /// A text column holding the raw value of `type`.
    static func decodeEnum<Value: RawRepresentable>(_ type: Value.Type, _ row: Row, _ column: String, table: String) throws -> Value
    where Value.RawValue == String {
        try decodeEnum(type, try row.decode(String.self, forColumn: column), column: column, table: table)
    }

    /// A text column holding a data class name.
    static func decodeDataClass(_ row: Row, _ column: String, table: String) throws -> DataClass {
        try decodeDataClass(try row.decode(String.self, forColumn: column), column: column, table: table)
    }
}
