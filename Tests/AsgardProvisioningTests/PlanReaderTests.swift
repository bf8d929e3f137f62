import AsgardController
import AsgardCore
import AsgardJSON
import Testing

@testable import AsgardProvisioning

/// `terraform show -json` as captured from terraform 1.0.3 with the null provider (fixtures
/// `show-*.json`, made from the `basic` fixture module).
struct PlanReaderTests {
    @Test(arguments: [
        ("show-create.json", ["create"], "create 1, update 0, replace 0, destroy 0: module.service.null_resource.this (create)"),
        ("show-replace.json", ["delete", "create"], "create 0, update 0, replace 1, destroy 0: module.service.null_resource.this (replace)"),
        (
            "show-replace-by-change.json", ["delete", "create"],
            "create 0, update 0, replace 1, destroy 0: module.service.null_resource.this (replace)"
        ),
        ("show-destroy.json", ["delete"], "create 0, update 0, replace 0, destroy 1: module.service.null_resource.this (destroy)"),
        ("show-noop.json", ["no-op"], "create 0, update 0, replace 0, destroy 0: no changes"),
    ])
    func capturedPlans(fixture: String, actions: [String], summary: String) throws {
        let plan = try PlanReader.read(try fixtureBytes(fixture))
        #expect(plan.resources.count == 1)
        let resource = try #require(plan.resources.first)
        #expect(resource.address == "module.service.null_resource.this")
        #expect(resource.type == "null_resource")
        #expect(resource.actions == actions)
        #expect(plan.summary == summary)
        #expect(plan.changesNothing == (actions == ["no-op"]))
        if actions == ["delete"] {
            #expect(resource.after == nil)
        } else {
            #expect(resource.after?["triggers"]?["project"] == .string("fraud-detection"))
        }
        #expect(Workspace.isDigest(plan.digest))
    }

    @Test func digestIsOfTheCanonicalDocument() throws {
        let bytes = try fixtureBytes("show-create.json")
        let plan = try PlanReader.read(bytes)
        #expect(plan.digest == hexString(SHA256.hash(CanonicalJSON.bytes(try JSONValue.parse(bytes)))))
        // Re-indented and re-ordered, the same plan has the same digest.
        let pretty = CanonicalJSON.pretty(try JSONValue.parse(bytes))
        #expect(try PlanReader.read(Array(pretty.utf8)).digest == plan.digest)
        // Every fixture is a different plan.
        let digests = try ["show-create.json", "show-replace.json", "show-replace-by-change.json", "show-destroy.json", "show-noop.json"]
            .map { try PlanReader.read(try fixtureBytes($0)).digest }
        #expect(Set(digests).count == 5)
    }

    @Test func onlyTheTimestampIsIgnored() throws {
        let document = try JSONValue.parse(try fixtureBytes("show-create.json"))
        let plan = try PlanReader.read(CanonicalJSON.bytes(document))
        let stamped = document.setting("timestamp", to: .string("2025-06-01T12:00:00Z"))
        #expect(try PlanReader.read(CanonicalJSON.bytes(stamped)).digest == plan.digest)
        let restamped = document.setting("timestamp", to: .string("2025-06-01T12:00:01Z"))
        #expect(try PlanReader.read(CanonicalJSON.bytes(restamped)).digest == plan.digest)
        let versioned = document.setting("terraform_version", to: .string("1.0.4"))
        #expect(try PlanReader.read(CanonicalJSON.bytes(versioned)).digest != plan.digest)
        let errored = document.setting("errored", to: .bool(false))
        #expect(try PlanReader.read(CanonicalJSON.bytes(errored)).digest != plan.digest)
    }

