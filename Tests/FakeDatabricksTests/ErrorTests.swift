import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

@Suite("Errors and auth")
struct ErrorTests {
    @Test("401 without a token, with a wrong token, or with another scheme")
    func unauthenticated() async throws {
        try await withFake { fake, client in
            expectError(try await client.invoke(chat(), token: nil), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.invoke(chat(), token: "dapi-wrong"), status: 401, errorCode: "UNAUTHENTICATED")
            let basic = try await client.request(
                .POST, "/serving-endpoints/\(llama)/invocations", body: chat().jsonText, token: nil,
                headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            expectError(basic, status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.get("/api/2.0/serving-endpoints", token: nil), status: 401, errorCode: "UNAUTHENTICATED")
            expectError(try await client.get("/api/2.0/serving-endpoints", token: "nope"), status: 401, errorCode: "UNAUTHENTICATED")
            // Rejected before reaching the endpoint: nothing counted.
            #expect(fake.controls.callCount(for: llama) == 0)
        }
    }

    @Test("403 PERMISSION_DENIED for a token without query rights")
    func forbidden() async throws {
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.readOnlyTokens = ["dapi-read-only"]
        try await withFake(configuration) { _, client in
            expectError(try await client.invoke(chat(), token: "dapi-read-only"), status: 403, errorCode: "PERMISSION_DENIED")
            let list = try await client.get("/api/2.0/serving-endpoints", token: "dapi-read-only")
            #expect(list.status == 200)
        }
    }

    @Test("404 RESOURCE_DOES_NOT_EXIST for unknown endpoints; ENDPOINT_NOT_FOUND for unknown paths")
    func notFound() async throws {
        try await withFake { _, client in
            let unknown = try await client.invoke(chat(), on: "no-such-endpoint")
            expectError(unknown, status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            #expect(unknown.json?["message"]?.stringValue?.contains("no-such-endpoint") == true)
            expectError(try await client.get("/api/2.0/serving-endpoints/no-such-endpoint"), status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST")
            expectError(try await client.get("/api/2.0/no/such/api"), status: 404, errorCode: "ENDPOINT_NOT_FOUND")
            let wellKnown = try await client.get("/.well-known/databricks-config", token: nil)
            #expect(wellKnown.status == 404)
        }
    }

    @Test(
        "400 INVALID_PARAMETER_VALUE for malformed bodies",
        arguments: [
            "not json",
            "[1, 2]",
            #"{}"#,
            #"{"messages": []}"#,
            #"{"messages": "hi"}"#,
            #"{"messages": [{"content": "hi"}]}"#,
            #"{"messages": [{"role": "wizard", "content": "hi"}]}"#,
            #"{"messages": [{"role": "user"}]}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "temperature": -0.1}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "n": 0}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "n": 6}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "n": 1.5}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "stop": [1]}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "usage_context": "fraud"}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "usage_context": {"project": 7}}"#,
        ])
    func invalid(body: String) async throws {
        try await withFake { _, client in
            let result = try await client.request(.POST, "/serving-endpoints/\(llama)/invocations", body: body)
            expectError(result, status: 400, errorCode: "INVALID_PARAMETER_VALUE")
        }
    }

    @Test("the boundaries are accepted: temperature 0 and 2, n 1 and 5")
    func boundaries() async throws {
        try await withFake { _, client in
            for extra: JSONValue in [["temperature": 0], ["temperature": 2.0], ["n": 1], ["n": 5], ["max_tokens": 1]] {
                let result = try await client.invoke(chat("x", extra))
                #expect(result.status == 200, "\(extra): \(result.body)")
            }
        }
    }

    @Test(
        "injected faults answer the real statuses and bodies",
        arguments: [
            FakeFault.permissionDenied(), FakeFault.rateLimited(), FakeFault.internalError(), FakeFault.unavailable(),
            FakeFault.timeout(),
        ])
    func faults(fault: FakeFault) async throws {
        try await withFake { fake, client in
            fake.controls.setFault(fault, for: llama)
            let result = try await client.invoke(chat())
            expectError(result, status: fault.status, errorCode: fault.errorCode)
            #expect(result.json?["message"]?.stringValue == fault.message)
            if let seconds = fault.retryAfterSeconds { #expect(result.header("Retry-After") == String(seconds)) }
            // Faults are per endpoint.
            #expect(try await client.invoke(chat(), on: "fraud-triage").status == 200)
        }
    }
}
