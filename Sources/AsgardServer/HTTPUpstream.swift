public import AsgardGateway
public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Calls vendors: the gateway's upstream transport. Plain calls to `http://` vendors go
/// through `plain` (`PooledHTTP1Client`) when it is set; streams, and every `https://` call,
/// through one shared AsyncHTTPClient connection pool. What to send (URL, headers with the
/// credential, body) is the inference adapter's; this only carries it.
public struct HTTPUpstream: UpstreamTransport {
    public let client: HTTPClient
    public let plain: PooledHTTP1Client?
    /// The largest upstream body read whole, so a misbehaving vendor cannot exhaust memory.
    public var maxResponseBytes = 16 << 20

    public init(client: HTTPClient, plain: PooledHTTP1Client? = nil) {
        self.client = client
        self.plain = plain
    }

    /// The client `asgard serve` and `asgard demo` call vendors with: the shared event loops,
    /// a 10 s connect timeout, a 120 s read timeout (what bounds a stream between chunks; each
    /// call also has its manifest's deadline), and no tracing (Asgard installs no tracer, and
    /// the no-op one still costs every call its span attributes).
    public static func vendorClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func send(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> UpstreamReply {
        if let plain, request.url.hasPrefix("http://") { return try await plain.send(request, timeoutSeconds: timeoutSeconds) }
        let response = try await execute(request, timeoutSeconds: timeoutSeconds)
        do {
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            return UpstreamReply(
                status: Int(response.status.code), body: Array(buffer.readableBytesView),
                contentType: response.headers.first(name: "content-type"))
        } catch {
            throw Self.unreachable(error, timeoutSeconds: timeoutSeconds)
        }
    }

    /// Returns at the response head. `timeoutSeconds` bounds the wait for it (AsyncHTTPClient's
    /// deadline ends there); once bytes flow, a stall between chunks is bounded by the client's
    /// read timeout, and cancelling the consuming task cancels the request. A non-2xx answer is
    /// read whole (up to `maxResponseBytes`; an unreadable one counts as empty).
    public func open(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> UpstreamOpening {
        let response = try await execute(request, timeoutSeconds: timeoutSeconds)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let bytes = (try? await response.body.collect(upTo: maxResponseBytes)).map { Array($0.readableBytesView) } ?? []
            return .refused(UpstreamReply(status: status, body: bytes, contentType: response.headers.first(name: "content-type")))
        }
        return .streaming(Body(body: response.body))
    }

    /// A streaming response body.
    struct Body: UpstreamBody {
        let body: HTTPClientResponse.Body

        func read(_ consume: ([UInt8]) async throws -> Bool) async throws {
            for try await buffer in body {
                guard try await consume(Array(buffer.readableBytesView)) else { return }
            }
        }
    }

    private func execute(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> HTTPClientResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .POST
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            return try await client.execute(outgoing, timeout: .seconds(Int64(timeoutSeconds)))
        } catch {
            throw Self.unreachable(error, timeoutSeconds: timeoutSeconds)
        }
    }

    /// A transport failure as the caller's error: `upstreamUnreachable` only when the request
    /// surely never left (no connection was made, or none was free before the deadline), since
    /// the gateway then charges nothing; a timeout or any other failure may have come after the
    /// vendor got the request. The messages name the error's type, never a header.
    static func unreachable(_ error: any Error, timeoutSeconds: Int) -> GatewayError {
        if let error = error as? HTTPClientError, error == .connectTimeout {
            return .upstreamUnreachable("the vendor could not be reached within the connect timeout")
        }
        if let error = error as? HTTPClientError, error == .getConnectionFromPoolTimeout {
            return .unsentAtDeadline(after: timeoutSeconds)
        }
        if error is NIOConnectionError || (error as? IOError).map({ [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains($0.errnoCode) }) == true {
            return .upstreamUnreachable("the vendor refused the connection (\(type(of: error)))")
        }
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return .upstreamTimeout(after: timeoutSeconds)
        }
        return .upstreamFailed("the connection to the vendor failed (\(type(of: error)))")
    }
}
