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
            ObservedObject(ref: ObjectRef(.project, "p"), specDigest: DesiredObject.project(project).specDigest, tier: .auto, status: .applied, project: "p"),
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

    /// Planning is a function of its inputs: the same pair always gives the same plan.
    @Test func planningIsDeterministic() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            let desired = RandomState.desired(seed: seed)
            let observed = RandomState.observed(seed: seed, near: desired)
            #expect(plan(desired: desired, observed: observed) == plan(desired: desired, observed: observed))
        }
    }
}
