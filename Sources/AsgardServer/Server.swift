public import AsgardController
public import AsgardGateway
public import AsgardCore
import Cedar
import HTTPTypes
import Logging
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

    public init() {}
}

/// The effects the server is built on, chosen by the caller: `asgard serve` and `asgard demo`
/// open the SQLite store and resolve the terraform connector; tests bring their own.
public struct ServerDependencies: Sendable {
    public var store: any Store
    /// Calls vendors (`HTTPUpstream.vendorClient()`); the caller shuts it down.
    public var httpClient: HTTPClient
    /// Carries out provisioning: the terraform connector, or one that refuses by name.
    public var provisioner: any Provisioner
    /// List what vendors hold, for drift, by the names manifests give (`observe`).
    public var observers: VendorObservers

    public init(store: any Store, httpClient: HTTPClient, provisioner: any Provisioner = UnavailableProvisioner(),
                observers: VendorObservers = VendorObservers()) {
        self.store = store
        self.httpClient = httpClient
        self.provisioner = provisioner
        self.observers = observers
    }
}

/// The running pieces, for tests and `asgard demo`.
public struct ServerParts: Sendable {
    public let store: any Store
    public let calls: CallLog
    public let controller: Controller
    public let gateway: Gateway
    public let metrics: GatewayMetrics
    public let snapshot: SnapshotBox
}

