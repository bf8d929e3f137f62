public import AsgardGateway
public import NIOCore
public import NIOPosix

/// The gateway's plain (not streamed) calls to `http://` vendors: HTTP/1.1 over keep-alive
/// connections pooled per event loop and origin, each exchange written as one head, one body
/// and one end, its answer gathered in one buffer (issue 18: AsyncHTTPClient's pool and
/// connection state machine were a fifth of the gateway's CPU per call).
///
/// A call made from a task running on one of the group's event loops (every call `asgard
/// serve` handles: `EventLoopBoundChannel`) uses that loop's pool, so the vendor's answer is
/// read on the thread that answers the caller and no lock is taken. Everything a pool holds
/// is touched on its own loop only.
///
/// What it promises, as `UpstreamTransport` asks:
/// - `upstreamUnreachable` only when the request never left: no connection could be made, a
///   header could not be written (a name that is not a token, a value with a CR, LF or NUL),
///   or the deadline passed or the caller left while the call still waited for a connection;
/// - `upstreamTimeout` when the whole answer did not arrive within the call's deadline (the
///   connection is closed: an answer arriving late must not be read as the next call's);
/// - `upstreamFailed` for anything else after the request may have left: a connection closed
///   or broken before the answer's end, an answer larger than `maxResponseBytes`, a call
///   cancelled (the caller left);
/// - never a header value in an error.
public final class PooledHTTP1Client: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount = .seconds(10)
        /// A pooled connection unused for this long is closed rather than reused: below the
        /// shortest keep-alive timeout common servers use (uvicorn's 5 s), so a call is not
        /// written to a connection the vendor is closing.
        public var idleTimeout: TimeAmount = .seconds(4)
        /// Connections per event loop and origin; calls beyond wait for one in arrival order.
        public var maxConnectionsPerLoop = 64
        /// The largest answer read.
        public var maxResponseBytes = 16 << 20

        public init() {}
    }

    let configuration: Configuration
    private let group: any EventLoopGroup
    /// One set of pools per event loop of the group, built once: found without a lock.
    private let pools: [ObjectIdentifier: LoopPools]

    public init(group: MultiThreadedEventLoopGroup = .singleton, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
        var pools: [ObjectIdentifier: LoopPools] = [:]
        for loop in group.makeIterator() { pools[ObjectIdentifier(loop)] = LoopPools(eventLoop: loop, configuration: configuration) }
        self.pools = pools
    }

    /// Sends `request` (an `http://` URL) and reads the whole answer within `timeoutSeconds`.
    public func send(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> UpstreamReply {
        let (exchange, loop) = try start(request, timeoutSeconds: timeoutSeconds)
        do {
            return try await withTaskCancellationHandler {
                try await exchange.futureResult.get()
            } onCancel: {
                loop.execute {
                    exchange.fail(
                        exchange.written
                            ? .upstreamFailed("the call was cancelled before the vendor answered whole")
                            : .upstreamUnreachable("the call was cancelled before its request was sent"))
                }
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw .upstreamFailed("the connection to the vendor failed (\(type(of: error)))")
        }
    }

    /// `send` for a caller on an event loop with no task: the answer as a future, completed on
    /// the calling loop when it is one of the group's (`NIOFloor`, issue 18's measurement of the
    /// bare SwiftNIO stack).
    func future(for request: UpstreamRequest, timeoutSeconds: Int) -> EventLoopFuture<UpstreamReply> {
        do {
            return try start(request, timeoutSeconds: timeoutSeconds).exchange.futureResult
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    /// Starts the exchange for `request` on the calling loop's pool (or the next loop's, for a
    /// caller on none), its deadline `timeoutSeconds` away.
    private func start(_ request: UpstreamRequest, timeoutSeconds: Int) throws(GatewayError) -> (exchange: Exchange, loop: any EventLoop) {
        guard let target = HTTPTarget(request.url), !target.secure else {
            throw .upstreamUnreachable("the vendor URL is not an http:// URL this client serves")
        }
        let loopPools = MultiThreadedEventLoopGroup.currentEventLoop.flatMap { pools[ObjectIdentifier($0)] } ?? pools[ObjectIdentifier(group.next())]!
        let loop = loopPools.eventLoop
        let exchange = Exchange(request: request, target: target, promise: loop.makePromise(of: UpstreamReply.self))
        let deadline = NIODeadline.now() + .seconds(Int64(timeoutSeconds))
        let begin: @Sendable () -> Void = {
            exchange.timeout = loop.scheduleTask(deadline: deadline) {
                exchange.fail(
                    exchange.written
                        ? .upstreamTimeout(after: timeoutSeconds)
                        : .unsentAtDeadline(after: timeoutSeconds))
            }
            loopPools.pool(for: target).execute(exchange)
        }
        if loop.inEventLoop { begin() } else { loop.execute(begin) }
        return (exchange, loop)
    }
}

/// Where a request goes: scheme, host, port and the request target (path and query).
struct HTTPTarget: Hashable, Sendable {
    var secure: Bool
    var host: String
    var port: Int
    var path: String

    /// The `Host` header: the host (in brackets when it is IPv6), with the port when it is not
    /// the scheme's.
    let hostHeader: String

    /// Parses `http://host[:port]/path?query` (and `https://`; an IPv6 host in brackets);
    /// nil for anything else, credentials in the URL included. Works on the URL's bytes: the
    /// gateway parses its vendor's URL on every call, and `Character` indexing cost ~20k
    /// instructions a parse (issue 18).
    init?(_ url: String) {
        let bytes = Array(url.utf8)
        let schemeEnd: Int
        if bytes.starts(with: "http://".utf8) {
            (secure, schemeEnd) = (false, 7)
        } else if bytes.starts(with: "https://".utf8) {
            (secure, schemeEnd) = (true, 8)
        } else {
            return nil
        }
        let authorityEnd =
            bytes[schemeEnd...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.endIndex
        let authority = bytes[schemeEnd..<authorityEnd]
        let targetEnd = bytes[authorityEnd...].firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
        var target = String(decoding: bytes[authorityEnd..<targetEnd], as: UTF8.self)
        if target.isEmpty || target.utf8.first == UInt8(ascii: "?") { target = "/" + target }
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { return nil }
        var host = authority
        var port = secure ? 443 : 80
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":"), let parsed = Self.port(after.dropFirst()) else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            guard let parsed = Self.port(authority[(colon + 1)...]) else { return nil }
            (host, port) = (authority[..<colon], parsed)
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        self.host = String(decoding: host, as: UTF8.self)
        self.port = port
        self.path = target
        let name = host.contains(UInt8(ascii: ":")) ? "[\(self.host)]" : self.host
        hostHeader = port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// One to five decimal digits; nil for anything else (a sign, a space, nothing).
    private static func port(_ digits: ArraySlice<UInt8>) -> Int? {
        guard (1...5).contains(digits.count) else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    var origin: Origin { Origin(host: host, port: port) }

    struct Origin: Hashable, Sendable {
        var host: String
        var port: Int
    }
}

/// One event loop's pools, by origin. Touched on `eventLoop` only.
final class LoopPools: @unchecked Sendable {
    let eventLoop: any EventLoop
    let configuration: PooledHTTP1Client.Configuration
    private var byOrigin: [HTTPTarget.Origin: ConnectionPool] = [:]

    init(eventLoop: any EventLoop, configuration: PooledHTTP1Client.Configuration) {
        self.eventLoop = eventLoop
        self.configuration = configuration
    }

    func pool(for target: HTTPTarget) -> ConnectionPool {
        eventLoop.assertInEventLoop()
        if let pool = byOrigin[target.origin] { return pool }
        let pool = ConnectionPool(eventLoop: eventLoop, origin: target.origin, configuration: configuration)
        byOrigin[target.origin] = pool
        return pool
    }
}

/// One call on its way: the request, the answer as it arrives, and the promise the caller
/// waits on. Touched on its pool's event loop only; it ends once (`succeed` or `fail`).
final class Exchange: @unchecked Sendable {
    let request: UpstreamRequest
    let target: HTTPTarget
    private let promise: EventLoopPromise<UpstreamReply>
    var timeout: Scheduled<Void>?
    /// The connection it is on, once written.
    var connection: PooledConnection?
    /// Its request was handed to a connection, so the vendor may have it. Meaningful until it
    /// ends: a connection lets go of its exchange only as the exchange ends.
    var written: Bool { connection != nil }
    /// Set when it waits for a connection.
    weak var waitingIn: ConnectionPool?
    private(set) var ended = false

    var status = 0
    var contentType: String?
    /// The answer's body as it arrives.
    var body = ByteBuffer()

    /// The answer, or why there is none.
    var futureResult: EventLoopFuture<UpstreamReply> { promise.futureResult }

    init(request: UpstreamRequest, target: HTTPTarget, promise: EventLoopPromise<UpstreamReply>) {
        self.request = request
        self.target = target
        self.promise = promise
    }

    /// The answer arrived whole.
    func succeed() {
        guard !ended else { return }
        ended = true
        timeout?.cancel()
        let bytes = Array(body.readableBytesView)
        promise.succeed(UpstreamReply(status: status, body: bytes, contentType: contentType))
    }

    /// The call ended without an answer: the connection it is on is closed (whatever arrives
    /// on it later belongs to no call), or it leaves the queue it waits in.
    func fail(_ error: GatewayError) {
        guard !ended else { return }
        ended = true
        timeout?.cancel()
        if let connection {
            self.connection = nil
            connection.abandon(self)
        }
        waitingIn?.withdraw(self)
        promise.fail(error)
    }
}

/// The connections to one origin from one event loop. Touched on `eventLoop` only.
final class ConnectionPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let origin: HTTPTarget.Origin
    let configuration: PooledHTTP1Client.Configuration
    /// Idle connections, the most recently used last.
    private var idle: [PooledConnection] = []
    /// Connections open or opening.
    private(set) var count = 0
    /// Calls waiting for a connection, in arrival order.
    private var waiting: [Exchange] = []
    /// The origin's address when its host is an IP address: connected to directly. NIO
    /// resolves any other host with `getaddrinfo` on a dispatch queue, a hop a busy process can
    /// hold up for seconds before the connect even starts.
    private let address: SocketAddress?

    init(eventLoop: any EventLoop, origin: HTTPTarget.Origin, configuration: PooledHTTP1Client.Configuration) {
        self.eventLoop = eventLoop
        self.origin = origin
        self.configuration = configuration
        address = try? SocketAddress(ipAddress: origin.host, port: origin.port)
    }

    var idleCount: Int { idle.count }

    func execute(_ exchange: Exchange) {
        eventLoop.assertInEventLoop()
        guard !exchange.ended else { return }
        let now = NIODeadline.now()
        while let connection = idle.popLast() {
            guard now - connection.idleSince < configuration.idleTimeout else {
                connection.close()
                continue
            }
            connection.write(exchange)
            return
        }
        guard count < configuration.maxConnectionsPerLoop else {
            exchange.waitingIn = self
            waiting.append(exchange)
            return
        }
        connect(for: exchange)
    }

    private func connect(for exchange: Exchange) {
        count += 1
        let connection = PooledConnection(pool: self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(connection) }
            }
        let connected = address.map { bootstrap.connect(to: $0) } ?? bootstrap.connect(host: origin.host, port: origin.port)
        connected.whenComplete { result in
            switch result {
            case .success:
                connection.write(exchange)
            case .failure(let error):
                self.count -= 1
                exchange.fail(.upstreamUnreachable("the vendor could not be reached (\(type(of: error)))"))
                self.connectForWaiting()
            }
        }
    }

    /// A connection finished an exchange and can take another.
    func release(_ connection: PooledConnection) {
        while !waiting.isEmpty {
            let next = waiting.removeFirst()
            next.waitingIn = nil
            guard !next.ended else { continue }
            connection.write(next)
            return
        }
        connection.idleSince = .now()
        idle.append(connection)
    }

    /// A connection closed: it leaves the pool, and a waiting call may open another.
    func closed(_ connection: PooledConnection) {
        count -= 1
        idle.removeAll { $0 === connection }
        connectForWaiting()
    }

    func withdraw(_ exchange: Exchange) {
        waiting.removeAll { $0 === exchange }
        exchange.waitingIn = nil
    }

    private func connectForWaiting() {
        while count < configuration.maxConnectionsPerLoop, !waiting.isEmpty {
            let next = waiting.removeFirst()
            next.waitingIn = nil
            if !next.ended { connect(for: next) }
        }
    }
}

/// One keep-alive connection: the channel's only handler, writing each request as one buffer
/// (`HTTP1Request`) and reading answers with `HTTP1ResponseParser` into the exchange it carries.
/// Touched on its pool's event loop only.
final class PooledConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pool: ConnectionPool
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var parser = HTTP1ResponseParser()
    private var isClosed = false
    var idleSince = NIODeadline.now()

    init(pool: ConnectionPool) { self.pool = pool }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Writes the exchange's request in one write and one flush.
    func write(_ exchange: Exchange) {
        guard let context, !isClosed else {
            exchange.fail(.upstreamUnreachable("the connection to the vendor closed before the request was written: nothing was sent"))
            return
        }
        guard !exchange.ended else {
            pool.release(self)
            return
        }
        let request: ByteBuffer
        switch Result(catching: { () throws(HTTP1Request.InvalidHeader) in
            try HTTP1Request.post(
                exchange.target, headers: exchange.request.headers, body: exchange.request.body, allocator: context.channel.allocator)
        }) {
        case .success(let bytes):
            request = bytes
        case .failure(.invalid(let name)):
            exchange.fail(.upstreamUnreachable("the request to the vendor has an invalid header \(name): nothing was sent"))
            pool.release(self)
            return
        }
        self.exchange = exchange
        exchange.connection = self
        parser = HTTP1ResponseParser()
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // Bytes nobody asked for: the connection cannot be trusted with another call.
            close()
            return
        }
        var input = unwrapInboundIn(data)
        let whole: Bool
        do {
            whole = try parser.parse(&input, into: &exchange.body)
        } catch {
            exchange.fail(.upstreamFailed("the vendor's answer is not HTTP/1.1 this client can read (\(error))"))
            return
        }
        guard exchange.body.readableBytes <= pool.configuration.maxResponseBytes else {
            exchange.fail(.upstreamFailed("the vendor's answer is larger than \(pool.configuration.maxResponseBytes) bytes"))
            return
        }
        guard whole, let head = parser.head else { return }
        exchange.status = head.status
        exchange.contentType = head.contentType
        detach()?.succeed()
        // Bytes after the answer belong to no call: the connection is not reused.
        if head.keepAlive, input.readableBytes == 0 { pool.release(self) } else { close() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !isClosed else { return }
        isClosed = true
        pool.closed(self)
        if exchange != nil, parser.finishAtClose(), let head = parser.head {
            // An answer framed by the connection's close is whole now.
            exchange?.status = head.status
            exchange?.contentType = head.contentType
            detach()?.succeed()
        }
        detach()?.fail(.upstreamFailed("the vendor closed the connection before its answer was complete"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        detach()?.fail(.upstreamFailed("the connection to the vendor failed (\(type(of: error)))"))
        close()
    }

    /// The exchange this connection carries, no longer carried, so that ending it does not
    /// come back to close this connection (`Exchange.fail` abandons the one it is on).
    private func detach() -> Exchange? {
        guard let exchange else { return nil }
        self.exchange = nil
        exchange.connection = nil
        return exchange
    }

    /// The exchange ended early (timeout, cancellation, an answer too large): what may still
    /// arrive on this connection belongs to no call, so it closes.
    func abandon(_ exchange: Exchange) {
        if self.exchange === exchange { self.exchange = nil }
        close()
    }

    func close() {
        context?.close(promise: nil)
    }
}

extension GatewayError {
    /// The call's deadline passed while it still waited for a connection: nothing was sent, so
    /// nothing is charged.
    static func unsentAtDeadline(after seconds: Int) -> GatewayError {
        .upstreamUnreachable("no connection to the vendor was ready within the call's \(seconds) s: nothing was sent")
    }
}
