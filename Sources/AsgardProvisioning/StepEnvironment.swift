/// The explicit environment of every terraform command: nothing is inherited.
///
/// terraform sees `PATH`, `HOME` (a directory under the data directory, so no user's
/// `~/.terraformrc` or credentials file is read), `TF_CLI_CONFIG_FILE` when configured,
/// `TF_IN_AUTOMATION=1`, `TF_INPUT=0`, `CHECKPOINT_DISABLE=1`, `TMPDIR` (a fresh directory per
/// command, removed after it), and the vendor variables the request names, with their values
/// from the configured environment. Credentials therefore travel only through the environment
/// and are never written to disk by the connector.
///
/// `TMPDIR` is there because terraform 1.0.x (its panicwrap wrapper) writes a TRACE log of the
/// whole run to `$TMPDIR/terraform-log*` and deletes it only when it exits normally, and
/// providers put their plugin sockets there: a terraform killed at the timeout would otherwise
/// leave both behind in `/tmp`. The directory must have a short path: a provider's unix socket
/// path is limited to 108 bytes, and a longer `TMPDIR` makes the provider fail to start
/// ("Unrecognized remote plugin message").
enum StepEnvironment {
    /// `PATH` when the configured environment has none.
    static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

    /// The variables the connector sets itself; a vendor variable cannot replace them.
    static let fixedNames: Set<String> = [
        "PATH", "HOME", "TMPDIR", "TF_CLI_CONFIG_FILE", "TF_IN_AUTOMATION", "TF_INPUT", "CHECKPOINT_DISABLE", "PGPASSWORD",
    ]

    /// The complete environment for a command.
    /// Everything but `TMPDIR`, which each command gets fresh (`temporaryBase`).
    static func variables(
        from environment: [String: String], home: String, cliConfigFile: String?,
        vendorNames: [String]
    ) -> [String: String] {
        var variables = vendorVariables(from: environment, names: vendorNames)
        variables["PATH"] = environment["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath
        variables["HOME"] = home
        if let cliConfigFile { variables["TF_CLI_CONFIG_FILE"] = cliConfigFile }
        variables["TF_IN_AUTOMATION"] = "1"
        variables["TF_INPUT"] = "0"
        variables["CHECKPOINT_DISABLE"] = "1"
        return variables
    }

    /// Where the per-command temporary directories are made: the configured `TMPDIR` when it is
    /// absolute and short enough for plugin sockets, else `/tmp`.
    static func temporaryBase(from environment: [String: String]) -> String {
        if let configured = environment["TMPDIR"], configured.hasPrefix("/"), configured.utf8.count <= 40 {
            return configured.hasSuffix("/") && configured.count > 1 ? String(configured.dropLast()) : configured
        }
        return "/tmp"
    }

    /// The named vendor variables that are set in `environment` (unset ones are left out, so
    /// the provider reports what it misses), except the connector's own names.
    static func vendorVariables(from environment: [String: String], names: [String]) -> [String: String] {
        var variables: [String: String] = [:]
        for name in names where isVariableName(name) && !fixedNames.contains(name) {
            if let value = environment[name] { variables[name] = value }
        }
        return variables
    }

    /// A portable environment variable name: letters, digits and `_`, not starting with a digit.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