/// Wires the store, the controller, the gateway and the HTTP routes: the one composition root
/// that `asgard serve`, `asgard demo` and the tests all build the server with. The call
/// journal lives in `<data directory>/journal`.
///
/// Routes: `GET /healthz` (503 `starting` until the first configuration is published, then
/// 200 `ok`, or 200 `degraded` with the reasons); `GET /v1/models` (the presented key's models);
/// `POST /v1/chat/completions` (OpenAI drop-in; data class from `X-Asgard-Data-Class`);
/// `POST /api/gateway/chat` (Asgard's shape: the body carries `data_class`);
/// `GET /api/projects/{id}/usage?from=&to=` (spend by model and day, for the project's keys);
/// the admin API (`AdminAPI`).
/// - Throws: `CallLogError` when another server has the journal open; the journal's and the
///   store's errors when the journal cannot be opened or recovered.
public func buildApplication(_ configuration: ServerConfiguration, _ dependencies: ServerDependencies,
                             onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> (ServerParts, some ApplicationProtocol) {
    try ServerParts.build(configuration, dependencies, onServerRunning: onServerRunning)
}

extension ServerParts {
    static func build(_ configuration: ServerConfiguration, _ dependencies: ServerDependencies,
                      onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws -> (ServerParts, some ApplicationProtocol) {
        let (store, httpClient) = (dependencies.store, dependencies.httpClient)
        let calls = try CallLog.open(store: store, directory: configuration.dataDirectory + "/journal")
        let snapshot = SnapshotBox()
        let budgets = BudgetLedger()
        let killSwitches = KillSwitchBoard()
        let health = HealthBoard()
        let ingester = calls.ingester
        health.watch(.ledger) { ingester.failure }
        let logger = Logger(label: "asgard.controller")
        let controller = Controller(
            store: store, desiredDirectory: configuration.desiredDirectory, policiesDirectory: configuration.policiesDirectory,
            snapshot: snapshot, budgets: budgets, killSwitches: killSwitches, environment: configuration.environment, health: health,
            passInterval: configuration.passInterval,
            provisioner: dependencies.provisioner, observers: dependencies.observers,
            onOutcome: { outcome in
                let line: Logger.Message = "\(outcome.action.ref) \(outcome.action.verb.rawValue): \(outcome.result.rawValue) in \(outcome.elapsedMilliseconds) ms\(outcome.reason.map { ": \($0)" } ?? "")"
                switch outcome.result {
                case .failed: logger.warning(line)
                case .deferred: logger.debug(line)
                default: logger.info(line)
                }
            })
        let metrics = GatewayMetrics()
        var gateway = Gateway(snapshot: { snapshot.current }, transport: HTTPUpstream(client: httpClient), recorder: calls.recorder,
                              budgets: budgets, rateLimiter: RateLimiter(), killSwitches: killSwitches, metering: metrics)
        gateway.maxBodyBytes = configuration.maxBodyBytes
        let server = ServerParts(store: store, calls: calls, controller: controller, gateway: gateway, metrics: metrics, snapshot: snapshot)
        let router = Router()
        server.addRoutes(to: router, maxBodyBytes: configuration.maxBodyBytes)
        let adminDigest = configuration.environment["ASGARD_ADMIN_KEY_SHA256"].flatMap { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : nil }
        AdminAPI(store: store, controller: controller, snapshot: snapshot, adminDigest: adminDigest).addRoutes(to: router)
        let application = Application(router: router, server: .http1BoundToEventLoops(),
                                      configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "asgard"),
                                      services: controller.services + [calls.ingester], onServerRunning: onServerRunning)
        return (server, application)
    }

    func addRoutes(to router: Router<BasicRequestContext>, maxBodyBytes: Int) {
        let gateway = self.gateway
        let store = self.store
        let ingester = self.calls.ingester
        let snapshot = self.snapshot
        let health = controller.health
        let authenticator = gateway.authenticator
        router.get("/healthz") { _, _ in
            let reasons = health.reasons
            let status = snapshot.current == nil ? "starting" : reasons.isEmpty ? "ok" : "degraded"
            var members = [JSONMember(key: "status", value: .string(status))]
            if !reasons.isEmpty { members.append(JSONMember(key: "reasons", value: .array(reasons.map(JSONValue.string)))) }
            return Response(status: status == "starting" ? .serviceUnavailable : .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).jsonBytes)))
        }
        let metrics = self.metrics
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
            let caller: Caller
            do throws(GatewayError) { caller = try authenticator.authenticate(request.headers[.authorization]) } catch { return Self.response(GatewayResponse(error: error)) }
            var data: [JSONValue] = []
            for model in caller.snapshot.routes.models {
                guard let route = caller.snapshot.routes[model], caller.key.allows(model: model, vendor: route.vendor) else { continue }
                data.append(.object([JSONMember(key: "id", value: .string(model)), JSONMember(key: "object", value: .string("model")),
                                     JSONMember(key: "created", value: .integer(0)), JSONMember(key: "owned_by", value: .string(route.vendor))]))
            }
            let body = JSONValue.object([JSONMember(key: "object", value: .string("list")), JSONMember(key: "data", value: .array(data))])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
        }
        router.get("/api/projects/{id}/usage") { request, context -> Response in
            let caller: Caller
            do throws(GatewayError) { caller = try authenticator.authenticate(request.headers[.authorization]) } catch { return Self.response(GatewayResponse(error: error)) }
            let project = context.parameters.get("id") ?? ""
            guard caller.key.project == project else {
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
            let rows: [UsageRow]
            do {
                rows = try await store.usage(project: project, from: from, to: to)
            } catch {
                // Never an empty answer in place of one the store could not give.
                return Self.response(GatewayResponse(error: GatewayError(status: 503, type: "server_error", code: "store_unavailable",
                                                                         message: "the ledger could not be read; retry shortly")))
            }
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
        switch await gateway.chat(authorization: request.headers[.authorization], dataClassHeader: request.headers[Self.dataClassHeader],
                                  body: Array(body.readableBytesView), endpoint: endpoint) {
        case .plain(let answer):
            return Self.response(answer)
        case .stream(let stream):
            return Response(status: .init(code: stream.status), headers: Self.fields(stream.headers), body: stream.responseBody)
        }
    }

    static let dataClassHeader = HTTPField.Name("X-Asgard-Data-Class")!

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

extension GatewayEventStream {
    /// The stream as a Hummingbird response body (the status and headers are `status` and
    /// `headers`). A client that goes away makes the writer throw; the call is then recorded
    /// as `client_disconnected` and the error passed on to Hummingbird.
    var responseBody: ResponseBody {
        ResponseBody { writer in
            try await produce { frame in try await writer.write(ByteBuffer(bytes: frame)) }
            try await writer.finish(nil)
        }
    }
}
