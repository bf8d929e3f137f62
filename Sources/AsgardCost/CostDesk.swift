public import AsgardCore
public import Foundation

/// Rolling cost up and reading it back, for the HTTP API, the CLI, the daily rollup service and
/// (later) MCP and the dashboard alike. Authorization is the front end's (the admin credential
/// for rollups; Cedar's `read_cost` for reports, see `UsageDesk`); this desk reads the store,
/// runs the sources, writes the figures and audits each rollup.
public struct CostDesk: Sendable {
    public var store: any Store
    public var ledger: any CostLedger
    /// The sources to run, built from the store's cost-source configuration at each rollup (so
    /// a manifest change takes effect without a restart).
    public var sources: @Sendable () async throws -> [any CostSource]
    public var clock: @Sendable () -> Date
    /// Told the drift each reconciling source found in a rollup (the server's metrics).
    public var onDrift: @Sendable (_ vendor: String, _ drift: [TokenDrift]) -> Void

    public init(
        store: any Store, ledger: any CostLedger, sources: @escaping @Sendable () async throws -> [any CostSource],
        clock: @escaping @Sendable () -> Date = { Date() }, onDrift: @escaping @Sendable (_ vendor: String, _ drift: [TokenDrift]) -> Void = { _, _ in }
    ) {
        self.store = store
        self.ledger = ledger
        self.sources = sources
        self.clock = clock
        self.onDrift = onDrift
    }

    /// What a rollup did.
    public struct RollupOutcome: Sendable, Hashable {
        public var period: CostPeriod
        /// The sources rolled up, by name.
        public var sources: [String]
        public var replacement: CostReplacement
        /// Rows by measurement label.
        public var measured: Int
        public var estimated: Int
        public var notMeasured: Int
        /// Project-days whose token counts drifted from the vendor's.
        public var drift: [TokenDrift] = []
        /// Vendors whose token counts could not be read, with why (reconciliation skipped).
        public var unreconciled: [String: String] = [:]
    }

    /// Why a rollup was refused before it ran.
    public enum RollupError: Error, Sendable, Hashable, CustomStringConvertible {
        case unknownSources([String], known: [String])

        public var description: String {
            switch self {
            case .unknownSources(let names, let known):
                "no cost source named \(names.joined(separator: ", ")); the sources are \(known.joined(separator: ", "))"
            }
        }
    }

    /// Rolls `period` up: every source (or those named in `only`) measures every applied project
    /// on every day, what cannot be measured is estimated from provisioned resources where there
    /// are any, and the rows replace those of the same sources and days, audited as
    /// `cost.rollup` by `actor`. Idempotent: the same days rolled twice leave the same rows.
    public func rollup(_ period: CostPeriod, only: Set<String>? = nil, actor: String) async throws -> RollupOutcome {
        let all = try await sources()
        let known = Set(all.map(\.name)).union([Rollup.noSource])
        if let only, !only.isSubset(of: known) {
            throw RollupError.unknownSources(only.subtracting(known).sorted(), known: known.sorted())
        }
        let chosen = all.filter { only?.contains($0.name) ?? true }
        let (projects, resources) = try await provisioned()
        let measured = await withTaskGroup(of: [CostRecord].self) { group in
            for source in chosen { group.addTask { await source.measure(period, projects: projects) } }
            var records: [CostRecord] = []
            for await batch in group { records += batch }
            return records
        }
        var rolled = Set(chosen.map(\.name))
        if only?.contains(Rollup.noSource) ?? true { rolled.insert(Rollup.noSource) }
        let records = Rollup.records(
            // The gateway meters model calls, not what a vendor bills for resources: a vendor
            // with only that has no source for its resources.
            measured: measured, resources: resources, vendorsWithSources: Set(all.filter { $0.name != GatewayMetering.type }.map(\.vendor)),
            period: period
        ).filter { rolled.contains($0.source) }
        let counts = Dictionary(grouping: records, by: \.measurement.label).mapValues(\.count)
        let names = rolled.sorted()
        let replacement = try await ledger.replaceCosts(
            records, sources: names, from: period.from.description, to: period.to.description,
            audit: AuditEntry(
                actor: actor, action: "cost.rollup", target: nil, outcome: "ok",
                detail: [
                    "from": period.from.description, "to": period.to.description, "sources": names.joined(separator: ","),
                    "measured": String(counts["measured"] ?? 0), "estimate": String(counts["estimate"] ?? 0),
                    "not_measured": String(counts["not_measured"] ?? 0),
                ]))
        var outcome = RollupOutcome(
            period: period, sources: names, replacement: replacement, measured: counts["measured"] ?? 0,
            estimated: counts["estimate"] ?? 0, notMeasured: counts["not_measured"] ?? 0)
        try await reconcile(chosen, period: period, projects: Set(projects), actor: actor, into: &outcome)
        return outcome
    }

