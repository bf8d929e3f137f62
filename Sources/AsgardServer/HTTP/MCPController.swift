import AsgardGateway
import AsgardMCP
import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore

/// `/mcp` and the RFC 9728 metadata on Hummingbird: requests become the MCP SDK's
/// `HTTPRequest` (every header, `Host` included, so the SDK's DNS-rebinding check sees it),
/// and `MCPEndpoint`'s answers become responses.
struct MCPController: Sendable {
    let endpoint: MCPEndpoint
    let maxBodyBytes: Int
    let bodyReadTimeout: Duration

    func addRoutes(to router: Router<AsgardRequestContext>) {
        for method in [HTTPRequest.Method.post, .get, .delete, .put, .patch] {
            router.on("/mcp", method: method) { request, context -> Response in
                let body = method == .post ? try await collectBody(request, on: context.channel, upTo: maxBodyBytes, within: bodyReadTimeout) : nil
                return Self.response(await endpoint.handle(Self.mcpRequest(request, body: body)))
            }
        }
        router.get("/.well-known/oauth-protected-resource") { request, _ -> Response in
            Self.response(endpoint.protectedResourceMetadata(Self.mcpRequest(request, body: nil), forMCP: false))
        }
        router.get("/.well-known/oauth-protected-resource/mcp") { request, _ -> Response in
            Self.response(endpoint.protectedResourceMetadata(Self.mcpRequest(request, body: nil), forMCP: true))
        }
    }

    /// The SDK's request: method, path, every header (repeated ones joined by `, `; `Host` from
    /// the authority HTTP/1.1 carried it in), and the body.
    static func mcpRequest(_ request: Request, body: ByteBuffer?) -> MCP.HTTPRequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        return MCP.HTTPRequest(
            method: request.method.rawValue, headers: headers, body: body.map { Data(buffer: $0) }, path: request.uri.path)
    }

    /// The SDK's response as Hummingbird's.
    static func response(_ answer: MCP.HTTPResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        let body = answer.bodyData.map { ByteBuffer(bytes: $0) } ?? ByteBuffer()
        return Response(status: .init(code: answer.statusCode), headers: fields, body: .init(byteBuffer: body))
    }
}
