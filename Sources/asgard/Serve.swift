import ArgumentParser
import AsgardController
import AsgardCore
import AsgardServer
import AsyncHTTPClient
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway and the controller loop.",
        discussion: """
            Serves POST /v1/chat/completions (OpenAI drop-in), POST /api/gateway/chat, GET /v1/models, \
            GET /api/projects/{id}/usage, the cost and admin APIs, /mcp (the MCP server, streamable HTTP) \
            and its RFC 9728 metadata, and GET /healthz. The controller reconciles DIR at start, every \
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
        configuration.host = host
        configuration.port = port
        configuration.desiredDirectory = directory
        configuration.policiesDirectory = policies
        configuration.dataDirectory = store.directory
        configuration.passInterval = .seconds(passInterval)
        let client = HTTPUpstream.vendorClient()
        // Whatever fails, the HTTP client is shut down before it is released.
        do {
            let dependencies = ServerDependencies(
                store: try store.open(), httpClient: client,
                provisioner: provisioning.provisioner(dataDirectory: store.directory),
                observers: vendorObservers(client: client, environment: configuration.environment))
            let (_, application) = try buildApplication(configuration, dependencies) { [directory, store] channel in
                let bound = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(
                    Data("asgard: serving on http://\(host):\(bound) (desired: \(directory), store: \(store.location))\n".utf8))
            }
            try await application.runService()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// Who orders a kill switch from the command line, and under which policies.
struct KillSwitchOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Who gives the order: a User in Cedar's Role::\"admin\" (whoever can write the store administers it); without it, the shipped policies refuse.",
            valueName: "operator"))
    var by: String?
    @OptionGroup var store: StoreOptions

    /// The order through the desk the admin API uses, under the policy set the controller
    /// enforces (as recorded in the store); a refusal is printed and exits 1.
    func order(_ body: (KillSwitchDesk, Operator) async throws -> String) async throws {
        let store = try store.open()
        let desk = KillSwitchDesk(store: store, policies: try await storedPolicies(store))
        do {
            print(try await body(desk, .commandLine(by: by)))
        } catch let refusal as KillSwitchDesk.Refusal {
            printError("refused: \(refusal)")
            throw ExitCode.failure
        }
    }
}

/// `--scope` and `--id`, checked the same way for `kill` and `unkill`.
struct KillScopeOptions: ParsableArguments {
    @Option(help: "global, vendor, model, project or key.") var scope: String
    @Option(help: "The vendor, model, project or key id (not for global).") var id: String = ""

    var killScope: KillScope { KillScope(rawValue: scope) ?? .global }

    func validate() throws {
        guard KillScope(rawValue: scope) != nil else {
            throw ValidationError("--scope must be one of \(KillScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (scope == "global") == id.isEmpty else {
            throw ValidationError(scope == "global" ? "a global switch takes no --id" : "--id is required for \(scope)")
        }
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Engage a kill switch: global, or for a vendor, model, project or key. A running server obeys it within a second.",
        discussion: "Cedar decides `kill` for the operator (--by) under the enforced policy set, as for the admin API; the order or its refusal is audited.")

    @OptionGroup var target: KillScopeOptions
    @Option(help: "Why, for the audit log and the refused callers.") var reason: String
    @OptionGroup var options: KillSwitchOptions

    func validate() throws {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must not be empty") }
    }

    func run() async throws {
        try await options.order { desk, person in
            let engaged = try await desk.engage(scope: target.killScope, id: target.id, reason: reason, by: person)
            return "kill switch engaged: \(engaged.scope.target(engaged.target)) (\(reason))"
        }
    }
}

struct Unkill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release a kill switch.",
        discussion: "Cedar decides `kill` for the operator (--by) under the enforced policy set, as for the admin API; the release or its refusal is audited.")

    @OptionGroup var target: KillScopeOptions
    @OptionGroup var options: KillSwitchOptions

    func run() async throws {
        try await options.order { desk, person in
            try await desk.release(scope: target.killScope, id: target.id, by: person)
            return "kill switch released: \(target.killScope.target(target.id))"
        }
    }
}
