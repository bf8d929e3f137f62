import ArgumentParser
import AsgardServer
import Foundation

/// `asgard stack-floor`: the HTTP stack Asgard runs on, without Asgard (no store, no policy, no
/// guardrails), so that a benchmark can tell Asgard's own cost per call from its stack's on the
/// machine at hand. Not for serving anything: hidden from the help.
struct StackFloorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack-floor",
        abstract: "Serve the bare HTTP stack (a fixed answer, or a plain proxy) for the gateway benchmark.",
        shouldDisplay: false
    )

    /// What to serve: Hummingbird as `asgard serve` builds it (`StackFloor`), or SwiftNIO's HTTP
    /// server alone (`NIOFloor`).
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case fixed, proxy
        case proxyAHC = "proxy-ahc"
        case nioFixed = "nio-fixed"
        case nioProxy = "nio-proxy"
    }

    @Option(
        help: """
            fixed: answer a fixed chat completion; proxy: forward each call to --upstream as asgard serve does; \
            proxy-ahc: through AsyncHTTPClient alone; nio-fixed, nio-proxy: the same on SwiftNIO's HTTP server, without Hummingbird.
            """)
    var mode: Mode = .fixed
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8090
    @Option(help: "The upstream's base URL (for proxy).") var upstream = "http://127.0.0.1:8081"
    @Option(help: "The environment variable holding the upstream's bearer token (for proxy).")
    var tokenEnv = "BENCH_UPSTREAM_TOKEN"

    func run() async throws {
        let token = ProcessInfo.processInfo.environment[tokenEnv] ?? ""
        let announce: @Sendable (Int) -> Void = { [host, mode] port in
            FileHandle.standardOutput.write(Data("asgard stack-floor (\(mode.rawValue)): serving on http://\(host):\(port)\n".utf8))
        }
        let hummingbird: StackFloor
        switch mode {
        case .nioFixed:
            return try await NIOFloor.fixed.run(host: host, port: port, onBound: announce)
        case .nioProxy:
            return try await NIOFloor.proxy(upstreamURL: upstream, token: token, client: PooledHTTP1Client()).run(
                host: host, port: port, onBound: announce)
        case .fixed: hummingbird = .fixed
        case .proxy: hummingbird = .proxy
        case .proxyAHC: hummingbird = .proxyAHC
        }
        let client = HTTPUpstream.vendorClient()
        do {
            let application = hummingbird.application(host: host, port: port, upstreamURL: upstream, upstreamToken: token, client: client) {
                channel in
                announce(channel.localAddress?.port ?? 0)
            }
            try await application.runService()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
