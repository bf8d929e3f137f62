import AsgardController
import AsgardCore
import AsgardTestSupport
import Foundation
import PropertyBased
import Synchronization
import Testing

/// The provisioning schedule as plain values: one worker per object, the bound, generations.
@Suite struct ProvisioningScheduleTests {
    static func action(_ id: String, _ verb: Action.Verb = .converge) -> Action {
        Action(verb: verb, ref: ObjectRef(.resource, id), tier: .auto, project: "p", specDigest: "d", observedDigest: "d")
    }

    static func ids(_ actions: [Action]) -> [String] { actions.map(\.ref.id) }

    @Test func startsAtMostTheLimitInOfferOrder() {
        var schedule = ProvisioningSchedule(limit: 2)
        #expect(Self.ids(schedule.offer(["a", "b", "c", "d"].map { Self.action($0) }, generation: 1)) == ["a", "b"])
        #expect(Self.ids(schedule.waiting.map(\.action)) == ["c", "d"])
        let (next, again) = schedule.finished(ObjectRef(.resource, "b"))
        #expect(Self.ids(next) == ["c"] && !again)
        #expect(Set(schedule.running.keys.map(\.id)) == ["a", "c"])
    }

    @Test func aBusyObjectIsNotStartedTwiceAndRunsAgainWhenANewerGenerationWantedIt() {
        var schedule = ProvisioningSchedule(limit: 4)
        #expect(Self.ids(schedule.offer([Self.action("slow"), Self.action("quick")], generation: 1)) == ["slow", "quick"])
        #expect(schedule.finished(ObjectRef(.resource, "quick")) == ([], false))
        // The same generation again (a burst of rounds): nothing starts, nothing is wanted again.
        #expect(schedule.offer([Self.action("slow"), Self.action("quick")], generation: 1).isEmpty)
        #expect(schedule.wantsAgain.isEmpty)
        // A newer generation: the idle object runs, the busy one is remembered.
        #expect(Self.ids(schedule.offer([Self.action("slow"), Self.action("quick")], generation: 2)) == ["quick"])
        #expect(schedule.wantsAgain == [ObjectRef(.resource, "slow")])
        #expect(schedule.finished(ObjectRef(.resource, "quick")) == ([], false))
        let (next, again) = schedule.finished(ObjectRef(.resource, "slow"))
        #expect(next.isEmpty && again)
        // The round the caller plans next, in the same generation, runs only the object that asked.
        #expect(Self.ids(schedule.offer([Self.action("slow"), Self.action("quick")], generation: 2)) == ["slow"])
        #expect(schedule.finished(ObjectRef(.resource, "slow")) == ([], false))
    }

    @Test func aNewRoundReplacesWhatStillWaits() {
        var schedule = ProvisioningSchedule(limit: 1)
        _ = schedule.offer([Self.action("a"), Self.action("b"), Self.action("c")], generation: 1)
        // Desired state changed: "b" is gone, "d" is new; "a" keeps running.
        #expect(schedule.offer([Self.action("a"), Self.action("c"), Self.action("d")], generation: 2).isEmpty)
        #expect(Self.ids(schedule.waiting.map(\.action)) == ["c", "d"])
        #expect(Self.ids(schedule.finished(ObjectRef(.resource, "a")).start) == ["c"])
    }

    /// For random offers and finishes: never more than the limit, never one object twice, and
    /// everything offered in a generation runs once it is over.
    @Test func neverOverTheLimitNorTwiceAtOnce() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let limit = Int.random(in: 1...4, using: &rng)
            var schedule = ProvisioningSchedule(limit: limit)
            var running: [ObjectRef] = []
            var generation = 0
            for _ in 0..<60 {
                if running.isEmpty || Bool.random(using: &rng) {
                    generation += Int.random(in: 0...1, using: &rng)
                    let actions = (0..<8).filter { _ in Bool.random(using: &rng) }.map { Self.action("o\($0)") }
                    running += schedule.offer(actions, generation: generation).map(\.ref)
                } else {
                    let done = running.remove(at: Int.random(in: 0..<running.count, using: &rng))
                    running += schedule.finished(done).start.map(\.ref)
                }
                #expect(running.count <= limit)
                #expect(Set(running).count == running.count)
                #expect(Set(running) == Set(schedule.running.keys))
            }
        }
    }

    /// `runToCompletion` runs everything, one per object, never more than the limit at once.
    @Test func runToCompletionHonoursTheLimit() async {
        let inFlight = Mutex((now: 0, most: 0))
        let actions = (0..<10).map { Self.action("r\($0)") }
        let outcomes = await ProvisioningWorkers.runToCompletion(actions, limit: 3) { action in
            inFlight.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            try? await Task.sleep(for: .milliseconds(10))
            inFlight.withLock { $0.now -= 1 }
            return ActionOutcome(action: action, result: .applied, reason: nil, gate: nil, planDigest: nil, elapsedMilliseconds: 0)
        }
        #expect(Set(outcomes.map(\.action.ref.id)) == Set(actions.map(\.ref.id)) && outcomes.count == 10)
        #expect(inFlight.withLock { $0.most } == 3)
    }
}
