public import AsgardCore

/// A resource Asgard provisioned, as an estimate sees it.
public struct ProvisionedResource: Sendable, Hashable {
    /// `Resource/fraud-warehouse`.
    public var ref: String
    public var project: String
    public var vendor: String
    /// The manifest's monthly estimate for it; nil when the cost rule does not cover it.
    public var monthly: MicroDollars?
    /// The first day it existed (its first apply).
    public var since: CostDay

    public init(ref: String, project: String, vendor: String, monthly: MicroDollars?, since: CostDay) {
        self.ref = ref
        self.project = project
        self.vendor = vendor
        self.monthly = monthly
        self.since = since
    }
}

/// Turns what the sources measured into the rows a rollup stores: pure, so a rollup of the same
/// inputs is the same rows.
public enum Rollup {
    /// The source name of rows for a vendor that has provisioned resources and no cost source.
    public static let noSource = "none"

    /// The rows for `period`:
    /// - measured records as they are;
    /// - a billing record (any source but the gateway's metering) not measured becomes an
    ///   estimate when the project had provisioned resources of
    ///   that vendor that day with a known monthly estimate: their estimates pro-rated to the day,
    ///   labelled with the reason it is not measured and the resources it stands on;
    /// - a vendor with provisioned resources and no cost source at all gets such estimates too
    ///   (source `none`);
    /// - anything else stays not measured. Nothing is ever zero for want of a measurement.
    public static func records(
        measured: [CostRecord], resources: [ProvisionedResource], vendorsWithSources: Set<String>, period: CostPeriod
    ) -> [CostRecord] {
        // Resources by project and vendor, each list sorted so the basis text is stable.
        var byOwner: [String: [ProvisionedResource]] = [:]
        for resource in resources { byOwner[resource.project + "\u{0}" + resource.vendor, default: []].append(resource) }
        for key in byOwner.keys { byOwner[key]!.sort { $0.ref < $1.ref } }

        var rows = measured.map { record -> CostRecord in
            // Resources stand in for a vendor's bill, never for the gateway's metering of model calls.
            guard record.source != GatewayMetering.type, case .notMeasured(let reason) = record.measurement, let day = try? CostDay(record.day),
                let estimate = estimate(byOwner[record.project + "\u{0}" + record.vendor] ?? [], on: day, reason: reason)
            else { return record }
            return CostRecord(project: record.project, vendor: record.vendor, source: record.source, day: record.day, measurement: estimate)
        }
        let unsourced = Set(resources.map(\.vendor)).subtracting(vendorsWithSources)
        for key in byOwner.keys.sorted() {
            let owned = byOwner[key]!
            guard let first = owned.first, unsourced.contains(first.vendor) else { continue }
            for day in period.days {
                let reason = "vendor \(first.vendor) has no cost source"
                guard let estimate = estimate(owned, on: day, reason: reason) else { continue }
                rows.append(CostRecord(project: first.project, vendor: first.vendor, source: noSource, day: day.description, measurement: estimate))
            }
        }
        return rows.sorted { ($0.project, $0.vendor, $0.source, $0.day) < ($1.project, $1.vendor, $1.source, $1.day) }
    }

    /// The estimate of `resources` on `day`, or nil when none existed that day. A resource with
    /// an unknown monthly figure is named in the basis but adds nothing; if every resource is
    /// unknown there is no estimate.
    static func estimate(_ resources: [ProvisionedResource], on day: CostDay, reason: String) -> CostMeasurement? {
        let existing = resources.filter { $0.since <= day }
        let known = existing.filter { $0.monthly != nil }
        guard !known.isEmpty else { return nil }
        var total = MicroDollars.zero
        var basis: [String] = []
        for resource in existing {
            if let monthly = resource.monthly {
                total.value += prorated(monthly, on: day).value
                basis.append("\(resource.ref) $\(DecimalAmount.dollars(monthly))/month")
            } else {
                basis.append("\(resource.ref) (no estimate: its cost rule does not cover it)")
            }
        }
        return .estimate(total, reason: reason, basis: basis.joined(separator: ", ") + ", pro-rated per day")
    }

    /// A monthly figure's share of one day of that month: the figure over the month's days,
    /// rounded to the nearest micro-dollar (halves up).
    public static func prorated(_ monthly: MicroDollars, on day: CostDay) -> MicroDollars {
        let days = Int64(day.daysInMonth)
        return MicroDollars((monthly.value * 2 + days) / (days * 2))
    }
}
