import AsgardJSON
import Foundation
import GRDB

/// A Databricks SQL type, as far as the billing tables and the queries over them need.
indirect enum SQLType: Sendable, Equatable {
    case string, long, int, double, boolean, date, timestamp, null
    case decimal(precision: Int, scale: Int)
    case map
    /// Fields in order.
    case structure([StructField])

    /// What sums and products of quantities and prices are reported as.
    static let money = SQLType.decimal(precision: 38, scale: 18)

    var isDecimal: Bool { if case .decimal = self { true } else { false } }
    var isNumeric: Bool {
        switch self {
        case .long, .int, .double, .decimal: true
        default: false
        }
    }

    /// `type_name` in a result manifest.
    var typeName: String {
        switch self {
        case .string: "STRING"
        case .long: "LONG"
        case .int: "INT"
        case .double: "DOUBLE"
        case .boolean: "BOOLEAN"
        case .date: "DATE"
        case .timestamp: "TIMESTAMP"
        case .null: "NULL"
        case .decimal: "DECIMAL"
        case .map: "MAP"
        case .structure: "STRUCT"
        }
    }

    /// `type_text` in a result manifest: the full SQL type.
    var typeText: String {
        switch self {
        case .long: "BIGINT"
        case .null: "VOID"
        case .decimal(let precision, let scale): "DECIMAL(\(precision),\(scale))"
        case .map: "MAP<STRING,STRING>"
        case .structure(let fields): "STRUCT<" + fields.map { "\($0.name):\($0.type.typeText)" }.joined(separator: ",") + ">"
        default: typeName
        }
    }
}

/// One field of a struct column.
struct StructField: Sendable, Equatable {
    var name: String
    var type: SQLType
}

/// A table of the fake's catalog: its three-part name and typed columns. The SQLite table has
/// the same columns; maps and structs are JSON text, decimals decimal text, dates `YYYY-MM-DD`,
/// timestamps `YYYY-MM-DDTHH:MM:SS.fffZ`, booleans 0/1.
struct TableSchema: Sendable {
    var name: String
    var columns: [(name: String, type: SQLType)]

    func column(_ name: String) -> (name: String, type: SQLType)? {
        columns.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The SQLite table name: the three-part name as one quoted identifier.
    var sqliteName: String { "\"\(name)\"" }

    var createStatement: String {
        let definitions = columns.map { column -> String in
            let affinity: String
            switch column.type {
            case .long, .int, .boolean: affinity = "INTEGER"
            case .double: affinity = "REAL"
            default: affinity = "TEXT"
            }
            return "\"\(column.name)\" \(affinity)"
        }
        return "CREATE TABLE \(sqliteName) (\(definitions.joined(separator: ", ")))"
    }
}

/// The tables the fake serves, with the columns `system.billing.usage`,
/// `system.billing.list_prices` and `system.serving.endpoint_usage` document.
enum BillingCatalog {
    static let usage = TableSchema(
        name: "system.billing.usage",
        columns: [
            ("record_id", .string), ("account_id", .string), ("workspace_id", .string), ("sku_name", .string),
            ("cloud", .string), ("usage_start_time", .timestamp), ("usage_end_time", .timestamp), ("usage_date", .date),
            ("custom_tags", .map), ("usage_unit", .string), ("usage_quantity", .money),
            ("usage_metadata", .structure(strings(
                "cluster_id", "job_id", "warehouse_id", "instance_pool_id", "node_type", "job_run_id", "notebook_id",
                "dlt_pipeline_id", "endpoint_name", "endpoint_id", "dlt_update_id", "dlt_maintenance_id", "run_name",
                "job_name", "notebook_path", "app_id", "app_name", "budget_policy_id"))),
            ("identity_metadata", .structure(strings("run_as", "owned_by", "created_by"))),
            ("record_type", .string), ("ingestion_date", .date), ("billing_origin_product", .string),
            ("product_features", .structure(strings("jobs_tier", "sql_tier", "dlt_tier", "serving_type") + [StructField(name: "is_serverless", type: .boolean)])),
            ("usage_type", .string),
        ])

    static let price = SQLType.decimal(precision: 30, scale: 18)

    static let listPrices = TableSchema(
        name: "system.billing.list_prices",
        columns: [
            ("price_start_time", .timestamp), ("price_end_time", .timestamp), ("account_id", .string), ("sku_name", .string),
            ("cloud", .string), ("currency_code", .string), ("usage_unit", .string),
            ("pricing", .structure([
                StructField(name: "default", type: price),
                StructField(name: "promotional", type: .structure([StructField(name: "default", type: price)])),
                StructField(name: "effective_list", type: .structure([StructField(name: "default", type: price)])),
            ])),
        ])

