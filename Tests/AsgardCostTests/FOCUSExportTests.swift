import AsgardCore
import AsgardCost
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The FOCUS export checked against FOCUS 1.2 as written down here, apart from the exporter's
/// own column table, and read back with an RFC 4180 reader of its own.
struct FOCUSExportTests {
    /// Every Mandatory column of FOCUS 1.2, from github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec
    /// at tag v1.2 (commit 7296e3146fb931ee32b6496fa6e4200e7f4384f7), the "Feature level" of
    /// each file in specification/columns/.
    static let mandatory: Set<String> = [
        "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
        "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost", "EffectiveCost",
        "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
    ]

    /// Columns whose "Allows nulls" is False in the same files (Mandatory and Recommended ones
    /// the export writes).
    static let notNull: Set<String> = [
        "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory",
        "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ProviderName",
        "PublisherName", "ServiceCategory", "ServiceName", "ChargeFrequency", "ServiceSubcategory",
    ]

    static let decimalColumns: Set<String> = [
        "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity", "ListUnitPrice", "ContractedUnitPrice",
    ]
    static let dateTimeColumns: Set<String> = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"]
    static let jsonColumns: Set<String> = ["Tags", "SkuPriceDetails"]

    /// Allowed values per column, from the same files (ServiceSubcategory by its parent category).
    static let allowed: [String: Set<String>] = [
        "ChargeCategory": ["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
        "ChargeClass": ["Correction"],
        "ChargeFrequency": ["One-Time", "Recurring", "Usage-Based"],
        "PricingCategory": ["Standard", "Dynamic", "Committed", "Other"],
        "BillingCurrency": ["USD"],
        "ServiceCategory": [
            "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools", "Multicloud",
            "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration", "Mobile", "Networking",
            "Security", "Storage", "Web", "Other",
        ],
        "x_AsgardMeasurement": ["measured", "estimate"],
    ]
    static let subcategories: [String: Set<String>] = [
        "AI and Machine Learning": [
            "AI Platforms", "Bots", "Generative AI", "Machine Learning", "Natural Language Processing", "Other (AI and Machine Learning)",
        ],
        "Analytics": ["Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics", "Other (Analytics)"],
        "Compute": ["Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines", "Other (Compute)"],
        "Databases": [
            "Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases", "Time Series Databases",
            "Other (Databases)",
        ],
        "Other": ["Other (Other)"],
    ]

    static let account = FOCUSExport.BillingAccount(id: "asgard", name: "Asgard, Inc.")

    static let records: [CostRecord] = [
        CostRecord(
            project: "fraud", vendor: "databricks", source: "databricks-billing", day: "2026-12-01",
            measurement: .measured(MicroDollars(12_345_678), query: "SELECT sum(u.usage_quantity * p.pricing.default) FROM system.billing.usage u")),
        CostRecord(project: "fraud", vendor: "databricks", source: "databricks-billing", day: "2026-12-02", measurement: .notMeasured(reason: "the warehouse is down")),
        CostRecord(
            project: "fraud", vendor: "databricks", source: "none", day: "2026-12-31",
            measurement: .estimate(MicroDollars(1_000_001), reason: "SELECT on system.billing was denied", basis: "Resource/fraud-warehouse")),
        CostRecord(
            project: "chat", vendor: "openai", source: "gateway", day: "2026-02-28",
            measurement: .measured(MicroDollars(7), query: "the gateway's ledger: model calls to openai, tokens × the manifest's prices")),
        CostRecord(project: "chat", vendor: "mistral", source: "gateway", day: "2026-11-30", measurement: .measured(MicroDollars(0), query: "q")),
        CostRecord(project: "chat", vendor: "openai", source: "openai-costs", day: "2026-12-01", measurement: .measured(MicroDollars(-2_500_000), query: "refund")),
    ]
    static let names = ["fraud": "Fraud \"Detection\", EU", "chat": "=Chat"]

    func export() throws -> (FOCUSExport.Output, [[String: String]], [String]) {
        let output = try FOCUSExport.csv(Self.records, projectNames: Self.names, account: Self.account)
        let table = try RFC4180.parse(output.csv)
        let header = try #require(table.first)
        let rows = table.dropFirst().map { fields in Dictionary(uniqueKeysWithValues: zip(header, fields)) }
        for (index, fields) in table.enumerated() {
            #expect(fields.count == header.count, "line \(index + 1) has \(fields.count) fields, the header \(header.count)")
        }
        return (output, rows, header)
    }

    /// The header holds every Mandatory column of FOCUS 1.2, FOCUS columns before the custom
    /// ones, and every column that is not FOCUS's starts with `x_`.
    @Test func theHeaderHasEveryMandatoryColumn() throws {
        let (_, _, header) = try export()
        #expect(Self.mandatory.subtracting(header).isEmpty, "missing: \(Self.mandatory.subtracting(header).sorted())")
        #expect(Set(header).count == header.count)
        let custom = header.filter { $0.hasPrefix("x_") }
        #expect(custom == ["x_AsgardMeasurement", "x_AsgardSource", "x_AsgardDetail"])
        let firstCustom = try #require(header.firstIndex { $0.hasPrefix("x_") })
        #expect(header[firstCustom...].allSatisfy { $0.hasPrefix("x_") })
        // FOCUS column IDs are alphanumeric Pascal case.
        for column in header[..<firstCustom] {
            #expect(column.first?.isUppercase == true && column.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "\(column)")
        }
        #expect(FOCUSExport.columns.map(\.id) == header)
        #expect(Set(FOCUSExport.columns.filter { $0.featureLevel == .mandatory }.map(\.id)) == Self.mandatory)
    }

    /// Every value has its column's FOCUS type, within its allowed values, and no column that
    /// may not be null is empty.
    @Test func everyValueMatchesTheSpec() throws {
        let (_, rows, header) = try export()
        #expect(rows.count == 5)
        let decimal = try Regex("^-?[0-9]+(\\.[0-9]+)?$")
        let dateTime = try Regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
        for row in rows {
            for column in header {
                let value = try #require(row[column])
                if Self.notNull.contains(column) || column.hasPrefix("x_") {
                    #expect(!value.isEmpty, "\(column) is empty in \(row)")
                }
                if value.isEmpty { continue }
                if Self.decimalColumns.contains(column) { #expect(value.wholeMatch(of: decimal) != nil, "\(column) = \(value)") }
                if Self.dateTimeColumns.contains(column) {
                    #expect(value.wholeMatch(of: dateTime) != nil, "\(column) = \(value)")
                    #expect(ISO8601DateFormatter().date(from: value) != nil, "\(column) = \(value) is no date")
                }
                if Self.jsonColumns.contains(column) {
                    let object = try JSONSerialization.jsonObject(with: Data(value.utf8))
                    #expect(object is [String: Any], "\(column) = \(value)")
                }
                if let allowed = Self.allowed[column] { #expect(allowed.contains(value), "\(column) = \(value)") }
            }
            let category = try #require(row["ServiceCategory"]), subcategory = try #require(row["ServiceSubcategory"])
            #expect(Self.subcategories[category]?.contains(subcategory) == true, "\(subcategory) under \(category)")
            #expect(row["ChargeCategory"] == "Usage")
            #expect(row["ChargeClass"] == "")
            #expect(row["PricingQuantity"] == "" && row["PricingUnit"] == "", "a unit is null exactly when its quantity is")
            // Ends are exclusive: the next day, the first of the next month.
            let start = try #require(ISO8601DateFormatter().date(from: row["ChargePeriodStart"]!))
            let end = try #require(ISO8601DateFormatter().date(from: row["ChargePeriodEnd"]!))
            #expect(end.timeIntervalSince(start) == 86_400)
            #expect(row["BillingPeriodStart"]!.hasSuffix("-01T00:00:00Z") && row["BillingPeriodEnd"]!.hasSuffix("-01T00:00:00Z"))
            #expect(row["BillingPeriodStart"]! <= row["ChargePeriodStart"]! && row["ChargePeriodEnd"]! <= row["BillingPeriodEnd"]!)
        }
    }

    /// A figure that was not measured has no amount: it is left out, not written as $0, and
    /// counted; an estimate is written and marked.
    @Test func notMeasuredIsLeftOutAndEstimatesAreMarked() throws {
        let (output, rows, _) = try export()
        #expect(output.notMeasured == 1)
        #expect(output.rows == 5)
        #expect(output.estimates == 1)
        #expect(!rows.contains { $0["ChargePeriodStart"] == "2026-12-02T00:00:00Z" })
        let estimate = try #require(rows.first { $0["x_AsgardMeasurement"] == "estimate" })
        #expect(estimate["ChargePeriodStart"] == "2026-12-31T00:00:00Z")
        #expect(estimate["ChargePeriodEnd"] == "2027-01-01T00:00:00Z")
        #expect(estimate["BillingPeriodEnd"] == "2027-01-01T00:00:00Z")
        #expect(estimate["BilledCost"] == "1.000001")
        #expect(estimate["x_AsgardSource"] == "none")
        #expect(estimate["x_AsgardDetail"] == "SELECT on system.billing was denied; estimated from Resource/fraud-warehouse")
        #expect(rows.filter { $0["x_AsgardMeasurement"] == "measured" }.count == 4)
    }

    /// Amounts are exact decimals from micro-dollars, and every cost column holds the figure.
    @Test func amountsAreExact() throws {
        let (_, rows, _) = try export()
        let byDay = Dictionary(grouping: rows) { "\($0["ChargePeriodStart"]!) \($0["ProviderName"]!)" }
        let databricks = try #require(byDay["2026-12-01T00:00:00Z Databricks"]?.first)
        for column in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"] {
            #expect(databricks[column] == "12.345678", "\(column)")
        }
        #expect(byDay["2026-02-28T00:00:00Z OpenAI"]?.first?["BilledCost"] == "0.000007")
        #expect(byDay["2026-11-30T00:00:00Z mistral"]?.first?["BilledCost"] == "0.000000")
        #expect(byDay["2026-12-01T00:00:00Z OpenAI"]?.first?["BilledCost"] == "-2.500000")
    }

    /// Providers, services and categories by vendor; gateway rows go to the model's vendor.
    @Test func vendorsAreNamed() throws {
        let (_, rows, _) = try export()
        let databricks = try #require(rows.first { $0["ChargePeriodStart"] == "2026-12-01T00:00:00Z" && $0["x_AsgardSource"] == "databricks-billing" })
        #expect(databricks["ProviderName"] == "Databricks" && databricks["PublisherName"] == "Databricks" && databricks["InvoiceIssuerName"] == "Databricks")
        #expect(databricks["ServiceCategory"] == "Analytics")
        let gateway = try #require(rows.first { $0["x_AsgardSource"] == "gateway" && $0["ProviderName"] == "OpenAI" })
        #expect(gateway["ServiceName"] == "OpenAI API")
        #expect(gateway["ServiceCategory"] == "AI and Machine Learning" && gateway["ServiceSubcategory"] == "Generative AI")
        let unknown = try #require(rows.first { $0["ProviderName"] == "mistral" })
        #expect(unknown["ServiceCategory"] == "AI and Machine Learning", "the gateway meters model calls")
        #expect(FOCUSExport.vendor("acme", source: "acme-billing").serviceCategory == .other)
    }

    /// Names with commas and quotes survive the round trip; a formula-like name is defused;
    /// Tags is a JSON object naming the project.
    @Test func textIsQuoted() throws {
        let (output, rows, _) = try export()
        #expect(output.csv.contains(#""Fraud ""Detection"", EU""#))
        let fraud = try #require(rows.first { $0["SubAccountId"] == "fraud" })
        #expect(fraud["SubAccountName"] == "Fraud \"Detection\", EU")
        #expect(fraud["BillingAccountName"] == "Asgard, Inc.")
        #expect(fraud["BillingAccountId"] == "asgard")
        #expect(fraud["ChargeDescription"]?.contains("project Fraud \"Detection\", EU on 2026-12-01") == true)
        let tags = try #require(try JSONSerialization.jsonObject(with: Data(fraud["Tags"]!.utf8)) as? [String: String])
        #expect(tags == ["project": "fraud"])
        let chat = try #require(rows.first { $0["SubAccountId"] == "chat" })
        #expect(chat["SubAccountName"] == "'=Chat")
        #expect(output.csv.hasSuffix("\r\n"))
    }

    /// A project with no name is named by its id; nothing to export is a header alone; an
    /// empty billing account id or a malformed day is refused by name.
    @Test func edges() throws {
        let output = try FOCUSExport.csv(Self.records, projectNames: [:], account: FOCUSExport.BillingAccount(id: "asgard", name: nil))
        let table = try RFC4180.parse(output.csv)
        let header = table[0]
        let rows = table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        #expect(rows.allSatisfy { $0["SubAccountName"] == $0["SubAccountId"] && $0["BillingAccountName"] == "" })
        let empty = try FOCUSExport.csv([], projectNames: [:], account: Self.account)
        #expect(empty.csv == FOCUSExport.columns.map(\.id).joined(separator: ",") + "\r\n")
        #expect(empty.rows == 0 && empty.notMeasured == 0)
        #expect(throws: FOCUSExport.ExportError.emptyBillingAccountID) {
            try FOCUSExport.csv(Self.records, projectNames: [:], account: FOCUSExport.BillingAccount(id: "", name: nil))
        }
        let bad = CostRecord(project: "p", vendor: "openai", source: "gateway", day: "2026-13-01", measurement: .measured(MicroDollars(1), query: "q"))
        #expect(throws: FOCUSExport.ExportError.invalidDay(project: "p", day: "2026-13-01")) {
            try FOCUSExport.csv([bad], projectNames: [:], account: Self.account)
        }
    }

