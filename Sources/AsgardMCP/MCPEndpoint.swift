public import AsgardCore
public import AsgardGateway
import AsgardJSON
public import Foundation
public import MCP
import Synchronization

/// `/mcp`: the MCP server over streamable HTTP, framework-agnostic (the SDK's `HTTPRequest` in,
/// `HTTPResponse` out; `AsgardServer` adapts Hummingbird to it).
///
/// - **Sessions**, in memory: `initialize` opens one (an SDK `Server` over a `SessionTransport`),
///   named by a random `Mcp-Session-Id` and bound to the credential that opened it: the same id
///   with another credential is not found. A session idle for `idleTimeout` ends; a credential
///   holds at most `sessionsPerCredential` (a new one ends its least recently used), and the
///   server at most `maxSessions`. `DELETE` ends one. Protocol versions: the SDK's negotiation
///   (2025-11-25, 2025-06-18, 2025-03-26; an unknown version gets the latest).
/// - **Responses**: one JSON object, or one SSE event when the client's `Accept` prefers
///   `text/event-stream`. `GET` is 405: Asgard sends no server-initiated messages.
/// - **Origin and Host**: the SDK's DNS-rebinding validator on every request (hosts and origins
///   from the configuration), before authentication.
/// - **Authentication** as an OAuth resource server: a key (the agent acts for its project) or
///   a person's credential. None or a bad one: 401 with `WWW-Authenticate` naming the RFC 9728
///   metadata (`protectedResourceMetadata`); an expired key 401, a killed one 403, as elsewhere.
public final class MCPEndpoint: Sendable {
    public struct Configuration: Sendable {
        public var idleTimeout: Duration = .seconds(30 * 60)
        public var sessionsPerCredential = 16
        public var maxSessions = 4096
        /// `Host` values accepted (`name:port`, or `name:*` for any port).
        public var allowedHosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        /// `Origin` values accepted when a browser sends one.
        public var allowedOrigins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
        /// The public base URL (`https://asgard.example.com`); nil: `http://` and the request's `Host`.
        public var publicURL: String?

        public init() {}
    }

    let configuration: Configuration
    let toolbox: Toolbox
    let authenticator: KeyAuthenticator
    private let sessions = Mutex<[String: Session]>([:])
    private let originValidator: OriginValidator
    static let tools = ToolDefinition.all.map(\.tool)

    public init(configuration: Configuration, toolbox: Toolbox, authenticator: KeyAuthenticator) {
        self.configuration = configuration
        self.toolbox = toolbox
        self.authenticator = authenticator
        originValidator = OriginValidator(allowedHosts: configuration.allowedHosts, allowedOrigins: configuration.allowedOrigins)
    }

    /// One session: its server, transport, credential and last use.
    final class Session: Sendable {
        let id: String
        let server: Server
        let transport: SessionTransport
        let credential: String
        let principal: Mutex<MCPPrincipal>
        let lastUsed: Mutex<ContinuousClock.Instant>

        init(id: String, server: Server, transport: SessionTransport, principal: MCPPrincipal) {
            self.id = id
            self.server = server
            self.transport = transport
            credential = principal.credentialDigest
            self.principal = Mutex(principal)
            lastUsed = Mutex(.now)
        }
    }

    /// Sessions open now.
    public var sessionCount: Int { sessions.withLock { $0.count } }

    // MARK: HTTP

