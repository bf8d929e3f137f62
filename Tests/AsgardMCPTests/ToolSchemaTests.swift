import AsgardJSON
@testable import AsgardMCP
import Foundation
import MCP
import Testing

/// The tools' argument schemas: what `tools/list` shows is what `tools/call` enforces, and a
/// bad argument is refused naming its field.
@Suite struct ToolSchemaTests {
    /// The smallest arguments the schema accepts.
    static func minimal(_ schema: ToolSchema) -> Value {
        switch schema {
        case .object(let properties, let required, _):
            return .object(Dictionary(uniqueKeysWithValues: required.map { ($0, minimal(properties[$0]!)) }))
        case .string(_, _, let oneOf, let pattern, _):
            if let oneOf { return .string(oneOf[0]) }
            switch pattern {
            case "^apr_[0-9a-f]{16}$": return "apr_0123456789abcdef"
            case "^req_[0-9a-f]{16}$": return "req_0123456789abcdef"
            case "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": return "2026-12-01"
            case "^[0-9]{1,9}(\\.[0-9]{1,6})?$": return "250.00"
            case "^[a-z0-9][a-z0-9-]{0,62}$": return "fraud-detection"
            default: return "someone@example.com"
            }
        case .integer(_, let minimum, _): return .int(minimum)
        case .boolean: return true
        case .array(let items, _, let minItems, _): return .array(Array(repeating: minimal(items), count: max(1, minItems)))
        case .scalarMap: return .object([:])
        case .any: return .null
        }
    }

    /// Values `schema` refuses.
    static func breaking(_ schema: ToolSchema) -> [Value] {
        switch schema {
        case .object: [5, "x", .array([])]
        case .string(_, let maxLength, let oneOf, let pattern, _):
            [7, "", .string(String(repeating: "a", count: maxLength + 1))] + (oneOf != nil || pattern != nil ? ["Not Valid!"] : [])
        case .integer(_, let minimum, let maximum): ["1", .int(minimum - 1), .int(maximum + 1), .double(1.5)]
        case .boolean: ["true", 1]
        case .array(_, _, _, let maxItems): ["x", .array(Array(repeating: "x", count: maxItems + 1))]
        case .scalarMap: ["x", .object(["nested": .object([:])]), .object(["list": .array([])])]
        case .any: []
        }
    }

    @Test(arguments: ToolDefinition.all.map(\.name))
    func minimalArgumentsPassAndEveryBadOneIsNamed(_ tool: ToolName) throws {
        let definition = try #require(ToolDefinition.byName[tool.rawValue])
        guard case .object(let properties, let required, _) = definition.input else {
            Issue.record("\(tool) takes no object")
            return
        }
        let base = Self.minimal(definition.input)
        try definition.input.validate(base, at: "")
        guard case .object(let members) = base else { return }
        var refused = 0
        for (name, schema) in properties {
            for bad in Self.breaking(schema) {
                var arguments = members
                arguments[name] = bad
                do {
                    try definition.input.validate(.object(arguments), at: "")
                    Issue.record("\(tool).\(name) = \(bad) was accepted")
                } catch {
                    #expect(error.field.hasPrefix(name), "\(tool): \(error)")
                    refused += 1
                }
            }
        }
        for name in required {
            var arguments = members
            arguments[name] = nil
            #expect(throws: ToolSchema.Violation(field: name, problem: "is required")) { try definition.input.validate(.object(arguments), at: "") }
        }
        var extra = members
        extra["unexpected"] = 1
        #expect(throws: ToolSchema.Violation.self) { try definition.input.validate(.object(extra), at: "") }
        #expect(refused >= 0)
    }

    @Test(arguments: ToolDefinition.all)
    func everyToolIsDescribedHonestly(_ definition: ToolDefinition) throws {
        let tool = definition.tool
        #expect(tool.title?.isEmpty == false && tool.description?.isEmpty == false)
        let hints = tool.annotations
        #expect(hints.readOnlyHint != nil && hints.destructiveHint != nil && hints.idempotentHint != nil && hints.openWorldHint != nil)
        // Read-only tools change nothing, so they are neither destructive nor open-world.
        if hints.readOnlyHint == true { #expect(hints.destructiveHint == false) }
        #expect(tool.inputSchema.objectValue?["type"] == "object" && tool.inputSchema.objectValue?["additionalProperties"] == false)
        #expect(tool.outputSchema?.objectValue?["type"] == "object")
    }

    @Test func theWritingToolsAreNotReadOnly() {
        let readOnly = Set(ToolDefinition.all.filter { $0.annotations.readOnlyHint == true }.map(\.name))
        #expect(readOnly == [.whoami, .list_models, .list_services, .get_budget, .get_costs, .get_request, .list_approvals])
        #expect(ToolDefinition.all.filter { $0.annotations.destructiveHint == true }.map(\.name) == [.cancel_request, .kill])
    }

    @Test(arguments: [
        (String?.none, EndpointFormat?.some(.json)), ("application/json, text/event-stream", .json), ("text/event-stream, application/json", .eventStream),
        ("application/json;q=0.5, text/event-stream", .eventStream), ("*/*", .json), ("text/event-stream", .eventStream),
        ("text/html", nil), ("application/json;q=0", nil),
    ])
    func theResponseFormatFollowsAccept(_ accept: String?, _ format: EndpointFormat?) {
        #expect(MCPEndpoint.responseFormat(accept).map(EndpointFormat.init) == format)
    }

    enum EndpointFormat: Equatable, Sendable, CustomTestStringConvertible {
        case json, eventStream
        init(_ format: MCPEndpoint.Format) { self = format == .json ? .json : .eventStream }
        var testDescription: String { self == .json ? "json" : "event-stream" }
    }
}

/// The session transport: one response per request id, and no Swift error text ever leaves.
@Suite struct SessionTransportTests {
    static let request = MCP.HTTPRequest(method: "POST")