    /// The real table names the served entity through `served_entity_id` (joined with
    /// `system.serving.served_entities`); the fake also carries `endpoint_name` and
    /// `served_entity_name` here, as that join's answer, since it has no served_entities table.
    static let endpointUsage = TableSchema(
        name: "system.serving.endpoint_usage",
        columns: [
            ("account_id", .string), ("workspace_id", .string), ("client_request_id", .string),
            ("databricks_request_id", .string), ("requester", .string), ("status_code", .int), ("request_time", .timestamp),
            ("input_token_count", .long), ("output_token_count", .long), ("input_character_count", .long),
            ("output_character_count", .long), ("usage_context", .map), ("request_streaming", .boolean),
            ("served_entity_id", .string), ("endpoint_name", .string), ("served_entity_name", .string),
        ])

    static let tables = [usage, listPrices, endpointUsage]

    static func table(_ name: String) -> TableSchema? {
        tables.first { $0.name == name.lowercased() }
    }

    private static func strings(_ names: String...) -> [StructField] {
        names.map { StructField(name: $0, type: .string) }
    }
}

/// One row of `system.billing.usage`, for `FakeBilling.addUsage`.
public struct FakeUsageRecord: Sendable, Hashable {
    /// ORIGINAL, RETRACTION (negates an earlier record) or RESTATEMENT (replaces it).
    public enum RecordType: String, Sendable, Hashable {
        case original = "ORIGINAL"
        case retraction = "RETRACTION"
        case restatement = "RESTATEMENT"
    }

