public import ArgumentParser
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

    @Option(help: "fixed: answer a fixed chat completion; proxy: forward each call to --upstream as asgard serve does; proxy-ahc: through AsyncHTTPClient alone.")
    var mode: StackFloor = .fixed
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8090
    @Option(help: "The upstream's base URL (for proxy).") var upstream = "http://127.0.0.1:8081"
    @Option(help: "The environment variable holding the upstream's bearer token (for proxy).")
    var tokenEnv = "BENCH_UPSTREAM_TOKEN"

    func run() async throws {
        let client = HTTPUpstream.vendorClient()
        let token = ProcessInfo.processInfo.environment[tokenEnv] ?? ""
        do {
            let application = mode.application(
                host: host, port: port, upstreamURL: upstream, upstreamToken: token, client: client
            ) { [host, mode] channel in
                FileHandle.standardOutput.write(Data("asgard stack-floor (\(mode.rawValue)): serving on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
            }
            try await application.runService()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// `--mode fixed | proxy | proxy-ahc`; anything else is refused naming the three.
extension StackFloor: ExpressibleByArgument {}