    @Test func dataSourcesAreLeftOutAndResourcesSortedByAddress() throws {
        let json = #"""
            {"format_version":"1.2","resource_changes":[
              {"address":"module.service.x_thing.b","mode":"managed","type":"x_thing","change":{"actions":["update"],"after":{"tags":{"project":"p"}}}},
              {"address":"data.x_info.d","mode":"data","type":"x_info","change":{"actions":["read"],"after":{}}},
              {"address":"module.service.x_thing.a","mode":"managed","type":"x_thing","change":{"actions":["create","delete"],"after":{}}},
              {"address":"module.service.x_thing.c","mode":"managed","type":"x_thing","deposed":"00aa","change":{"actions":["delete"],"after":null}},
              {"address":"module.service.x_thing.e","mode":"managed","type":"x_thing","change":{"actions":["no-op"],"after":{}}}
            ]}
            """#
        let plan = try PlanReader.read(Array(json.utf8))
        #expect(
            plan.resources.map(\.address) == [
                "module.service.x_thing.a", "module.service.x_thing.b", "module.service.x_thing.c (deposed 00aa)", "module.service.x_thing.e",
            ])
        #expect(
            plan.summary
                == "create 0, update 1, replace 1, destroy 1: module.service.x_thing.a (replace), module.service.x_thing.b (update), module.service.x_thing.c (deposed 00aa) (destroy)"
        )
        #expect(plan.resources[2].after == nil)
    }

    @Test func sensitiveAttributesAreMaskedInWhatThePlanReturns() throws {
        let json = #"""
            {"format_version":"1.2","resource_changes":[{"address":"module.service.x.a","mode":"managed","type":"x","change":{
              "actions":["create"],
              "after":{"tags":{"project":"p"},"token":"s3cret","nested":{"keep":1,"hide":"h"},"list":["a","b"],"whole":{"k":"v"}},
              "after_sensitive":{"tags":{},"token":true,"nested":{"hide":true},"list":[false,true],"whole":true}}}]}
            """#
        let after = try #require(try PlanReader.read(Array(json.utf8)).resources.first?.after)
        #expect(
            after.jsonText
                == #"{"tags":{"project":"p"},"token":"(sensitive)","nested":{"keep":1,"hide":"(sensitive)"},"list":["a","(sensitive)"],"whole":"(sensitive)"}"#
        )
        #expect(PlanReader.masked(.string("x"), sensitive: nil) == .string("x"))
        #expect(PlanReader.masked(.string("x"), sensitive: .bool(false)) == .string("x"))
    }

    @Test func theValuesBeforeAChangeAreKeptMaskedToo() throws {
        let json = #"""
            {"format_version":"1.0","resource_changes":[
              {"address":"module.service.x.a","mode":"managed","type":"x","change":{"actions":["delete"],
                "before":{"id":"1","password":"hunter2-before","size":"4X-Large"},"after":null,
                "before_sensitive":{"password":true},"after_sensitive":false}},
              {"address":"module.service.x.b","mode":"managed","type":"x","change":{"actions":["update"],
                "before":{"size":"small","key":"old-key"},"after":{"size":"large","key":"new-key"},
                "before_sensitive":{"key":true},"after_sensitive":{"key":true}}}]}
            """#
        let plan = try PlanReader.read(Array(json.utf8))
        #expect(plan.resources[0].before?.jsonText == #"{"id":"1","password":"(sensitive)","size":"4X-Large"}"# && plan.resources[0].after == nil)
        #expect(plan.resources[1].before?.jsonText == #"{"size":"small","key":"(sensitive)"}"#)
        #expect(plan.resources[1].after?.jsonText == #"{"size":"large","key":"(sensitive)"}"#)
        // What an approver is shown: the changes, with nothing sensitive in them.
        #expect(plan.changes.map(\.action) == ["destroy", "update"])
        let shown = plan.changes.map { "\($0.before?.jsonText ?? "") \($0.after?.jsonText ?? "")" }.joined()
        #expect(!shown.contains("hunter2") && !shown.contains("-key"))
        // A credential terraform was not told is sensitive is not shown either.
        let token = "dapi" + String(repeating: "0123456789abcdef", count: 2)
        let unmarked = PlannedResource(
            address: "a", type: "x", actions: ["create"], after: .object([JSONMember(key: "note", value: .string("use \(token) here"))]))
        let planned = ProvisioningPlan(digest: "d", summary: "s", resources: [unmarked])
        #expect(planned.changes.first?.after?["note"] == .string("use <not shown> here"))
    }

    @Test func noResourceChangesIsAnEmptyPlan() throws {
        let plan = try PlanReader.read(Array(#"{"format_version":"0.2","terraform_version":"1.0.3"}"#.utf8))
        #expect(plan.resources.isEmpty)
        #expect(plan.changesNothing)
        #expect(plan.summary == "create 0, update 0, replace 0, destroy 0: no changes")
    }

    @Test(arguments: [
        ("[]", "expected an object, found array"),
        ("{}", "no format_version: this is not the JSON of a saved plan"),
        (#"{"format_version":"2.0"}"#, "format_version 2.0 is not one the connector reads (0.x or 1.x)"),
        (#"{"format_version":"1.0","resource_changes":{}}"#, "resource_changes is object, not an array"),
        (#"{"format_version":"1.0","resource_changes":[{"mode":"managed","type":"t"}]}"#, "resource_changes[0] has no address or type"),
        (
            #"{"format_version":"1.0","resource_changes":[{"mode":"managed","type":"t","address":"a"}]}"#,
            "resource_changes[0] (a) has no change.actions"
        ),
        (
            #"{"format_version":"1.0","resource_changes":[{"mode":"managed","type":"t","address":"a","change":{"actions":[1]}}]}"#,
            "resource_changes[0] (a) has a non-string action"
        ),
    ])
    func unreadablePlansAreNamed(json: String, reason: String) {
        #expect(throws: TerraformError.invalidPlanJSON(reason)) { try PlanReader.read(Array(json.utf8)) }
    }

    @Test func truncatedJSONIsRefused() throws {
        let bytes = try fixtureBytes("show-create.json")
        #expect(throws: TerraformError.self) { try PlanReader.read(Array(bytes.prefix(bytes.count / 2))) }
    }
}
