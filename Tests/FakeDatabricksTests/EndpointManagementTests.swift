import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

/// The body terraform's test double and the SDKs send to create an endpoint.
func createBody(
    _ name: String, entity: String = "system.ai.llama_v3_2_3b_instruct", version: String = "2",
    tags: [(String, String)] = [("project", "fraud-detection")]
) -> JSONValue {
    [
        "name": .string(name),
        "config": [
            "served_entities": [
                [
                    "entity_name": .string(entity), "entity_version": .string(version), "workload_size": "Small",
                    "scale_to_zero_enabled": true,
                ]
            ]
        ],
        "tags": .array(tags.map { ["key": .string($0.0), "value": .string($0.1)] }),
    ]
}

extension FakeClient {
    func create(_ body: JSONValue, token: String? = testToken) async throws -> HTTPResult {
        try await post("/api/2.0/serving-endpoints", body, token: token)
    }

    func delete(_ name: String, token: String? = testToken) async throws -> HTTPResult {
        try await request(.DELETE, "/api/2.0/serving-endpoints/\(name)", token: token)
    }

    func patchTags(_ name: String, _ body: JSONValue, token: String? = testToken) async throws -> HTTPResult {
        try await request(.PATCH, "/api/2.0/serving-endpoints/\(name)/tags", body: body.jsonText, token: token)
    }

