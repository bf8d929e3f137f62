import ArgumentParser
import AsgardCore
import AsgardCost
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

        let approver = try Self.mintApproverCredential(in: desired)

        let upstreamToken = "dapi" + VirtualKey.generate().digest.dropFirst(7).prefix(32)
        let fake = try await FakeDatabricks(
            FakeDatabricksConfiguration(token: upstreamToken, billing: Self.billing(for: desired, endingOn: CostDay(Date())))
        ).start()
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.desiredDirectory = desired
        configuration.policiesDirectory = policies
        configuration.dataDirectory = demoRoot
        configuration.environment = ProcessInfo.processInfo.environment.merging(
            ["DATABRICKS_HOST": fake.url, "DATABRICKS_TOKEN": upstreamToken, "DATABRICKS_WAREHOUSE_ID": "fake-warehouse"]) { _, demo in demo }
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
                        Cost, every source (after a rollup): curl -s \(base)/api/cost -H "Authorization: Bearer \(key.secret)"
                        \(approver.map { """

                        Approver \($0.email), personal credential (shown once): \($0.secret)
                          Dashboard: \(base)/ (log in with that credential)
                          curl -s \(base)/api/admin/approvals -H "Authorization: Bearer \($0.secret)"
                          ASGARD_PERSON_KEY=\($0.secret) asgard approvals approve <id> --data-dir \(store.directory)/demo
                          Roll up the last 7 days of spend: curl -s -X POST \(base)/api/cost/rollup -H "Authorization: Bearer \($0.secret)"
                        """ } ?? "")
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

    /// The fake's billing history: the last 30 days of DBUs for each Databricks resource and
    /// serving endpoint of the demo's desired state, tagged with its project as Asgard's modules
    /// tag them (a demo's stand-in for what those resources would have billed), at the fake's
    /// default list prices. SQL warehouses use 12 DBU a day, serving endpoints 24, jobs 8.
    static func billing(for desired: String, endingOn day: CostDay) -> FakeBillingSeed {
        let state = DesiredStateLoader().load(directory: desired).state
        let objects = state.resources.values.map(DesiredObject.resource) + state.servingEndpoints.values.map(DesiredObject.servingEndpoint)
        let resources = objects.sorted { $0.ref.description < $1.ref.description }.compactMap { object -> FakeBilledResource? in
            guard let name = object.provisionerName, state.provisionable[name]?.vendor == "databricks", let project = object.projectID else { return nil }
            return switch name {
            case "databricks-sql-warehouse":
                FakeBilledResource(project: project, name: object.ref.id, kind: .sqlWarehouse, skuName: "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST", dailyQuantity: "12")
            case "databricks-model-serving":
                FakeBilledResource(project: project, name: object.ref.id, kind: .servingEndpoint, skuName: FakeListPrice.servingSKU, dailyQuantity: "24")
            case "databricks-job":
                FakeBilledResource(project: project, name: object.ref.id, kind: .job, skuName: "PREMIUM_JOBS_COMPUTE", dailyQuantity: "8")
            default: nil
            }
        }
        return FakeBillingSeed(resources: resources, from: day.adding(days: -29).description, to: day.description, granularity: .daily)
    }

    /// A fresh personal credential for the first approver (by email) of a project with a
    /// human-tier request, written over that Person's credential in the demo's copy, so the
    /// demo's approvals can be decided; nil when no such approver is a person there.
    static func mintApproverCredential(in desired: String) throws -> (email: String, secret: String)? {
        let state = DesiredStateLoader().load(directory: desired).state
        // Approvers of the projects that have something to approve.
        let asking = Set(state.objects.filter { state.tier(of: $0) == .human }.compactMap(\.projectID))
        let approvers = Set(state.projects.values.filter { asking.contains($0.id) }.flatMap(\.approvers))
        guard let person = state.people.values.filter({ approvers.contains($0.email) }).min(by: { $0.email < $1.email }),
            let file = FileManager.default.enumerator(atPath: desired)?.compactMap({ $0 as? String })
                .first(where: { (try? String(contentsOfFile: desired + "/" + $0, encoding: .utf8))?.contains("sha256:" + person.credential) == true })
        else { return nil }
        let credential = VirtualKey.generate(prefix: VirtualKey.personPrefix)
        let path = desired + "/" + file
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "sha256:" + person.credential, with: credential.digest)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return (person.email, credential.secret)
    }
}
