import AsgardJSON
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle

/// A faithful fake of the Databricks REST API for serving endpoints and for SQL over billing:
///
/// - `POST /serving-endpoints/{name}/invocations` (chat completions, JSON or SSE when
///   `stream: true`), and the OpenAI-compatible `POST /serving-endpoints/chat/completions`
///   with the endpoint name in `model`;
/// - `GET /api/2.0/serving-endpoints` and `GET /api/2.0/serving-endpoints/{name}`;
/// - `POST /api/2.0/serving-endpoints`, `DELETE /api/2.0/serving-endpoints/{name}` and
///   `PATCH /api/2.0/serving-endpoints/{name}/tags` (see `DatabricksServingEndpoints.swift` in AsgardServer), which
///   change the live endpoint registry of `controls`;
/// - the SQL Statement Execution API (see `StatementExecution.swift`): `POST /api/2.0/sql/statements`,
///   `GET /api/2.0/sql/statements/{id}`, `GET /api/2.0/sql/statements/{id}/result/chunks/{n}` and
///   `POST /api/2.0/sql/statements/{id}/cancel`, running SELECT queries (see `SQLTranslator`)
///   over `system.billing.usage`, `system.billing.list_prices` and `system.serving.endpoint_usage`,
///   held in SQLite and seeded from `configuration.billing`; every invocation writes a row of
///   `system.serving.endpoint_usage` (tokens, status, its `usage_context`), and
///   `controls.accrueServingUsage` bills created endpoints with their tags;
/// - errors as `{"error_code", "message"}` with the real statuses; bearer-token auth.
///
/// Run it in-process with `start()` (an ephemeral port by default) or `application(...)`.
public struct FakeDatabricks: Sendable {
    public let configuration: FakeDatabricksConfiguration
    public let controls: FakeDatabricksControls

    public init(_ configuration: FakeDatabricksConfiguration = FakeDatabricksConfiguration(), controls: FakeDatabricksControls? = nil) {
        self.configuration = configuration
        self.controls = controls ?? FakeDatabricksControls(configuration: configuration)
    }

