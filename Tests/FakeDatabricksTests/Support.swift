import AsgardJSON
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import NIOCore
import NIOHTTP1
import Testing

let testToken = "dapi-test-token"
let llama = "databricks-meta-llama-3-3-70b-instruct"

/// One HTTP exchange with the fake, fully read.
struct HTTPResult {
    var status: Int
    var headers: HTTPHeaders
    var body: String
    /// True when the connection ended before the body did.
    var truncated = false
    /// The body as JSON, nil when it is not JSON. The fake writes canonical JSON, so an object's
    /// members come back sorted by key (compare with literals written in that order).
    var json: JSONValue? { try? JSONValue.parse(body) }
    func header(_ name: String) -> String? { headers.first(name: name) }

    /// The `data:` payloads of an SSE body, in order.
    var sseData: [String] {
        body.components(separatedBy: "\n\n").compactMap { frame in
            let lines = frame.split(separator: "\n").filter { $0.hasPrefix("data:") }
            guard !lines.isEmpty else { return nil }
            return lines.map { line in
                let payload = line.dropFirst("data:".count)
                return String(payload.hasPrefix(" ") ? payload.dropFirst() : payload)
            }.joined(separator: "\n")
        }
    }
}

/// A loopback client for one running fake.
struct FakeClient {
    let http: HTTPClient
    let base: String

    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = testToken,
        headers: [(String, String)] = []
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        // Generous: under the whole suite on 2 cores, a burst of requests can wait long.
        let response = try await http.execute(request, timeout: .seconds(120))
        var collected = ByteBuffer()
        var truncated = false
        do {
            for try await var part in response.body { collected.writeBuffer(&part) }
        } catch {
            truncated = true
        }
        return HTTPResult(
            status: Int(response.status.code), headers: response.headers, body: String(buffer: collected),
            truncated: truncated)
    }

    func post(_ path: String, _ body: JSONValue, token: String? = testToken) async throws -> HTTPResult {
        try await request(.POST, path, body: body.jsonText, token: token)
    }

    func invoke(_ body: JSONValue, on endpoint: String = llama, token: String? = testToken) async throws -> HTTPResult {
        try await post("/serving-endpoints/\(endpoint)/invocations", body, token: token)
    }

    func get(_ path: String, token: String? = testToken) async throws -> HTTPResult {
        try await request(.GET, path, token: token)
    }
}

/// A chat request body with one user message, then the members of `extra`.
func chat(_ text: String = "What is the fraud rate this week?", _ extra: JSONValue = [:]) -> JSONValue {
    var object: JSONValue = ["messages": [["role": "user", "content": .string(text)]]]
    for member in extra.members ?? [] { object[member.key] = member.value }
    return object
}

/// Runs the fake in-process on an ephemeral loopback port for the duration of `body`.
func withFake<T: Sendable>(
    _ configuration: FakeDatabricksConfiguration = FakeDatabricksConfiguration(token: testToken),
    _ body: (RunningFakeDatabricks, FakeClient) async throws -> T
) async throws -> T {
    let fake = FakeDatabricks(configuration)
    return try await fake.withRunning { running in
        // A request waiting for one of the pool's connections gives up after the connect timeout
        // (10 s by default): under the whole suite on 2 cores, a burst of 40 requests outwaited it.
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout.connect = .seconds(120)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        do {
            let value = try await body(running, FakeClient(http: http, base: running.url))
            try await http.shutdown()
            return value
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

/// Asserts a Databricks error body with `status` and `errorCode`.
func expectError(
    _ result: HTTPResult, status: Int, errorCode: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status == status, "body: \(result.body)", sourceLocation: sourceLocation)
    #expect(result.json?["error_code"]?.stringValue == errorCode, "body: \(result.body)", sourceLocation: sourceLocation)
    #expect(result.json?["message"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
    #expect(
        result.json?.members?.map(\.key).allSatisfy { ["error_code", "message", "details"].contains($0) } == true,
        sourceLocation: sourceLocation)
    #expect(result.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
}
