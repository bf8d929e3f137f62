import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AsgardServer

/// The upstream client's HTTP/1.1 reader and writer: against NIO's own decoder (llhttp) as the
/// oracle on generated answers cut at random places, on answers it must refuse, and on requests
/// a header must not be able to inject into.
@Suite struct HTTP1ResponseParserTests {
    /// What a reader made of an answer.
    struct Read: Equatable {
        var status: Int
        var contentType: String?
        var keepAlive: Bool
        var body: [UInt8]
    }

    /// A small deterministic generator (xorshift64*), so a failing case can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func next(_ bound: Int) -> Int { Int(next() >> 33) % bound }
        mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }
    }

    /// One generated answer: its bytes, and whether only the connection's close ends it.
    static func answer(_ random: inout Generator) -> (bytes: [UInt8], closeDelimited: Bool) {
        var text = ""
        if random.next(5) == 0 { text += "HTTP/1.1 100 Continue\r\n\r\n" }
        let version = random.next(6) == 0 ? "1.0" : "1.1"
        let status = random.pick([200, 200, 201, 204, 304, 400, 401, 404, 429, 500, 502, 503])
        text += "HTTP/\(version) \(status) \(random.pick(["OK", "Whatever", "", "Not Found Here"]))\r\n"
        var headers: [String] = []
        if random.next(3) > 0 {
            headers.append(
                "\(random.pick(["Content-Type", "content-type", "CONTENT-TYPE"])): \(random.pick(["application/json", "text/event-stream", "text/plain; charset=utf-8"]))"
            )
        }
        switch random.next(4) {
        case 0: headers.append("Connection: close")
        case 1: headers.append("Connection: keep-alive")
        case 2: headers.append("connection: Keep-Alive, Upgrade")
        default: break
        }
        headers.append("Server: \(random.pick(["nginx", "uvicorn", "x"]))")
        let body = (0..<random.pick([0, 1, 17, 300, 5_000])).map { _ in UInt8(random.next(256)) }
        let noBody = status == 204 || status == 304
        var framing = random.next(3)  // 0: length, 1: chunked, 2: until close
        if noBody { framing = 0 }
        var payload: [UInt8] = []
        switch framing {
        case 0:
            headers.append("Content-Length: \(noBody ? 0 : body.count)")
            payload = noBody ? [] : body
        case 1:
            headers.append(random.pick(["Transfer-Encoding: chunked", "transfer-encoding: gzip, chunked", "Transfer-Encoding: Chunked"]))
            var rest = body[...]
            while !rest.isEmpty {
                let size = min(rest.count, 1 + random.next(700))
                let ext = random.next(4) == 0 ? ";name=value" : ""
                payload +=
                    Array((String(size, radix: 16, uppercase: random.next(2) == 0) + ext + "\r\n").utf8) + rest.prefix(size) + Array("\r\n".utf8)
                rest = rest.dropFirst(size)
            }
            payload += Array((random.next(3) == 0 ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n").utf8)
        default:
            payload = body
        }
        headers.shuffle(using: &random)
        text += headers.map { $0 + "\r\n" }.joined() + "\r\n"
        return (Array(text.utf8) + payload, framing == 2)
    }

    /// `bytes` cut into pieces at random places.
    static func pieces(_ bytes: [UInt8], _ random: inout Generator) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let size = random.next(4) == 0 ? 1 : 1 + random.next(max(1, rest.count))
            pieces.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return pieces
    }

    /// The answer as this client's parser reads it from `pieces`, then the connection's close.
    static func ours(_ pieces: [[UInt8]]) throws -> Read? {
        var parser = HTTP1ResponseParser()
        var body = ByteBuffer()
        var whole = false
        for piece in pieces where !whole {
            var input = ByteBuffer(bytes: piece)
            whole = try parser.parse(&input, into: &body)
        }
        if !whole { whole = parser.finishAtClose() }
        guard whole, let head = parser.head else { return nil }
        return Read(status: head.status, contentType: head.contentType, keepAlive: head.keepAlive, body: Array(body.readableBytesView))
    }

    /// The answer as NIO's client pipeline reads it (after a `POST` was written), then the close.
    static func nio(_ pieces: [[UInt8]]) throws -> Read? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        for piece in pieces { try channel.writeInbound(ByteBuffer(bytes: piece)) }
        _ = try? channel.finish()
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var ended = false
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let h): head = h
            case .body(let chunk): body += chunk.readableBytesView
            case .end: ended = true
            }
        }
        guard ended, let head else { return nil }
        return Read(status: Int(head.status.code), contentType: head.headers.first(name: "content-type"), keepAlive: head.isKeepAlive, body: body)
    }

    @Test(arguments: 0..<40)
    func readsWhatNIOReads(seed: Int) throws {
        var random = Generator(state: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1)
        for _ in 0..<25 {
            let (bytes, closeDelimited) = Self.answer(&random)
            let pieces = Self.pieces(bytes, &random)
            let expected = try #require(try Self.nio(pieces), "NIO did not read \(String(decoding: bytes.prefix(200), as: UTF8.self))")
            let read = try #require(try Self.ours(pieces))
            // A body framed by the close is never followed by another answer: NIO still reports the
            // head's keep-alive, where this client knows the connection is done.
            #expect(
                read
                    == Read(
                        status: expected.status, contentType: expected.contentType, keepAlive: closeDelimited ? false : expected.keepAlive,
                        body: expected.body),
                "\(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
    }

    /// An answer followed by bytes of another: the parser stops at the answer's end and leaves them.
    @Test func bytesAfterTheAnswerAreLeft() throws {
        var parser = HTTP1ResponseParser()
        var input = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n")
        var body = ByteBuffer()
        #expect(try parser.parse(&input, into: &body))
        #expect(String(buffer: body) == "hi")
        #expect(String(buffer: input) == "HTTP/1.1 200 OK\r\n")
    }

    /// A chunked answer that also names a length is read as chunked, and its connection is not reused.
    @Test func chunkedWinsOverALengthAndEndsTheConnection() throws {
        let read = try #require(
            try Self.ours([Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n".utf8)]))
        #expect(read == Read(status: 200, contentType: nil, keepAlive: false, body: Array("hi".utf8)))
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.2 200 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nhi", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 2\r\n\r\nhi", "HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 2\r\n\r\nhi",
        "HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\nContent-Length: 2\r\n\r\nhi",
    ])
    func refusesWhatItCannotReadUnambiguously(answer: String) {
        #expect(throws: HTTP1ResponseParser.ParseError.self) { _ = try Self.ours([Array(answer.utf8)]) }
    }

    /// A head that never ends is refused at the limit, not read forever.
    @Test func aHeadOverTheLimitIsRefused() {
        var parser = HTTP1ResponseParser(maxHeadBytes: 1_000)
        var input = ByteBuffer(string: "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Padding: 0123456789\r\n", count: 60))
        var body = ByteBuffer()
        #expect(throws: HTTP1ResponseParser.ParseError.tooLarge) { _ = try parser.parse(&input, into: &body) }
    }

    /// A body cut short by the close is not an answer; one framed by the close is.
    @Test func theCloseEndsOnlyABodyItFrames() throws {
        #expect(try Self.ours([Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".utf8)]) == nil)
        #expect(try Self.ours([Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n".utf8)]) == nil)
        #expect(try Self.ours([Array("HTTP/1.1 200 OK\r\n\r\nall of it".utf8)])?.body == Array("all of it".utf8))
    }

    // MARK: The request

    static let target = HTTPTarget("http://vendor.example:8443/v1/chat/completions?x=1")!

    @Test func aRequestIsOneBufferOfExactBytes() throws {
        let bytes = try HTTP1Request.post(
            Self.target, headers: [("Content-Type", "application/json"), ("api-key", "k")], body: Array("{}".utf8), allocator: ByteBufferAllocator())
        #expect(
            String(buffer: bytes)
                == "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: vendor.example:8443\r\nContent-Type: application/json\r\napi-key: k\r\nContent-Length: 2\r\n\r\n{}"
        )
    }

    /// A credential from the environment with a line break in it cannot add a header or a
    /// request: the call is refused, naming the header and never its value.
    @Test(arguments: [
        ("Authorization", "Bearer sk-1\r\nX-Evil: 1"), ("Authorization", "Bearer sk-1\nX"), ("Authorization", "a\u{0}b"), ("X Bad", "v"), ("", "v"),
    ])
    func aHeaderCannotInject(name: String, value: String) {
        #expect(throws: HTTP1Request.InvalidHeader.self) {
            _ = try HTTP1Request.post(Self.target, headers: [(name, value)], body: [], allocator: ByteBufferAllocator())
        }
        do {
            _ = try HTTP1Request.post(Self.target, headers: [(name, value)], body: [], allocator: ByteBufferAllocator())
        } catch {
            #expect(!"\(error)".contains("sk-1") && !"\(error)".contains("X-Evil"))
        }
    }

    @Test func aTargetWithASpaceIsRefused() throws {
        let target = try #require(HTTPTarget("http://vendor.example/a b"))
        #expect(throws: HTTP1Request.InvalidHeader.self) {
            _ = try HTTP1Request.post(target, headers: [], body: [], allocator: ByteBufferAllocator())
        }
    }
}