    /// Answers one request to `/mcp`.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let method = request.method.uppercased()
        let context = HTTPValidationContext(httpMethod: method, sessionID: nil, isInitializationRequest: false)
        if let refused = originValidator.validate(request, context: context) { return refused }
        let principal: MCPPrincipal
        switch authenticate(request) {
        case .success(let found): principal = found
        case .failure(let refusal): return refusal.response
        }
        switch method {
        case "POST": return await post(request, principal)
        case "DELETE": return delete(request, principal)
        default:
            return .error(
                statusCode: 405, .invalidRequest("Method Not Allowed: POST JSON-RPC messages; DELETE ends a session (Asgard sends no server-initiated stream)"),
                extraHeaders: [HTTPHeaderName.allow: "POST, DELETE"])
        }
    }

    private func post(_ request: HTTPRequest, _ principal: MCPPrincipal) async -> HTTPResponse {
        let context = HTTPValidationContext(httpMethod: "POST")
        if let refused = ContentTypeValidator().validate(request, context: context) { return refused }
        guard let format = Self.responseFormat(request.header(HTTPHeaderName.accept)) else {
            return .error(statusCode: 406, .invalidRequest("Not Acceptable: accept application/json or text/event-stream"))
        }
        guard let body = request.body, !body.isEmpty else { return .error(statusCode: 400, .parseError("the body is empty")) }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(Array(body))
        } catch {
            return .error(statusCode: 400, .parseError("the body is not JSON: \(error.description)"))
        }
        guard case .object(let members) = parsed else {
            return .error(statusCode: 400, .invalidRequest("the body must be one JSON-RPC message (an object); batches are not accepted"))
        }
        let methodName = members.first { $0.key == "method" }?.value.stringValue
        let id = members.first { $0.key == "id" }.flatMap { MessageID($0.value) }
        let sessionHeader = request.header(HTTPHeaderName.sessionID)
        let session: Session
        var opened = false
        if methodName == "initialize", id != nil, sessionHeader == nil {
            switch await open(principal) {
            case .success(let new): session = new
            case .failure(let refusal): return refusal.response
            }
            opened = true
        } else {
            guard let sessionHeader else {
                return .error(statusCode: 400, .invalidRequest("Bad Request: send the \(HTTPHeaderName.sessionID) header that initialize returned"))
            }
            guard let found = find(sessionHeader, principal) else {
                return .error(statusCode: 404, .invalidRequest("Not Found: no such session (it ended, or expired): initialize a new one"))
            }
            let versionContext = HTTPValidationContext(httpMethod: "POST", sessionID: found.id)
            if let refused = ProtocolVersionValidator().validate(request, context: versionContext) { return refused }
            session = found
        }
        let headers = [HTTPHeaderName.sessionID: session.id]
        guard let id else {
            // A notification, or a response to a server request: taken, nothing to answer.
            await session.transport.deliver(body)
            return .accepted(headers: headers)
        }
        if let invalid = Self.invalidParams(methodName, members) {
            return Self.reply(SessionTransport.error(id: id.json, code: -32602, message: invalid), format, headers)
        }
        guard let answer = await session.transport.exchange(body, id: id, request: request) else {
            return .error(statusCode: 409, .invalidRequest("Conflict: a request with this id is in flight in this session"), sessionID: session.id)
        }
        if opened, Self.isError(answer) { end(session.id) }
        return Self.reply(answer, format, headers)
    }

    private func delete(_ request: HTTPRequest, _ principal: MCPPrincipal) -> HTTPResponse {
        guard let id = request.header(HTTPHeaderName.sessionID), find(id, principal) != nil else {
            return .error(statusCode: 404, .invalidRequest("Not Found: no such session"))
        }
        end(id)
        return .ok()
    }

    /// `tools/call` params the SDK would fail to decode (its error would carry Swift's text):
    /// answered here as invalid params naming the field.
    static func invalidParams(_ method: String?, _ members: [JSONMember]) -> String? {
        guard method == "tools/call" else { return nil }
        guard case .object(let params)? = members.first(where: { $0.key == "params" })?.value else {
            return "Invalid params: params: tools/call takes an object with name and arguments"
        }
        guard case .string? = params.first(where: { $0.key == "name" })?.value else { return "Invalid params: name: is required, a string" }
        if let arguments = params.first(where: { $0.key == "arguments" })?.value {
            switch arguments {
            case .object, .null: break
            default: return "Invalid params: arguments: must be an object"
            }
        }
        return nil
    }

    static func isError(_ answer: Data) -> Bool {
        guard case .object(let members)? = try? JSONValue.parse(Array(answer)) else { return true }
        return members.contains { $0.key == "error" }
    }

    /// How a response is sent.
    enum Format { case json, eventStream }

    /// JSON, unless `Accept` prefers `text/event-stream` (a higher q, or listed first at the
    /// same q); nil when it accepts neither.
    static func responseFormat(_ accept: String?) -> Format? {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        var best: (format: Format, q: Double)?
        for item in accept.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let format: Format? =
                switch parts.first {
                case "application/json", "application/*", "*/*": .json
                case "text/event-stream": .eventStream
                default: nil
                }
            guard let format, q > 0 else { continue }
            if best == nil || q > best!.q { best = (format, q) }
        }
        return best?.format
    }

    static func reply(_ answer: Data, _ format: Format, _ headers: [String: String]) -> HTTPResponse {
        var headers = headers
        switch format {
        case .json:
            headers[HTTPHeaderName.contentType] = "application/json"
            return .data(answer, headers: headers)
        case .eventStream:
            headers[HTTPHeaderName.contentType] = "text/event-stream"
            headers[HTTPHeaderName.cacheControl] = "no-cache"
            return .data(Data("event: message\ndata: ".utf8) + answer + Data("\n\n".utf8), headers: headers)
        }
    }

    // MARK: Sessions

    /// The session `id`, if it exists, is not idle past the timeout, and belongs to the
    /// credential `principal` presented; its principal is refreshed (a key's limits may have changed).
    private func find(_ id: String, _ principal: MCPPrincipal) -> Session? {
        let now = ContinuousClock.now
        let (session, expired) = sessions.withLock { sessions -> (Session?, Session?) in
            guard let session = sessions[id] else { return (nil, nil) }
            if now - session.lastUsed.withLock({ $0 }) > configuration.idleTimeout {
                sessions[id] = nil
                return (nil, session)
            }
            return (session, nil)
        }
        if let expired { stop(expired) }
        guard let session, constantTimeEqual(session.credential, principal.credentialDigest) else { return nil }
        session.lastUsed.withLock { $0 = now }
        session.principal.withLock { $0 = principal }
        return session
    }

    struct Refusal: Error {
        var response: HTTPResponse
    }

    /// A new session for `principal`: expired sessions go first; the credential's least recently
    /// used goes when it is at its limit; 503 when the server is at its own.
    private func open(_ principal: MCPPrincipal) async -> Result<Session, Refusal> {
        let transport = SessionTransport()
        let server = Server(
            name: "asgard", version: "1", title: "Asgard",
            instructions: "Asgard governs model calls, provisioning and cost for your project. Start with whoami; request resources with request_resource.",
            capabilities: .init(tools: .init(listChanged: false)))
        let id = Self.newSessionID()
        let session = Session(id: id, server: server, transport: transport, principal: principal)
        let toolbox = self.toolbox
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: Self.tools) }
        await server.withMethodHandler(CallTool.self) { [session] params in
            try await toolbox.call(params.name, arguments: params.arguments, as: session.principal.withLock { $0 })
        }
        do {
            try await server.start(transport: transport)
        } catch {
            return .failure(Refusal(response: .error(statusCode: 500, .internalError("the session could not be started"))))
        }
        let now = ContinuousClock.now
        let (ended, full) = sessions.withLock { sessions -> ([Session], Bool) in
            var ended: [Session] = []
            for (key, open) in sessions where now - open.lastUsed.withLock({ $0 }) > configuration.idleTimeout {
                ended.append(open)
                sessions[key] = nil
            }
            let mine = sessions.values.filter { $0.credential == session.credential }
            if mine.count >= configuration.sessionsPerCredential, let oldest = mine.min(by: { $0.lastUsed.withLock { $0 } < $1.lastUsed.withLock { $0 } }) {
                ended.append(oldest)
                sessions[oldest.id] = nil
            }
            guard sessions.count < configuration.maxSessions else { return (ended, true) }
            sessions[id] = session
            return (ended, false)
        }
        for old in ended { stop(old) }
        guard !full else {
            stop(session)
            return .failure(Refusal(response: .error(statusCode: 503, .invalidRequest("Service Unavailable: too many MCP sessions are open; try again later"))))
        }
        return .success(session)
    }

    private func end(_ id: String) {
        if let session = sessions.withLock({ $0.removeValue(forKey: id) }) { stop(session) }
    }

    private func stop(_ session: Session) {
        Task { await session.server.stop() }
    }

    /// 32 random bytes in hex: a session id no one guesses.
    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    // MARK: Authentication

    /// The caller a request's bearer credential presents: a person's credential or a key.
    func authenticate(_ request: HTTPRequest) -> Result<MCPPrincipal, Refusal> {
        let authorization = request.header(HTTPHeaderName.authorization)
        guard let authorization, let digest = bearerDigest(authorization) else {
            return .failure(challenge(request, error: nil, description: nil))
        }
        if let snapshot = authenticator.snapshot(), let person = snapshot.person(credentialDigest: digest) {
            return .success(.person(person))
        }
        do throws(GatewayError) {
            return .success(.key(try authenticator.authenticate(authorization)))
        } catch {
            switch error.code {
            case "starting": return .failure(Refusal(response: .error(statusCode: 503, .invalidRequest("Service Unavailable: Asgard is starting"))))
            case "killed": return .failure(Refusal(response: .error(statusCode: 403, .invalidRequest("Forbidden: \(error.message)"))))
            default: return .failure(challenge(request, error: "invalid_token", description: error.message))
            }
        }
    }

    /// 401 with `WWW-Authenticate: Bearer resource_metadata="..."` (RFC 9728, RFC 6750).
    func challenge(_ request: HTTPRequest, error: String?, description: String?) -> Refusal {
        var parameters = ["resource_metadata=\"\(Self.quoted(metadataURL(request)))\""]
        if let error { parameters.append("error=\"\(error)\"") }
        if let description { parameters.append("error_description=\"\(Self.quoted(description))\"") }
        return Refusal(
            response: .error(
                statusCode: 401, .invalidRequest("Unauthorized: present an Asgard key or your personal credential as a bearer token"),
                extraHeaders: [HTTPHeaderName.wwwAuthenticate: "Bearer " + parameters.joined(separator: ", ")]))
    }

    static func quoted(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init))
            .replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// The public base URL: the configured one, else `http://` and the (validated) `Host`.
    func baseURL(_ request: HTTPRequest) -> String {
        if let url = configuration.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        return "http://" + (request.header(HTTPHeaderName.host) ?? "127.0.0.1")
    }

    func metadataURL(_ request: HTTPRequest) -> String { baseURL(request) + "/.well-known/oauth-protected-resource/mcp" }

    /// The RFC 9728 protected-resource metadata: at `/.well-known/oauth-protected-resource/mcp`
    /// it describes `/mcp`, at `/.well-known/oauth-protected-resource` all of Asgard. Asgard has
    /// no authorization server: keys and personal credentials are minted by `asgard keygen`.
    public func protectedResourceMetadata(_ request: HTTPRequest, forMCP: Bool) -> HTTPResponse {
        if let refused = originValidator.validate(request, context: HTTPValidationContext(httpMethod: "GET")) { return refused }
        let base = baseURL(request)
        let document = JSONValue.object([
            JSONMember(key: "resource", value: .string(forMCP ? base + "/mcp" : base)),
            JSONMember(key: "bearer_methods_supported", value: .array([.string("header")])),
            JSONMember(key: "resource_name", value: .string(forMCP ? "Asgard MCP server" : "Asgard")),
            JSONMember(key: "resource_documentation", value: .string(base + "/")),
        ])
        return .data(Data(document.jsonBytes), headers: [HTTPHeaderName.contentType: "application/json"])
    }
}
