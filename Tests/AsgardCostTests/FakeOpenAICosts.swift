import AsgardCost
import AsgardJSON
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One line of an OpenAI invoice as the fake holds it: a project (nil: costs OpenAI puts on no
/// project), a UTC day, an amount as decimal text, written into the JSON number unchanged, and
/// its line item (`gpt-4o-mini, input`).
struct FakeCostLine: Sendable, Hashable {
    var project: String?
    var day: CostDay
    var amount: String
    var lineItem: String
    var currency = "usd"
}

/// A faithful fake of OpenAI's organization Costs API, `GET /v1/organization/costs`, as the
/// API reference and the official SDK (`openai.types.admin.organization.usage_costs_*`)
/// describe it:
///
/// - admin-key bearer auth: no key, or another key, is 401 with OpenAI's error object
///   (`{"error": {"message", "type", "param", "code"}}`), the key masked as OpenAI masks it;
/// - query parameters checked as the API checks them, 400 naming the parameter: `start_time`
///   (required, Unix seconds), `end_time` (after it), `bucket_width` (`1d` only), `group_by`
///   (`project_id`, `line_item`, ...; `group_by[]` as the SDK writes it too), `limit` (1...180,
///   default 7), `page` (a cursor this fake handed out); unknown parameters too;
/// - one bucket per UTC day from `start_time` to `end_time` (empty `results` on a day with no
///   cost), grouped results summed exactly, `has_more` and an opaque `next_page`.
///
/// `repeatsPage` makes it misbehave: every page after the first gives the second page's
/// cursor as `next_page`, so the second page points at itself.
final class FakeOpenAICosts: Sendable {
    let adminKey: String
    let lines: [FakeCostLine]
    let repeatsPage: Bool
    private let received = Mutex<[String]>([])

    init(adminKey: String, lines: [FakeCostLine], repeatsPage: Bool = false) {
        self.adminKey = adminKey
        self.lines = lines
        self.repeatsPage = repeatsPage
    }

    /// The query strings received, in order (authenticated or not).
    var queries: [String] { received.withLock { $0 } }

    /// An OpenAI API error: the status and the body's `error` object.
    struct APIError: Error {
        var status: HTTPResponse.Status
        var message: String
        var type = "invalid_request_error"
        var param: String?
        var code: String?

        var response: Response {
            let body: JSONValue = [
                "error": .object([
                    JSONMember(key: "message", value: .string(message)), JSONMember(key: "type", value: .string(type)),
                    JSONMember(key: "param", value: param.map(JSONValue.string) ?? .null),
                    JSONMember(key: "code", value: code.map(JSONValue.string) ?? .null),
                ])
            ]
            return Response(
                status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
        }

        static func invalid(_ param: String, _ message: String) -> APIError {
            APIError(status: .badRequest, message: message, param: param)
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/v1/organization/costs") { request, _ -> Response in
            self.received.withLock { $0.append(request.uri.query ?? "") }
            do {
                try self.authenticate(request)
                return try self.costs(Self.parameters(request.uri.query ?? ""))
            } catch let error as APIError {
                return error.response
            }
        }
        return router
    }

    private func authenticate(_ request: Request) throws {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw APIError(
                status: .unauthorized,
                message:
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys."
            )
        }
        let key = String(header.dropFirst(7))
        guard key == adminKey else {
            // OpenAI shows the first and last few characters of a wrong key.
            let masked = key.count > 12 ? "\(key.prefix(3))*\(String(repeating: "*", count: 8))\(key.suffix(4))" : "****"
            throw APIError(
                status: .unauthorized,
                message: "Incorrect API key provided: \(masked). You can find your API key at https://platform.openai.com/account/api-keys.",
                code: "invalid_api_key")
        }
    }

    /// The query's parameters, names and values percent-decoded, repeats kept.
    static func parameters(_ query: String) -> [(name: String, value: String)] {
        query.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static let groupings: Set<String> = ["project_id", "user_id", "line_item", "api_key_id", "api_source"]
    static let known: Set<String> = [
        "start_time", "end_time", "bucket_width", "group_by", "group_by[]", "limit", "page", "project_ids", "project_ids[]", "api_key_ids",
        "api_key_ids[]", "line_items", "line_items[]",
    ]

    private func costs(_ parameters: [(name: String, value: String)]) throws -> Response {
        if let unknown = parameters.first(where: { !Self.known.contains($0.name) }) {
            throw APIError.invalid(unknown.name, "Unrecognized request argument supplied: \(unknown.name)")
        }
        func value(_ name: String) -> String? { parameters.last { $0.name == name }?.value }
        func integer(_ name: String) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text) else { throw APIError.invalid(name, "Invalid value for '\(name)': expected an integer, got '\(text)'.") }
            return number
        }
        guard let start = try integer("start_time") else { throw APIError.invalid("start_time", "Missing required parameter: 'start_time'.") }
        let end = try integer("end_time") ?? Int(Date().timeIntervalSince1970)
        guard end > start else { throw APIError.invalid("end_time", "Invalid value for 'end_time': it must be after 'start_time'.") }
        let width = value("bucket_width") ?? "1d"
        guard width == "1d" else {
            throw APIError.invalid("bucket_width", "Invalid value for 'bucket_width': '\(width)'. Supported values are: '1d'.")
        }
        let groups = parameters.filter { $0.name == "group_by" || $0.name == "group_by[]" }.map(\.value)
        if let bad = groups.first(where: { !Self.groupings.contains($0) }) {
            throw APIError.invalid(
                "group_by", "Invalid value for 'group_by': '\(bad)'. Supported values are: \(Self.groupings.sorted().map { "'\($0)'" }.joined(separator: ", ")).")
        }
        let limit = try integer("limit") ?? 7
        guard (1...180).contains(limit) else { throw APIError.invalid("limit", "Invalid value for 'limit': \(limit). It must be between 1 and 180.") }

        let days = (Self.day(start).ordinal...Self.day(end - 1).ordinal).map(CostDay.init(ordinal:))
        var first = 0
        if let page = value("page") {
            guard let index = Self.index(ofCursor: page), index > 0, index < days.count else {
                throw APIError.invalid("page", "Invalid value for 'page': '\(page)' is not a page of this query.")
            }
            first = index
        }
        let shown = days[first..<min(first + limit, days.count)]
        let more = shown.endIndex < days.count
        var next = more ? Self.cursor(shown.endIndex) : nil
        if repeatsPage, more, first > 0 { next = Self.cursor(first) }
        let body: JSONValue = .object([
            JSONMember(key: "object", value: "page"),
            JSONMember(key: "data", value: .array(shown.map { bucket($0, groups: Set(groups)) })),
            JSONMember(key: "has_more", value: .bool(more)),
            JSONMember(key: "next_page", value: next.map(JSONValue.string) ?? .null),
        ])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }

    /// One day's bucket: its lines summed exactly per group (project and/or line item).
    private func bucket(_ day: CostDay, groups: Set<String>) -> JSONValue {
        struct Group: Hashable { var project: String?, lineItem: String?, currency: String }
        var sums: [Group: Decimal] = [:]
        var order: [Group] = []
        for line in lines where line.day == day {
            let group = Group(
                project: groups.contains("project_id") ? line.project : nil, lineItem: groups.contains("line_item") ? line.lineItem : nil,
                currency: line.currency)
            if sums[group] == nil { order.append(group) }
            sums[group, default: 0] += Decimal(string: line.amount, locale: Locale(identifier: "en_US_POSIX"))!
        }
        let results: [JSONValue] = order.map { group in
            .object([
                JSONMember(key: "object", value: "organization.costs.result"),
                JSONMember(
                    key: "amount",
                    value: .object([
                        JSONMember(key: "value", value: .otherNumber("\(sums[group]!)")), JSONMember(key: "currency", value: .string(group.currency)),
                    ])),
                JSONMember(key: "line_item", value: group.lineItem.map(JSONValue.string) ?? .null),
                JSONMember(key: "project_id", value: group.project.map(JSONValue.string) ?? .null),
            ])
        }
        return .object([
            JSONMember(key: "object", value: "bucket"), JSONMember(key: "start_time", value: .integer(Int64(day.ordinal) * 86_400)),
            JSONMember(key: "end_time", value: .integer(Int64(day.next.ordinal) * 86_400)), JSONMember(key: "results", value: .array(results)),
        ])
    }

    /// The UTC day an instant in Unix seconds falls on.
    static func day(_ seconds: Int) -> CostDay {
        let (whole, rest) = seconds.quotientAndRemainder(dividingBy: 86_400)
        return CostDay(ordinal: whole - (rest < 0 ? 1 : 0))
    }

    /// Opaque cursors, as OpenAI's look: `page_` and base64 (which may hold `+`, `/` and `=`).
    static func cursor(_ index: Int) -> String { "page_" + Data("bucket-index:\(index)>>".utf8).base64EncodedString() }

    static func index(ofCursor cursor: String) -> Int? {
        guard cursor.hasPrefix("page_"), let data = Data(base64Encoded: String(cursor.dropFirst(5))) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("bucket-index:"), text.hasSuffix(">>") else { return nil }
        return Int(text.dropFirst(13).dropLast(2))
    }

    /// Runs the fake on an ephemeral loopback port for the duration of `body`, which gets its
    /// base URL (`http://127.0.0.1:<port>`, no `/v1`).
    func withRunning<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "fake-openai-costs")
        // Cancelling the server (how a test ends it) logs closed channels as errors: noise.
        logger.logLevel = .critical
        let app = Application(
            router: router(), configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw APIError(status: .internalServerError, message: "the fake did not start") }
        let value = try await body("http://127.0.0.1:\(port)")
        task.cancel()
        _ = await task.result
        return value
    }
}
