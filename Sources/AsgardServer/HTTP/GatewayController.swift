import AsgardController
import AsgardCore
import AsgardGateway
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A JSON answer: `value` encoded with snake_case keys, sorted, dates in ISO 8601 (the API's
/// one encoding), and `status`.
struct JSONAnswer<Value: Encodable & Sendable>: ResponseGenerator {
    var value: Value
    var status: HTTPResponse.Status = .ok

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try Self.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A request body, at most `limit` bytes, arrived whole within `timeout`.
///
/// The deadline is a timer on the connection's event loop, cancelled as soon as the body is in.
/// When it fires, it closes the connection's input: the body's stream ends and this answers 408
/// (nothing more can be read from that connection). The body is read in the handler's own task:
/// a child task per body and one per deadline, and the hops between them, were 20–30k
/// instructions per call (issue 18), and `Task.sleep` before that left a libdispatch timer
/// behind per call.
/// - Throws: `GatewayError` 413 over the limit; 408 `request_timeout` when it does not arrive in
///   time; 400 `body_incomplete` when the connection ends before the body does;
///   `CancellationError` when the handler is cancelled.
func collectBody(_ request: Request, on channel: any Channel, upTo limit: Int, within timeout: Duration) async throws -> ByteBuffer {
    let expired = Expiry()
    let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
        expired.fired.store(true, ordering: .relaxed)
        channel.close(mode: .input, promise: nil)
    }
    defer { deadline.cancel() }
    let timedOut = GatewayError(
        status: 408, type: "invalid_request_error", code: "request_timeout",
        message: "the request body did not arrive within \(timeout.components.seconds) s")
    let body: ByteBuffer
    do {
        body = try await request.body.collect(upTo: limit)
    } catch is NIOTooManyBytesError {
        throw GatewayError.bodyTooLarge(limit: limit)
    } catch is CancellationError {
        throw CancellationError()
    } catch {
        // The stream broke before the body's end: the deadline closed it, or the client closed or reset.
        throw expired.fired.load(ordering: .relaxed) ? timedOut : GatewayError.bodyIncomplete
    }
    // The stream may end quietly when the deadline closes the input: what arrived is not the body.
    if expired.fired.load(ordering: .relaxed) { throw timedOut }
    return body
}

/// Whether a body's deadline has fired.
private final class Expiry: Sendable {
    let fired = Atomic<Bool>(false)
}

/// Decodes a request body of at most 64 KiB, arrived within 30 s, as `Body`.
/// - Throws: `GatewayError.invalidRequest` naming what was expected, for anything that is not one.
func decodeBody<Body: Decodable>(_ type: Body.Type, from request: Request, context: AsgardRequestContext, expected: String) async throws -> Body {
    let bytes = try await collectBody(request, on: context.channel, upTo: 64 << 10, within: .seconds(30))
    do {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Body.self, from: Data(bytes.readableBytesView))
    } catch {
        throw GatewayError.invalidRequest("the body is \(expected)")
    }
}

/// The gateway's routes, behind `KeyAuthentication`:
///
/// - `POST /v1/chat/completions`: the OpenAI drop-in; the data class from `X-Asgard-Data-Class`,
///   else the body's `data_class`, else the key's default; `"stream": true` streams SSE.
/// - `POST /api/gateway/chat`: Asgard's shape, the body's `data_class` required.
/// - `GET /v1/models`: the models the presented key may call.
struct GatewayController: Sendable {
    let gateway: Gateway
    let maxBodyBytes: Int
    let bodyReadTimeout: Duration

    /// `GET /v1/models`, as OpenAI lists models.
    struct ModelList: Encodable, Sendable {
        var object = "list"
        var data: [Model]

        struct Model: Encodable, Sendable {
            var id: String
            var object = "model"
            var created = 0
            var ownedBy: String
        }
    }

    func addRoutes(to group: RouterGroup<AsgardRequestContext>) {
        for (path, endpoint) in [("/v1/chat/completions", ChatEndpoint.openAICompatible), ("/api/gateway/chat", .asgard)] {
            group.post(RouterPath(path)) { request, context -> Response in
                try await chat(request, context: context, endpoint: endpoint)
            }
        }
        group.get("/v1/models") { _, context -> JSONAnswer<ModelList> in
            let caller = try context.authenticatedCaller()
            let (snapshot, now) = (caller.snapshot, Date())
            // The models Cedar lets this key invoke with public data and no cost.
            let models = snapshot.routes.models.compactMap { model -> ModelList.Model? in
                guard let route = snapshot.routes[model],
                    snapshot.policy.decide(
                        InvokeEntities.request(key: caller.key.id, model: model, level: .public, estimatedCost: .zero, now: now),
                        entities: snapshot.entities
                    ).allowed
                else { return nil }
                return ModelList.Model(id: model, ownedBy: route.vendor)
            }
            return JSONAnswer(value: ModelList(data: models))
        }
    }

    /// One chat call: the body read within the limit, then the pipeline; refusals are audited.
    func chat(_ request: Request, context: AsgardRequestContext, endpoint: ChatEndpoint) async throws -> Response {
        let caller = try context.authenticatedCaller()
        let body: Result<[UInt8], GatewayError>
        do {
            body = .success(Array(try await collectBody(request, on: context.channel, upTo: maxBodyBytes, within: bodyReadTimeout).readableBytesView))
        } catch let refusal as GatewayError where refusal.statusCode == 408 || refusal.code == GatewayError.bodyIncomplete.code {
            // The connection is held by a client that does not send, or the client left half way
            // through its body: no request arrived, so nothing was decided; answered (when anyone
            // is there to read it), not audited.
            throw refusal
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            body = .failure(.bodyTooLarge(limit: maxBodyBytes))
        }
        switch await gateway.chat(caller, body: body, dataClassHeader: request.headers[Self.dataClassHeader], endpoint: endpoint) {
        case .plain(let answer):
            return Response(answer)
        case .stream(let stream):
            return Response(status: .init(code: stream.status), headers: HTTPFields(stream.headers), body: stream.responseBody)
        }
    }

