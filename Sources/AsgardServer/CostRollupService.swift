public import AsgardCost
public import Foundation
import Logging
public import ServiceLifecycle

/// The daily cost rollup: at `time` (UTC) each day, the last `days` days through today are
/// rolled up (vendors restate and back-fill recent days: Databricks records typically arrive
/// within 12 hours). A failed rollup is logged and tried again the next day; a rollup in
/// flight at shutdown is cancelled, and its statements with it.
public struct CostRollupService: Service {
    public static let defaultDays = 7
    public let desk: CostDesk
    /// Minutes after midnight UTC.
    public let minuteOfDay: Int
    public let days: Int
    /// Run after each rollup that went in (the server loads the measured vendor spend into the budgets).
    let afterRollup: @Sendable () async throws -> Void
    let logger = Logger(label: "asgard.cost")

    /// The first of the last `days` days through `today`: what a rollup covers when no days are
    /// named (this service, `POST /api/cost/rollup`, the dashboard's refresh, `asgard cost rollup`).
    public static func firstDay(ofLast days: Int = defaultDays, through today: CostDay) -> CostDay { today.adding(days: -(days - 1)) }

    public init(desk: CostDesk, minuteOfDay: Int, days: Int = Self.defaultDays, afterRollup: @escaping @Sendable () async throws -> Void = {}) {
        self.desk = desk
        self.minuteOfDay = minuteOfDay
        self.days = days
        self.afterRollup = afterRollup
    }

    /// `HH:MM` as minutes after midnight.
    /// - Throws: a message naming the expected form.
    public static func minuteOfDay(_ text: String) throws -> Int {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0..<24).contains(hours), (0..<60).contains(minutes)
        else { throw CostRollupTimeError(text: text) }
        return hours * 60 + minutes
    }

    /// How long from `now` until the next `minuteOfDay`.
    public static func delay(from now: Date, to minuteOfDay: Int) -> Duration {
        let secondsToday = Int(now.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400))
        var wait = minuteOfDay * 60 - secondsToday
        if wait <= 0 { wait += 86_400 }
        return .seconds(wait)
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                // A graceful shutdown ends the wait at once (a plain sleep would hold the server up until the next rollup).
                let wait = Self.delay(from: desk.clock(), to: minuteOfDay)
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            let today = CostDay(desk.clock())
            do {
                let period = try CostPeriod(from: Self.firstDay(ofLast: days, through: today), to: today)
                let outcome = try await desk.rollup(period, actor: "asgard/cost-rollup")
                try await afterRollup()
                logger.info(
                    "cost rollup \(period): \(outcome.measured) measured, \(outcome.estimated) estimated, \(outcome.notMeasured) not measured, \(outcome.replacement.changed) changed")
            } catch {
                logger.error("cost rollup failed; the next is tomorrow", metadata: ["error": "\(error)"])
            }
        }
    }
}

public struct CostRollupTimeError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "ASGARD_COST_ROLLUP_AT '\(text.prefix(20))' is not a time of day: expected HH:MM (UTC), e.g. 02:30" }
}
