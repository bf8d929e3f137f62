import AsgardGateway
import Foundation
public import Hummingbird
import HummingbirdCore
public import AsyncHTTPClient
import NIOCore

/// The HTTP stack Asgard is built on, with no governance: what a call costs before Asgard does
/// anything (issue 18's floor). `make bench-gateway` measures it beside Asgard on the same
/// upstream, so Asgard's own share of a call's CPU is the difference, on the machine at hand.
///
/// The server is built as `asgard serve` builds it (Hummingbird's HTTP/1.1 server, each
/// connection on its event loop, the same idle timeout); nothing else of Asgard runs.
public enum StackFloor: String, Sendable, CaseIterable {
    /// `POST /v1/chat/completions` reads the body whole and answers a fixed chat completion.
    case fixed
    /// `POST /v1/chat/completions` reads the body whole, sends it on with the caller's
    /// `Authorization` replaced by the upstream's, and answers the vendor's answer, through the
    /// transport `asgard serve` uses (`HTTPUpstream` with `PooledHTTP1Client` for `http://`).
    case proxy
    /// As `proxy`, through AsyncHTTPClient alone (the transport before issue 18).
    case proxyAHC = "proxy-ahc"

    /// The fixed answer: the benchmark upstream's own.
    static let fixedAnswer = ByteBuffer(
        string: #"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"fixed-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#
    )

    /// The floor server on `host:port`, forwarding (for the proxies) to `upstreamURL` with
    /// `Authorization: Bearer <upstreamToken>` over `client`.
    public func application(
        host: String, port: Int, upstreamURL: String, upstreamToken: String, client: HTTPClient,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        let mode = self
        let transport = HTTPUpstream(client: client, plain: self == .proxy ? PooledHTTP1Client() : nil)
        let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer " + upstreamToken)]
        let url = upstreamURL + "/v1/chat/completions"
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            switch mode {
            case .fixed:
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.fixedAnswer))
            case .proxy, .proxyAHC:
                let reply = try await transport.send(
                    UpstreamRequest(url: url, headers: headers, body: Array(body.readableBytesView)), timeoutSeconds: 30)
                return Response(
                    status: .init(code: reply.status), headers: [.contentType: reply.contentType ?? "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
            }
        }
        router.get("/healthz") { _, _ in "ok" }
        return Application(
            router: router,
            server: .http1BoundToEventLoops(configuration: HTTP1Channel.Configuration(idleTimeout: TimeAmount(ServerConfiguration().idleTimeout))),
            configuration: .init(address: .hostname(host, port: port), serverName: "asgard-floor"),
            onServerRunning: onServerRunning)
    }
}
