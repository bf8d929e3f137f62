import AsgardController
import AsgardCore
import AsgardJSON
import AsgardPolicy
import AsgardTestSupport
import Testing

/// The gate and the project tag check as pure functions of plain values.
@Suite struct GateTests {
    static let warehouse = ProvisionableService(
        name: "warehouse", module: "modules/acme/warehouse", tier: .human, classificationFloor: .internal, monthlyEstimate: .zero,
        tagLocations: [
            TagLocation(resourceType: "acme_warehouse", path: ["tags", "custom_tags"], format: .keyValueList),
            TagLocation(resourceType: "acme_schema", path: ["properties"], format: .map),
            TagLocation(resourceType: "acme_volume", path: [], format: .inherited),
        ])

    static func state(classification: DataClass = .confidential, withService: Bool = true, withProject: Bool = true) -> DesiredState {
        var objects: [DesiredObject] = [.resource(Resource(id: "r1", project: "p1", service: "warehouse", parameters: [:]))]
        if withService { objects.append(.service(Service(id: "acme", inference: nil, provisionable: [warehouse], costSource: nil))) }
        if withProject {
            objects.append(
                .project(
                    Project(
                        id: "p1", name: "P1", owner: "o@example.com", classification: classification,
                        monthlyBudget: .zero, approvers: ["a@example.com"])))
        }
        return DesiredState(objects)
    }

    static let resource = DesiredObject.resource(Resource(id: "r1", project: "p1", service: "warehouse", parameters: [:]))

    @Test(arguments: [
        (state(withProject: false), "registration: project \"p1\" is not registered"),
        (state(withService: false), "registration: service \"warehouse\" is not registered"),
        (state(classification: .public), "classification floor: project \"p1\" is public, below warehouse's floor internal"),
    ])
    func refusalsNameTheirReason(state: DesiredState, reason: String) {
        let outcome = ProvisionGate(policies: shippedPolicies()).check(Self.resource, in: state)
        #expect(!outcome.allowed && outcome.reason == reason && outcome.policies.isEmpty)
    }

    @Test func theShippedPolicyPermitsAtOrAboveTheFloor() {
        for level in [DataClass.internal, .confidential, .restricted] {
            let outcome = ProvisionGate(policies: shippedPolicies()).check(Self.resource, in: Self.state(classification: level))
            #expect(outcome.allowed && outcome.policies == ["project-provisions-registered-service"])
        }
    }

    @Test func killSwitchesAndAMissingPolicySetRefuse() {
        let state = Self.state()
        #expect(
            ProvisionGate(policies: shippedPolicies(), stoppedProjects: ["p1": "leak"]).check(Self.resource, in: state).reason
                == "registration: project \"p1\" is not active (kill switch: leak)")
        #expect(ProvisionGate(policies: shippedPolicies(), globalStop: "all stop").check(Self.resource, in: state).allowed == false)
        #expect(
            ProvisionGate(policies: nil).check(Self.resource, in: state).reason == "policy: no policy set is loaded, so nothing may be provisioned")
    }

    @Test func aPolicySetWithoutAPermitDenies() {
        let empty = PolicyEngine(enforced: PolicyBundle.load(files: []).0)
        let outcome = ProvisionGate(policies: empty).check(Self.resource, in: Self.state())
        #expect(outcome.reason == "policy: Cedar denied provision of warehouse for project \"p1\": no policy permits it")
    }

    // MARK: Tag check

    static func plan(_ resources: [PlannedResource]) -> ProvisioningPlan {
        ProvisioningPlan(digest: "d", summary: "s", resources: resources)
    }

    static func warehouse(tags: JSONValue) -> PlannedResource {
        PlannedResource(
            address: "module.service.acme_warehouse.this", type: "acme_warehouse", actions: ["create"],
            after: .object([JSONMember(key: "tags", value: tags)]))
    }

    static func customTags(_ pairs: [(String, String)]) -> JSONValue {
        .array([
            .object([
                JSONMember(
                    key: "custom_tags",
                    value: .array(
                        pairs.map { key, value in
                            .object([JSONMember(key: "key", value: .string(key)), JSONMember(key: "value", value: .string(value))])
                        }))
            ])
        ])
    }

    @Test func tagsWhereTheManifestSaysPass() {
        let plan = Self.plan([
            Self.warehouse(tags: Self.customTags([("team", "x"), ("project", "p1")])),
            PlannedResource(
                address: "module.service.acme_schema.s", type: "acme_schema", actions: ["update"],
                after: .object([JSONMember(key: "properties", value: .object([JSONMember(key: "project", value: .string("p1"))]))])),
            PlannedResource(address: "module.service.acme_volume.v", type: "acme_volume", actions: ["create"], after: .object([])),
            // A resource being destroyed carries nothing to check.
            PlannedResource(address: "module.service.other_thing.old", type: "other_thing", actions: ["delete"], after: nil),
        ])
        #expect(ProjectTagCheck.violations(of: plan, locations: Self.warehouse.tagLocations, project: "p1").isEmpty)
    }

    @Test(arguments: [
        (customTags([("team", "x")]), "module.service.acme_warehouse.this: has no project tag at tags.custom_tags (needs project=p1)"),
        (customTags([("project", "p2")]), "module.service.acme_warehouse.this: carries project=p2 at tags.custom_tags, not project=p1"),
        (
            customTags([("project", "p1"), ("project", "p2")]),
            "module.service.acme_warehouse.this: carries project=p2 at tags.custom_tags, not project=p1"
        ),
        (JSONValue.array([]), "module.service.acme_warehouse.this: has no tags.custom_tags in the plan, so it carries no project=p1"),
        (JSONValue.null, "module.service.acme_warehouse.this: has no tags.custom_tags in the plan, so it carries no project=p1"),
    ])
    func aMissingOrDifferentTagIsAViolation(tags: JSONValue, expected: String) {
        let violations = ProjectTagCheck.violations(
            of: Self.plan([Self.warehouse(tags: tags)]), locations: Self.warehouse.tagLocations, project: "p1")
        #expect(violations == [expected])
    }

    @Test func anUnlistedTypeOrUnknownValuesAreViolations() {
        let plan = Self.plan([
            PlannedResource(address: "aws_instance.x", type: "aws_instance", actions: ["create"], after: .object([])),
            PlannedResource(address: "module.service.acme_schema.s", type: "acme_schema", actions: ["create"], after: nil),
        ])
        #expect(
            ProjectTagCheck.violations(of: plan, locations: Self.warehouse.tagLocations, project: "p1") == [
                "aws_instance.x: type aws_instance is not listed in the service manifest's tags, so its project tag cannot be verified",
                "module.service.acme_schema.s: its planned values are not known, so project=p1 cannot be verified",
            ])
    }

    @Test func theProjectTagCannotBeOverriddenByCallers() {
        let request = ProvisioningRequest(
            ref: ObjectRef(.resource, "r1"), project: "p1", name: "r1", service: Self.warehouse, parameters: [:],
            extraTags: ["project": "p2", "team": "x"], environmentNames: [])
        #expect(request.tags == ["project": "p1", "team": "x"])
    }

    @Test func backoffDoublesUpToItsCap() {
        let backoff = Backoff(first: .seconds(30), maximum: .seconds(600))
        #expect(
            (1...7).map { backoff.delay(afterFailures: $0) } == [
                .seconds(30), .seconds(60), .seconds(120), .seconds(240), .seconds(480), .seconds(600), .seconds(600),
            ])
    }
}
