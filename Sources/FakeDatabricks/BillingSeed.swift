/// The billing history a fake workspace starts with: resources that used DBUs every day of a
/// period, and the list prices of their SKUs. Seeding is deterministic (the same seed gives the
/// same rows, record ids included), so tests can compute what a query must answer.
///
/// Each resource uses `dailyQuantity` on every day from `from` to `to` (inclusive), written as
/// hourly records (24 a day; each hour the daily quantity / 24 rounded to 18 digits, the last
/// hour the remainder, so a day sums to `dailyQuantity` exactly) or one daily record, with
/// `record_type` ORIGINAL, `custom_tags` `{"project": ...}` and `usage_metadata` naming the
/// resource as its kind implies.
public struct FakeBillingSeed: Sendable, Hashable {
    /// How usage is cut into records. Databricks aggregates hourly; daily makes fewer rows.
    public enum Granularity: String, Sendable, Hashable {
        /// 24 records a day, `usage_end_time` on the hour.
        case hourly
        /// One record a day from 00:00 to the next day's 00:00 (note that the price-window join
        /// on `usage_end_time` then prices a day at the price in force at the next midnight).
        case daily
    }

    public var resources: [FakeBilledResource]
    /// The first day with usage, `YYYY-MM-DD`.
    public var from: String
    /// The last day with usage, `YYYY-MM-DD`, inclusive.
    public var to: String
    /// `cloud` of every usage record (and of the default list prices).
    public var cloud: String
    /// `system.billing.list_prices`.
    public var listPrices: [FakeListPrice]
    public var granularity: Granularity

    public init(
        resources: [FakeBilledResource] = [], from: String, to: String, cloud: String = "AWS",
        listPrices: [FakeListPrice] = FakeListPrice.defaults, granularity: Granularity = .hourly
    ) {
        self.resources = resources
        self.from = from
        self.to = to
        self.cloud = cloud
        self.listPrices = listPrices
        self.granularity = granularity
    }

    /// A large seed for benchmarks: `projects` projects (`project-001`, ...) each running one
    /// resource on each of `skus` SKUs (the default price list's, then synthetic
    /// `FAKE_SKU_<n>` ones priced 0.10 + n/100), for `days` days ending on `endingOn`
    /// (`YYYY-MM-DD`), in daily records: `projects × skus × days` usage rows. Quantities vary
    /// with project, SKU and nothing else, and keep 3 decimals. A malformed `endingOn` gives a
    /// seed the fake refuses (`FakeBilling.seedError`).
    public static func generated(projects: Int, skus: Int, days: Int, endingOn: String) -> FakeBillingSeed {
        // A malformed day is kept as is, so that seeding reports it (`seedError`).
        guard let last = CivilTime.day(endingOn) else { return FakeBillingSeed(from: endingOn, to: endingOn) }
        let first = last - max(days, 1) + 1
        var prices = FakeListPrice.defaults
        var skuNames = FakeListPrice.defaults.map(\.skuName)
        var extra = 1
        while skuNames.count < skus {
            let name = "FAKE_SKU_\(extra)"
            let cents = 10 + extra
            prices.append(FakeListPrice(skuName: name, price: "\(cents / 100).\(format2(cents % 100))"))
            skuNames.append(name)
            extra += 1
        }
        var resources: [FakeBilledResource] = []
        for project in 1...max(projects, 1) {
            let tag = "project-" + pad3(project)
            for (index, sku) in skuNames.prefix(max(skus, 1)).enumerated() {
                let kind = FakeBilledResource.Kind.forSKU(sku)
                let units = (project * 7 + index * 13) % 50 + 1
                let thousandths = (project * 31 + index * 17) % 1000
                resources.append(
                    FakeBilledResource(
                        project: tag, name: "\(tag)-\(kind.rawValue)-\(index + 1)", kind: kind, skuName: sku,
                        dailyQuantity: "\(units).\(pad3(thousandths))"))
            }
        }
        return FakeBillingSeed(
            resources: resources, from: CivilTime.text(day: first), to: CivilTime.text(day: last),
            listPrices: prices, granularity: .daily)
    }

    private static func pad3(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 3 - text.count)) + text
    }

    private static func format2(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}

/// One resource that uses DBUs every day of the seed's period.
public struct FakeBilledResource: Sendable, Hashable {
    /// What the resource is: decides `usage_metadata` and `billing_origin_product`.
    public enum Kind: String, Sendable, Hashable {
        /// `usage_metadata.warehouse_id` = name, product SQL.
        case sqlWarehouse = "warehouse"
        /// `usage_metadata.job_id` = name, product JOBS.
        case job
        /// `usage_metadata.endpoint_name` = name, product MODEL_SERVING.
        case servingEndpoint = "endpoint"

        /// The kind a SKU name suggests (for generated seeds).
        static func forSKU(_ sku: String) -> Kind {
            if sku.contains("SQL") { return .sqlWarehouse }
            if sku.contains("INFERENCE") { return .servingEndpoint }
            return .job
        }

        var metadataKey: String {
            switch self {
            case .sqlWarehouse: "warehouse_id"
            case .job: "job_id"
            case .servingEndpoint: "endpoint_name"
            }
        }

