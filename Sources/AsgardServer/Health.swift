import Foundation
import Synchronization

/// What is wrong with a running server, by the part that found out; `/healthz` shows it.
///
/// A problem never takes the gateway down: it keeps serving from the last good snapshot and
/// records calls in the call journal, so `/healthz` answers 200 with `"status": "degraded"`
/// and the reasons. A load balancer keeps the replica in rotation (a store shared by every
/// replica would otherwise take all of them out at once) and an operator's alert reads the
/// body. Only a server that has never published a configuration answers 503 `starting`.
public final class HealthBoard: Sendable {
    /// The parts that report.
    public enum Part: String, Sendable, CaseIterable, Comparable {
        /// `desired/` does not load or validate.
        case desired
        /// The policy directory does not load.
        case policies
        /// The configuration path could not commit or publish.
        case configuration
        /// A vendor's manifest names an environment variable that is not set: its calls get 503.
        case vendors
        /// The provisioning path could not plan a round.
        case provisioning
        /// Kill switches could not be read from the store.
        case killSwitches = "kill_switches"
        /// The call ingester could not copy journaled calls into the store.
        case ledger
        /// This replica's grants of budgets shared with other replicas could not be changed in
        /// the store: calls that need more of a grant are refused meanwhile.
        case budgets
        /// This replica's shares of rate limits shared with other replicas could not be grown
        /// or renewed in the store: requests beyond what it holds are refused meanwhile.
        case rateLimits = "rate_limits"

        public static func < (a: Part, b: Part) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    private let problems = Mutex<[Part: String]>([:])
    /// Read at every look, for parts that keep their own state (the call ingester).
    private let probes: Mutex<[Part: @Sendable () -> String?]> = Mutex([:])

    public init() {}

    /// Records `part`'s problem, or clears it with nil.
    public func report(_ part: Part, _ problem: String?) {
        problems.withLock { $0[part] = problem }
    }

    /// Asks `probe` for `part`'s problem at every look.
    public func watch(_ part: Part, _ probe: @escaping @Sendable () -> String?) {
        probes.withLock { $0[part] = probe }
    }

    /// Every current problem, `part: problem`, in part order.
    public var reasons: [String] {
        var all = problems.withLock { $0 }
        for (part, probe) in probes.withLock({ $0 }) {
            if let problem = probe() { all[part] = problem }
        }
        return all.sorted { $0.key < $1.key }.map { "\($0.key.rawValue): \($0.value)" }
    }
}
