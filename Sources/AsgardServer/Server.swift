public import AsgardController
import AsgardCore
import AsgardGateway
public import AsgardStore
import Cedar
import HTTPTypes
public import AsyncHTTPClient
import Foundation
public import Hummingbird
import NIOCore

/// What `asgard serve` needs to start.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var desiredDirectory = "desired"
    public var policiesDirectory = "policies"
    public var dataDirectory = ".asgard"
    /// Where vendor base URLs and tokens are read, by the names the manifests give.
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    public var maxBodyBytes = 1 << 20
    public var passInterval: Duration = .seconds(30)
    /// Carries out provisioning: the terraform connector (`asgard serve` resolves it), or one
    /// that refuses by name when there is no terraform.
    public var provisioner: any Provisioner = UnavailableProvisioner()

    public init() {}
}

/// The running pieces, for tests and `asgard demo`.
public struct AsgardServer: Sendable {
    public let store: SQLiteStore
    public let calls: CallLog
    public let loop: ControllerLoop
    public let gateway: Gateway
    public let snapshot: SnapshotBox

    /// Wires the store, the controller loop, the gateway and the HTTP routes (the composition root).
    ///
    /// Routes: `GET /healthz`; `GET /v1/models` (the presented key's models);
    /// `POST /v1/chat/completions` (OpenAI drop-in; data class from `X-Asgard-Data-Class`);
    /// `POST /api/gateway/chat` (Asgard's shape: the body carries `data_class`);
    /// `GET /api/projects/{id}/usage?from=&to=` (spend by model and day, for the project's keys).
    public static func build(_ configuration: ServerConfiguration, httpClient: HTTPClient,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> (AsgardServer, some ApplicationProtocol) {
        let store = try SQLiteStore(path: configuration.dataDirectory + "/asgard.sqlite")
        let calls = try CallLog.open(store: store, directory: configuration.dataDirectory + "/journal")
        let snapshot = SnapshotBox()
        let budgets = BudgetLedger()
        let killSwitches = KillSwitchBoard()
        let loop = ControllerLoop(store: store, desiredDirectory: configuration.desiredDirectory,
                                  policiesDirectory: configuration.policiesDirectory, snapshot: snapshot, budgets: budgets,
                                  killSwitches: killSwitches, passInterval: configuration.passInterval, provisioner: configuration.provisioner,
                                  vendor: ServingEndpointsAPI(client: httpClient, environment: configuration.environment))
        var gateway = Gateway(snapshot: { snapshot.current }, upstream: HTTPUpstream(client: httpClient), recorder: calls.recorder,
                              budgets: budgets, rateLimiter: RateLimiter(), killSwitches: killSwitches, environment: configuration.environment)
        gateway.maxBodyBytes = configuration.maxBodyBytes
        let server = AsgardServer(store: store, calls: calls, loop: loop, gateway: gateway, snapshot: snapshot)
        let router = Router()
        server.addRoutes(to: router, maxBodyBytes: configuration.maxBodyBytes)
        let adminDigest = configuration.environment["ASGARD_ADMIN_KEY_SHA256"].flatMap { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : nil }
        AdminAPI(store: store, loop: loop, snapshot: snapshot, adminDigest: adminDigest).addRoutes(to: router)
        let application = Application(router: router, server: .http1BoundToEventLoops(),
                                      configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "asgard"),
                                      services: [loop, calls.ingester], onServerRunning: onServerRunning)
        return (server, application)
    }

