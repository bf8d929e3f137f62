import AsgardGateway
import NIOCore
import NIOPosix
import Testing

@testable import AsgardServer

/// `asgard stack-floor --mode nio-fixed | nio-proxy`, the bare SwiftNIO server issue 18's
/// benchmark measures beside Asgard: it must answer what the benchmark checks, or its figures
/// would be those of a server that does less than a proxy.
@Suite struct NIOFloorTests {
    static let chat = "/v1/chat/completions"

    /// A fixed floor and a proxy floor forwarding to it, on a one-loop group, and a client on
    /// that loop.
    static func withFloors(_ body: (_ fixed: Int, _ proxy: Int, PooledHTTP1Client) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = PooledHTTP1Client(group: group)
        let fixed = try await NIOFloor.fixed.bind(host: "127.0.0.1", port: 0, group: group)
        let fixedPort = try #require(fixed.localAddress?.port)
        let proxy = try await NIOFloor.proxy(upstreamURL: "http://127.0.0.1:\(fixedPort)", token: "t", client: client)
            .bind(host: "127.0.0.1", port: 0, group: group)
        let proxyPort = try #require(proxy.localAddress?.port)
        await #expect(throws: Never.self) {
            try await withTaskExecutorPreference(EventLoopTaskExecutor(group.next())) {
                try await body(fixedPort, proxyPort, client)
            }
        }
        try await proxy.close()
        try await fixed.close()
        try await group.shutdownGracefully()
    }

    static func post(_ port: Int, _ path: String, on client: PooledHTTP1Client, connection: String? = nil) async throws -> UpstreamReply {
        var headers = [("Content-Type", "application/json")]
        if let connection { headers.append(("Connection", connection)) }
        return try await client.send(
            UpstreamRequest(url: "http://127.0.0.1:\(port)\(path)", headers: headers, body: Array(#"{"model":"m"}"#.utf8)), timeoutSeconds: 10)
    }

    @Test func theFixedFloorAnswersTheBenchmarkUpstreamsCompletion() async throws {
        try await Self.withFloors { fixed, _, client in
            for _ in 0..<3 {
                let reply = try await Self.post(fixed, Self.chat, on: client)
                #expect(reply.status == 200)
                #expect(reply.contentType == "application/json")
                #expect(reply.body == Array(StackFloor.fixedAnswer.readableBytesView))
            }
        }
    }

    @Test func theProxyFloorAnswersWhatItsUpstreamAnswered() async throws {
        try await Self.withFloors { _, proxy, client in
            for _ in 0..<3 {
                let reply = try await Self.post(proxy, Self.chat, on: client)
                #expect(reply.status == 200)
                #expect(reply.body == Array(StackFloor.fixedAnswer.readableBytesView))
            }
            let closing = try await Self.post(proxy, Self.chat, on: client, connection: "close")
            #expect(closing.status == 200)
        }
    }

    @Test func otherPathsAre404AndAnUnreachableUpstreamIs502() async throws {
        try await Self.withFloors { fixed, _, client in
            #expect(try await Self.post(fixed, "/v1/embeddings", on: client).status == 404)
            let unused = try await NIOFloor.fixed.bind(host: "127.0.0.1", port: 0, group: .singleton)
            let deadPort = try #require(unused.localAddress?.port)
            try await unused.close()
            let dead = try await NIOFloor.proxy(upstreamURL: "http://127.0.0.1:\(deadPort)", token: "t", client: client)
                .bind(host: "127.0.0.1", port: 0, group: .singleton)
            let reply = try await Self.post(try #require(dead.localAddress?.port), Self.chat, on: client)
            #expect(reply.status == 502)
            try await dead.close()
        }
    }
}