    public var skuName: String
    /// `YYYY-MM-DD`.
    public var usageDate: String
    /// `usage_quantity`, a decimal string (negative for a retraction).
    public var quantity: String
    public var customTags: [String: String]
    public var usageMetadata: [String: String]
    public var recordType: RecordType
    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z`; nil: midnight starting `usageDate`.
    public var usageStartTime: String?
    /// nil: the next midnight.
    public var usageEndTime: String?
    public var cloud: String
    public var usageUnit: String
    public var billingOriginProduct: String
    /// nil: derived deterministically from the record's position in the table, type and start time.
    public var recordID: String?

    public init(
        skuName: String, usageDate: String, quantity: String, customTags: [String: String] = [:],
        usageMetadata: [String: String] = [:], recordType: RecordType = .original, usageStartTime: String? = nil,
        usageEndTime: String? = nil, cloud: String = "AWS", usageUnit: String = "DBU", billingOriginProduct: String = "SQL",
        recordID: String? = nil
    ) {
        self.skuName = skuName
        self.usageDate = usageDate
        self.quantity = quantity
        self.customTags = customTags
        self.usageMetadata = usageMetadata
        self.recordType = recordType
        self.usageStartTime = usageStartTime
        self.usageEndTime = usageEndTime
        self.cloud = cloud
        self.usageUnit = usageUnit
        self.billingOriginProduct = billingOriginProduct
        self.recordID = recordID
    }
}

/// A problem with billing data given to the fake (a seed, a record, a restatement).
public struct FakeBillingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The tables in an in-memory SQLite database, with the exact-decimal functions the translated
/// queries call (`dec_mul`, `dec_add`, `dec_sub`, `dec_div`, `dec_neg`, `dec_cmp`, `dec_cast`,
/// `dec_int`, the aggregates `dec_sum`, `dec_min`, `dec_max`, `dec_avg`, the collation
/// `DECIMAL`, and `fake_ts` for timestamps). One per fake; GRDB serializes access to it.
final class BillingDatabase: Sendable {
    let queue: DatabaseQueue
    let accountID: String
    let workspaceID: String

    init(accountID: String, workspaceID: String) {
        self.accountID = accountID
        self.workspaceID = workspaceID
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            DecimalFunctions.register(in: db)
            // Spark's LIKE is case-sensitive; SQLite's is not unless told.
            try db.execute(sql: "PRAGMA case_sensitive_like = ON")
        }
        do {
            queue = try DatabaseQueue(configuration: configuration)
            try queue.write { db in
                for table in BillingCatalog.tables { try db.execute(sql: table.createStatement) }
                // Cost queries filter on the usage day; benchmark seeds hold 10^5 rows and more.
                try db.execute(sql: "CREATE INDEX usage_by_date ON \(BillingCatalog.usage.sqliteName) (usage_date)")
                try db.execute(sql: "CREATE INDEX endpoint_usage_by_time ON \(BillingCatalog.endpointUsage.sqliteName) (request_time)")
            }
        } catch {
            // An in-memory database with fixed DDL fails to open only when the process is out
            // of memory or SQLite is broken: nothing a caller could handle.
            fatalError("fake Databricks: cannot create the in-memory billing database: \(error)")
        }
    }

    /// Empties every table.
    func clear() throws {
        try queue.write { db in
            for table in BillingCatalog.tables { try db.execute(sql: "DELETE FROM \(table.sqliteName)") }
        }
    }

    // MARK: Writing rows

    /// Writes the seed's list prices and usage.
    /// - Throws: `FakeBillingError` for a malformed day, time or decimal.
    func seed(_ seed: FakeBillingSeed?) throws {
        let prices = seed?.listPrices ?? FakeListPrice.defaults
        try insert(prices: prices)
        guard let seed else { return }
        guard let first = CivilTime.day(seed.from) else { throw FakeBillingError("seed: from '\(seed.from)' is not a YYYY-MM-DD day") }
        guard let last = CivilTime.day(seed.to) else { throw FakeBillingError("seed: to '\(seed.to)' is not a YYYY-MM-DD day") }
        guard first <= last else { throw FakeBillingError("seed: from \(seed.from) is after to \(seed.to)") }
        var records: [FakeUsageRecord] = []
        for resource in seed.resources {
            guard let daily = ExactDecimal.parse(resource.dailyQuantity), daily.fractionDigits <= 18 else {
                throw FakeBillingError("seed: resource '\(resource.name)': dailyQuantity '\(resource.dailyQuantity)' is not a decimal with at most 18 fraction digits")
            }
            for day in first...last {
                records += try Self.split(
                    resource: resource, cloud: seed.cloud, day: day, quantity: daily, granularity: seed.granularity, type: .original)
            }
        }
        try insert(usage: records, ingestionOffsetDays: 0)
    }

    /// The records of `resource` on `day` carrying `quantity` in total.
    static func split(
        resource: FakeBilledResource, cloud: String, day: Int, quantity: ExactDecimal.Value,
        granularity: FakeBillingSeed.Granularity, type: FakeUsageRecord.RecordType
    ) throws -> [FakeUsageRecord] {
        let date = CivilTime.text(day: day)
        let metadata = [resource.kind.metadataKey: resource.name]
        func record(_ amount: ExactDecimal.Value, from start: Int, to end: Int) -> FakeUsageRecord {
            FakeUsageRecord(
                skuName: resource.skuName, usageDate: date, quantity: ExactDecimal.text(amount, minimumScale: 18),
                customTags: resource.customTags, usageMetadata: metadata, recordType: type,
                usageStartTime: CivilTime.timestamp(second: start), usageEndTime: CivilTime.timestamp(second: end), cloud: cloud,
                usageUnit: resource.usageUnit, billingOriginProduct: resource.kind.originProduct)
        }
        let midnight = day * 86_400
        switch granularity {
        case .daily:
            return [record(quantity, from: midnight, to: midnight + 86_400)]
        case .hourly:
            let hourly = try ExactDecimal.quotient(quantity, ExactDecimal.value(24), scale: 18)
            var records: [FakeUsageRecord] = []
            var rest = quantity
            for hour in 0..<24 {
                let amount = hour == 23 ? rest : hourly
                if hour < 23 { rest = try ExactDecimal.sum(rest, ExactDecimal.negated(hourly)) }
                records.append(record(amount, from: midnight + hour * 3600, to: midnight + (hour + 1) * 3600))
            }
            return records
        }
    }

    func insert(prices: [FakeListPrice]) throws {
        var rows: [[(any DatabaseValueConvertible)?]] = []
        for price in prices {
            guard let start = CivilTime.canonicalTimestamp(price.priceStartTime) else {
                throw FakeBillingError("list price \(price.skuName): price_start_time '\(price.priceStartTime)' is not a UTC day or time")
            }
            var end: String?
            if let text = price.priceEndTime {
                guard let parsed = CivilTime.canonicalTimestamp(text) else {
                    throw FakeBillingError("list price \(price.skuName): price_end_time '\(text)' is not a UTC day or time")
                }
                end = parsed
            }
            guard let list = ExactDecimal.parse(price.price) else {
                throw FakeBillingError("list price \(price.skuName): '\(price.price)' is not a decimal")
            }
            let listText = ExactDecimal.text(list, minimumScale: 18)
            var promotional = listText
            if let text = price.promotionalPrice {
                guard let value = ExactDecimal.parse(text) else {
                    throw FakeBillingError("list price \(price.skuName): promotional '\(text)' is not a decimal")
                }
                promotional = ExactDecimal.text(value, minimumScale: 18)
            }
            // Decimals as JSON strings: json_extract would read JSON numbers as binary doubles.
            let pricing: JSONValue = [
                "default": .string(listText), "promotional": ["default": .string(promotional)],
                "effective_list": ["default": .string(listText)],
            ]
            rows.append([start, end, accountID, price.skuName, price.cloud, price.currencyCode, price.usageUnit, CanonicalJSON.text(pricing)])
        }
        try insertRows(rows, into: BillingCatalog.listPrices)
    }

    /// Writes usage records; `ingestionOffsetDays` after the usage day is their `ingestion_date`.
    func insert(usage records: [FakeUsageRecord], ingestionOffsetDays: Int) throws {
        let existing = try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(BillingCatalog.usage.sqliteName)") ?? 0 }
        var rows: [[(any DatabaseValueConvertible)?]] = []
        rows.reserveCapacity(records.count)
        // A resource's records share their maps: encode each once (seeds write 10^5 rows).
        var encoded: [[String: String]: String] = [:]
        func json(_ map: [String: String]) -> String {
            if let text = encoded[map] { return text }
            let text = CanonicalJSON.text(.object(map.sorted { $0.key < $1.key }.map { JSONMember(key: $0.key, value: .string($0.value)) }))
            encoded[map] = text
            return text
        }
        let identity = CanonicalJSON.text(["run_as": "fake-user@databricks.test"])
        for (index, record) in records.enumerated() {
            guard let day = CivilTime.day(record.usageDate) else {
                throw FakeBillingError("usage record: usage_date '\(record.usageDate)' is not a YYYY-MM-DD day")
            }
            guard let quantity = ExactDecimal.parse(record.quantity), quantity.fractionDigits <= 18, quantity.integerDigits <= 20 else {
                throw FakeBillingError("usage record: usage_quantity '\(record.quantity)' is not a decimal(38,18)")
            }
            let start = try record.usageStartTime.map { text in
                guard let value = CivilTime.canonicalTimestamp(text) else { throw FakeBillingError("usage record: usage_start_time '\(text)' is not a UTC time") }
                return value
            } ?? CivilTime.timestamp(second: day * 86_400)
            let end = try record.usageEndTime.map { text in
                guard let value = CivilTime.canonicalTimestamp(text) else { throw FakeBillingError("usage record: usage_end_time '\(text)' is not a UTC time") }
                return value
            } ?? CivilTime.timestamp(second: (day + 1) * 86_400)
            let tags = json(record.customTags)
            let metadata = json(record.usageMetadata)
            let quantityText = ExactDecimal.text(quantity, minimumScale: 18)
            // Row position, type and hour identify a record; the same inserts give the same ids.
            let id = record.recordID ?? Self.recordID([String(existing + index), record.recordType.rawValue, start])
            let features = record.skuName.contains("SERVERLESS") ? #"{"is_serverless":true}"# : #"{"is_serverless":false}"#
            rows.append([
                id, accountID, workspaceID, record.skuName, record.cloud, start, end, record.usageDate, tags, record.usageUnit,
                quantityText, metadata, identity, record.recordType.rawValue,
                CivilTime.text(day: day + ingestionOffsetDays), record.billingOriginProduct, features,
                "COMPUTE_TIME",
            ])
        }
        try insertRows(rows, into: BillingCatalog.usage)
    }

    /// Writes one row of `system.serving.endpoint_usage`.
    func insertEndpointUsage(_ row: [(any DatabaseValueConvertible)?]) throws {
        try insertRows([row], into: BillingCatalog.endpointUsage)
    }

    private func insertRows(_ rows: [[(any DatabaseValueConvertible)?]], into table: TableSchema) throws {
        guard !rows.isEmpty else { return }
        let placeholders = "(" + Array(repeating: "?", count: table.columns.count).joined(separator: ", ") + ")"
        try queue.write { db in
            let statement = try db.makeStatement(sql: "INSERT INTO \(table.sqliteName) VALUES \(placeholders)")
            for row in rows { try statement.execute(arguments: StatementArguments(row)) }
        }
    }

    /// A UUID-shaped id derived from `parts`, so that seeding twice gives the same ids.
    static func recordID(_ parts: [String]) -> String {
        let joined = parts.joined(separator: "\u{1F}")
        let hex = FakeModel.hex(FakeModel.fnv1a("record:" + joined)) + FakeModel.hex(FakeModel.fnv1a(joined))
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    // MARK: Restating

    /// Restates `day` for the resource `resource` (matched on `usage_metadata`'s `warehouse_id`,
    /// `job_id` or `endpoint_name`) as Databricks corrects usage: each ORIGINAL or RESTATEMENT
    /// record still in force gets a RETRACTION record with the negated quantity, and new
    /// RESTATEMENT records carry `quantity` for the day, cut like the originals. A plain SUM over
    /// the day then nets to `quantity`. Returns the number of records retracted.
    /// - Throws: `FakeBillingError` for a bad day or quantity, or when the resource has no usage
    ///   that day.
    func restate(day text: String, resource: String, quantity: String) throws -> Int {
        guard let day = CivilTime.day(text) else { throw FakeBillingError("restate: '\(text)' is not a YYYY-MM-DD day") }
        guard let total = ExactDecimal.parse(quantity), total.fractionDigits <= 18 else {
            throw FakeBillingError("restate: '\(quantity)' is not a decimal with at most 18 fraction digits")
        }
        let usage = BillingCatalog.usage.sqliteName
        let rows = try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM \(usage) WHERE usage_date = ? AND ? IN (
                      json_extract(usage_metadata, '$.warehouse_id'), json_extract(usage_metadata, '$.job_id'),
                      json_extract(usage_metadata, '$.endpoint_name'))
                    ORDER BY usage_start_time, record_id
                    """, arguments: [text, resource])
        }
        // The records in force: every non-retraction record not already netted out by a
        // retraction of the same hour and the negated quantity.
        var retractions: [String: Int] = [:]
        for row in rows where (row["record_type"] as String?) == "RETRACTION" {
            let quantity = ExactDecimal.parse(row["usage_quantity"] as String? ?? "").map { ExactDecimal.text(ExactDecimal.negated($0)) } ?? ""
            retractions[(row["usage_start_time"] as String? ?? "") + "|" + quantity, default: 0] += 1
        }
        var live: [Row] = []
        for row in rows where (row["record_type"] as String?) != "RETRACTION" {
            let quantity = ExactDecimal.parse(row["usage_quantity"] as String? ?? "").map { ExactDecimal.text($0) } ?? ""
            let key = (row["usage_start_time"] as String? ?? "") + "|" + quantity
            if let count = retractions[key], count > 0 {
                retractions[key] = count - 1
            } else {
                live.append(row)
            }
        }
        guard let template = live.first else {
            throw FakeBillingError("restate: resource '\(resource)' has no usage on \(text)")
        }
        func decode(_ json: String?) -> [String: String] {
            guard let json, let value = try? JSONValue.parse(json), let members = value.members else { return [:] }
            var map: [String: String] = [:]
            for member in members { if let text = member.value.stringValue { map[member.key] = text } }
            return map
        }
        var records: [FakeUsageRecord] = []
        for row in live {
            guard let original = ExactDecimal.parse(row["usage_quantity"] as String? ?? "") else { continue }
            let id = row["record_id"] as String? ?? ""
            records.append(
                FakeUsageRecord(
                    skuName: row["sku_name"], usageDate: text, quantity: ExactDecimal.text(ExactDecimal.negated(original), minimumScale: 18),
                    customTags: decode(row["custom_tags"]), usageMetadata: decode(row["usage_metadata"]), recordType: .retraction,
                    usageStartTime: row["usage_start_time"], usageEndTime: row["usage_end_time"], cloud: row["cloud"],
                    usageUnit: row["usage_unit"], billingOriginProduct: row["billing_origin_product"],
                    recordID: Self.recordID(["retraction", id])))
        }
        // The new records are cut as the originals were: hourly when the day had several records.
        let tags = decode(template["custom_tags"])
        let metadata = decode(template["usage_metadata"])
        let kind: FakeBilledResource.Kind =
            metadata["warehouse_id"] != nil ? .sqlWarehouse : (metadata["job_id"] != nil ? .job : .servingEndpoint)
        let restated = FakeBilledResource(
            project: nil, name: resource, kind: kind, skuName: template["sku_name"], usageUnit: template["usage_unit"],
            dailyQuantity: quantity, extraTags: tags)
        let granularity: FakeBillingSeed.Granularity = live.count > 1 ? .hourly : .daily
        var replacements = try Self.split(
            resource: restated, cloud: template["cloud"], day: day, quantity: total, granularity: granularity, type: .restatement)
        for index in replacements.indices {
            replacements[index].billingOriginProduct = template["billing_origin_product"]
            replacements[index].usageMetadata = metadata
        }
        try insert(usage: records + replacements, ingestionOffsetDays: 2)
        return records.count
    }
}
