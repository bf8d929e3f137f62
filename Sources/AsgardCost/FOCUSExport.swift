public import AsgardCore
import AsgardJSON

/// The stored cost rows as a FinOps FOCUS 1.2 dataset, in CSV (RFC 4180), for tools that read
/// FOCUS (FinOps hubs, spreadsheets, warehouses) beside the vendors' own FOCUS exports.
///
/// One FOCUS row per stored figure (a project's spend with one vendor, from one source, on one
/// UTC day). What Asgard knows, and how it maps:
///
/// - **Not measured is not $0.** A `notMeasured` record has no amount, and FOCUS has no way to
///   say "not measured" (its cost columns may not be null, and a placeholder 0 is forbidden by
///   its null-handling rules), so such records are left out of the rows and counted in
///   `Output.notMeasured`, for the caller to say so. `asgard cost report` still shows them.
/// - **Estimates are included**, marked `x_AsgardMeasurement=estimate`, with `x_AsgardDetail`
///   saying why the source could not measure and what the estimate is based on.
/// - **Every cost column holds the same figure.** Asgard's figures are priced at list prices
///   (Databricks `system.billing.list_prices`, the gateway's manifest prices, manifest
///   estimates); no negotiated discount, commitment or amortization is known. The spec says
///   ListCost and ContractedCost match BilledCost when their unit prices are null (they are:
///   the rows are daily amounts, not quantities × prices), ContractedCost defaults to ListCost
///   without negotiated discounts, and EffectiveCost equals BilledCost with nothing amortized.
///   BilledCost is therefore what Asgard measured, not the vendor's invoice.
/// - **Quantities are not known.** PricingQuantity and PricingUnit are Mandatory columns that
///   allow nulls; FOCUS wants them filled on Usage rows, but a stored figure is a daily amount
///   across SKUs, so they are written null rather than invented. For the same reason the SKU,
///   unit-price, consumed-quantity, region and invoice columns are left out.
/// - **Resources are not known** per row (a figure covers every resource of the project with
///   the vendor), so ResourceId, ResourceName and ResourceType are present and null.
/// - **The project is the sub account** (SubAccountId = project id, SubAccountName = its name)
///   and the one user-defined tag (`Tags = {"project":"<id>"}`); the billing account is the
///   Asgard organisation the caller names.
/// - A null is an empty CSV field. Text fields go through `CSV.field`, so a value a spreadsheet
///   would run as a formula gets a leading `'`.
public enum FOCUSExport {
    /// The FOCUS version the columns follow.
    public static let focusVersion = "1.2"

    /// How a column is required by FOCUS 1.2.
    public enum FeatureLevel: String, Sendable, Hashable {
        case mandatory = "Mandatory"
        case recommended = "Recommended"
        case conditional = "Conditional"
        /// Not a FOCUS column: Asgard's own, prefixed `x_`.
        case custom = "Custom"
    }

    /// A FOCUS 1.2 data type.
    public enum DataType: String, Sendable, Hashable {
        case decimal = "Decimal"
        case dateTime = "Date/Time"
        case string = "String"
        case json = "JSON"
    }

    /// One column of the export, with what the spec says of it.
    public struct Column: Sendable, Hashable {
        /// The column ID, as written in the header.
        public var id: String
        public var featureLevel: FeatureLevel
        public var dataType: DataType
        /// Whether the spec's content constraints allow nulls in the column.
        public var allowsNulls: Bool
        /// The spec's allowed values, for columns whose value format is "Allowed values";
        /// nil for free-form columns.
        public var allowedValues: [String]?
    }

