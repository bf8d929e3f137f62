public import AsyncHTTPClient
public import AsgardGateway
import Foundation
import NIOCore
import NIOHTTP1

extension HTTPUpstream {
    /// POSTs `body` to `url` with the bearer `token` and `Accept: text/event-stream`, and returns
    /// as soon as the vendor's response head arrives, with the body still streaming.
    ///
    /// `timeoutSeconds` bounds the wait for the response head (AsyncHTTPClient's deadline ends
    /// there); once bytes flow, a stall between chunks is bounded only by the client's
    /// configured read timeout, and cancelling the consuming task cancels the request.
    ///
    /// - Returns: a 2xx status and the body, an `AsyncSequence` of `ByteBuffer` chunks with
    ///   arbitrary boundaries (feed them to `SSEParser`). Iterate it once.
    /// - Throws: a non-2xx answer is read whole (up to `maxResponseBytes`) and mapped like the
    ///   non-streamed path: `502 upstream_<vendor code>` with the token scrubbed, `504` for a
    ///   vendor 504; `GatewayError.upstreamTimeout` on timeout; `GatewayError.upstream` when the
    ///   vendor cannot be reached (the message never contains the token).
    public func stream(url: String, token: String, body: [UInt8], timeoutSeconds: Int) async throws(GatewayError)
        -> (status: Int, body: HTTPClientResponse.Body) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(Int64(timeoutSeconds)))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .upstreamTimeout(after: timeoutSeconds)
        } catch {
            // AsyncHTTPClient's errors name the host, never the headers: safe to pass on.
            throw .upstream(status: 0, vendorCode: nil, message: "the vendor could not be reached (\(type(of: error)))")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            // An error answer is small and whole; a body that cannot be read maps like an empty one.
            let bytes = (try? await response.body.collect(upTo: maxResponseBytes)).map { Array($0.readableBytesView) } ?? []
            throw Gateway.upstreamError(UpstreamReply(status: status, body: bytes, contentType: response.headers.first(name: "content-type")),
                                        token: token)
        }
        return (status, response.body)
    }
}
