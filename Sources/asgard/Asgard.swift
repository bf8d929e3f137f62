import ArgumentParser
import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardStore
import Foundation

/// `asgard`: the command-line front end. Parses arguments and calls into the libraries.
///
/// Exit codes: 0 valid / converged / intact, 1 invalid or failed, 2 usage error.
@main
struct Asgard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asgard",
        abstract: "Asgard: the control plane in front of Databricks, OpenAI and any OpenAI-compatible vendor.",
        discussion: "Environment: ASGARD_DATA_DIR (data directory, default .asgard).",
        subcommands: [
            Serve.self, Demo.self, Validate.self, Reconcile.self, Approvals.self, Keygen.self, Audit.self, Status.self, PolicyCommand.self, Kill.self,
            Unkill.self,
        ]
    )

    /// Runs the command, mapping usage errors to exit code 2 (ArgumentParser's default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}

/// `--json` for machines.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON for machines instead of text for people.")
    var json = false
}

/// Where the store lives.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory holding the SQLite store (default: $ASGARD_DATA_DIR, else .asgard).")
    var dataDir: String?

    var directory: String {
        dataDir ?? ProcessInfo.processInfo.environment["ASGARD_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".asgard"
    }

    var storePath: String { directory + "/asgard.sqlite" }

    /// The store, created if missing.
    func open() throws -> any Store { try Self.open(path: storePath) }

    /// The store at `path`: the one place the command line chooses the implementation.
    static func open(path: String) throws -> any Store { try SQLiteStore(path: path) }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The policy set in `directory` as enforced, or nil when it does not load: its problems are
/// printed to standard error, then `whenMissing` if given.
func enforcedPolicies(directory: String, whenMissing: String? = nil) -> PolicyEngine? {
    let (bundle, problems) = PolicyBundle.load(directory: directory)
    guard problems.isEmpty else {
        printError(Rendering.diagnostics(problems, files: 0))
        if let whenMissing { printError(whenMissing) }
        return nil
    }
    return PolicyEngine(enforced: bundle)
}
