import AsgardCore
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// `/mcp` over real HTTP, as a hostile client and a careless one would try it: the protocol's
/// edges (versions, response formats, sessions, batches, methods), sessions that belong to one
/// credential, DNS rebinding, expired and killed keys, and a Cedar forbid on a tool.
@Suite(.serialized) struct MCPEndpointTests {
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: JSONValue? {
            let text = body.hasPrefix("event: message\ndata: ") ? String(body.dropFirst(21).prefix { $0 != "\n" }) : body
            return try? JSONValue.parse(text)
        }
        var session: String? { headers.first(name: "Mcp-Session-Id") }
    }

    static let key = ServedAsgard.secrets["sdk-key"]!

    static func post(
        _ client: HTTPClient, _ base: String, token: String? = key, session: String? = nil, accept: String = "application/json, text/event-stream",
        headers extra: [(String, String)] = [], _ body: String
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: base + "/mcp")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: accept)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let session { request.headers.add(name: "Mcp-Session-Id", value: session) }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: try await response.body.collect(upTo: 1 << 22)))
    }

    static func initialize(version: String = "2025-11-25", id: Int = 1) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"initialize","params":{"protocolVersion":"\#(version)","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
    }

    static func call(_ tool: String, _ arguments: String = "{}", id: Int = 2) -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)}}"#
    }

    /// A session opened with `token`, initialized.
    static func open(_ client: HTTPClient, _ base: String, token: String = key) async throws -> String {
        let answer = try await post(client, base, token: token, initialize())
        let session = try #require(answer.session, "\(answer.status) \(answer.body)")
        let done = try await post(client, base, token: token, session: session, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        #expect(done.status == 202)
        return session
    }

    @Test func theProtocolsEdges() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                // Versions: each supported one is agreed; an unknown one gets the latest.
                for (asked, agreed) in [("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"), ("1999-01-01", "2025-11-25")] {
                    let answer = try await Self.post(client, base, Self.initialize(version: asked))
                    #expect(answer.status == 200 && answer.json?["result"]?["protocolVersion"]?.stringValue == agreed, "\(asked): \(answer.body)")
                    #expect(answer.session?.count == 64, "\(answer.headers)")
                }
                // JSON by default; one SSE event when the client prefers the event stream.
                let session = try await Self.open(client, base)
                let json = try await Self.post(client, base, session: session, Self.call("whoami"))
                #expect(json.headers.first(name: "Content-Type") == "application/json")
                #expect(json.json?["result"]?["structuredContent"]?["kind"]?.stringValue == "key", "\(json.body)")
                let sse = try await Self.post(client, base, session: session, accept: "text/event-stream, application/json;q=0.5", Self.call("whoami", id: 3))
                #expect(sse.headers.first(name: "Content-Type") == "text/event-stream" && sse.body.hasPrefix("event: message\ndata: {"), "\(sse.body)")
                #expect(sse.json?["id"]?.intValue == 3 && sse.body.hasSuffix("\n\n"))
                let neither = try await Self.post(client, base, session: session, accept: "text/html", Self.call("whoami", id: 4))
                #expect(neither.status == 406)

                // Malformed messages: named, never a crash, never Swift's text.
                for (body, status, fragment) in [
                    ("[\(Self.call("whoami"))]", 400, "batches are not accepted"), ("{", 400, "not JSON"),
                    (#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":5}}"#, 200, "arguments: must be an object"),
                    (#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"arguments":{}}}"#, 200, "name: is required"),
                    (#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":7}"#, 200, "params"),
                    (Self.call("no_such_tool", id: 9), 200, "unknown tool no_such_tool"),
                    (Self.call("get_budget", #"{"project":"Fraud Detection!"}"#, id: 9), 200, "project: is not well formed"),
                ] {
                    let answer = try await Self.post(client, base, session: session, body)
                    #expect(answer.status == status && answer.body.contains(fragment), "\(body): \(answer.status) \(answer.body)")
                    if status == 200 { #expect(answer.json?["error"]?["code"]?.intValue == -32602, "\(answer.body)") }
                    #expect(!answer.body.contains("Swift") && !answer.body.contains("DecodingError"), "\(answer.body)")
                }

                // Sessions: required after initialize, unknown ones not found, DELETE ends one; GET is 405.
                #expect(try await Self.post(client, base, Self.call("whoami")).status == 400)
                #expect(try await Self.post(client, base, session: String(repeating: "0", count: 64), Self.call("whoami")).status == 404)
                var get = HTTPClientRequest(url: base + "/mcp")
                get.headers.add(name: "Authorization", value: "Bearer \(Self.key)")
                get.headers.add(name: "Accept", value: "text/event-stream")
                let got = try await client.execute(get, timeout: .seconds(10))
                #expect(got.status.code == 405 && got.headers.first(name: "Allow") == "POST, DELETE")
                var delete = HTTPClientRequest(url: base + "/mcp")
                delete.method = .DELETE
                delete.headers.add(name: "Authorization", value: "Bearer \(Self.key)")
                delete.headers.add(name: "Mcp-Session-Id", value: session)
                #expect(try await client.execute(delete, timeout: .seconds(10)).status == .ok)
                #expect(try await Self.post(client, base, session: session, Self.call("whoami", id: 5)).status == 404)
            }
        }
    }

    @Test func aSessionBelongsToTheCredentialThatOpenedIt() async throws {
        try await ServedAsgard.run(configure: { $0.environment["ASGARD_MCP_SESSIONS_PER_CREDENTIAL"] = "2" }) { base, _ in
            try await withHTTPClient { client in
                let session = try await Self.open(client, base)
                // Another key, or a person, presenting the id finds nothing.
                let other = ServedAsgard.secrets["limited-key"]!
                #expect(try await Self.post(client, base, token: other, session: session, Self.call("whoami")).status == 404)
                let person = personSecret("lars.berg@example.com")
                #expect(try await Self.post(client, base, token: person, session: session, Self.call("whoami")).status == 404)
                #expect(try await Self.post(client, base, session: session, Self.call("whoami")).status == 200)
                // A credential holds at most two sessions here: a third ends its least recently used.
                let second = try await Self.open(client, base)
                _ = try await Self.post(client, base, session: session, Self.call("whoami", id: 7))
                let third = try await Self.open(client, base)
                #expect(try await Self.post(client, base, session: second, Self.call("whoami")).status == 404)
                #expect(try await Self.post(client, base, session: session, Self.call("whoami")).status == 200)
                #expect(try await Self.post(client, base, session: third, Self.call("whoami")).status == 200)
            }
        }
    }

    @Test func anIdleSessionExpires() async throws {
        try await ServedAsgard.run(configure: { $0.environment["ASGARD_MCP_SESSION_IDLE_SECONDS"] = "1" }) { base, _ in
            try await withHTTPClient { client in
                let session = try await Self.open(client, base)
                try await Task.sleep(for: .milliseconds(1500))
                let answer = try await Self.post(client, base, session: session, Self.call("whoami"))
                #expect(answer.status == 404 && answer.body.contains("initialize a new one"), "\(answer.body)")
            }
        }
    }

    @Test func hostAndOriginAreCheckedBeforeAnythingElse() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                // A rebound name: the Host is not ours, whatever the credential.
                let rebound = try await Self.post(client, base, token: nil, headers: [("Host", "attacker.example:80")], Self.initialize())
                #expect(rebound.status == 421, "\(rebound.body)")
                let origin = try await Self.post(client, base, headers: [("Origin", "http://attacker.example")], Self.initialize())
                #expect(origin.status == 403, "\(origin.body)")
                let local = try await Self.post(client, base, headers: [("Origin", "http://localhost:3000")], Self.initialize())
                #expect(local.status == 200, "\(local.body)")
            }
        }
    }

    @Test func unauthenticatedExpiredAndKilledAreRefused() async throws {
        try await ServedAsgard.run { base, _ in
            try await withHTTPClient { client in
                let none = try await Self.post(client, base, token: nil, Self.initialize())
                let challenge = none.headers.first(name: "WWW-Authenticate") ?? ""
                #expect(none.status == 401 && challenge == #"Bearer resource_metadata="\#(base)/.well-known/oauth-protected-resource/mcp""#, "\(challenge)")
                let expired = try await Self.post(client, base, token: ServedAsgard.secrets["expired-key"]!, Self.initialize())
                #expect(expired.status == 401 && (expired.headers.first(name: "WWW-Authenticate") ?? "").contains(#"error="invalid_token""#))
                let admin = try await Self.post(client, base, token: ServedAsgard.adminSecret, Self.initialize())
                #expect(admin.status == 401, "the admin credential is no person and no key: \(admin.body)")
                var metadata = HTTPClientRequest(url: base + "/.well-known/oauth-protected-resource/mcp")
                metadata.method = .GET
                let document = try JSONValue.parse(String(buffer: try await client.execute(metadata, timeout: .seconds(10)).body.collect(upTo: 1 << 16)))
                #expect(document["resource"]?.stringValue == base + "/mcp")

                // A key killed mid-session is refused on its next call, like everywhere else.
                let session = try await Self.open(client, base)
                let (engaged, body) = try await AdminAPITests.send(
                    client, .POST, base + "/api/admin/kill", token: ServedAsgard.adminSecret, body: #"{"scope":"key","id":"sdk-key","reason":"leaked"}"#)
                #expect(engaged == 200, "\(body)")
                let killed = try await Self.post(client, base, session: session, Self.call("whoami"))
                #expect(killed.status == 403 && killed.body.contains("leaked"), "\(killed.body)")
            }
        }
    }

    @Test func aCedarForbidOnAToolIsObeyedAndAudited() async throws {
        let policies = try makeTemporaryDirectory("mcp-forbid")
        for name in try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/policies") where name.hasSuffix(".cedar") {
            try FileManager.default.copyItem(atPath: packageRoot + "/policies/" + name, toPath: policies + "/" + name)
        }
        try """
        @id("no-chat-through-mcp")
        forbid (principal, action == Action::"chat", resource is Tool);
        """.write(toFile: policies + "/zz-forbid.cedar", atomically: true, encoding: .utf8)
        let stored = Mutex<SQLiteStore?>(nil)
        try await ServedAsgard.run(configure: { $0.policiesDirectory = policies }, onStore: { store in stored.withLock { $0 = store } }) { base, _ in
            try await withHTTPClient { client in
                let session = try await Self.open(client, base)
                let chat = try await Self.post(
                    client, base, session: session,
                    Self.call("chat", #"{"model":"databricks/llama-3-3-70b","messages":[{"role":"user","content":"hi"}]}"#))
                let result = try #require(chat.json?["result"], "\(chat.body)")
                #expect(result["isError"] == .bool(true), "\(chat.body)")
                #expect(result["content"]?[0]?["text"]?.stringValue == "Cedar denied chat for Key::\"sdk-key\": forbidden by no-chat-through-mcp")
                // Other tools are untouched.
                #expect(try await Self.post(client, base, session: session, Self.call("whoami", id: 3)).json?["result"]?["isError"] == .bool(false))
            }
        }
        let store = try #require(stored.withLock { $0 })
        let denied = try await store.auditTail(limit: 200).map(\.content).filter { $0.action == "mcp.chat" }
        #expect(denied.count == 1 && denied[0].outcome == "denied" && denied[0].actor == "Key/sdk-key", "\(denied)")
        #expect(denied.first?.detail.contains(#""policies":"no-chat-through-mcp""#) == true, "\(denied)")
        let ledger = try await store.ledger(project: "fraud-detection", from: Date().addingTimeInterval(-600), to: Date().addingTimeInterval(60))
        #expect(ledger.isEmpty, "a forbidden chat reaches no model: \(ledger)")
    }
}
