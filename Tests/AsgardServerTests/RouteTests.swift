import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The HTTP layer's logic through Hummingbird's router test framework (no sockets): the
/// application `asgard serve` builds, over a real SQLite store and the shipped policies, with
/// the test keys of `ServedAsgard`. What these pin down: who is let in by which middleware,
/// that every refusal is a JSON error object with its status (never an empty 500), and that
/// the desks' Cedar decisions reach the client.
@Suite struct RouteTests {
    /// One application with its store, run under `.router` until `body` returns.
    static func withRoutes(_ body: @Sendable (any TestClientProtocol, any Store) async throws -> Void) async throws {
        let root = try makeTemporaryDirectory("routes")
        var configuration = ServerConfiguration()
        configuration.desiredDirectory = try ServedAsgard.desiredWithTestKeys(in: root)
        configuration.policiesDirectory = packageRoot + "/policies"
        configuration.dataDirectory = root + "/data"
        // No vendor is called here: the base URL points at a port nothing listens on.
        configuration.environment = [
            "DATABRICKS_HOST": "http://127.0.0.1:9", "DATABRICKS_TOKEN": "dapi-unused",
            "ASGARD_ADMIN_KEY_SHA256": "sha256:" + SHA256.hex(ServedAsgard.adminSecret),
        ]
        let store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let (_, application) = try buildApplication(configuration, ServerDependencies(store: store, httpClient: client))
            try await application.test(.router) { routes in
                // The configuration path publishes within a moment of the start.
                var status = HTTPResponse.Status.serviceUnavailable
                for _ in 0..<200 where status != .ok {
                    status = try await routes.execute(uri: "/healthz", method: .get).status
                    if status != .ok { try await Task.sleep(for: .milliseconds(25)) }
                }
                try #require(status == .ok)
                try await body(routes, store)
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)"] }

    /// The body as a JSON object.
    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any], "\(String(buffer: response.body))")
    }

    /// The `error` object of an OpenAI-style error body.
    static func error(_ response: TestResponse) throws -> [String: Any] {
        try #require(try json(response)["error"] as? [String: Any])
    }

    @Test(
        arguments: [
            (nil, "invalid_api_key"),
            ("Bearer asg_nobody_has_this_key", "invalid_api_key"),
            ("Basic dXNlcjpwYXNz", "invalid_api_key"),
            ("Bearer " + ServedAsgard.secrets["expired-key"]!, "expired_api_key"),
        ] as [(String?, String)])
    func keyAuthenticationRefusesWithAnOpenAIError(authorization: String?, code: String) async throws {
        try await Self.withRoutes { routes, _ in
            let headers: HTTPFields = authorization.map { [.authorization: $0] } ?? [:]
            for uri in ["/v1/models", "/api/projects/fraud-detection/usage"] {
                let response = try await routes.execute(uri: uri, method: .get, headers: headers)
                #expect(response.status == .unauthorized, "\(uri)")
                let error = try Self.error(response)
                #expect(error["code"] as? String == code && error["type"] as? String == "authentication_error", "\(uri): \(error)")
            }
        }
    }

    @Test func modelsAreTheKeysOwn() async throws {
        try await Self.withRoutes { routes, _ in
            let response = try await routes.execute(uri: "/v1/models", method: .get, headers: Self.bearer(ServedAsgard.secrets["sdk-key"]!))
            #expect(response.status == .ok)
            let models = try #require(try Self.json(response)["data"] as? [[String: Any]])
            #expect(models.map { $0["id"] as? String } == ["databricks/llama-3-3-70b"])
            #expect(models.first?["owned_by"] as? String == "databricks")
        }
    }

    /// A key reads its own project's usage; another project's is a Cedar denial (403), audited
    /// with what decided it; a bad date names its parameter.
    @Test func usageIsDecidedByCedarAndADenialIsAudited() async throws {
        try await Self.withRoutes { routes, store in
            let key = Self.bearer(ServedAsgard.secrets["sdk-key"]!)
            let own = try await routes.execute(uri: "/api/projects/fraud-detection/usage", method: .get, headers: key)
            #expect(own.status == .ok)
            #expect(try Self.json(own)["project"] as? String == "fraud-detection")
            let other = try await routes.execute(uri: "/api/projects/broke/usage", method: .get, headers: key)
            #expect(other.status == .forbidden)
            #expect(try Self.error(other)["message"] as? String == "no policy lets Key::\"sdk-key\" read the cost of project broke")
            let denial = try await store.auditTail(limit: 50).last { $0.content.action == "usage.read" }
            #expect(denial?.content.outcome == "denied" && denial?.content.target == "Project/broke" && denial?.content.actor == "Key/sdk-key")
            let badDate = try await routes.execute(uri: "/api/projects/fraud-detection/usage?from=yesterday", method: .get, headers: key)
            #expect(try badDate.status == .badRequest && (Self.error(badDate)["param"] as? String) == "from")
        }
    }

    /// The admin API lets in the admin credential and people's credentials only; its refusals
    /// are specific JSON errors.
    @Test func adminRoutesTakeTheAdminCredentialOnly() async throws {
        try await Self.withRoutes { routes, _ in
            let admin = Self.bearer(ServedAsgard.adminSecret)
            for headers in [[:], Self.bearer(ServedAsgard.secrets["sdk-key"]!)] as [HTTPFields] {
                let refused = try await routes.execute(uri: "/api/admin/kill", method: .get, headers: headers)
                #expect(try refused.status == .unauthorized && (Self.error(refused)["code"] as? String) == "invalid_api_key")
            }
            #expect(try await routes.execute(uri: "/api/admin/kill", method: .get, headers: admin).status == .ok)
            let malformed = try await routes.execute(
                uri: "/api/admin/kill", method: .post, headers: admin, body: ByteBuffer(string: #"{"scope":"everything"}"#))
            #expect(malformed.status == .badRequest)
            #expect((try Self.error(malformed)["message"] as? String)?.hasPrefix("the body is {\"scope\": global|vendor|model|project|key") == true)
            let unknown = try await routes.execute(
                uri: "/api/admin/approvals/apr_0000000000000000/approve", method: .post,
                headers: Self.bearer(personSecret("lars.berg@example.com")), body: ByteBuffer(string: "{}"))
            #expect(try unknown.status == .notFound && (Self.error(unknown)["message"] as? String) == "no approval with id apr_0000000000000000")
            let nothingToRelease = try await routes.execute(uri: "/api/admin/kill?scope=key&id=sdk-key", method: .delete, headers: admin)
            #expect(try nothingToRelease.status == .notFound && (Self.error(nothingToRelease)["type"] as? String) == "not_found_error")
        }
    }

    /// A kill switch engaged over the admin API refuses the key's next request at the
    /// middleware, with the reason, and releasing it lets the key in again.
    @Test func aKillSwitchTakesEffectAtTheMiddleware() async throws {
        try await Self.withRoutes { routes, _ in
            let admin = Self.bearer(ServedAsgard.adminSecret)
            let key = Self.bearer(ServedAsgard.secrets["sdk-key"]!)
            let engaged = try await routes.execute(
                uri: "/api/admin/kill", method: .post, headers: admin,
                body: ByteBuffer(string: #"{"scope":"key","id":"sdk-key","reason":"leaked in a ticket"}"#))
            #expect(try engaged.status == .ok && (Self.json(engaged)["engaged"] as? String) == "key/sdk-key", "\(String(buffer: engaged.body))")
            let killed = try await routes.execute(uri: "/v1/models", method: .get, headers: key)
            #expect(killed.status == .forbidden)
            #expect((try Self.error(killed)["message"] as? String)?.contains("leaked in a ticket") == true)
            #expect(try await routes.execute(uri: "/api/admin/kill?scope=key&id=sdk-key", method: .delete, headers: admin).status == .ok)
            #expect(try await routes.execute(uri: "/v1/models", method: .get, headers: key).status == .ok)
        }
    }

    /// Bad chat bodies are refused before any vendor is called, as OpenAI errors.
    @Test(arguments: [
        ("not json", "invalid_request"),
        (#"{"model":"databricks/no-such-model","messages":[{"role":"user","content":"hi"}]}"#, "model_not_found"),
        (#"{"model":"databricks/llama-3-3-70b","messages":"hi"}"#, "invalid_request"),
    ])
    func chatRefusalsAreOpenAIErrors(body: String, code: String) async throws {
        try await Self.withRoutes { routes, _ in
            let response = try await routes.execute(
                uri: "/v1/chat/completions", method: .post,
                headers: Self.bearer(ServedAsgard.secrets["sdk-key"]!), body: ByteBuffer(string: body))
            #expect([.badRequest, .notFound].contains(response.status))
            #expect(try Self.error(response)["code"] as? String == code)
        }
    }

    @Test func anUnknownRouteIsANotFound() async throws {
        try await Self.withRoutes { routes, _ in
            let response = try await routes.execute(uri: "/v2/whatever", method: .get)
            #expect(response.status == .notFound)
        }
    }
}
