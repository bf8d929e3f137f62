import AsgardGateway
public import NIOCore
import NIOHTTP1
public import NIOPosix

/// The floor under the floor: SwiftNIO's own HTTP/1.1 server (its codec and pipelining
/// handler), with no Hummingbird, no task per connection and no governance, answering
/// `POST /v1/chat/completions` from a channel handler on the connection's event loop.
///
/// It is what any gateway written in Swift on SwiftNIO pays per call at the least, so issue 18's
/// benchmark measures it beside `StackFloor` and `asgard serve`: the CPU per call a Swift proxy
/// cannot go below on the machine at hand. Not a server for anything else: it answers
/// `GET /healthz`, and 404 to every other path.
public enum NIOFloor: Sendable {
    /// Answers the benchmark upstream's fixed completion.
    case fixed
    /// Forwards the body to `upstreamURL` + `/v1/chat/completions` with
    /// `Authorization: Bearer <token>` through `client` (the connection's loop's pool, as
    /// `asgard serve` calls it) and answers the vendor's status, content type and body.
    case proxy(upstreamURL: String, token: String, client: PooledHTTP1Client)

    /// Serves on `host:port` until the channel closes; `onBound` gets the bound port.
    public func run(host: String, port: Int, group: MultiThreadedEventLoopGroup = .singleton, onBound: (Int) -> Void) async throws {
        let channel = try await bind(host: host, port: port, group: group)
        onBound(channel.localAddress?.port ?? port)
        try await channel.closeFuture.get()
    }

    /// The listening channel on `host:port` (0: any free port); closing it stops the server.
    public func bind(host: String, port: Int, group: MultiThreadedEventLoopGroup = .singleton) async throws -> any Channel {
        let mode = self
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(NIOFloorHandler(mode: mode))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// One connection's requests, one at a time (NIO's pipelining handler holds the next until
/// this one is answered). Touched on the connection's event loop only.
final class NIOFloorHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let mode: NIOFloor
    private let upstreamURL: String
    private let upstreamHeaders: [(String, String)]
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(mode: NIOFloor) {
        self.mode = mode
        switch mode {
        case .fixed:
            (upstreamURL, upstreamHeaders) = ("", [])
        case .proxy(let url, let token, _):
            upstreamURL = url + "/v1/chat/completions"
            upstreamHeaders = [("Content-Type", "application/json"), ("Authorization", "Bearer " + token)]
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let request = head else { return }
            head = nil
            if request.method == .GET, request.uri == "/healthz" {
                respond(context: context, status: .ok, contentType: "text/plain", body: ByteBuffer(string: "ok"), keepAlive: request.isKeepAlive)
                return
            }
            guard request.method == .POST, request.uri == "/v1/chat/completions" else {
                respond(
                    context: context, status: .notFound, contentType: "text/plain", body: ByteBuffer(string: "not found"),
                    keepAlive: request.isKeepAlive)
                return
            }
            switch mode {
            case .fixed:
                respond(context: context, status: .ok, contentType: "application/json", body: StackFloor.fixedAnswer, keepAlive: request.isKeepAlive)
            case .proxy(_, _, let client):
                let sent = UpstreamRequest(url: upstreamURL, headers: upstreamHeaders, body: Array(body.readableBytesView))
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                client.future(for: sent, timeoutSeconds: 30).hop(to: context.eventLoop).whenComplete { result in
                    let (handler, context) = loopBound.value
                    switch result {
                    case .success(let reply):
                        handler.respond(
                            context: context, status: .init(statusCode: reply.status), contentType: reply.contentType ?? "application/json",
                            body: context.channel.allocator.buffer(bytes: reply.body), keepAlive: request.isKeepAlive)
                    case .failure:
                        handler.respond(
                            context: context, status: .badGateway, contentType: "text/plain", body: ByteBuffer(string: "upstream failed"),
                            keepAlive: request.isKeepAlive)
                    }
                }
            }
        }
    }

    private func respond(context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: ByteBuffer, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        guard !keepAlive else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let channel = context.channel
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}
