import AsgardJSON
public import Foundation
public import Logging
public import MCP

/// The transport under one MCP session's `Server`: the HTTP side hands it each JSON-RPC
/// message and, for a request, waits for the server's response to that id. Asgard's own rather
/// than the SDK's `StatefulHTTPServerTransport`, which keeps every message it ever sent (for
/// replay after a reconnection) until the session ends: a long-lived agent session would grow
/// without bound. This one keeps nothing once a response is delivered; Asgard sends no
/// server-initiated messages, so there is nothing to replay.
public actor SessionTransport: Transport, HTTPContextProviding {
    public nonisolated let logger = Logger(label: "asgard.mcp.session", factory: { _ in SwiftLogNoOpLogHandler() })

    private let incoming: AsyncThrowingStream<Data, any Error>
    private let inbox: AsyncThrowingStream<Data, any Error>.Continuation
    /// Callers waiting for the response to a request, by `MessageID.key`.
    private var waiters: [String: CheckedContinuation<Data, Never>] = [:]
    private var contexts: [String: HTTPRequest] = [:]
    private var closed = false

    public init() {
        (incoming, inbox) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    public func connect() async throws {}

    /// Ends the session: the server's receive loop finishes, and every caller still waiting gets
    /// a JSON-RPC error.
    public func disconnect() async {
        guard !closed else { return }
        closed = true
        inbox.finish()
        for (key, waiter) in waiters {
            waiter.resume(returning: Self.error(id: MessageID(key: key)?.json ?? .null, code: -32603, message: "Internal error: the session ended"))
        }
        waiters.removeAll()
        contexts.removeAll()
    }

    /// The server's outgoing messages: a response goes to whoever waits for its id (an
    /// internal error's text replaced, so no Swift error text reaches a client); anything else
    /// (a notification, a server-initiated request) is dropped, as no stream carries it.
    public func send(_ data: Data) async throws {
        guard case .object(let members)? = try? JSONValue.parse(Array(data)),
            let id = members.first(where: { $0.key == "id" }).flatMap({ MessageID($0.value) }),
            !members.contains(where: { $0.key == "method" })
        else { return }
        contexts.removeValue(forKey: id.key)
        guard let waiter = waiters.removeValue(forKey: id.key) else { return }
        if case .object(let error)? = members.first(where: { $0.key == "error" })?.value,
            case .integer(-32603)? = error.first(where: { $0.key == "code" })?.value
        {
            waiter.resume(returning: Self.error(id: id.json, code: -32603, message: "Internal error"))
        } else {
            waiter.resume(returning: data)
        }
    }

    public nonisolated func receive() -> AsyncThrowingStream<Data, any Error> { incoming }

    public func httpRequestContext(for id: MCP.ID) -> HTTPRequest? {
        switch id {
        case .string(let text): contexts[MessageID.string(text).key]
        case .number(let number): contexts[MessageID.number(Int64(number)).key]
        }
    }

    /// Hands the server a request and waits for its response. A caller that goes away (the
    /// client disconnected) stops waiting at once with an error answer; the server's own answer,
    /// when it comes, finds no one and is dropped.
    /// - Returns: nil when a request with the same id is still in flight (or the session ended).
    func exchange(_ body: Data, id: MessageID, request: HTTPRequest) async -> Data? {
        guard !closed, waiters[id.key] == nil else { return nil }
        contexts[id.key] = request
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(returning: Self.error(id: id.json, code: -32800, message: "Request cancelled"))
                    return
                }
                waiters[id.key] = continuation
                inbox.yield(body)
            }
        } onCancel: {
            Task { await self.abandon(id, code: -32800, message: "Request cancelled") }
        }
    }

    /// Ends the wait for `id`, if anyone waits, with an error answer.
    private func abandon(_ id: MessageID, code: Int64, message: String) {
        contexts.removeValue(forKey: id.key)
        waiters.removeValue(forKey: id.key)?.resume(returning: Self.error(id: id.json, code: code, message: message))
    }

    /// Hands the server a notification or a response to one of its requests. A cancellation
    /// (`notifications/cancelled`) also ends the wait for the request it names: the server sends
    /// no answer to a cancelled request, and the HTTP request still open for it must end.
    func deliver(_ body: Data) {
        guard !closed else { return }
        inbox.yield(body)
        guard case .object(let members)? = try? JSONValue.parse(Array(body)),
            members.first(where: { $0.key == "method" })?.value == .string("notifications/cancelled"),
            case .object(let params)? = members.first(where: { $0.key == "params" })?.value,
            let id = params.first(where: { $0.key == "requestId" }).flatMap({ MessageID($0.value) })
        else { return }
        abandon(id, code: -32800, message: "Request cancelled")
    }

    /// A JSON-RPC error response.
    static func error(id: JSONValue, code: Int64, message: String) -> Data {
        Data(
            JSONValue.object([
                JSONMember(key: "jsonrpc", value: .string("2.0")), JSONMember(key: "id", value: id),
                JSONMember(
                    key: "error", value: .object([JSONMember(key: "code", value: .integer(code)), JSONMember(key: "message", value: .string(message))])),
            ]).jsonBytes)
    }
}

/// A JSON-RPC id: a string or an integer (`"1"` and `1` are different ids).
enum MessageID: Hashable, Sendable {
    case string(String)
    case number(Int64)

    init?(_ value: JSONValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .integer(let number): self = .number(number)
        default: return nil
        }
    }

    init?(key: String) {
        if key.hasPrefix("s:") {
            self = .string(String(key.dropFirst(2)))
        } else if key.hasPrefix("n:"), let number = Int64(key.dropFirst(2)) {
            self = .number(number)
        } else {
            return nil
        }
    }

    var key: String {
        switch self {
        case .string(let text): "s:" + text
        case .number(let number): "n:\(number)"
        }
    }

    var json: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .number(let number): .integer(number)
        }
    }
}