    static let dataClassHeader = HTTPField.Name("X-Asgard-Data-Class")!
}

/// `GET /api/projects/{id}/usage?from=&to=`, behind `KeyAuthentication`: the project's spend by
/// UTC day and model, for keys Cedar lets read it (`read_cost`: a key, its own project's).
/// `from` and `to` are dates or RFC 3339 instants (default: everything up to tomorrow). Every
/// call a client saw answered is counted: the route waits for the ledger to catch up (503
/// `ledger_behind` after 10 s).
struct UsageController: Sendable {
    let store: any Store
    let ingester: CallIngester

    struct Report: Encodable, Sendable {
        var project: String
        var usage: [Day]

        struct Day: Encodable, Sendable {
            var day: String
            var model: String
            var calls: Int
            var promptTokens: Int
            var completionTokens: Int
            var costMicros: Int64
            var costUsd: String
            var estimatedCalls: Int
        }
    }

    func addRoutes(to group: RouterGroup<AsgardRequestContext>) {
        group.get("/api/projects/{id}/usage") { request, context -> JSONAnswer<Report> in
            let caller = try context.authenticatedCaller()
            let project = context.parameters.get("id") ?? ""
            let from = try Self.instant(request, "from") ?? Date(timeIntervalSince1970: 0)
            let to = try Self.instant(request, "to") ?? Date().addingTimeInterval(86_400)
            guard await ingester.caughtUp() else {
                throw GatewayError(
                    status: 503, type: "server_error", code: "ledger_behind", message: "recent calls are not yet in the ledger; retry shortly")
            }
            let rows: [UsageRow]
            do {
                rows = try await UsageDesk(store: store, policies: caller.snapshot.policy)
                    .usage(of: project, from: from, to: to, principal: InvokeEntities.uid(key: caller.key.id), entities: caller.snapshot.entities)
            } catch let refusal as UsageDesk.Refusal {
                throw refusal
            } catch {
                // Never an empty answer in place of one the store could not give.
                throw GatewayError(
                    status: 503, type: "server_error", code: "store_unavailable", message: "the ledger could not be read; retry shortly")
            }
            return JSONAnswer(
                value: Report(
                    project: project,
                    usage: rows.map { row in
                        Report.Day(
                            day: row.day, model: row.model, calls: row.calls, promptTokens: row.promptTokens, completionTokens: row.completionTokens,
                            costMicros: row.cost.value, costUsd: row.cost.description, estimatedCalls: row.estimatedCalls)
                    }))
        }
    }

    /// A query parameter read as a date or an RFC 3339 instant; nil when absent.
    /// - Throws: `GatewayError.invalidRequest` naming it when present and unreadable.
    static func instant(_ request: Request, _ name: String) throws(GatewayError) -> Date? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let date = parseInstant(text) else {
            throw .invalidRequest("\(name) must be a date (YYYY-MM-DD) or an RFC 3339 time", param: name)
        }
        return date
    }
}

/// `GET /healthz`, unauthenticated, and `GET /metrics`, behind the metrics credential.
///
/// `/healthz`: 503 `{"status": "starting"}` until the first configuration is published, then
/// 200 `{"status": "ok"}`, or 200 `{"status": "degraded", "reasons": [...]}` (see `HealthBoard`).
/// It says nothing a stranger could use.
///
/// `/metrics` lists every project's spend, so it answers only `Authorization: Bearer <metrics
/// credential>`, whose SHA-256 digest is `ASGARD_METRICS_KEY_SHA256`; without one set it is off.
struct HealthController: Sendable {
    let health: HealthBoard
    let snapshot: SnapshotBox
    let metrics: GatewayMetrics
    /// Lower-case hex digest of the metrics credential; nil turns `/metrics` off.
    let metricsDigest: String?

    struct Status: Encodable, Sendable {
        var status: String
        var reasons: [String]?
    }

    func addRoutes(to router: Router<AsgardRequestContext>) {
        router.get("/healthz") { _, _ -> JSONAnswer<Status> in
            let reasons = health.reasons
            let status = snapshot.current == nil ? "starting" : reasons.isEmpty ? "ok" : "degraded"
            return JSONAnswer(
                value: Status(status: status, reasons: reasons.isEmpty ? nil : reasons),
                status: status == "starting" ? .serviceUnavailable : .ok)
        }
        router.get("/metrics") { request, _ in
            guard let metricsDigest else {
                throw GatewayError(
                    status: 401, type: "authentication_error", code: "metrics_off",
                    message: "/metrics is off: set ASGARD_METRICS_KEY_SHA256 to the digest of a metrics credential")
            }
            guard let presented = bearerDigest(request.headers[.authorization]), constantTimeEqual(presented, metricsDigest) else {
                throw GatewayError.invalidAPIKey
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }
}

/// Counts every answer of the routes behind it (Prometheus `asgard_requests_total` and
/// `asgard_request_duration_seconds`; for a stream, the time to its head), refusals of the
/// middleware after it included.
struct RequestMetrics: RouterMiddleware {
    typealias Context = AsgardRequestContext
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(endpoint: request.uri.path, status: Int(response.status.code), duration: ContinuousClock.now - started)
            return response
        } catch let error as any HTTPResponseError {
            metrics.request(endpoint: request.uri.path, status: Int(error.status.code), duration: ContinuousClock.now - started)
            throw error
        }
    }
}
