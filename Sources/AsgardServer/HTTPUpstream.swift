public import AsyncHTTPClient
public import AsgardGateway
import Foundation
import NIOCore
import NIOHTTP1

/// A vendor's answer to a non-streamed call: status and body bytes, passed through.
public struct UpstreamReply: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?
}

/// Calls vendors over one shared AsyncHTTPClient connection pool.
public struct HTTPUpstream: Sendable {
    public let client: HTTPClient
    /// The largest upstream body read, so a misbehaving vendor cannot exhaust memory.
    public var maxResponseBytes = 16 << 20

    public init(client: HTTPClient) { self.client = client }

    /// The client `asgard serve` and `asgard demo` call vendors with: the shared event loops,
    /// a 10 s connect timeout, a 120 s read timeout (what bounds a stream between chunks; each
    /// call also has its manifest's deadline), and no tracing (Asgard installs no tracer, and
    /// the no-op one still costs every call its span attributes).
    public static func vendorClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// POSTs `body` to `url` with the bearer `token`, within `timeoutSeconds`.
    /// - Throws: `GatewayError.upstreamTimeout` on timeout; `GatewayError.upstream` when the
    ///   vendor cannot be reached (the message never contains the token).
    public func post(url: String, token: String, body: [UInt8], timeoutSeconds: Int) async throws(GatewayError) -> UpstreamReply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeoutSeconds)))
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            return UpstreamReply(status: Int(response.status.code), body: Array(buffer.readableBytesView),
                                 contentType: response.headers.first(name: "content-type"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .upstreamTimeout(after: timeoutSeconds)
        } catch {
            // AsyncHTTPClient's errors name the host, never the headers: safe to pass on.
            throw .upstream(status: 0, vendorCode: nil, message: "the vendor could not be reached (\(type(of: error)))")
        }
    }
}
