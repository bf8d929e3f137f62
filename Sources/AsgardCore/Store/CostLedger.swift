public import Foundation

/// The cost plane's tables: the figures rollups write and reports read, and the facts rollups
/// take from the rest of the store. `AsgardStore.SQLiteStore` implements it beside `Store`.
public protocol CostLedger: Sendable {
    /// Replaces, in one transaction with `audit`, every row of the sources in `sources` for the
    /// days `from` through `to` (`YYYY-MM-DD`) with `records`, so rolling the same days up twice
    /// leaves the same rows, and a restated day replaces its figure.
    /// - Returns: how many rows were removed, written, and changed (new, gone or different).
    @discardableResult
    func replaceCosts(_ records: [CostRecord], sources: [String], from: String, to: String, audit: AuditEntry) async throws
        -> CostReplacement

    /// The rows with `from <= day <= to`, of one project or all, ordered by project, vendor,
    /// source and day.
    func costs(from: String, to: String, project: String?) async throws -> [CostRecord]

    /// The gateway's metering: ledger spend and tokens by project, vendor, model and UTC day,
    /// for `from <= time < to`.
    func dailySpend(from: Date, to: Date) async throws -> [DailySpend]

    /// Replaces the token drift found for `vendor` on the days `from` through `to` with
    /// `drift`, auditing each drift as `cost.drift` by `actor`, in one transaction.
    func replaceDrift(_ drift: [TokenDrift], vendor: String, from: String, to: String, actor: String) async throws

    /// The token drift with `from <= day <= to`, of one project or all.
    func drift(from: String, to: String, project: String?) async throws -> [TokenDrift]

    /// When each resource and serving endpoint was first applied (its first `provision.apply`
    /// in the audit log), by ref (`Resource/fraud-warehouse`).
    func firstApplied() async throws -> [String: Date]
}

/// What a rollup changed.
public struct CostReplacement: Sendable, Hashable, Codable {
    public var removed: Int
    public var written: Int
    /// Rows new, gone or different from before: 0 when the same days are rolled up again unchanged.
    public var changed: Int

    public init(removed: Int, written: Int, changed: Int) {
        self.removed = removed
        self.written = written
        self.changed = changed
    }
}

/// One project's model calls through one vendor's model on one UTC day.
public struct DailySpend: Sendable, Hashable, Codable {
    public var project: String
    public var vendor: String
    public var model: String
    /// `YYYY-MM-DD`.
    public var day: String
    public var calls: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var cost: MicroDollars

    public init(project: String, vendor: String, model: String, day: String, calls: Int, promptTokens: Int, completionTokens: Int, cost: MicroDollars) {
        self.project = project
        self.vendor = vendor
        self.model = model
        self.day = day
        self.calls = calls
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
    }
}
