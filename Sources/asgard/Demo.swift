import ArgumentParser
import AsgardCore
import AsgardServer
import AsyncHTTPClient
import FakeDatabricks
import Foundation

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the fake Databricks and Asgard on SQLite with the shipped desired/, and mint a demo key.",
        discussion: """
            The fake Databricks (a faithful test double of the serving-endpoints API) runs on a loopback \
            port and stands in for DATABRICKS_HOST; Asgard itself runs unchanged. The demo works on a copy \
            of DIR under the data directory, with one extra key (the one printed) for the fraud-detection project.
            """
    )

    @Argument(help: "The desired-state directory to copy.") var directory = "desired"
    @Option(help: "Asgard's port.") var port = 8080
    @Option(help: "The Cedar policy directory.") var policies = "policies"
    @OptionGroup var store: StoreOptions
    @OptionGroup var provisioning: ProvisioningOptions

    func run() async throws {
        let demoRoot = store.directory + "/demo"
        let desired = demoRoot + "/desired"
        let manager = FileManager.default
        try? manager.removeItem(atPath: desired)
        try manager.createDirectory(atPath: demoRoot, withIntermediateDirectories: true)
        try manager.copyItem(atPath: directory, toPath: desired)
        let key = VirtualKey.generate()
        try """
        # Minted by `asgard demo`; only its digest is stored.
        kind: Key
        id: demo
        project: fraud-detection
        digest: \(key.digest)
        allowed_models: [databricks/*]
        max_data_class: confidential
        default_data_class: internal
        requests_per_minute: 600
        """.write(toFile: desired + "/keys/demo.yaml", atomically: true, encoding: .utf8)

        let upstreamToken = "dapi" + VirtualKey.generate().digest.dropFirst(7).prefix(32)
        let fake = try await FakeDatabricks(FakeDatabricksConfiguration(token: upstreamToken)).start()
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.desiredDirectory = desired
        configuration.policiesDirectory = policies
        configuration.dataDirectory = demoRoot
        configuration.environment = ProcessInfo.processInfo.environment.merging(
            ["DATABRICKS_HOST": fake.url, "DATABRICKS_TOKEN": upstreamToken]) { _, demo in demo }
        let client = HTTPUpstream.vendorClient()
        // Whatever fails, the HTTP client is shut down before it is released.
        do {
            let dependencies = ServerDependencies(
                store: try StoreOptions.open(path: demoRoot + "/asgard.sqlite"), httpClient: client,
                provisioner: provisioning.provisioner(dataDirectory: demoRoot, environment: configuration.environment),
                observers: vendorObservers(client: client, environment: configuration.environment))
            let (_, application) = try buildApplication(configuration, dependencies) { channel in
                let bound = channel.localAddress?.port ?? port
                let base = "http://127.0.0.1:\(bound)"
                FileHandle.standardOutput.write(
                    Data(
                        """
                        Asgard demo
                          gateway:          \(base)   (store: \(demoRoot)/asgard.sqlite)
                          fake Databricks:  \(fake.url)
                          demo key (shown once): \(key.secret)

                        Try it:
                          curl -s \(base)/v1/chat/completions -H "Authorization: Bearer \(key.secret)" \\
                            -H "Content-Type: application/json" \\
                            -d '{"model": "databricks/llama-3-3-70b", "messages": [{"role": "user", "content": "Hello"}]}'

                        With the OpenAI SDK (Python):
                          from openai import OpenAI
                          client = OpenAI(base_url="\(base)/v1", api_key="\(key.secret)")
                          print(client.chat.completions.create(model="databricks/llama-3-3-70b",
                                messages=[{"role": "user", "content": "Hello"}]).choices[0].message.content)

                        Spend: curl -s \(base)/api/projects/fraud-detection/usage -H "Authorization: Bearer \(key.secret)"
                        Ctrl-C stops it.

                        """.utf8))
            }
            try await application.runService()
        } catch {
            try? await fake.shutdown()
            try? await client.shutdown()
            throw error
        }
        try await fake.shutdown()
        try await client.shutdown()
    }
}
