public import AsgardCore
public import Foundation

/// `gateway`: the model calls Asgard fronted for one vendor, as its ledger priced them (tokens ×
/// the manifest's prices). Complete by construction: a call that is not in the ledger did not
/// go through the gateway, so a day without calls is a measured zero.
public struct GatewayMetering: CostSource {
    public let vendor: String
    public var name: String { Self.type }
    public static let type = "gateway"
    /// The ledger's daily spend for the period's days (`from <= time < to`).
    public var spend: @Sendable (_ from: Date, _ to: Date) async throws -> [DailySpend]

    public init(vendor: String, spend: @escaping @Sendable (_ from: Date, _ to: Date) async throws -> [DailySpend]) {
        self.vendor = vendor
        self.spend = spend
    }

    public func measure(_ period: CostPeriod, projects: [String]) async -> [CostRecord] {
        let rows: [DailySpend]
        do {
            rows = try await spend(period.from.start, period.to.next.start)
        } catch {
            return notMeasured(period, projects: projects, reason: "the gateway's ledger could not be read: \(error)")
        }
        var amounts: [String: [CostDay: MicroDollars]] = [:]
        for row in rows where row.vendor == vendor {
            guard let day = try? CostDay(row.day) else { continue }
            amounts[row.project, default: [:]][day, default: .zero].value += row.cost.value
        }
        return measured(amounts, period, projects: projects, query: "the gateway's ledger: model calls to \(vendor), tokens × the manifest's prices")
    }
}
