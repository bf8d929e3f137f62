import ArgumentParser
import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardPostgres
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
        discussion: """
            Environment: ASGARD_DATA_DIR (data directory, default .asgard); ASGARD_AUDIT_KEY (the audit key, 64+ hex digits), \
            else the key file audit.key in ASGARD_KEY_DIR (default $XDG_CONFIG_HOME/asgard or ~/.config/asgard).
            """,
        subcommands: [
            Serve.self, Demo.self, Validate.self, Reconcile.self, Approvals.self, Keygen.self, Audit.self, Status.self, PolicyCommand.self, Kill.self,
            Unkill.self, Cost.self, Requests.self, StackFloorCommand.self,
        ]
    )

    /// Runs the command, mapping usage errors to exit code 2 (ArgumentParser's default is 64).
    ///
    /// Everything Asgard (and the terraform it runs) creates is private to its user: the umask
    /// is 077 from the start, on top of the explicit 0600/0700 modes of the store, journal and
    /// workspaces.
    static func main() async {
        umask(0o077)
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

/// Where the store lives: PostgreSQL when `ASGARD_DATABASE_URL` is set, else the SQLite file in
/// the data directory (which holds the call journal and terraform workspaces either way).
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory holding the SQLite store (default: $ASGARD_DATA_DIR, else .asgard).")
    var dataDir: String?

    var directory: String {
        dataDir ?? ProcessInfo.processInfo.environment["ASGARD_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".asgard"
    }

    var storePath: String { directory + "/asgard.sqlite" }

    /// `ASGARD_DATABASE_URL` when set and not empty: the store is PostgreSQL there.
    var databaseURL: String? { ProcessInfo.processInfo.environment["ASGARD_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Where the store is, for people: the SQLite path, or the database URL with its password masked.
    var location: String {
        guard let databaseURL else { return storePath }
        return (try? DatabaseURL(databaseURL).description) ?? "ASGARD_DATABASE_URL (unusable)"
    }

    /// The store, created if missing, for a command that writes it.
    func open() throws -> any Store { try Self.open(path: storePath) }

    /// The store: the one place the command line chooses the implementation.
    ///
    /// With `ASGARD_DATABASE_URL` set it is `PostgresStore` there, this replica named by
    /// `ASGARD_REPLICA` (else the host name); otherwise `SQLiteStore` at `path`. Its audit key is
    /// `ASGARD_AUDIT_KEY`, else the key file (`AuditKeyFile`: `ASGARD_KEY_DIR`,
    /// `XDG_CONFIG_HOME` or `HOME`), which is created at first start when `createKey` (commands
    /// that write the store) and missing; creating one is announced on standard error. Every
    /// replica on one database must have the same key.
    /// - Throws: `AuditKeyError` when there is no usable key, `DatabaseURLError`, the store's errors.
    static func open(path: String, createKey: Bool = true) throws -> any Store {
        let environment = ProcessInfo.processInfo.environment
        let dataDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let loaded = try AuditKeyFile.load(environment: environment, dataDirectory: dataDirectory, create: createKey)
        if loaded.created {
            printError("asgard: created the audit key \(loaded.source) (mode 0600): keep it, and back it up apart from the data directory")
        }
        if let text = environment["ASGARD_DATABASE_URL"], !text.isEmpty {
            return try PostgresStore(url: try DatabaseURL(text), auditKey: loaded.key, replica: replicaName(environment))
        }
        return try SQLiteStore(path: path, auditKey: loaded.key)
    }

    /// `ASGARD_REPLICA`, else the host name: names this replica's journal position in PostgreSQL.
    static func replicaName(_ environment: [String: String]) -> String {
        environment["ASGARD_REPLICA"].flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.hostName
    }

    /// What a dry run needs from an existing store, read without creating, migrating or writing
    /// anything; nil when there is none yet.
    func readOnlySnapshot() throws -> ReadOnlySnapshot? {
        if let databaseURL { return try PostgresStore.readOnlySnapshot(url: try DatabaseURL(databaseURL)) }
        return try SQLiteStore.readOnlySnapshot(path: storePath)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The policy set in `directory` as enforced, or nil when it does not load: its problems are
/// printed to standard error, then `whenMissing` if given.
func enforcedPolicies(directory: String, whenMissing: String? = nil) -> PolicyEngine? {
    let (bundle, problems) = PolicyBundle.load(directory: directory)
    return enforced(bundle, problems: problems, whenMissing: whenMissing)
}

/// `bundle` as enforced when it loaded without `problems`; else nil, with the problems printed
/// to standard error, then `whenMissing` if given.
func enforced(_ bundle: PolicyBundle, problems: [Diagnostic], whenMissing: String? = nil) -> PolicyEngine? {
    guard problems.isEmpty else {
        printError(Rendering.diagnostics(problems, files: 0))
        if let whenMissing { printError(whenMissing) }
        return nil
    }
    return PolicyEngine(enforced: bundle)
}

/// The policy set the controller enforces, as `asgard serve` or `reconcile` recorded it in the
/// store: commands that decide alone (`approve`, `reject`, `kill`, `unkill`) use exactly it, so
/// no one decides under a policy directory of their own. Nil, with why on standard error, when
/// none is recorded or it does not load.
func storedPolicies(_ store: any Store) async throws -> PolicyEngine? {
    guard let source = try await store.enforcedPolicies() else {
        printError("no enforced policy set is recorded in this store: `asgard serve` or `asgard reconcile --once` records the one it enforces")
        return nil
    }
    let (bundle, problems) = PolicyBundle.load(source, in: "enforced")
    guard problems.isEmpty else {
        printError(Rendering.diagnostics(problems, files: source.files.count))
        return nil
    }
    return PolicyEngine(enforced: bundle)
}

/// The person whose personal credential is in `ASGARD_PERSON_KEY`, among the people the store
/// holds: who acts for `approve` and `reject`. Exits 1, saying why, when there is none.
func credentialedPerson(_ store: any Store, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Person {
    guard let secret = environment["ASGARD_PERSON_KEY"], !secret.isEmpty else {
        printError("set ASGARD_PERSON_KEY to your personal credential (`asgard keygen --person`): who decides is its holder")
        throw ExitCode.failure
    }
    let digest = SHA256.hex(secret)
    guard let person = try await store.gatewayConfiguration().people.first(where: { constantTimeEqual($0.credential, digest) }) else {
        printError("ASGARD_PERSON_KEY is no person's credential in this store: commit its digest as the credential of your Person, and reconcile")
        throw ExitCode.failure
    }
    return person
}
