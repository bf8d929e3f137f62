import AsgardController
import AsgardJSON
import Testing

@testable import AsgardProvisioning

struct StateReaderTests {
    @Test func capturedStateOfTheBasicModule() throws {
        let state = try StateReader.read(try fixtureBytes("state-basic.tfstate"), path: "state-basic.tfstate")
        #expect(state.instances == [WorkspaceState.Instance(address: "module.service.null_resource.this", type: "null_resource")])
        #expect(state.serial == 2)  // terraform 1.0.3 writes the state twice during one apply
    }

    @Test func indexedInstancesCarryTheirKeys() throws {
        let state = try StateReader.read(try fixtureBytes("state-indexed.tfstate"), path: "state-indexed.tfstate")
        #expect(
            state.instances.map(\.address) == [
                "module.service.null_resource.counted[0]", "module.service.null_resource.counted[1]",
                #"module.service.null_resource.keyed["alpha"]"#, #"module.service.null_resource.keyed["beta"]"#,
            ])
        #expect(Set(state.instances.map(\.type)) == ["null_resource"])
    }

    @Test func rootResourcesDataSourcesAndEmptyStates() throws {
        let json = #"""
            {"version":4,"serial":7,"lineage":"l","resources":[
              {"mode":"data","type":"x_info","name":"d","instances":[{}]},
              {"mode":"managed","type":"x_thing","name":"root","instances":[{"attributes":{}}]},
              {"mode":"managed","type":"x_thing","name":"q","module":"module.service.module.inner","instances":[{"index_key":"a\"b"}]},
              {"mode":"managed","type":"x_thing","name":"gone","instances":[]}
            ]}
            """#
        let state = try StateReader.read(Array(json.utf8), path: "s")
        #expect(state.serial == 7)
        #expect(state.instances.map(\.address) == [#"module.service.module.inner.x_thing.q["a\"b"]"#, "x_thing.root"])
        let empty = try StateReader.read(Array(#"{"version":4,"serial":3,"resources":[]}"#.utf8), path: "s")
        #expect(empty.instances.isEmpty)
        #expect(empty.serial == 3)
    }

    @Test(arguments: [
        ("{", "invalid JSON"),
        (#"{"version":3,"serial":1}"#, "state format version 3, expected 4"),
        (#"{"serial":1}"#, "state format version none, expected 4"),
        (#"{"version":4,"serial":"1"}"#, "no integer serial"),
        (#"{"version":4,"serial":1,"resources":{}}"#, "resources is object, not an array"),
        (#"{"version":4,"serial":1,"resources":[{"mode":"managed"}]}"#, "resources[0] has no type or name"),
    ])
    func unreadableStatesAreNamed(json: String, reason: String) {
        #expect {
            try StateReader.read(Array(json.utf8), path: "/w/terraform.tfstate")
        } throws: { error in
            guard case TerraformError.invalidState(let path, let found) = error else { return false }
            return path == "/w/terraform.tfstate" && found.hasPrefix(reason)
        }
    }

    @Test func priorStateFingerprints() {
        let absent = PriorState(stateBytes: nil)
        let some = PriorState(stateBytes: Array("{}".utf8))
        #expect(absent.recorded == "absent")
        #expect(some.recorded.count == 64)
        #expect(PriorState(recorded: absent.recorded + "\n") == absent)
        #expect(PriorState(recorded: some.recorded + "\n") == some)
        #expect(PriorState(recorded: "garbage") == nil)
        #expect(PriorState(stateBytes: Array("{} ".utf8)) != some)
    }
}

struct OutputsReaderTests {
    @Test func capturedOutputsWithTheSensitiveOneHidden() throws {
        let outputs = try OutputsReader.read(try fixtureBytes("output.json"))
        #expect(outputs.values["id"] == .string("9177323605123705211"))
        #expect(outputs.values["secret_hint"] == .string("(sensitive)"))
        #expect(outputs.values["triggers"]?["label"] == .string("raw ${x} events"))
        #expect(!outputs.values.description.contains("hunter2"))
    }

    @Test func emptyAndInvalidOutputs() throws {
        #expect(try OutputsReader.read(Array("{}".utf8)).values.isEmpty)
        #expect(throws: TerraformError.invalidOutputJSON("expected an object, found array")) { try OutputsReader.read(Array("[]".utf8)) }
        #expect(throws: TerraformError.invalidOutputJSON("output a is number, not an object")) { try OutputsReader.read(Array(#"{"a":1}"#.utf8)) }
    }
}