        var originProduct: String {
            switch self {
            case .sqlWarehouse: "SQL"
            case .job: "JOBS"
            case .servingEndpoint: "MODEL_SERVING"
            }
        }
    }

    /// The value of the `project` custom tag; nil leaves the resource untagged.
    public var project: String?
    public var name: String
    public var kind: Kind
    public var skuName: String
    public var usageUnit: String
    /// DBUs a day, a decimal string (at most 18 fraction digits).
    public var dailyQuantity: String
    /// More custom tags besides `project`.
    public var extraTags: [String: String]

    public init(
        project: String?, name: String, kind: Kind, skuName: String, usageUnit: String = "DBU",
        dailyQuantity: String, extraTags: [String: String] = [:]
    ) {
        self.project = project
        self.name = name
        self.kind = kind
        self.skuName = skuName
        self.usageUnit = usageUnit
        self.dailyQuantity = dailyQuantity
        self.extraTags = extraTags
    }

    /// The resource's `custom_tags`.
    var customTags: [String: String] {
        var tags = extraTags
        if let project { tags["project"] = project }
        return tags
    }
}

/// One row of `system.billing.list_prices`: the price of a SKU from `priceStartTime` until
/// `priceEndTime` (nil: still current). A price change is two rows, the first ending where the
/// second starts.
public struct FakeListPrice: Sendable, Hashable {
    public var skuName: String
    public var usageUnit: String
    /// `pricing.default` (and `pricing.effective_list.default`), USD per unit, a decimal string.
    public var price: String
    /// `pricing.promotional.default`; nil is the list price.
    public var promotionalPrice: String?
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC).
    public var priceStartTime: String
    /// As `priceStartTime`; nil means the price is current.
    public var priceEndTime: String?
    public var cloud: String
    public var currencyCode: String

    public init(
        skuName: String, usageUnit: String = "DBU", price: String, priceStartTime: String = "2020-01-01",
        priceEndTime: String? = nil, cloud: String = "AWS", currencyCode: String = "USD", promotionalPrice: String? = nil
    ) {
        self.skuName = skuName
        self.usageUnit = usageUnit
        self.price = price
        self.promotionalPrice = promotionalPrice
        self.priceStartTime = priceStartTime
        self.priceEndTime = priceEndTime
        self.cloud = cloud
        self.currencyCode = currencyCode
    }

    /// The SQL warehouse, jobs, all-purpose and model-serving SKUs the fake bills, at list
    /// prices of the right order (not Databricks' actual prices), current since 2020.
    public static let defaults: [FakeListPrice] = [
        FakeListPrice(skuName: "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST", price: "0.70"),
        FakeListPrice(skuName: "PREMIUM_SQL_PRO_COMPUTE_US_EAST", price: "0.55"),
        FakeListPrice(skuName: "PREMIUM_JOBS_COMPUTE", price: "0.15"),
        FakeListPrice(skuName: "PREMIUM_ALL_PURPOSE_COMPUTE", price: "0.55"),
        FakeListPrice(skuName: servingSKU, price: "0.07"),
    ]

    /// The SKU serving endpoints created through the fake accrue usage on.
    public static let servingSKU = "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_EAST"
}

/// UTC days and timestamps as the billing tables store them: days `YYYY-MM-DD`, timestamps
/// `YYYY-MM-DDTHH:MM:SS.fffZ` (the form Databricks writes TIMESTAMP values in JSON_ARRAY
/// results), so that text order is time order.
enum CivilTime {
    /// Days since 1970-01-01 of a valid `YYYY-MM-DD`, else nil.
    static func day(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...daysIn(month, year)).contains(day)
        else { return nil }
        return daysFromCivil(year, month, day)
    }

    static func text(day: Int) -> String {
        let (year, month, dayOfMonth) = civil(day)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))"
    }

    /// The canonical timestamp of `second` seconds and `millis` since the epoch.
    static func timestamp(second: Int, millis: Int = 0) -> String {
        let day = Int((Double(second) / 86_400).rounded(.down))
        let rest = second - day * 86_400
        return text(day: day) + "T\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2)).\(pad(millis, 3))Z"
    }

    /// A timestamp in the canonical form, from `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.f...]][Z]`;
    /// nil when it is none of those.
    static func canonicalTimestamp(_ text: String) -> String? {
        let trimmed = text.hasSuffix("Z") ? String(text.dropLast()) : text
        guard trimmed.count >= 10, let day = day(String(trimmed.prefix(10))) else { return nil }
        var rest = trimmed.dropFirst(10)
        if rest.isEmpty { return timestamp(second: day * 86_400) }
        guard rest.first == "T" || rest.first == " " else { return nil }
        rest = rest.dropFirst()
        let clock = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let fields = clock[0].split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3, fields.allSatisfy({ $0.count == 2 }),
            let hour = Int(fields[0]), let minute = Int(fields[1]), hour < 24, minute < 60
        else { return nil }
        let second = fields.count == 3 ? Int(fields[2]) : 0
        guard let second, second < 60 else { return nil }
        var millis = 0
        if clock.count == 2 {
            let digits = clock[1]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            millis = Int(String((digits + "000").prefix(3)))!
        }
        return timestamp(second: day * 86_400 + hour * 3600 + minute * 60 + second, millis: millis)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian).
    private static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