    func listedNames() async throws -> [String] {
        try await get("/api/2.0/serving-endpoints").json?["endpoints"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }
}

@Suite("Endpoint management")
struct EndpointManagementTests {
    @Test("POST creates a ready endpoint that is listed, described and invocable")
    func create() async throws {
        try await withFake { fake, client in
            let result = try await client.create(createBody("fraud-scorer", tags: [("project", "fraud-detection"), ("team", "risk")]))
            #expect(result.status == 200, "\(result.body)")
            let json = try #require(result.json)
            #expect(json["name"] == "fraud-scorer")
            #expect(json["state"] == ["config_update": "NOT_UPDATING", "ready": "READY"])
            #expect(json["tags"] == [["key": "project", "value": "fraud-detection"], ["key": "team", "value": "risk"]])
            #expect(json["id"]?.stringValue?.count == 32)
            #expect((json["creation_timestamp"]?.intValue ?? 0) > 1_735_689_600_000)
            let entity = try #require(json["config"]?["served_entities"]?[0])
            #expect(entity["name"] == "llama_v3_2_3b_instruct-2")
            #expect(entity["entity_name"] == "system.ai.llama_v3_2_3b_instruct")
            #expect(entity["entity_version"] == "2")
            #expect(entity["workload_size"] == "Small")
            #expect(entity["scale_to_zero_enabled"] == true)
            #expect(
                json["config"]?["traffic_config"]?["routes"] == [
                    ["served_entity_name": "llama_v3_2_3b_instruct-2", "served_model_name": "llama_v3_2_3b_instruct-2", "traffic_percentage": 100]
                ])

            #expect(try await client.listedNames() == [llama, "fraud-triage", "fraud-scorer"])
            let got = try await client.get("/api/2.0/serving-endpoints/fraud-scorer")
            #expect(got.status == 200)
            #expect(got.json?["id"] == json["id"])
            #expect(got.json?["tags"] == json["tags"])
            #expect(fake.controls.endpointNames == [llama, "fraud-triage", "fraud-scorer"])

            let answer = try await client.invoke(chat("score this"), on: "fraud-scorer")
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.json?["model"] == "system.ai.llama_v3_2_3b_instruct")
            #expect(answer.header("served-model-name") == "llama_v3_2_3b_instruct-2")
            #expect(
                answer.json?["choices"]?[0]?["message"]?["content"]?.stringValue?.hasPrefix(
                    "This is a deterministic answer from fraud-scorer") == true)
            #expect(fake.controls.callCount(for: "fraud-scorer") == 1)
        }
    }

    @Test("a name in use is 400 RESOURCE_ALREADY_EXISTS, for shipped and created endpoints alike")
    func alreadyExists() async throws {
        try await withFake { fake, client in
            #expect(try await client.create(createBody("twice")).status == 200)
            let again = try await client.create(createBody("twice", version: "3"))
            expectError(again, status: 400, errorCode: "RESOURCE_ALREADY_EXISTS")
            #expect(again.json?["message"]?.stringValue?.contains("'twice'") == true)
            expectError(try await client.create(createBody("fraud-triage")), status: 400, errorCode: "RESOURCE_ALREADY_EXISTS")
            // The first one is untouched.
            #expect(fake.controls.endpoint(named: "twice")?.servedEntities.first?.entityVersion == "2")
            #expect(fake.controls.endpointNames.filter { $0 == "twice" }.count == 1)
        }
    }

    @Test(
        "a malformed create body is 400 INVALID_PARAMETER_VALUE and creates nothing",
        arguments: [
            "not json",
            "[]",
            #"{}"#,
            #"{"name": null}"#,
            #"{"name": 7}"#,
            #"{"name": ""}"#,
            #"{"name": "has space"}"#,
            #"{"name": "dots.are.not.allowed"}"#,
            #"{"name": "\#(String(repeating: "a", count: 64))"}"#,
            #"{"name": "ok", "config": "x"}"#,
            #"{"name": "ok", "config": {}}"#,
            #"{"name": "ok", "config": {"served_entities": []}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_version": "1"}]}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_name": "m", "entity_version": 2}]}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_name": "m", "workload_size": "Huge"}]}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_name": "m", "scale_to_zero_enabled": "yes"}]}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_name": "m", "name": "a b"}]}}"#,
            #"{"name": "ok", "config": {"served_entities": [{"entity_name": "m", "name": "x"}, {"entity_name": "n", "name": "x"}]}}"#,
            #"{"name": "ok", "tags": {"project": "p"}}"#,
            #"{"name": "ok", "tags": [{"value": "p"}]}"#,
            #"{"name": "ok", "tags": [{"key": ""}]}"#,
            #"{"name": "ok", "tags": [{"key": "project", "value": 1}]}"#,
            #"{"name": "ok", "tags": [{"key": "project", "value": "a"}, {"key": "project", "value": "b"}]}"#,
        ])
    func invalidCreate(body: String) async throws {
        try await withFake { fake, client in
            let result = try await client.request(.POST, "/api/2.0/serving-endpoints", body: body)
            expectError(result, status: 400, errorCode: "INVALID_PARAMETER_VALUE")
            #expect(fake.controls.endpointNames == [llama, "fraud-triage"])
        }
    }

    @Test("a create without config or tags is accepted and serves under its own name")
    func minimalCreate() async throws {
        try await withFake { _, client in
            let result = try await client.create(["name": "bare_endpoint-1"])
            #expect(result.status == 200, "\(result.body)")
            #expect(result.json?["tags"] == nil)
            #expect(result.json?["config"]?["served_entities"] == [])
            let answer = try await client.invoke(chat(), on: "bare_endpoint-1")
            #expect(answer.json?["model"] == "bare_endpoint-1")
        }
    }

    @Test("DELETE answers 200 {}, after which get, list and invocations no longer find it; a second DELETE is 404")
    func delete() async throws {
        try await withFake { fake, client in
            #expect(try await client.create(createBody("short-lived")).status == 200)
            let deleted = try await client.delete("short-lived")
            #expect(deleted.status == 200)
            #expect(deleted.json == [:])
            expectError(try await client.get("/api/2.0/serving-endpoints/short-lived"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            #expect(try await client.listedNames() == [llama, "fraud-triage"])
            expectError(try await client.invoke(chat(), on: "short-lived"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            let again = try await client.delete("short-lived")
            expectError(again, status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            #expect(again.json?["message"]?.stringValue?.contains("'short-lived'") == true)
            // Shipped endpoints can be deleted too.
            #expect(try await client.delete("fraud-triage").status == 200)
            #expect(fake.controls.endpointNames == [llama])
        }
    }

    @Test("a re-created endpoint gets a new id")
    func recreate() async throws {
        try await withFake { _, client in
            let first = try await client.create(createBody("phoenix")).json?["id"]
            #expect(try await client.delete("phoenix").status == 200)
            let second = try await client.create(createBody("phoenix")).json?["id"]
            #expect(first != nil && second != nil && first != second)
        }
    }

    @Test("PATCH .../tags deletes, then adds or replaces, and answers the resulting tags")
    func patchTags() async throws {
        try await withFake { _, client in
            #expect(
                try await client.create(createBody("tagged", tags: [("project", "fraud-detection"), ("team", "risk"), ("tier", "gold")])).status
                    == 200)
            let patched = try await client.patchTags(
                "tagged",
                [
                    "add_tags": [["key": "owner", "value": "maria"], ["key": "team", "value": "fraud-ops"]],
                    "delete_tags": ["tier", "no-such-key"],
                ])
            #expect(patched.status == 200, "\(patched.body)")
            let expected: JSONValue = [
                ["key": "project", "value": "fraud-detection"], ["key": "team", "value": "fraud-ops"], ["key": "owner", "value": "maria"],
            ]
            #expect(patched.json == ["tags": expected])
            #expect(try await client.get("/api/2.0/serving-endpoints/tagged").json?["tags"] == expected)
            // Deleting every tag leaves none listed.
            let cleared = try await client.patchTags("tagged", ["delete_tags": ["project", "team", "owner"]])
            #expect(cleared.json == ["tags": []])
            #expect(try await client.get("/api/2.0/serving-endpoints/tagged").json?["tags"] == nil)
            // An empty patch changes nothing.
            #expect(try await client.patchTags("tagged", [:]).json == ["tags": []])
        }
    }

    @Test("PATCH .../tags on an unknown endpoint is 404; a malformed patch is 400 and changes nothing")
    func patchErrors() async throws {
        try await withFake { fake, client in
            expectError(try await client.patchTags("no-such-endpoint", ["delete_tags": ["x"]]), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            let bodies: [String] = [
                "not json", "[]", #"{"add_tags": "x"}"#, #"{"add_tags": [{"value": "v"}]}"#, #"{"add_tags": [{"key": 1}]}"#,
                #"{"delete_tags": "team"}"#, #"{"delete_tags": [1]}"#,
                #"{"add_tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}"#,
            ]
            for body in bodies {
                let result = try await client.request(.PATCH, "/api/2.0/serving-endpoints/fraud-triage/tags", body: body)
                expectError(result, status: 400, errorCode: "INVALID_PARAMETER_VALUE")
            }
            #expect(fake.controls.endpoint(named: "fraud-triage")?.tags.map(\.key) == ["project", "team"])
        }
    }

    @Test("read-only tokens may list but not create, delete or retag; no token is 401")
    func permissions() async throws {
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.readOnlyTokens = ["dapi-read-only"]
        try await withFake(configuration) { fake, client in
            let readOnly = "dapi-read-only"
            expectError(try await client.create(createBody("nope"), token: readOnly), status: 403, errorCode: "PERMISSION_DENIED")
            expectError(try await client.delete("fraud-triage", token: readOnly), status: 403, errorCode: "PERMISSION_DENIED")
            expectError(
                try await client.patchTags("fraud-triage", ["delete_tags": ["team"]], token: readOnly), status: 403, errorCode: "PERMISSION_DENIED")
            expectError(try await client.create(createBody("nope"), token: nil), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.delete("fraud-triage", token: "dapi-wrong"), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.patchTags("fraud-triage", [:], token: nil), status: 401, errorCode: "UNAUTHENTICATED")
            #expect(fake.controls.endpointNames == [llama, "fraud-triage"])
            #expect(fake.controls.endpoint(named: "fraud-triage")?.tags.count == 2)
        }
    }

    @Test("out-of-band changes through the controls show in the API; reset restores the configured workspace")
    func outOfBand() async throws {
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.createdEndpointKnobs.fault = .unavailable()
        try await withFake(configuration) { fake, client in
            #expect(try await client.create(createBody("drifting")).status == 200)
            // Created endpoints start with the configured knobs.
            expectError(try await client.invoke(chat(), on: "drifting"), status: 503, errorCode: "TEMPORARILY_UNAVAILABLE")

            try fake.controls.setTags([(key: "project", value: "someone-else")], onEndpoint: "drifting")
            #expect(try await client.get("/api/2.0/serving-endpoints/drifting").json?["tags"] == [["key": "project", "value": "someone-else"]])
            let tags = try fake.controls.patchTags(onEndpoint: "drifting", add: [(key: "team", value: "x")], delete: ["project"])
            #expect(tags.map(\.key) == ["team"])
            try fake.controls.updateEndpoint(named: "drifting") { $0.configUpdate = .inProgress }
            #expect(try await client.get("/api/2.0/serving-endpoints/drifting").json?["state"]?["config_update"] == "IN_PROGRESS")

            #expect(fake.controls.removeEndpoint(named: "drifting") != nil)
            #expect(fake.controls.removeEndpoint(named: "drifting") == nil)
            expectError(try await client.get("/api/2.0/serving-endpoints/drifting"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            #expect(throws: DatabricksAPIError.self) { try fake.controls.setTags([], onEndpoint: "drifting") }
            #expect(throws: DatabricksAPIError.self) { try fake.controls.createEndpoint(FakeServingEndpoint(name: "bad name")) }

            fake.controls.removeEndpoint(named: llama)
            try fake.controls.createEndpoint(FakeServingEndpoint(name: "made-in-process"))
            #expect(try await client.listedNames() == ["fraud-triage", "made-in-process"])
            fake.controls.reset()
            #expect(try await client.listedNames() == [llama, "fraud-triage"])
            #expect(try await client.invoke(chat()).status == 200)
        }
    }

    @Test("concurrent creates of one name: exactly one wins; of distinct names: all land")
    func concurrentCreates() async throws {
        try await withFake { fake, client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    group.addTask { try await client.create(createBody("contested", version: String(index))).status }
                    group.addTask { try await client.create(createBody("distinct-\(index)")).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 21)
            #expect(statuses.filter { $0 == 400 }.count == 19)
            let names = fake.controls.endpointNames
            #expect(names.count == 2 + 21)
            #expect(Set(names).count == names.count)
        }
    }
}