    @Test func anInternalErrorsTextIsReplaced() async throws {
        let transport = SessionTransport()
        async let answer = transport.exchange(Data(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.utf8), id: .number(1), request: Self.request)
        var inbox = transport.receive().makeAsyncIterator()
        _ = try await inbox.next()
        try await transport.send(
            Data(#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error: Swift.DecodingError.keyNotFound(CodingKeys...)"}}"#.utf8))
        let text = String(decoding: try #require(await answer), as: UTF8.self)
        #expect(text.contains(#""message":"Internal error""#) && !text.contains("Swift"), "\(text)")
    }

    @Test func aSecondRequestWithAnIdInFlightIsRefusedAndAnEndedSessionAnswersEveryone() async throws {
        let transport = SessionTransport()
        async let first = transport.exchange(Data(#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#.utf8), id: .string("a"), request: Self.request)
        var inbox = transport.receive().makeAsyncIterator()
        _ = try await inbox.next()
        #expect(await transport.exchange(Data("{}".utf8), id: .string("a"), request: Self.request) == nil)
        await transport.disconnect()
        let ended = String(decoding: try #require(await first), as: UTF8.self)
        #expect(ended.contains(#""id":"a""#) && ended.contains("-32603"), "\(ended)")
        #expect(await transport.exchange(Data("{}".utf8), id: .number(2), request: Self.request) == nil)
    }

    /// A cancelled request gets no answer from the server; the HTTP request waiting for it ends.
    @Test func aCancellationEndsTheWaitForTheRequestItNames() async throws {
        let transport = SessionTransport()
        async let answer = transport.exchange(Data(#"{"jsonrpc":"2.0","id":5,"method":"tools/call"}"#.utf8), id: .number(5), request: Self.request)
        var inbox = transport.receive().makeAsyncIterator()
        _ = try await inbox.next()
        await transport.deliver(Data(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}"#.utf8))
        let text = String(decoding: try #require(await answer), as: UTF8.self)
        #expect(text.contains(#""id":5"#) && text.contains("-32800"), "\(text)")
        // The server's late answer finds no one; a new request may reuse the id.
        try await transport.send(Data(#"{"jsonrpc":"2.0","id":5,"result":{}}"#.utf8))
        async let again = transport.exchange(Data("{}".utf8), id: .number(5), request: Self.request)
        #expect(try await inbox.next().map { String(decoding: $0, as: UTF8.self) }?.contains("notifications/cancelled") == true)
        #expect(try await inbox.next() == Data("{}".utf8), "the server got the new request, so its answer has someone waiting")
        try await transport.send(Data(#"{"jsonrpc":"2.0","id":5,"result":{"ok":true}}"#.utf8))
        #expect(String(decoding: try #require(await again), as: UTF8.self).contains("ok"))
    }

    /// A client that disconnects stops the wait at once.
    @Test func aCallerThatGoesAwayStopsWaiting() async throws {
        let transport = SessionTransport()
        let waiting = Task { await transport.exchange(Data("{}".utf8), id: .string("gone"), request: Self.request) }
        var inbox = transport.receive().makeAsyncIterator()
        _ = try await inbox.next()
        waiting.cancel()
        let text = String(decoding: try #require(await waiting.value), as: UTF8.self)
        #expect(text.contains("-32800"), "\(text)")
    }

    @Test(arguments: [
        (#"{"params":{"name":"whoami","arguments":[]}}"#, String?.some("arguments: must be an object")), (#"{"params":{}}"#, "name: is required"),
        (#"{"params":[]}"#, "params:"), (#"{}"#, "params:"), (#"{"params":{"name":"x","arguments":null}}"#, nil),
        (#"{"params":{"name":"x"}}"#, nil),
    ])
    func malformedToolCallsAreInvalidParams(_ message: String, _ fragment: String?) throws {
        guard case .object(let members) = try JSONValue.parse(message) else { return }
        let problem = MCPEndpoint.invalidParams("tools/call", members)
        if let fragment { #expect(problem?.contains(fragment) == true, "\(problem ?? "nil")") } else { #expect(problem == nil) }
        #expect(MCPEndpoint.invalidParams("tools/list", members) == nil)
    }
}
