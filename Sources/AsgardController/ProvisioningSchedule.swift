public import AsgardCore

/// Which provisioning actions run now: one worker per object (a workspace is never run by two
/// workers of this process; its lock file guards against other processes) and at most `limit`
/// workers at once, so one slow or failing object never holds up another beyond that bound.
/// Pure bookkeeping over plain values; `ProvisioningWorkers` and the server's provisioning path
/// run what it says.
///
/// Rounds come in generations: a new generation is a new reason to look at every object (desired
/// state handed over again, a timer, an approval), and within one generation each object is
/// carried out at most once, like one pass of the old loop. A round is a complete, level-triggered
/// recomputation, so it replaces every action still waiting. An object whose worker is still
/// running when a newer generation wants it is not started twice: when that worker ends,
/// `finished` says so, and the caller plans another round of the same generation, in which only
/// that object (planned afresh from what its worker left in the store) runs again.
public struct ProvisioningSchedule: Sendable {
    public let limit: Int
    /// Running objects, with the generation each was started in.
    public private(set) var running: [ObjectRef: Int] = [:]
    /// Actions waiting for a worker, in the order they were offered, with their generation.
    public private(set) var waiting: [(action: Action, generation: Int)] = []
    /// The generation each object was last started in.
    private var lastStarted: [ObjectRef: Int] = [:]
    /// Objects that a newer generation wanted while their worker was busy.
    public private(set) var wantsAgain: Set<ObjectRef> = []

    /// - Parameter limit: the most workers at once (at least 1).
    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Offers a round of `generation`; returns the actions to start now (their objects count
    /// as running). An object already carried out in this generation is not started again
    /// unless a newer generation wanted it while it ran.
    public mutating func offer(_ actions: [Action], generation: Int) -> [Action] {
        waiting = []
        let offered = Set(actions.map(\.ref))
        wantsAgain = wantsAgain.filter { offered.contains($0) || running[$0] != nil }
        for action in actions {
            let ref = action.ref
            if let started = running[ref] {
                if started < generation { wantsAgain.insert(ref) }
            } else if (lastStarted[ref] ?? Int.min) < generation || wantsAgain.contains(ref),
                !waiting.contains(where: { $0.action.ref == ref })
            {
                waiting.append((action, generation))
            }
        }
        return startable()
    }

    /// Records that the worker of `ref` ended; returns the actions to start now, and whether a
    /// newer generation wanted `ref` while it ran (the caller should plan another round).
    public mutating func finished(_ ref: ObjectRef) -> (start: [Action], again: Bool) {
        running[ref] = nil
        return (startable(), wantsAgain.contains(ref))
    }

    /// Moves waiting actions to running while workers are free.
    private mutating func startable() -> [Action] {
        var started: [Action] = []
        while running.count < limit, !waiting.isEmpty {
            let (next, generation) = waiting.removeFirst()
            running[next.ref] = generation
            lastStarted[next.ref] = generation
            wantsAgain.remove(next.ref)
            started.append(next)
        }
        return started
    }
}

/// Running provisioning actions to completion, as `reconcile --once` does.
public enum ProvisioningWorkers {
    /// The most provisioning actions run at once, by default.
    public static let defaultLimit = 4

    /// Runs every action through `run`, at most `limit` at once and one per object; returns
    /// their outcomes in the order they finished.
    public static func runToCompletion(_ actions: [Action], limit: Int, _ run: @escaping @Sendable (Action) async -> ActionOutcome) async
        -> [ActionOutcome]
    {
        await withTaskGroup(of: ActionOutcome.self) { group in
            var schedule = ProvisioningSchedule(limit: limit)
            for action in schedule.offer(actions, generation: 1) { group.addTask { await run(action) } }
            var outcomes: [ActionOutcome] = []
            while let outcome = await group.next() {
                outcomes.append(outcome)
                for action in schedule.finished(outcome.action.ref).start { group.addTask { await run(action) } }
            }
            return outcomes
        }
    }
}
