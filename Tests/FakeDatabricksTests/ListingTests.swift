import FakeDatabricks
import Foundation
import Testing

@Suite("Endpoint listing")
struct ListingTests {
    @Test("GET /api/2.0/serving-endpoints lists the shipped endpoints with state and tags")
    func list() async throws {
        try await withFake { fake, client in
            let result = try await client.get("/api/2.0/serving-endpoints")
            #expect(result.status == 200)
            let endpoints = try #require(result.json?["endpoints"]?.arrayValue)
            #expect(endpoints.compactMap { $0["name"]?.stringValue } == [llama, "fraud-triage"])
            for endpoint in endpoints {
                #expect(endpoint["state"]?["ready"] == "READY")
                #expect(endpoint["state"]?["config_update"] == "NOT_UPDATING")
                #expect(endpoint["task"] == "llm/v1/chat")
                #expect(endpoint["id"]?.stringValue?.count == 32)
            }
            #expect(endpoints[1]["tags"] == [["key": "project", "value": "fraud-detection"], ["key": "team", "value": "risk"]])
            #expect(fake.controls.listCallCount == 1)
        }
    }

    @Test("GET /api/2.0/serving-endpoints/{name} describes one endpoint; a configured state shows")
    func get() async throws {
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.endpoints.append(
            FakeServingEndpoint(
                name: "warming-up", ready: .notReady, configUpdate: .inProgress, tags: [(key: "project", value: "p1")]))
        try await withFake(configuration) { _, client in
            let result = try await client.get("/api/2.0/serving-endpoints/warming-up")
            #expect(result.status == 200)
            #expect(result.json?["name"] == "warming-up")
            #expect(result.json?["state"] == ["config_update": "IN_PROGRESS", "ready": "NOT_READY"])
            #expect(result.json?["tags"] == [["key": "project", "value": "p1"]])
            #expect(result.json?["permission_level"] == "CAN_QUERY")
        }
    }
}
