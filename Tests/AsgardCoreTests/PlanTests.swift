import AsgardCore
import AsgardTestSupport
import PropertyBased
import Testing

@Suite struct PlanTests {
    static let state = RandomState.desired(seed: 42)

    @Test func anEmptyObservedStateCreatesEverythingInDependencyOrder() throws {
        let desired = RandomState.desired(seed: 7, size: 4)
        try #require(desired.count > 5)
        let actions = plan(desired: desired, observed: ObservedState())
        #expect(actions.count == desired.count)
        #expect(actions.allSatisfy { $0.verb == .create })
        #expect(actions.map(\.ref) == actions.map(\.ref).sorted())
    }

    @Test func changesAreUpdatesAndLeftoversAreDeletesInReverseOrder() throws {
        let project = Project(id: "p", name: "P", owner: "o", classification: .internal, monthlyBudget: .zero, approvers: [])
        var changed = project
        changed.monthlyBudget = MicroDollars(1)
        let desired = DesiredState([.project(changed)])
        let observed = ObservedState([
            ObservedObject(
                ref: ObjectRef(.project, "p"), specDigest: DesiredObject.project(project).specDigest, tier: .auto, status: .applied, project: "p"),
            ObservedObject(ref: ObjectRef(.service, "old"), specDigest: "x", tier: .auto, status: .applied, project: nil),
            ObservedObject(ref: ObjectRef(.resource, "old"), specDigest: "y", tier: .human, status: .pending, project: "p"),
        ])
        let actions = plan(desired: desired, observed: observed)
        #expect(actions.map(\.description) == ["update Project/p [auto]", "delete Resource/old [human]", "delete Service/old [auto]"])
        #expect(actions[0].observedDigest == DesiredObject.project(project).specDigest)
        #expect(actions[0].specDigest == DesiredObject.project(changed).specDigest)
    }

    @Test func provisioningActionsCarryTheirServiceTier() {
        let actions = plan(desired: Self.state, observed: ObservedState())
        for action in actions where action.ref.kind == .resource {
            let resource = Self.state.resources[action.ref.id]!
            #expect(action.tier == Self.state.provisionable[resource.service]!.service.tier)
        }
        #expect(actions.filter { !$0.isProvisioning }.allSatisfy { $0.tier == .auto })
    }

    @Test func actionDigestsAreStableAndDistinct() {
        let first = plan(desired: Self.state, observed: ObservedState())
        let second = plan(desired: Self.state, observed: ObservedState())
        #expect(first.map(\.digest) == second.map(\.digest))
        #expect(Set(first.map(\.digest)).count == first.count)
    }

    @Test func specDigestFollowsContentOnly() {
        let a = DesiredObject.project(Project(id: "p", name: "P", owner: "o", classification: .internal, monthlyBudget: .zero, approvers: ["x"]))
        let b = DesiredObject.project(Project(id: "p", name: "P", owner: "o", classification: .internal, monthlyBudget: .zero, approvers: ["x"]))
        let c = DesiredObject.project(Project(id: "p", name: "P", owner: "o", classification: .confidential, monthlyBudget: .zero, approvers: ["x"]))
        #expect(a.specDigest == b.specDigest && a.specDigest != c.specDigest)
    }

    /// The controller's core promise: applying a plan and planning again yields nothing.
    @Test func applyingThePlanConverges() async {
        await propertyCheck(count: 500, input: Gen.uint64()) { seed in
            let desired = RandomState.desired(seed: seed)
            let observed = RandomState.observed(seed: seed, near: desired)
            let actions = plan(desired: desired, observed: observed)
            let after = observed.applying(actions, from: desired)
            #expect(plan(desired: desired, observed: after).isEmpty)
            #expect(Set(after.objects.keys) == Set(desired.objects.map(\.ref)))
            let digests = Dictionary(uniqueKeysWithValues: desired.objects.map { ($0.ref, $0.specDigest) })
            #expect(after.objects.values.allSatisfy { digests[$0.ref] == $0.specDigest })
        }
    }

    /// From one random state to another, one pass leaves every key digest and routed model held
    /// by its desired owner, under the store's claim rule; renames (a digest or a model moving to
    /// another id) are common between the pools `RandomState` draws from.
    @Test func naturalKeysConvergeInOnePass() async throws {
        var renames = 0
        await propertyCheck(count: 500, input: Gen.uint64(), Gen.uint64()) { first, second in
            let before = RandomState.desired(seed: first)
            let after = RandomState.desired(seed: second)
            var tables = ClaimTables()
            var observed = ObservedState()
            for desired in [before, after] {
                let actions = plan(desired: desired, observed: observed)
                try tables.apply(actions, from: desired)
                observed = observed.applying(actions, from: desired)
                #expect(tables.served == ClaimTables.served(by: desired))
            }
            let moved = ClaimTables.served(by: before).filter { key, owner in ClaimTables.served(by: after)[key].map { $0 != owner } ?? false }
            renames += moved.count
        }
        #expect(renames > 100, "the generator made too few renames (\(renames)) to test them")
    }

    /// The same passes under `UNIQUE` constraints, as the store had them: a key renamed with
    /// the same digest is created before the old one is deleted, so the first claim is refused.
    @Test func underUniqueConstraintsARenameWouldFail() throws {
        let project = DesiredObject.project(
            Project(
                id: "p", name: "P", owner: "o@example.com", classification: .internal,
                monthlyBudget: .zero, approvers: []))
        func key(_ id: String) -> DesiredObject {
            .key(
                Key(
                    id: id, project: "p", digest: String(repeating: "a", count: 64), allowedModels: [], maxDataClass: .internal,
                    defaultDataClass: .internal))
        }
        let before = DesiredState([project, key("old")])
        let after = DesiredState([project, key("new")])
        var old = ClaimTables(unique: true)
        var claims = ClaimTables()
        let first = plan(desired: before, observed: ObservedState())
        try old.apply(first, from: before)
        try claims.apply(first, from: before)
        let rename = plan(desired: after, observed: ObservedState().applying(first, from: before))
        #expect(rename.map { "\($0.verb.rawValue) \($0.ref)" } == ["create Key/new", "delete Key/old"])
        #expect(throws: ClaimTables.Refused.self) { try old.apply(rename, from: after) }
        try claims.apply(rename, from: after)
        #expect(claims.served == ["digest:" + String(repeating: "a", count: 64): ObjectRef(.key, "new")])
    }

    /// Planning is a function of its inputs: the same pair always gives the same plan.
    @Test func planningIsDeterministic() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            let desired = RandomState.desired(seed: seed)
            let observed = RandomState.observed(seed: seed, near: desired)
            #expect(plan(desired: desired, observed: observed) == plan(desired: desired, observed: observed))
        }
    }
}