    /// Through a real SQLite store: the period's rows only, projects named by their manifests.
    @Test func theDeskExportsTheStoredRows() async throws {
        let root = try makeTemporaryDirectory("focus-export")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let project = Project(id: "fraud", name: "Fraud, EU", owner: "ana@example.com", classification: .internal, monthlyBudget: MicroDollars(100_000_000), approvers: [])
        _ = try await store.commit(
            .put(.project(project), tier: .auto, status: .applied, reason: nil), audit: AuditEntry(actor: "test", action: "apply", target: nil, outcome: "ok"))
        let audit = AuditEntry(actor: "test", action: "cost.rollup", target: nil, outcome: "ok")
        _ = try await store.replaceCosts(Array(Self.records.prefix(3)), sources: ["databricks-billing", "none"], from: "2026-12-01", to: "2026-12-31", audit: audit)
        let desk = CostDesk(store: store, ledger: store) { [] }
        let output = try await desk.focusExport(try CostPeriod(from: CostDay("2026-12-01"), to: CostDay("2026-12-30")), account: Self.account)
        #expect(output.rows == 1 && output.notMeasured == 1 && output.estimates == 0)
        let table = try RFC4180.parse(output.csv)
        let row = Dictionary(uniqueKeysWithValues: zip(table[0], table[1]))
        #expect(row["SubAccountName"] == "Fraud, EU")
        #expect(row["BilledCost"] == "12.345678")
    }
}

/// A small RFC 4180 reader, written apart from `CSV.field`: quoted fields may hold commas,
/// doubled quotes and line breaks; records end with CRLF.
enum RFC4180 {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var characters = Array(text)[...]
        var quoted = false
        var afterQuote = false
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"":
                guard field.isEmpty, !afterQuote else { throw Malformed(description: "a quote inside an unquoted field after '\(field)'") }
                quoted = true
            case ",":
                record.append(field)
                field = ""
                afterQuote = false
            case "\r\n":
                record.append(field)
                records.append(record)
                (record, field, afterQuote) = ([], "", false)
            case "\n", "\r":
                throw Malformed(description: "a bare line break: records end with CRLF")
            default:
                guard !afterQuote else { throw Malformed(description: "text after a closing quote") }
                field.append(character)
            }
        }
        guard !quoted else { throw Malformed(description: "an unterminated quoted field") }
        guard record.isEmpty, field.isEmpty else { throw Malformed(description: "the last record does not end with CRLF") }
        return records
    }
}
