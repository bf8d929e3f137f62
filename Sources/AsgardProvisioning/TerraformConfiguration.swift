import AsgardCore
import Foundation

/// Where the connector finds terraform, its modules and its workspaces, and what it may pass on.
public struct TerraformConfiguration: Sendable, Hashable {
    /// Absolute path of the terraform (>= 1.0) or tofu binary.
    public var binary: String
    /// The CLI configuration file, passed as `TF_CLI_CONFIG_FILE` (provider mirrors); nil for none.
    public var cliConfigFile: String?
    /// Asgard's data directory: workspaces live at `<data>/terraform/<Kind>/<id>/`.
    public var dataDirectory: String
    /// The directory a manifest's `module:` path (e.g. `modules/databricks/sql-warehouse`) is relative to.
    public var moduleRoot: String
    /// How long one terraform command may run before it and its children are terminated.
    public var stepTimeout: Duration
    /// How long a timed-out command gets between SIGTERM and SIGKILL.
    public var killGrace: Duration
    /// The process environment: the source of `PATH` and of the vendor variables a request
    /// names. Nothing else from it reaches terraform.
    public var environment: [String: String]
    /// Where terraform keeps each workspace's state: in the workspace (one replica), or in
    /// PostgreSQL, where every replica that leads finds it.
    public var stateBackend: TerraformStateBackend = .local

    /// The default per-step timeout: long enough for a cloud warehouse to come up.
    public static let defaultStepTimeout: Duration = .seconds(30 * 60)
    /// The default grace between SIGTERM and SIGKILL.
    public static let defaultKillGrace: Duration = .seconds(5)

    public init(
        binary: String, cliConfigFile: String?, dataDirectory: String, moduleRoot: String,
        stepTimeout: Duration = defaultStepTimeout, killGrace: Duration = defaultKillGrace,
        environment: [String: String]
    ) {
        self.binary = binary
        self.cliConfigFile = cliConfigFile
        self.dataDirectory = dataDirectory
        self.moduleRoot = moduleRoot
        self.stepTimeout = stepTimeout
        self.killGrace = killGrace
        self.environment = environment
    }

    /// Finds terraform the way `make setup` installs it, or as the operator points to it:
    ///
    /// 1. `ASGARD_TERRAFORM_BIN` (a path, or a name looked up on `PATH`): any terraform >= 1.0 or tofu;
    /// 2. `<moduleRoot>/.tools/terraform/bin/terraform`, if it is executable;
    /// 3. `terraform`, then `tofu`, on `PATH`.
    ///
    /// The CLI configuration is `TF_CLI_CONFIG_FILE`, else `<moduleRoot>/.tools/terraform/terraformrc`
    /// if it exists, else none. Throws `binaryNotFound` listing every place it looked.
    public static func resolve(
        environment: [String: String], dataDirectory: String, moduleRoot: String,
        stepTimeout: Duration = defaultStepTimeout,
        killGrace: Duration = defaultKillGrace
    ) throws(TerraformError) -> TerraformConfiguration {
        // Terraform runs in the workspace directory: every path it is given must be absolute.
        let dataDirectory = absolutePath(dataDirectory)
        let moduleRoot = absolutePath(moduleRoot)
        let binary = try BinaryLocator(environment: environment, moduleRoot: moduleRoot).locate()
        let cliConfig: String?
        if let configured = environment["TF_CLI_CONFIG_FILE"], !configured.isEmpty {
            cliConfig = absolutePath(configured)
        } else {
            let bundled = moduleRoot + "/.tools/terraform/terraformrc"
            cliConfig = FileManager.default.fileExists(atPath: bundled) ? bundled : nil
        }
        return TerraformConfiguration(
            binary: binary, cliConfigFile: cliConfig, dataDirectory: dataDirectory,
            moduleRoot: moduleRoot, stepTimeout: stepTimeout, killGrace: killGrace,
            environment: environment)
    }
}

/// Where terraform keeps each workspace's state.
public enum TerraformStateBackend: Sendable, Hashable {
    /// `terraform.tfstate` in the workspace directory.
    case local
    /// terraform's `pg` backend: each workspace's state in a schema of its own of this database
    /// (`schema(for:)`), locked by terraform while a command writes it, so a replica that takes
    /// over from a dead leader sees exactly what was applied, and cannot apply while the dead
    /// leader's terraform still runs. `connection` is a `postgres://` URL without a password;
    /// the password reaches terraform only as `PGPASSWORD` in its environment.
    case postgres(connection: String, password: String?)

    /// The schema of `ref`'s state: `asgard_tf_` and 16 hex digits of the SHA-256 of the ref.
    public static func schema(for ref: String) -> String {
        "asgard_tf_" + String(SHA256.hex(ref).prefix(16))
    }
}

/// The search behind `TerraformConfiguration.resolve`, one candidate at a time.
struct BinaryLocator {
    var environment: [String: String]
    var moduleRoot: String
    var isExecutable: (String) -> Bool = { FileManager.default.isExecutableFile(atPath: $0) }

    /// The first executable candidate, or `binaryNotFound` naming every candidate tried.
    func locate() throws(TerraformError) -> String {
        var searched: [String] = []
        if let configured = environment["ASGARD_TERRAFORM_BIN"], !configured.isEmpty {
            let candidates = configured.contains("/") ? [configured] : onPath(configured)
            if let found = candidates.first(where: isExecutable) { return absolutePath(found) }
            searched.append("ASGARD_TERRAFORM_BIN=\(configured)")
            // An explicit choice that does not exist is an error, not a reason to pick another binary.
            throw .binaryNotFound(searched: searched)
        }
        let bundled = moduleRoot + "/.tools/terraform/bin/terraform"
        if isExecutable(bundled) { return bundled }
        searched.append(bundled)
        for name in ["terraform", "tofu"] {
            if let found = onPath(name).first(where: isExecutable) { return absolutePath(found) }
            searched.append("\(name) on PATH")
        }
        throw .binaryNotFound(searched: searched)
    }

    /// `name` in every directory of `PATH`, in order.
    func onPath(_ name: String) -> [String] {
        let path = environment["PATH"] ?? ""
        return path.split(separator: ":", omittingEmptySubsequences: true).map { "\($0)/\(name)" }
    }
}

/// `path` made absolute against the current directory and standardized (`.`/`..` removed),
/// because terraform runs in the workspace directory, not here.
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}

extension TerraformConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Everything but the environment's values (only its names): a logged configuration must
    /// not leak the credentials it carries.
    public var description: String {
        "TerraformConfiguration(binary: \(binary), cliConfigFile: \(cliConfigFile ?? "none"), dataDirectory: \(dataDirectory), "
            + "moduleRoot: \(moduleRoot), stepTimeout: \(stepTimeout), killGrace: \(killGrace), "
            + "environment: [\(environment.keys.sorted().joined(separator: ", "))])"
    }

    public var debugDescription: String { description }
}
