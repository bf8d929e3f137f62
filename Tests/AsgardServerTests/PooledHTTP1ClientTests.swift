import AsgardGateway
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AsgardServer

/// A vendor that answers in raw bytes, as scripted by the request's path, and counts the
/// connections it accepts and sees closed: what a pooled client must survive.
///
/// - `/echo`: 200 with the request body, by `Content-Length`;
/// - `/chunked`: 200 with the body echoed in three chunks;
/// - `/eof`: 200 with no length, the body ended by closing the connection;
/// - `/close`: 200 with `Connection: close`, then closes;
/// - `/close-later`: 200 keep-alive, then closes the idle connection 50 ms later;
/// - `/hang`: never answers;
/// - `/cut`: promises 100 bytes, sends 10, closes;
/// - `/big`: 4,096 bytes.
final class RawVendor: Sendable {
    let accepted = Atomic(0)
    let closed = Atomic(0)
    /// Requests read whole.
    let requests = Atomic(0)
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    let group: MultiThreadedEventLoopGroup

    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    init(group: MultiThreadedEventLoopGroup) async throws {
        self.group = group
        let vendor = self
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                vendor.accepted.add(1, ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in vendor.closed.add(1, ordering: .relaxed) }
                return channel.pipeline.addHandler(RawVendorHandler(vendor: vendor))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
    }

    /// Stops listening (once; stopping again does nothing). Accepted connections stay open.
    func stop() async throws {
        let listening = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try await listening?.close().get()
    }
}

/// Reads requests as bytes (head, then `Content-Length` bytes of body) and answers each as its
/// path says.
final class RawVendorHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var pending: [UInt8] = []
    private let vendor: RawVendor

    init(vendor: RawVendor) { self.vendor = vendor }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += Array(unwrapInboundIn(data).readableBytesView)
        while let end = headEnd() {
            let head = String(decoding: pending[..<end], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let length =
                lines.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
            guard pending.count >= end + 4 + length else { return }
            let body = Array(pending[(end + 4)..<(end + 4 + length)])
            pending.removeFirst(end + 4 + length)
            vendor.requests.add(1, ordering: .relaxed)
            answer(path: path, body: body, context: context)
        }
    }

    private func headEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4) where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func send(_ text: String, _ body: [UInt8] = [], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + body.count)
        buffer.writeString(text)
        buffer.writeBytes(body)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func answer(path: String, body: [UInt8], context: ChannelHandlerContext) {
        switch path {
        case "/echo":
            send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n", body, context: context)
        case "/chunked":
            let third = body.count / 3
            let pieces = [Array(body[..<third]), Array(body[third..<(2 * third)]), Array(body[(2 * third)...])]
            send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", context: context)
            for piece in pieces where !piece.isEmpty { send(String(piece.count, radix: 16) + "\r\n", piece + Array("\r\n".utf8), context: context) }
            send("0\r\n\r\n", context: context)
        case "/eof":
            send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", body, context: context)
            context.close(promise: nil)
        case "/close":
            send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n", body, context: context)
            context.close(promise: nil)
        case "/close-later":
            send("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n", body, context: context)
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
        case "/hang":
            break
        case "/cut":
            send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", context: context)
            context.close(promise: nil)
        case "/big":
            send("HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n", [UInt8](repeating: 65, count: 4096), context: context)
        default:
            send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", context: context)
        }
    }
}

/// `PooledHTTP1Client` against a vendor that misbehaves on purpose: connections reused and
/// never shared by two calls at once, every way an answer can end, and every way it can fail,
/// each with the error the gateway's accounting depends on.
@Suite struct PooledHTTP1ClientTests {
    static let token = "vendor-token-must-never-appear-0001"

    /// A client on a one-loop group of its own (so every call shares one pool) and the raw
    /// vendor. The test runs on that loop, as a call `asgard serve` handles does, not on Swift's
    /// shared pool (which the suites running alongside can keep busy for seconds). Connections
    /// idle up to a minute unless `configure` says otherwise, so a slow machine opens no more.
    static func withVendor(
        _ configure: (inout PooledHTTP1Client.Configuration) -> Void = { _ in },
        _ body: (PooledHTTP1Client, RawVendor) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = PooledHTTP1Client.Configuration()
        configuration.idleTimeout = .seconds(60)
        configure(&configuration)
        let client = PooledHTTP1Client(group: group, configuration: configuration)
        let vendor = try await RawVendor(group: group)
        do {
            try await withTaskExecutorPreference(EventLoopTaskExecutor(group.next())) {
                try await body(client, vendor)
            }
        } catch {
            try await vendor.stop()
            try await group.shutdownGracefully()
            throw error
        }
        try await vendor.stop()
        try await group.shutdownGracefully()
    }