    // The columns written, with their constraints as FOCUS 1.2 states them.
    // Source: github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, tag v1.2
    // (commit 7296e3146fb931ee32b6496fa6e4200e7f4384f7), specification/columns/*.md
    // ("Content constraints": Feature level, Allows nulls, Data type, allowed values), and
    // specification/attributes/column_handling.md (FOCUS columns first, custom columns after,
    // prefixed `x_`).
    //
    // Every FOCUS 1.2 column, for the record (M = Mandatory, R = Recommended, C = Conditional;
    // "null" = allows nulls):
    //   M, not null: BilledCost (Decimal), BillingAccountId, BillingCurrency (ISO 4217),
    //     BillingPeriodEnd, BillingPeriodStart (Date/Time), ChargeCategory (Usage | Purchase |
    //     Tax | Credit | Adjustment), ChargePeriodEnd, ChargePeriodStart (Date/Time),
    //     ContractedCost, EffectiveCost, ListCost (Decimal), InvoiceIssuerName, ProviderName,
    //     PublisherName, ServiceCategory (allowed values), ServiceName.
    //   M, null: BillingAccountName, ChargeClass (null | Correction), ChargeDescription,
    //     PricingQuantity (Decimal), PricingUnit.
    //   R, not null: ChargeFrequency (One-Time | Recurring | Usage-Based), ServiceSubcategory
    //     (allowed values, each under one ServiceCategory).
    //   R, null: AvailabilityZone, InvoiceId.
    //   C, not null: BillingAccountType.
    //   C, null: CapacityReservationId, CapacityReservationStatus, CommitmentDiscountCategory,
    //     CommitmentDiscountId, CommitmentDiscountName, CommitmentDiscountQuantity,
    //     CommitmentDiscountStatus, CommitmentDiscountType, CommitmentDiscountUnit,
    //     ConsumedQuantity, ConsumedUnit, ContractedUnitPrice, ListUnitPrice, PricingCategory
    //     (Standard | Dynamic | Committed | Other), PricingCurrency,
    //     PricingCurrencyContractedUnitPrice, PricingCurrencyEffectiveCost,
    //     PricingCurrencyListUnitPrice, RegionId, RegionName, ResourceId, ResourceName,
    //     ResourceType, SkuId, SkuMeter, SkuPriceDetails (JSON), SkuPriceId, SubAccountId,
    //     SubAccountName, SubAccountType, Tags (JSON).
    /// The columns of the export, in order: the FOCUS columns alphabetically, then Asgard's.
    public static let columns: [Column] = [
        Column(id: "BilledCost", featureLevel: .mandatory, dataType: .decimal, allowsNulls: false),
        Column(id: "BillingAccountId", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(id: "BillingAccountName", featureLevel: .mandatory, dataType: .string, allowsNulls: true),
        Column(id: "BillingCurrency", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(id: "BillingPeriodEnd", featureLevel: .mandatory, dataType: .dateTime, allowsNulls: false),
        Column(id: "BillingPeriodStart", featureLevel: .mandatory, dataType: .dateTime, allowsNulls: false),
        Column(
            id: "ChargeCategory", featureLevel: .mandatory, dataType: .string, allowsNulls: false,
            allowedValues: ["Usage", "Purchase", "Tax", "Credit", "Adjustment"]),
        Column(id: "ChargeClass", featureLevel: .mandatory, dataType: .string, allowsNulls: true, allowedValues: ["Correction"]),
        Column(id: "ChargeDescription", featureLevel: .mandatory, dataType: .string, allowsNulls: true),
        Column(
            id: "ChargeFrequency", featureLevel: .recommended, dataType: .string, allowsNulls: false,
            allowedValues: ["One-Time", "Recurring", "Usage-Based"]),
        Column(id: "ChargePeriodEnd", featureLevel: .mandatory, dataType: .dateTime, allowsNulls: false),
        Column(id: "ChargePeriodStart", featureLevel: .mandatory, dataType: .dateTime, allowsNulls: false),
        Column(id: "ContractedCost", featureLevel: .mandatory, dataType: .decimal, allowsNulls: false),
        Column(id: "EffectiveCost", featureLevel: .mandatory, dataType: .decimal, allowsNulls: false),
        Column(id: "InvoiceIssuerName", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(id: "ListCost", featureLevel: .mandatory, dataType: .decimal, allowsNulls: false),
        Column(
            id: "PricingCategory", featureLevel: .conditional, dataType: .string, allowsNulls: true,
            allowedValues: ["Standard", "Dynamic", "Committed", "Other"]),
        Column(id: "PricingQuantity", featureLevel: .mandatory, dataType: .decimal, allowsNulls: true),
        Column(id: "PricingUnit", featureLevel: .mandatory, dataType: .string, allowsNulls: true),
        Column(id: "ProviderName", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(id: "PublisherName", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(id: "ResourceId", featureLevel: .conditional, dataType: .string, allowsNulls: true),
        Column(id: "ResourceName", featureLevel: .conditional, dataType: .string, allowsNulls: true),
        Column(id: "ResourceType", featureLevel: .conditional, dataType: .string, allowsNulls: true),
        Column(
            id: "ServiceCategory", featureLevel: .mandatory, dataType: .string, allowsNulls: false,
            allowedValues: ServiceCategory.allCases.map(\.rawValue)),
        Column(id: "ServiceName", featureLevel: .mandatory, dataType: .string, allowsNulls: false),
        Column(
            id: "ServiceSubcategory", featureLevel: .recommended, dataType: .string, allowsNulls: false,
            allowedValues: ServiceCategory.allCases.flatMap(\.subcategories)),
        Column(id: "SubAccountId", featureLevel: .conditional, dataType: .string, allowsNulls: true),
        Column(id: "SubAccountName", featureLevel: .conditional, dataType: .string, allowsNulls: true),
        Column(id: "Tags", featureLevel: .conditional, dataType: .json, allowsNulls: true),
        Column(
            id: "x_AsgardMeasurement", featureLevel: .custom, dataType: .string, allowsNulls: false, allowedValues: ["measured", "estimate"]),
        Column(id: "x_AsgardSource", featureLevel: .custom, dataType: .string, allowsNulls: false),
        Column(id: "x_AsgardDetail", featureLevel: .custom, dataType: .string, allowsNulls: false),
    ]

    /// FOCUS 1.2's ServiceCategory values (specification/columns/servicecategory.md, v1.2).
    public enum ServiceCategory: String, Sendable, Hashable, CaseIterable {
        case aiAndMachineLearning = "AI and Machine Learning"
        case analytics = "Analytics"
        case businessApplications = "Business Applications"
        case compute = "Compute"
        case databases = "Databases"
        case developerTools = "Developer Tools"
        case multicloud = "Multicloud"
        case identity = "Identity"
        case integration = "Integration"
        case internetOfThings = "Internet of Things"
        case managementAndGovernance = "Management and Governance"
        case media = "Media"
        case migration = "Migration"
        case mobile = "Mobile"
        case networking = "Networking"
        case security = "Security"
        case storage = "Storage"
        case web = "Web"
        case other = "Other"

        /// The ServiceSubcategory values under this category that Asgard may write (a subset of
        /// specification/columns/servicesubcategory.md, v1.2): each category's catch-all
        /// `Other (<category>)`, and the few subcategories the known vendors use.
        public var subcategories: [String] {
            let specific: [String] =
                switch self {
                case .aiAndMachineLearning: ["AI Platforms", "Generative AI", "Machine Learning"]
                case .analytics: ["Analytics Platforms", "Data Processing"]
                case .compute: ["Serverless Compute", "Virtual Machines"]
                case .databases: ["Data Warehouses"]
                default: []
                }
            return specific + ["Other (\(rawValue))"]
        }
    }

    /// Who a vendor is in FOCUS terms, and what its service is. Asgard buys directly from each
    /// vendor, so the provider, the publisher and the invoice issuer are the same company (the
    /// spec's "purchasing directly" scenario in appendix/origination_of_cost_data.md).
    public struct Vendor: Sendable, Hashable {
        /// ProviderName, PublisherName and InvoiceIssuerName: the company, e.g. `Databricks`.
        public var name: String
        public var serviceName: String
        public var serviceCategory: ServiceCategory
        /// One of `serviceCategory.subcategories`.
        public var serviceSubcategory: String

        public init(name: String, serviceName: String, serviceCategory: ServiceCategory, serviceSubcategory: String) {
            self.name = name
            self.serviceName = serviceName
            self.serviceCategory = serviceCategory
            self.serviceSubcategory = serviceSubcategory
        }
    }

    /// The vendors Asgard ships manifests for, by `Service` id. Databricks figures cover every
    /// SKU of a project (warehouses, jobs, serving), so the platform is filed as an analytics
    /// platform; model vendors as generative AI.
    public static let knownVendors: [String: Vendor] = [
        "databricks": Vendor(name: "Databricks", serviceName: "Databricks", serviceCategory: .analytics, serviceSubcategory: "Analytics Platforms"),
        "openai": Vendor(name: "OpenAI", serviceName: "OpenAI API", serviceCategory: .aiAndMachineLearning, serviceSubcategory: "Generative AI"),
        "anthropic": Vendor(
            name: "Anthropic", serviceName: "Anthropic API", serviceCategory: .aiAndMachineLearning, serviceSubcategory: "Generative AI"),
    ]

    /// The vendor `id` as `vendors` names it; otherwise the id itself, filed under generative
    /// AI when the figure is the gateway's metering of model calls and under `Other` when not.
    public static func vendor(_ id: String, source: String, vendors: [String: Vendor] = knownVendors) -> Vendor {
        if let known = vendors[id] { return known }
        return source == GatewayMetering.type
            ? Vendor(name: id, serviceName: id, serviceCategory: .aiAndMachineLearning, serviceSubcategory: "Generative AI")
            : Vendor(name: id, serviceName: id, serviceCategory: .other, serviceSubcategory: "Other (Other)")
    }

    /// The billing account the rows are filed under: the Asgard organisation.
    public struct BillingAccount: Sendable, Hashable {
        /// BillingAccountId; never empty (the column may not be null).
        public var id: String
        /// BillingAccountName; nil writes a null.
        public var name: String?

        public init(id: String, name: String?) {
            self.id = id
            self.name = name
        }
    }

    /// An export.
    public struct Output: Sendable, Hashable {
        /// The header and one line per FOCUS row, each ended by CRLF.
        public var csv: String
        /// FOCUS rows written (measured and estimated figures).
        public var rows: Int
        /// Of those, estimates.
        public var estimates: Int
        /// Records left out because they have no figure (not measured).
        public var notMeasured: Int
    }

    /// Why an export was refused.
    public enum ExportError: Error, Sendable, Hashable, CustomStringConvertible {
        case emptyBillingAccountID
        case unknownColumnValue(column: String, value: String)
        case invalidDay(project: String, day: String)

        public var description: String {
            switch self {
            case .emptyBillingAccountID: "the billing account id is empty, and FOCUS's BillingAccountId may not be null"
            case .unknownColumnValue(let column, let value): "'\(value)' is not an allowed \(column) in FOCUS \(focusVersion)"
            case .invalidDay(let project, let day): "a stored figure of project \(project) has the day '\(day)', which is not YYYY-MM-DD"
            }
        }
    }

    /// `records` as FOCUS 1.2 CSV, in the order given; not-measured records are left out and
    /// counted (see the type's documentation for every mapping).
    /// - Parameters:
    ///   - projectNames: display names by project id (SubAccountName); a project missing here
    ///     is named by its id.
    ///   - account: the billing account every row is filed under.
    ///   - vendors: FOCUS names by vendor id; unknown vendors go through `vendor(_:source:vendors:)`.
    /// - Throws: `ExportError.emptyBillingAccountID`; `ExportError.unknownColumnValue` when a
    ///   vendor's category and subcategory are not a pair FOCUS allows; `ExportError.invalidDay`
    ///   for a record whose day is not `YYYY-MM-DD`.
    public static func csv(
        _ records: [CostRecord], projectNames: [String: String], account: BillingAccount, vendors: [String: Vendor] = knownVendors
    ) throws(ExportError) -> Output {
        guard !account.id.isEmpty else { throw .emptyBillingAccountID }
        var out = columns.map(\.id).joined(separator: ",") + "\r\n"
        var rows = 0, estimates = 0, notMeasured = 0
        for record in records {
            let label: String
            let amount: MicroDollars
            switch record.measurement {
            case .measured(let value, _):
                label = "measured"
                amount = value
            case .estimate(let value, _, _):
                label = "estimate"
                amount = value
                estimates += 1
            case .notMeasured:
                notMeasured += 1
                continue
            }
            let vendor = Self.vendor(record.vendor, source: record.source, vendors: vendors)
            guard vendor.serviceCategory.subcategories.contains(vendor.serviceSubcategory) else {
                throw .unknownColumnValue(column: "ServiceSubcategory under \(vendor.serviceCategory.rawValue)", value: vendor.serviceSubcategory)
            }
            guard let day = try? CostDay(record.day) else { throw .invalidDay(project: record.project, day: record.day) }
            let charge = Charge(day: day)
            let projectName = projectNames[record.project] ?? record.project
            let how = label == "measured" ? "measured by \(record.source)" : "estimated (\(record.source))"
            let cost = DecimalAmount.dollars(amount)
            let values: [String: String?] = [
                "BilledCost": cost,
                "BillingAccountId": account.id,
                "BillingAccountName": account.name,
                "BillingCurrency": "USD",
                "BillingPeriodEnd": charge.billingPeriodEnd,
                "BillingPeriodStart": charge.billingPeriodStart,
                "ChargeCategory": "Usage",
                "ChargeClass": nil,
                "ChargeDescription": "\(vendor.serviceName) spend of project \(projectName) on \(record.day), \(how)",
                "ChargeFrequency": "Usage-Based",
                "ChargePeriodEnd": charge.end,
                "ChargePeriodStart": charge.start,
                "ContractedCost": cost,
                "EffectiveCost": cost,
                "InvoiceIssuerName": vendor.name,
                "ListCost": cost,
                // Priced at a predetermined rate (list prices), never dynamic or committed.
                "PricingCategory": "Standard",
                "PricingQuantity": nil,
                "PricingUnit": nil,
                "ProviderName": vendor.name,
                "PublisherName": vendor.name,
                "ResourceId": nil,
                "ResourceName": nil,
                "ResourceType": nil,
                "ServiceCategory": vendor.serviceCategory.rawValue,
                "ServiceName": vendor.serviceName,
                "ServiceSubcategory": vendor.serviceSubcategory,
                "SubAccountId": record.project,
                "SubAccountName": projectName,
                "Tags": CanonicalJSON.encodeStrings(["project": record.project]),
                "x_AsgardMeasurement": label,
                "x_AsgardSource": record.source,
                "x_AsgardDetail": record.measurement.detail,
            ]
            out += columns.map { column in (values[column.id] ?? nil).map(CSV.field) ?? "" }.joined(separator: ",") + "\r\n"
            rows += 1
        }
        return Output(csv: out, rows: rows, estimates: estimates, notMeasured: notMeasured)
    }

    /// A stored day's charge and billing periods as FOCUS date/times (UTC, `YYYY-MM-DDTHH:mm:ssZ`,
    /// ends exclusive): the day, and the calendar month it falls in.
    struct Charge {
        var start: String
        var end: String
        var billingPeriodStart: String
        var billingPeriodEnd: String

        init(day: CostDay) {
            func instant(_ day: CostDay) -> String { "\(day)T00:00:00Z" }
            let month = day.firstOfMonth
            start = instant(day)
            end = instant(day.next)
            billingPeriodStart = instant(month)
            billingPeriodEnd = instant(month.adding(days: month.daysInMonth))
        }
    }
}

extension CostDesk {
    /// The stored figures of `period` (every project) as FOCUS 1.2 CSV, projects named by
    /// their manifests, filed under `account`. Reads the store only.
    /// - Throws: the store's errors; `FOCUSExport.ExportError`.
    public func focusExport(_ period: CostPeriod, account: FOCUSExport.BillingAccount) async throws -> FOCUSExport.Output {
        let records = try await ledger.costs(from: period.from.description, to: period.to.description, project: nil)
        var names: [String: String] = [:]
        for id in Set(records.map(\.project)) {
            if case .project(let project)? = try await store.object(ObjectRef(.project, id)) { names[id] = project.name }
        }
        return try FOCUSExport.csv(records, projectNames: names, account: account)
    }
}
