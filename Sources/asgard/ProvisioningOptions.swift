import ArgumentParser
import AsgardController
import AsgardPostgres
import AsgardProvisioning
import AsgardServer
import AsyncHTTPClient
import Foundation

/// Where terraform modules are found, and which provisioner carries out provisioning.
struct ProvisioningOptions: ParsableArguments {
    @Option(help: "The directory that manifests' `module:` paths are relative to (default: the current directory).")
    var modulesRoot = "."

    /// The terraform connector over `dataDirectory`: terraform from ASGARD_TERRAFORM_BIN, else
    /// `<modules root>/.tools/terraform/bin/terraform` (what `make setup` installs), else
    /// `terraform` or `tofu` on PATH. Without one, a provisioner that refuses by name. With
    /// `ASGARD_DATABASE_URL` set, terraform keeps state in that database (`pg` backend), where
    /// whichever replica leads finds it.
    func provisioner(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> any Provisioner {
        do {
            var configuration = try TerraformConfiguration.resolve(environment: environment, dataDirectory: dataDirectory, moduleRoot: modulesRoot)
            if let text = environment["ASGARD_DATABASE_URL"], !text.isEmpty {
                let url = try DatabaseURL(text)
                configuration.stateBackend = .postgres(connection: url.terraformConnection, password: url.password)
            }
            return TerraformConnector(configuration: configuration) { event in
                switch event {
                case .staleLockRemoved(let workspace, let pid, let reason):
                    printError("asgard: released the stale lock of \(workspace) (pid \(pid.map(String.init) ?? "?")): \(reason)")
                }
            }
        } catch {
            return UnavailableProvisioner(reason: "\(error)")
        }
    }
}

/// The drift observers this Asgard has, by the names manifests give them (`observe:`).
func vendorObservers(client: HTTPClient, environment: [String: String]) -> VendorObservers {
    VendorObservers([DatabricksServingEndpoints.name: DatabricksServingEndpoints(client: client, environment: environment)])
}
