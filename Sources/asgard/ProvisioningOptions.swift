import ArgumentParser
import AsgardController
import Foundation

/// Where terraform modules are found, and which provisioner carries out provisioning.
struct ProvisioningOptions: ParsableArguments {
    @Option(help: "The directory that manifests' `module:` paths are relative to (default: the current directory).")
    var modulesRoot = "."

    /// The terraform connector over `dataDirectory`, or a provisioner that refuses by name when
    /// no terraform binary can be found.
    func provisioner(dataDirectory: String) -> any Provisioner {
        UnavailableProvisioner()
    }
}