    func addRoutes(to router: Router<BasicRequestContext>, maxBodyBytes: Int) {
        let gateway = self.gateway
        let store = self.store
        let ingester = self.calls.ingester
        let snapshot = self.snapshot
        router.get("/healthz") { _, _ in
            Response(status: snapshot.current == nil ? .serviceUnavailable : .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: snapshot.current == nil ? #"{"status":"starting"}"# : #"{"status":"ok"}"#)))
        }
        let metrics = gateway.metrics
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        for (path, endpoint) in [("/v1/chat/completions", ChatEndpoint.openAICompatible), ("/api/gateway/chat", .asgard)] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let started = ContinuousClock.now
                let response = try await Self.chat(request, gateway: gateway, endpoint: endpoint, maxBodyBytes: maxBodyBytes)
                metrics.request(endpoint: path, status: Int(response.status.code), duration: ContinuousClock.now - started)
                return response
            }
        }
        router.get("/v1/models") { request, _ -> Response in
            guard let (key, current) = Self.key(request, snapshot) else { return Self.response(GatewayResponse(error: .invalidAPIKey)) }
            var data: [JSONValue] = []
            for model in current.routes.models {
                guard let route = current.routes[model], key.allows(model: model, vendor: route.vendor) else { continue }
                data.append(.object([JSONMember(key: "id", value: .string(model)), JSONMember(key: "object", value: .string("model")),
                                     JSONMember(key: "created", value: .integer(0)), JSONMember(key: "owned_by", value: .string(route.vendor))]))
            }
            let body = JSONValue.object([JSONMember(key: "object", value: .string("list")), JSONMember(key: "data", value: .array(data))])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
        }
        router.get("/api/projects/{id}/usage") { request, context -> Response in
            guard let (key, _) = Self.key(request, snapshot) else { return Self.response(GatewayResponse(error: .invalidAPIKey)) }
            let project = context.parameters.get("id") ?? ""
            guard key.project == project else {
                return Self.response(GatewayResponse(error: GatewayError(status: 403, type: "permission_error", code: "forbidden",
                                                                         message: "this key belongs to another project")))
            }
            let from = request.uri.queryParameters.get("from").flatMap(parseInstant) ?? Date(timeIntervalSince1970: 0)
            let to = request.uri.queryParameters.get("to").flatMap(parseInstant) ?? Date().addingTimeInterval(86_400)
            // Every call a client has seen answered is in the store once the ingester catches up.
            guard await ingester.caughtUp() else {
                return Self.response(GatewayResponse(error: GatewayError(status: 503, type: "server_error", code: "ledger_behind",
                                                                         message: "recent calls are not yet in the ledger; retry shortly")))
            }
            let rows = (try? await store.usage(project: project, from: from, to: to)) ?? []
            let items = rows.map { row in
                JSONValue.object([
                    JSONMember(key: "day", value: .string(row.day)), JSONMember(key: "model", value: .string(row.model)),
                    JSONMember(key: "calls", value: .integer(Int64(row.calls))),
                    JSONMember(key: "prompt_tokens", value: .integer(Int64(row.promptTokens))),
                    JSONMember(key: "completion_tokens", value: .integer(Int64(row.completionTokens))),
                    JSONMember(key: "cost_micros", value: .integer(row.cost.value)), JSONMember(key: "cost_usd", value: .string(row.cost.description)),
                    JSONMember(key: "estimated_calls", value: .integer(Int64(row.estimatedCalls))),
                ])
            }
            let body = JSONValue.object([JSONMember(key: "project", value: .string(project)), JSONMember(key: "usage", value: .array(items))])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
        }
    }

    /// One chat call: the body read within the limit, then the streamed or the plain path.
    static func chat(_ request: Request, gateway: Gateway, endpoint: ChatEndpoint, maxBodyBytes: Int) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return Self.response(GatewayResponse(error: .bodyTooLarge(limit: maxBodyBytes)))
        }
        let bytes = Array(body.readableBytesView)
        let authorization = request.headers[.authorization]
        let dataClass = request.headers[HTTPField.Name("X-Asgard-Data-Class")!]
        // Parsed once; `"stream": true` picks the path (an unparseable body is refused by the plain one).
        let parsed = gateway.parse(bytes)
        guard case .success(let chat) = parsed, chat.stream else {
            return Self.response(await gateway.chat(authorization: authorization, dataClassHeader: dataClass, parsed: parsed, endpoint: endpoint))
        }
        switch await gateway.chatStream(authorization: authorization, dataClassHeader: dataClass, parsed: parsed, endpoint: endpoint) {
        case .refused(let answer):
            return Self.response(answer)
        case .stream(let stream):
            return Response(status: .init(code: stream.status), headers: Self.fields(stream.headers), body: stream.responseBody)
        }
    }

    /// The key a request presents, with the snapshot it was found in.
    static func key(_ request: Request, _ box: SnapshotBox) -> (Key, GatewaySnapshot)? {
        guard let current = box.current, let key = current.key(authorization: request.headers[.authorization]) else { return nil }
        return (key, current)
    }

    static func response(_ answer: GatewayResponse) -> Response {
        Response(status: .init(code: answer.status), headers: fields(answer.headers), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func fields(_ headers: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return fields
    }
}

extension GatewayResponse {
    /// An error answer outside the pipeline (no audit: nothing was decided).
    init(error: GatewayError) {
        self.init(status: error.status, body: Array(error.body.utf8), headers: [("Content-Type", "application/json")])
    }
}
