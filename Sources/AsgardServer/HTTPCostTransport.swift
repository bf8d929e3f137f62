public import AsgardCost
public import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The cost sources' HTTP, over the server's AsyncHTTPClient. Answers are read whole up to
/// `maxResponseBytes` (a statement's chunk is at most a few MB).
public struct HTTPCostTransport: CostHTTP {
    public let client: HTTPClient
    public var maxResponseBytes = 64 << 20

    public init(client: HTTPClient) { self.client = client }

    public func send(_ request: CostHTTPRequest) async throws -> CostHTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method == .get ? .GET : .POST
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(outgoing, timeout: TimeAmount.nanoseconds(Int64(request.timeout.components.seconds) * 1_000_000_000))
        let body = try await response.body.collect(upTo: maxResponseBytes)
        return CostHTTPResponse(status: Int(response.status.code), body: Array(body.readableBytesView))
    }
}
