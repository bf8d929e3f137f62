import ArgumentParser
import AsgardServer
import AsgardStore
import AsyncHTTPClient
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway and the controller loop.",
        discussion: """
        Serves POST /v1/chat/completions (OpenAI drop-in), POST /api/gateway/chat, GET /v1/models, \
        GET /api/projects/{id}/usage and GET /healthz. The controller reconciles DIR at start, every \
        --pass-interval seconds and whenever a file under DIR or the policy directory changes. Vendor \
        URLs and tokens are read from the environment by the names the manifests give. SIGTERM or \
        SIGINT shut down gracefully: in-flight calls finish and their ledger rows are committed.
        """
    )

    @Argument(help: "The desired-state directory.") var directory = "desired"
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(help: "The Cedar policy directory.") var policies = "policies"
    @Option(help: "Seconds between reconcile passes when nothing changes.") var passInterval = 30
    @OptionGroup var store: StoreOptions
    @OptionGroup var provisioning: ProvisioningOptions

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.provisioner = provisioning.provisioner(dataDirectory: store.directory)
        configuration.host = host
        configuration.port = port
        configuration.desiredDirectory = directory
        configuration.policiesDirectory = policies
        configuration.dataDirectory = store.directory
        configuration.passInterval = .seconds(passInterval)
        let client = HTTPUpstream.vendorClient()
        // Whatever fails, the HTTP client is shut down before it is released.
        do {
            let (_, application) = try AsgardServer.build(configuration, httpClient: client) { [directory, store] channel in
                let bound = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("asgard: serving on http://\(host):\(bound) (desired: \(directory), store: \(store.storePath))\n".utf8))
            }
            try await application.runService()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Engage a kill switch: global, or for a vendor, model, project or key. A running server obeys it within a second.")

    @Option(help: "global, vendor, model, project or key.") var scope: String
    @Option(help: "The vendor, model, project or key id (not for global).") var id: String = ""
    @Option(help: "Why, for the audit log and the refused callers.") var reason: String
    @Option(help: "Who engages it, for the audit log.") var by: String = ProcessInfo.processInfo.environment["USER"] ?? "cli"
    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard ["global", "vendor", "model", "project", "key"].contains(scope) else {
            throw ValidationError("--scope must be one of global, vendor, model, project, key")
        }
        guard (scope == "global") == id.isEmpty else { throw ValidationError(scope == "global" ? "a global switch takes no --id" : "--id is required for \(scope)") }
        guard !reason.isEmpty else { throw ValidationError("--reason must not be empty") }
    }

    func run() async throws {
        let sqlite = try SQLiteStore(path: store.storePath)
        let target = scope == "global" ? "global" : "\(scope)/\(id)"
        try await sqlite.engageKillSwitch(StoredKillSwitch(scope: scope, target: id, reason: reason, engagedBy: by, since: Date()),
                                          audit: AuditEntry(actor: by, action: "kill.engage", target: target, outcome: "engaged", detail: ["reason": reason]))
        print("kill switch engaged: \(target) (\(reason))")
    }
}

struct Unkill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release a kill switch.")

    @Option(help: "global, vendor, model, project or key.") var scope: String
    @Option(help: "The vendor, model, project or key id (not for global).") var id: String = ""
    @Option(help: "Who releases it, for the audit log.") var by: String = ProcessInfo.processInfo.environment["USER"] ?? "cli"
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let sqlite = try openExisting(store)
        let target = scope == "global" ? "global" : "\(scope)/\(id)"
        guard try await sqlite.releaseKillSwitch(scope: scope, target: id,
                                                 audit: AuditEntry(actor: by, action: "kill.release", target: target, outcome: "released")) else {
            printError("no kill switch is engaged for \(target)")
            throw ExitCode.failure
        }
        print("kill switch released: \(target)")
    }
}