    /// Compares the gateway's tokens with each reconciling source's, and replaces the period's
    /// drift for that vendor (audited per project-day as `cost.drift`). A vendor whose counts
    /// cannot be read keeps its earlier drift rows and is named in the outcome.
    private func reconcile(_ sources: [any CostSource], period: CostPeriod, projects: Set<String>, actor: String, into outcome: inout RollupOutcome)
        async throws
    {
        let reconciling = sources.compactMap { $0 as? any TokenReconciling }.filter { $0.tolerancePercent != nil }
        guard !reconciling.isEmpty else { return }
        let gateway = try await ledger.dailySpend(from: period.from.start, to: period.to.next.start)
        for source in reconciling {
            guard let tolerance = source.tolerancePercent else { continue }
            let theirs: [String: [CostDay: Int64]]
            do {
                theirs = try await source.vendorTokens(period)
            } catch {
                outcome.unreconciled[source.vendor] = "\(error)"
                continue
            }
            let drift = Reconciliation.drift(
                gateway: gateway, vendorTokens: theirs, vendor: source.vendor, projects: projects, period: period, tolerancePercent: tolerance)
            try await ledger.replaceDrift(drift, vendor: source.vendor, from: period.from.description, to: period.to.description, actor: actor)
            onDrift(source.vendor, drift)
            outcome.drift += drift
        }
    }

    /// The applied projects, and the applied resources and serving endpoints with their
    /// vendors, monthly estimates and first days.
    func provisioned() async throws -> (projects: [String], resources: [ProvisionedResource]) {
        let observed = try await store.observedState().objects.values.filter { $0.status == .applied }
        var state = DesiredState()
        for object in observed where object.ref.kind == .service || object.ref.kind == .resource || object.ref.kind == .servingEndpoint {
            if let stored = try await store.object(object.ref) { state.insert(stored) }
        }
        let firstApplied = try await ledger.firstApplied()
        let today = CostDay(clock())
        let projects = observed.filter { $0.ref.kind == .project }.map(\.ref.id).sorted()
        let resources = (Array(state.resources.values.map(DesiredObject.resource)) + state.servingEndpoints.values.map(DesiredObject.servingEndpoint))
            .compactMap { object -> ProvisionedResource? in
                guard let project = object.projectID, let name = object.provisionerName, let vendor = state.provisionable[name]?.vendor else { return nil }
                // Applied with no apply on record (an old store): it exists today, and that is all that is known.
                let since = firstApplied[object.ref.description].map(CostDay.init) ?? today
                return ProvisionedResource(
                    ref: object.ref.description, project: project, vendor: vendor, monthly: state.estimate(of: object).monthly, since: since)
            }
        return (projects, resources.sorted { $0.ref < $1.ref })
    }

    /// The cost of `period` for `projects` (all applied projects when nil), grouped by
    /// `groupBy`, with each project's budget and month-to-date burn for the month of today.
    public func report(_ period: CostPeriod, projects wanted: Set<String>? = nil, groupBy: [CostReport.Dimension] = [.project, .vendor, .day])
        async throws -> CostReport
    {
        let single = wanted?.count == 1 ? wanted?.first : nil
        let records = try await ledger.costs(from: period.from.description, to: period.to.description, project: single)
            .filter { wanted?.contains($0.project) ?? true }
        let today = CostDay(clock())
        let month = try await ledger.costs(from: today.firstOfMonth.description, to: today.description, project: single)
            .filter { wanted?.contains($0.project) ?? true }
        let observed = try await store.observedState().objects.values.filter { $0.ref.kind == .project && $0.status == .applied }
        var projects: [Project] = []
        for object in observed where wanted?.contains(object.ref.id) ?? true {
            if case .project(let stored)? = try await store.object(object.ref) { projects.append(stored) }
        }
        var report = CostReport(period: period, groupBy: groupBy, records: records, monthToDate: month, projects: projects, today: today)
        report.drift = try await ledger.drift(from: period.from.description, to: period.to.description, project: single)
            .filter { wanted?.contains($0.project) ?? true }
        return report
    }
}

extension CostLedger {
    /// Each project's measured spend with its vendors this month through `today`: every
    /// source but the gateway's own metering (which the gateway's budgets count from their own
    /// ledger), and never an estimate.
    public func measuredVendorSpend(monthOf today: CostDay) async throws -> [String: MicroDollars] {
        var spent: [String: MicroDollars] = [:]
        for row in try await costs(from: today.firstOfMonth.description, to: today.description, project: nil)
        where row.source != GatewayMetering.type {
            if case .measured(let amount, _) = row.measurement { spent[row.project, default: .zero].value += amount.value }
        }
        return spent
    }
}