    /// The routes, for in-memory testing (`.router`) or embedding.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: DatabricksErrorMiddleware())
        router.get("/api/2.0/serving-endpoints") { request, _ -> Response in
            try self.authenticate(request)
            self.controls.recordList()
            let endpoints = self.controls.endpoints.map { self.describe($0, detailed: false) }
            return jsonResponse(.ok, ["endpoints": .array(endpoints)])
        }
        router.get("/api/2.0/serving-endpoints/:name") { request, context -> Response in
            try self.authenticate(request)
            let name = context.parameters.get("name") ?? ""
            guard let endpoint = self.controls.endpoint(named: name) else { throw notFound(name) }
            return jsonResponse(.ok, self.describe(endpoint, detailed: true))
        }
        addManagementRoutes(to: router)
        addStatementRoutes(to: router)
        router.post("/serving-endpoints/chat/completions") { request, _ -> Response in
            let token = try self.authenticate(request)
            let (text, json) = try await self.readBody(request)
            guard let name = json?["model"]?.stringValue else {
                throw DatabricksAPIError.invalid("Missing required field: model.")
            }
            return try await self.invoke(name, request: request, token: token, text: text, json: json)
        }
        router.post("/serving-endpoints/:name/invocations") { request, context -> Response in
            let token = try self.authenticate(request)
            let name = context.parameters.get("name") ?? ""
            let (text, json) = try await self.readBody(request)
            return try await self.invoke(name, request: request, token: token, text: text, json: json)
        }
        return router
    }

    /// A Hummingbird application serving the fake on `host:port` (port 0: an ephemeral port);
    /// `onServerRunning` receives the bound port.
    public func application(
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger ?? Self.quietLogger
        )
    }

    /// Starts the fake in this process and returns once it listens.
    /// - Throws: the `FakeBillingError` of a malformed `configuration.billing` seed.
    public func start(host: String = "127.0.0.1", port: Int = 0, logger: Logger? = nil) async throws -> RunningFakeDatabricks {
        if let error = controls.billing.seedError { throw error }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = application(host: host, port: port, logger: logger) { bound in
            continuation.yield(bound)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger ?? Self.quietLogger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            try await task.value
            throw DatabricksAPIError(status: 500, errorCode: "INTERNAL_ERROR", message: "fake Databricks did not start")
        }
        return RunningFakeDatabricks(host: host, port: bound, controls: controls, group: group, task: task)
    }

    /// Runs the fake in this process for the duration of `body`.
    public func withRunning<T: Sendable>(
        host: String = "127.0.0.1", _ body: (RunningFakeDatabricks) async throws -> T
    ) async throws -> T {
        let running = try await start(host: host)
        do {
            let value = try await body(running)
            try await running.shutdown()
            return value
        } catch {
            try? await running.shutdown()
            throw error
        }
    }

    static let quietLogger: Logger = {
        var logger = Logger(label: "fake-databricks")
        logger.logLevel = .warning
        return logger
    }()

    // MARK: Handlers

    @discardableResult
    func authenticate(_ request: Request) throws -> String {
        guard let header = request.headers[.authorization], !header.isEmpty else {
            throw DatabricksAPIError(
                status: 401, errorCode: "UNAUTHENTICATED",
                message: "Credential was not sent or was of an unsupported type for this API.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw DatabricksAPIError(
                status: 401, errorCode: "UNAUTHENTICATED",
                message: "Credential was not sent or was of an unsupported type for this API.")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard token == configuration.token || configuration.readOnlyTokens.contains(token) else {
            throw DatabricksAPIError(status: 401, errorCode: "UNAUTHENTICATED", message: "Invalid access token.")
        }
        return token
    }

    func readBody(_ request: Request) async throws -> (String, JSONValue?) {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch {
            throw DatabricksAPIError.invalid("Request body is larger than \(configuration.maxBodyBytes) bytes.")
        }
        let text = String(buffer: buffer)
        return (text, try? JSONValue.parse(text))
    }

    func invoke(_ name: String, request: Request, token: String, text: String, json: JSONValue?) async throws -> Response {
        guard let endpoint = controls.endpoint(named: name) else { throw notFound(name) }
        var headers: [String: String] = [:]
        for field in request.headers {
            let key = field.name.canonicalName
            headers[key] = headers[key].map { $0 + ", " + field.value } ?? field.value
        }
        let record = RecordedRequest(
            endpoint: name, method: request.method.rawValue, path: request.uri.path, headers: headers,
            body: text, json: json)
        let (knobs, admission) = controls.admit(record)
        if knobs.latency > .zero { try await Task.sleep(for: knobs.latency) }
        if configuration.readOnlyTokens.contains(token) {
            throw DatabricksAPIError(
                status: 403, errorCode: "PERMISSION_DENIED",
                message: "User does not have permission 'Query' on serving endpoint '\(name)'.")
        }
        switch admission {
        case .proceed: break
        case .fault(let fault):
            recordUsage(endpoint, json: json, status: fault.status)
            var extra: [String: String] = [:]
            if let seconds = fault.retryAfterSeconds { extra["Retry-After"] = String(seconds) }
            throw DatabricksAPIError(status: fault.status, errorCode: fault.errorCode, message: fault.message, headers: extra)
        case .rateLimited(let limit, let retryAfter):
            recordUsage(endpoint, json: json, status: 429)
            var extra: [String: String] = [:]
            if let retryAfter { extra["Retry-After"] = String(retryAfter) }
            throw DatabricksAPIError(
                status: 429, errorCode: "REQUEST_LIMIT_EXCEEDED",
                message: "REQUEST_LIMIT_EXCEEDED: Exceeded workspace rate limit of \(limit) queries per minute for \(endpoint.model).",
                headers: extra)
        }
        let chat = try FakeModel.parse(json).get()
        let completion = FakeModel.complete(endpoint: name, request: chat)
        recordUsage(endpoint, json: json, status: 200, request: chat, completion: completion)
        let created = configuration.createdTimestamp ?? Int(Date().timeIntervalSince1970)
        var responseHeaders = HTTPFields()
        responseHeaders[servedModelNameField] = endpoint.servedModelName
        if !chat.stream {
            let body: JSONValue = [
                "id": .string(completion.id),
                "object": "chat.completion",
                "created": .integer(Int64(created)),
                "model": .string(endpoint.model),
                "choices": .array(
                    completion.choices.map { choice in
                        [
                            "index": .integer(Int64(choice.index)),
                            "message": ["role": "assistant", "content": .string(choice.text)],
                            "finish_reason": .string(choice.finishReason),
                        ]
                    }),
                "usage": usage(completion),
            ]
            return jsonResponse(.ok, body, headers: responseHeaders)
        }
        let frames = streamFrames(completion, request: chat, endpoint: endpoint, created: created, knobs: knobs)
        responseHeaders[.contentType] = "text/event-stream"
        responseHeaders[.cacheControl] = "no-cache"
        let drop = knobs.dropStreamAfterChunks
        let delay = knobs.chunkDelay
        let body = ResponseBody { writer in
            for (index, frame) in frames.enumerated() {
                if index > 0, delay > .zero { try await Task.sleep(for: delay) }
                if let drop, index >= drop { throw StreamDropped() }
                try await writer.write(ByteBuffer(string: frame))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: responseHeaders, body: body)
    }

    /// Writes the invocation's row of `system.serving.endpoint_usage`: tokens as the fake
    /// counted them (none for a refused call), `usage_context` as the body carried it.
    func recordUsage(
        _ endpoint: FakeServingEndpoint, json: JSONValue?, status: Int, request: ChatRequest? = nil,
        completion: GeneratedCompletion? = nil
    ) {
        let parsed = request ?? (try? FakeModel.parse(json).get())
        controls.billing.recordInvocation(
            endpoint: endpoint.name, servedEntity: endpoint.servedEntities.first,
            requestID: completion?.id ?? "req-" + FakeModel.hex(FakeModel.fnv1a(endpoint.name + "\n" + CanonicalJSON.text(json ?? .null))),
            clientRequestID: parsed?.clientRequestID, statusCode: status, inputTokens: completion?.promptTokens ?? 0,
            outputTokens: completion?.completionTokens ?? 0,
            inputCharacters: completion == nil ? 0 : (parsed?.messages.reduce(0) { $0 + $1.content.count } ?? 0),
            outputCharacters: completion?.choices.reduce(0) { $0 + $1.text.count } ?? 0,
            usageContext: parsed?.usageContext, streaming: parsed?.stream ?? false)
    }

    /// The SSE frames of a streamed completion, each `data: ...\n\n`.
    func streamFrames(
        _ completion: GeneratedCompletion, request: ChatRequest, endpoint: FakeServingEndpoint, created: Int,
        knobs: EndpointKnobs
    ) -> [String] {
        func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> String {
            var object: JSONValue = [
                "id": .string(completion.id),
                "object": "chat.completion.chunk",
                "created": .integer(Int64(created)),
                "model": .string(endpoint.model),
                "choices": .array(choices),
            ]
            if let usage { object["usage"] = usage }
            return "data: " + CanonicalJSON.text(object) + "\n\n"
        }
        var frames: [String] = []
        for choice in completion.choices {
            let pieces = FakeModel.streamPieces(choice.text)
            for (position, piece) in (pieces.isEmpty ? [""] : pieces).enumerated() {
                var delta: JSONValue = ["content": .string(piece)]
                if position == 0 { delta["role"] = "assistant" }
                frames.append(chunk([["index": .integer(Int64(choice.index)), "delta": delta, "finish_reason": .null]]))
            }
            frames.append(chunk([["index": .integer(Int64(choice.index)), "delta": [:], "finish_reason": .string(choice.finishReason)]]))
        }
        let wantsUsage: Bool
        switch knobs.streamUsage {
        case .always: wantsUsage = true
        case .never: wantsUsage = false
        case .whenRequested: wantsUsage = request.includeUsage
        }
        if wantsUsage { frames.append(chunk([], usage: usage(completion))) }
        if knobs.streamDone { frames.append("data: [DONE]\n\n") }
        return frames
    }

    func usage(_ completion: GeneratedCompletion) -> JSONValue {
        [
            "prompt_tokens": .integer(Int64(completion.promptTokens)),
            "completion_tokens": .integer(Int64(completion.completionTokens)),
            "total_tokens": .integer(Int64(completion.totalTokens)),
        ]
    }

    /// The endpoint as `GET /api/2.0/serving-endpoints[/{name}]` and create describe it.
    func describe(_ endpoint: FakeServingEndpoint, detailed: Bool) -> JSONValue {
        let created = endpoint.creationTimestampMillis ?? configuration.endpointTimestampMillis
        var config: JSONValue = ["served_entities": .array(endpoint.servedEntities.map(describe))]
        if !endpoint.servedEntities.isEmpty {
            config["config_version"] = 1
            config["traffic_config"] = [
                "routes": .array(
                    trafficShares(endpoint.servedEntities.count).enumerated().map { index, share in
                        let name = JSONValue.string(endpoint.servedEntities[index].name)
                        return ["served_model_name": name, "served_entity_name": name, "traffic_percentage": .integer(Int64(share))]
                    })
            ]
        }
        var object: JSONValue = [
            "name": .string(endpoint.name),
            "id": .string(endpoint.id ?? FakeServingEndpoint.derivedID(endpoint.name)),
            "creator": "fake-user@databricks.test",
            "creation_timestamp": .integer(Int64(created)),
            "last_updated_timestamp": .integer(Int64(endpoint.lastUpdatedTimestampMillis ?? created)),
            "state": ["ready": .string(endpoint.ready.rawValue), "config_update": .string(endpoint.configUpdate.rawValue)],
            "task": .string(endpoint.task),
            "config": config,
        ]
        if !endpoint.tags.isEmpty { object["tags"] = tagsJSON(endpoint.tags) }
        if detailed { object["permission_level"] = "CAN_QUERY" }
        return object
    }

    func describe(_ entity: FakeServedEntity) -> JSONValue {
        var object: JSONValue = [
            "name": .string(entity.name),
            "entity_name": .string(entity.entityName),
            "state": ["deployment": "DEPLOYMENT_READY", "deployment_state_message": ""],
        ]
        if let version = entity.entityVersion { object["entity_version"] = .string(version) }
        if let size = entity.workloadSize { object["workload_size"] = .string(size) }
        if let scaleToZero = entity.scaleToZeroEnabled { object["scale_to_zero_enabled"] = .bool(scaleToZero) }
        return object
    }

    /// 100 % split as evenly as whole percentages allow, the remainder to the first entities.
    func trafficShares(_ count: Int) -> [Int] {
        (0..<count).map { 100 / count + ($0 < 100 % count ? 1 : 0) }
    }
}

/// The fake running in this process.
public final class RunningFakeDatabricks: Sendable {
    public let host: String
    /// The bound port.
    public let port: Int
    public let controls: FakeDatabricksControls
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(host: String, port: Int, controls: FakeDatabricksControls, group: ServiceGroup, task: Task<Void, any Error>) {
        self.host = host
        self.port = port
        self.controls = controls
        self.group = group
        self.task = task
    }

    /// `http://host:port`, the value for `DATABRICKS_HOST`.
    public var url: String { "http://\(host):\(port)" }

    /// Stops listening, lets in-flight requests finish, and waits until the server is down.
    public func shutdown() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// Builds the fake as a runnable application (see `FakeDatabricks.application`).
public func buildFakeDatabricks(
    _ configuration: FakeDatabricksConfiguration, host: String = "127.0.0.1", port: Int = 0,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    FakeDatabricks(configuration).application(host: host, port: port, onServerRunning: onServerRunning)
}

// MARK: Wire helpers

struct StreamDropped: Error {}

let servedModelNameField = HTTPField.Name("served-model-name")!

func notFound(_ name: String) -> DatabricksAPIError {
    DatabricksAPIError(
        status: 404, errorCode: "RESOURCE_DOES_NOT_EXIST",
        message: "Endpoint with name '\(name)' does not exist.")
}

/// A JSON response; the body is canonical JSON (sorted keys), so every body the fake writes is
/// byte-for-byte deterministic.
func jsonResponse(_ status: HTTPResponse.Status, _ body: JSONValue, headers: HTTPFields = [:]) -> Response {
    var headers = headers
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: CanonicalJSON.bytes(body))))
}

func httpStatus(_ code: Int) -> HTTPResponse.Status {
    switch code {
    case 400: .badRequest
    case 401: .unauthorized
    case 403: .forbidden
    case 404: .notFound
    case 405: .methodNotAllowed
    case 409: .conflict
    case 413: .contentTooLarge
    case 429: .tooManyRequests
    case 500: .internalServerError
    case 502: .badGateway
    case 503: .serviceUnavailable
    case 504: .gatewayTimeout
    default: HTTPResponse.Status(code: code)
    }
}

/// Turns every error into the Databricks body `{"error_code", "message"}`.
struct DatabricksErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as DatabricksAPIError {
            var headers = HTTPFields()
            for (name, value) in error.headers {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            return jsonResponse(httpStatus(error.status), error.body, headers: headers)
        } catch let error as HTTPError {
            let code = error.status.code
            let body: JSONValue
            if code == 404 {
                body = [
                    "error_code": "ENDPOINT_NOT_FOUND",
                    "message": .string("No API found for '\(request.method.rawValue) \(request.uri.path)'"),
                ]
            } else {
                body = ["error_code": code >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", "message": .string(error.body ?? error.status.reasonPhrase)]
            }
            return jsonResponse(error.status, body, headers: error.headers)
        }
    }
}