    /// Waits up to 20 s for `condition` (what a connection's close takes to be seen on a
    /// loaded machine), and expects it.
    static func eventually(_ what: Comment, _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition(), what, sourceLocation: sourceLocation)
    }

    /// A call in a task of its own on the vendor's loop, as `withVendor`'s body runs: a plain
    /// `Task {}` does not inherit that, and Swift's shared pool, which the suites alongside can
    /// keep busy for seconds, might not start it before the test's waits run out.
    static func call(_ vendor: RawVendor, _ request: UpstreamRequest, timeoutSeconds: Int, on client: PooledHTTP1Client)
        -> Task<UpstreamReply, any Error>
    {
        Task(executorPreference: EventLoopTaskExecutor(vendor.group.next())) {
            try await client.send(request, timeoutSeconds: timeoutSeconds)
        }
    }

    static func request(_ url: String, _ body: String = #"{"model":"m"}"#) -> UpstreamRequest {
        UpstreamRequest(url: url, headers: [("Authorization", "Bearer " + token), ("Content-Type", "application/json")], body: Array(body.utf8))
    }

    /// The error a call ended with (the test fails when it succeeded).
    static func failure(_ call: () async throws -> UpstreamReply) async -> GatewayError? {
        do {
            let reply = try await call()
            Issue.record("expected a failure, got \(reply.status)")
            return nil
        } catch let error as GatewayError {
            #expect(!error.body.contains(token), "an error must never name a header value")
            return error
        } catch {
            Issue.record("expected a GatewayError, got \(type(of: error))")
            return nil
        }
    }

    @Test func oneConnectionServesCallAfterCall() async throws {
        try await Self.withVendor { client, vendor in
            for i in 0..<50 {
                let reply = try await client.send(Self.request(vendor.url("/echo"), #"{"n":\#(i)}"#), timeoutSeconds: 5)
                #expect(reply.status == 200)
                #expect(String(decoding: reply.body, as: UTF8.self) == #"{"n":\#(i)}"#)
                #expect(reply.contentType == "application/json")
            }
            #expect(vendor.accepted.load(ordering: .relaxed) == 1)
        }
    }

    /// A vendor named by a host name (not an IP address, which is connected to directly) is
    /// resolved, and its connection pooled like any other.
    @Test func aVendorNamedByAHostNameIsResolved() async throws {
        try await Self.withVendor { client, vendor in
            for i in 0..<3 {
                let reply = try await client.send(Self.request("http://localhost:\(vendor.port)/echo", "\(i)"), timeoutSeconds: 30)
                #expect(String(decoding: reply.body, as: UTF8.self) == "\(i)")
            }
            #expect(vendor.accepted.load(ordering: .relaxed) == 1)
        }
    }

    @Test func concurrentCallsEachGetTheirOwnAnswerWithinTheConnectionCap() async throws {
        try await Self.withVendor({ $0.maxConnectionsPerLoop = 8 }) { client, vendor in
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<300 {
                    group.addTask {
                        let reply = try await client.send(
                            Self.request(vendor.url(i % 2 == 0 ? "/echo" : "/chunked"), #"{"call":\#(i)}"#), timeoutSeconds: 10)
                        return (i, String(decoding: reply.body, as: UTF8.self))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == 300)
            for (i, answer) in answers { #expect(answer == #"{"call":\#(i)}"#) }
            #expect(vendor.accepted.load(ordering: .relaxed) <= 8)
        }
    }

    @Test(arguments: ["/chunked", "/eof", "/close"])
    func everyWayAnAnswerEndsIsReadWhole(path: String) async throws {
        try await Self.withVendor { client, vendor in
            let body = String(repeating: "abcdefghij", count: 500)
            let reply = try await client.send(Self.request(vendor.url(path), body), timeoutSeconds: 5)
            #expect(String(decoding: reply.body, as: UTF8.self) == body)
            // And the next call works, on the same connection or a new one as the answer allowed.
            let again = try await client.send(Self.request(vendor.url("/echo"), "again"), timeoutSeconds: 5)
            #expect(String(decoding: again.body, as: UTF8.self) == "again")
            #expect(vendor.accepted.load(ordering: .relaxed) == (path == "/chunked" ? 1 : 2))
        }
    }

    @Test func aConnectionTheVendorClosedWhileIdleIsNotUsedAgain() async throws {
        try await Self.withVendor { client, vendor in
            _ = try await client.send(Self.request(vendor.url("/close-later")), timeoutSeconds: 5)
            try await Self.eventually("the vendor closed the idle connection") { vendor.closed.load(ordering: .relaxed) == 1 }
            try await Task.sleep(for: .milliseconds(100))
            let reply = try await client.send(Self.request(vendor.url("/echo"), "fresh"), timeoutSeconds: 5)
            #expect(String(decoding: reply.body, as: UTF8.self) == "fresh")
            #expect(vendor.accepted.load(ordering: .relaxed) == 2)
        }
    }

    @Test func aConnectionIdleLongerThanTheIdleTimeoutIsClosedNotReused() async throws {
        try await Self.withVendor({ $0.idleTimeout = .seconds(1) }) { client, vendor in
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 5)
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 5)
            #expect(vendor.accepted.load(ordering: .relaxed) == 1)
            try await Task.sleep(for: .milliseconds(2_500))
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 5)
            #expect(vendor.accepted.load(ordering: .relaxed) == 2)
            try await Self.eventually("the stale connection is closed by the client") { vendor.closed.load(ordering: .relaxed) == 1 }
        }
    }

    @Test func aRefusedConnectionIsUnreachableSoNothingIsCharged() async throws {
        // A port bound and not listening: connections to it are refused, and no other test's
        // server can take it meanwhile.
        let reserved = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(reserved) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(reserved, $0, length) == 0 && getsockname(reserved, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        try await Self.withVendor { client, _ in
            let error = await Self.failure {
                try await client.send(Self.request("http://127.0.0.1:\(port)/echo"), timeoutSeconds: 30)
            }
            #expect(error?.code == GatewayError.unreachableCode)
        }
    }

    /// A credential with a line break (an environment variable set carelessly, or by someone
    /// who wants a header of their own in the vendor's request): nothing is sent, the call is
    /// unreachable (so nothing is charged), the header is named and its value is not, and the
    /// connection serves the next call.
    @Test func aHeaderWithALineBreakSendsNothing() async throws {
        try await Self.withVendor { client, vendor in
            let injected = UpstreamRequest(
                url: vendor.url("/echo"), headers: [("Authorization", "Bearer " + Self.token + "\r\nX-Injected: 1")], body: Array("{}".utf8))
            let error = await Self.failure { try await client.send(injected, timeoutSeconds: 5) }
            #expect(error?.code == GatewayError.unreachableCode)
            #expect(error?.body.contains("Authorization") == true && error?.body.contains("X-Injected") == false)
            let reply = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 5)
            #expect(reply.status == 200)
            #expect(vendor.requests.load(ordering: .relaxed) == 1)
        }
    }

    /// The hanging call goes out on a connection already open, so its request is written as
    /// the call starts: had it waited for a new connection, a loaded machine could let the
    /// deadline pass first, and a connection that carried nothing is rightly kept.
    @Test func aVendorThatNeverAnswersTimesOutAndItsConnectionIsClosed() async throws {
        try await Self.withVendor { client, vendor in
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 30)
            let started = ContinuousClock.now
            let error = await Self.failure { try await client.send(Self.request(vendor.url("/hang")), timeoutSeconds: 1) }
            #expect(error?.code == GatewayError.upstreamTimeout(after: 1).code)
            #expect(ContinuousClock.now - started < .seconds(20), "the deadline is 1 s; this only shows it is kept at all")
            #expect(vendor.requests.load(ordering: .relaxed) == 2)
            try await Self.eventually("a late answer must not be read as the next call's") { vendor.closed.load(ordering: .relaxed) == 1 }
            let reply = try await client.send(Self.request(vendor.url("/echo"), "next"), timeoutSeconds: 30)
            #expect(String(decoding: reply.body, as: UTF8.self) == "next")
            #expect(vendor.accepted.load(ordering: .relaxed) == 2)
        }
    }

    @Test func anAnswerCutShortFailsAsMaybeDelivered() async throws {
        try await Self.withVendor { client, vendor in
            let error = await Self.failure { try await client.send(Self.request(vendor.url("/cut")), timeoutSeconds: 5) }
            #expect(error?.code == "upstream_failed")
        }
    }

    @Test func anAnswerOverTheLimitFailsAndClosesTheConnection() async throws {
        try await Self.withVendor({ $0.maxResponseBytes = 1_024 }) { client, vendor in
            let error = await Self.failure { try await client.send(Self.request(vendor.url("/big")), timeoutSeconds: 5) }
            #expect(error?.code == "upstream_failed")
            #expect(error?.body.contains("1024") == true)
            try await Self.eventually("the connection with the rest of the answer is closed") { vendor.closed.load(ordering: .relaxed) == 1 }
        }
    }

    @Test func aCancelledCallEndsAtOnceAndClosesItsConnection() async throws {
        try await Self.withVendor { client, vendor in
            let call = Self.call(vendor, Self.request(vendor.url("/hang")), timeoutSeconds: 60, on: client)
            try await Self.eventually("the vendor has the request") { vendor.requests.load(ordering: .relaxed) == 1 }
            let started = ContinuousClock.now
            call.cancel()
            let error = await Self.failure { try await call.value }
            #expect(error?.code == "upstream_failed")
            #expect(ContinuousClock.now - started < .seconds(30), "the deadline is 60 s: the call ended by its cancellation")
            try await Self.eventually("the connection the vendor may still answer on is closed") { vendor.closed.load(ordering: .relaxed) == 1 }
        }
    }

    @Test func callsWaitingForAConnectionAreServedInTurn() async throws {
        try await Self.withVendor({ $0.maxConnectionsPerLoop = 1 }) { client, vendor in
            // One call hangs on the only connection until its deadline; the others wait, then go.
            // The connection is open first, so the hanging request is written as its call starts
            // (not after a connect a loaded machine could delay past the deadline).
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 30)
            async let hung = Self.failure { try await client.send(Self.request(vendor.url("/hang")), timeoutSeconds: 1) }
            try await Self.eventually("the hanging call holds the connection") { vendor.requests.load(ordering: .relaxed) == 2 }
            let replies = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<5 {
                    group.addTask {
                        String(decoding: try await client.send(Self.request(vendor.url("/echo"), "\(i)"), timeoutSeconds: 10).body, as: UTF8.self)
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(replies == ["0", "1", "2", "3", "4"])
            #expect(await hung?.code == GatewayError.upstreamTimeout(after: 1).code)
            #expect(vendor.accepted.load(ordering: .relaxed) == 2)
        }
    }

    /// A call that never got a connection sent nothing, whether its deadline passed or its
    /// caller left while it waited: it fails as unreachable, which the gateway charges nothing
    /// for, instead of as a timeout or a failure after sending, which it charges the worst case.
    @Test(arguments: [false, true])
    func aCallThatEndsWhileWaitingForAConnectionSentNothing(cancelled: Bool) async throws {
        try await Self.withVendor({ $0.maxConnectionsPerLoop = 1 }) { client, vendor in
            _ = try await client.send(Self.request(vendor.url("/echo")), timeoutSeconds: 30)
            let hung = Self.call(vendor, Self.request(vendor.url("/hang")), timeoutSeconds: 60, on: client)
            try await Self.eventually("the hanging call holds the only connection") { vendor.requests.load(ordering: .relaxed) == 2 }
            let waiting = Self.call(vendor, Self.request(vendor.url("/echo")), timeoutSeconds: cancelled ? 60 : 1, on: client)
            if cancelled {
                try await Task.sleep(for: .milliseconds(100))
                waiting.cancel()
            }
            let error = await Self.failure { try await waiting.value }
            #expect(error?.code == GatewayError.unreachableCode, "\(String(describing: error))")
            #expect(error?.body.contains("nothing was sent") == !cancelled && error?.body.contains("before its request was sent") == cancelled)
            #expect(vendor.requests.load(ordering: .relaxed) == 2)
            hung.cancel()
            #expect(await Self.failure { try await hung.value }?.code == "upstream_failed", "the hanging call's request was sent")
        }
    }

    @Test(arguments: [
        ("http://127.0.0.1:8081/v1/chat/completions", "127.0.0.1", 8081, "/v1/chat/completions", "127.0.0.1:8081"),
        ("http://vendor.internal/v1/chat?api-version=1", "vendor.internal", 80, "/v1/chat?api-version=1", "vendor.internal"),
        ("http://vendor.internal?x=1", "vendor.internal", 80, "/?x=1", "vendor.internal"),
        ("http://[::1]:9000/p#frag", "::1", 9000, "/p", "[::1]:9000"),
        ("https://api.openai.com/v1/chat/completions", "api.openai.com", 443, "/v1/chat/completions", "api.openai.com"),
        ("https://api.openai.com:8443", "api.openai.com", 8443, "/", "api.openai.com:8443"),
        ("http://hôte.example/é?q=ü", "hôte.example", 80, "/é?q=ü", "hôte.example"),
        ("http://host:80/", "host", 80, "/", "host"),
    ])
    func targetsAreParsed(url: String, host: String, port: Int, path: String, hostHeader: String) throws {
        let target = try #require(HTTPTarget(url))
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.path == path)
        #expect(target.hostHeader == hostHeader)
    }

    @Test(arguments: [
        "ftp://x/y", "http://", "http://user:pw@host/p", "http://host:0/", "http://host:99999/", "http://host:x/", "http://[::1/", "http://host:+80/",
        "http://host: 80/",
        "http://host:/", "http://host:080080/", "http://[::1]x/", "http://[]:80/", "HTTP://host/",
    ])
    func badTargetsAreRefused(url: String) {
        #expect(HTTPTarget(url) == nil)
    }
}
