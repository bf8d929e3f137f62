import AsgardCore
import AsgardJSON
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

struct ConfigurationTests {
    /// A module root with (optionally) a bundled terraform and terraformrc, and a PATH
    /// directory with (optionally) terraform and tofu.
    struct Layout {
        let root: String
        let bin: String

        init(bundled: Bool, rc: Bool, onPath: [String], _ name: String = #function) throws {
            root = try makeTemporaryDirectory(name)
            bin = root + "/path-bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            if bundled { try Self.executable(root + "/.tools/terraform/bin/terraform") }
            if rc { try "disable_checkpoint = true\n".write(toFile: root + "/.tools/terraform/terraformrc", atomically: true, encoding: .utf8) }
            for name in onPath { try Self.executable(bin + "/" + name) }
        }

        static func executable(_ path: String) throws {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "#!/bin/sh\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(chmod(path, 0o755) == 0)
        }

        func resolve(_ environment: [String: String]) throws(TerraformError) -> TerraformConfiguration {
            var environment = environment
            environment["PATH"] = environment["PATH"] ?? "/nonexistent:\(bin)"
            return try TerraformConfiguration.resolve(environment: environment, dataDirectory: root + "/data", moduleRoot: root)
        }
    }

    @Test func explicitBinaryWins() throws {
        let layout = try Layout(bundled: true, rc: true, onPath: ["terraform", "tofu"])
        #expect(try layout.resolve(["ASGARD_TERRAFORM_BIN": layout.bin + "/tofu"]).binary == layout.bin + "/tofu")
        #expect(try layout.resolve(["ASGARD_TERRAFORM_BIN": "tofu"]).binary == layout.bin + "/tofu")
    }

    @Test func explicitBinaryThatDoesNotExistIsAnErrorNotAFallback() throws {
        let layout = try Layout(bundled: true, rc: true, onPath: ["terraform"])
        #expect(throws: TerraformError.binaryNotFound(searched: ["ASGARD_TERRAFORM_BIN=/no/such/terraform"])) {
            try layout.resolve(["ASGARD_TERRAFORM_BIN": "/no/such/terraform"])
        }
    }

    @Test func bundledBinaryAndItsCLIConfiguration() throws {
        let layout = try Layout(bundled: true, rc: true, onPath: ["terraform"])
        let configuration = try layout.resolve([:])
        #expect(configuration.binary == layout.root + "/.tools/terraform/bin/terraform")
        #expect(configuration.cliConfigFile == layout.root + "/.tools/terraform/terraformrc")
        #expect(configuration.moduleRoot == layout.root)
        #expect(configuration.dataDirectory == layout.root + "/data")
        #expect(configuration.stepTimeout == TerraformConfiguration.defaultStepTimeout)
    }

    @Test func environmentCLIConfigurationWins() throws {
        let layout = try Layout(bundled: true, rc: true, onPath: [])
        #expect(try layout.resolve(["TF_CLI_CONFIG_FILE": "/etc/terraformrc"]).cliConfigFile == "/etc/terraformrc")
    }

    @Test(arguments: [(["terraform", "tofu"], "terraform"), (["tofu"], "tofu")])
    func pathSearchPrefersTerraformThenTofu(onPath: [String], expected: String) throws {
        let layout = try Layout(bundled: false, rc: false, onPath: onPath)
        let configuration = try layout.resolve([:])
        #expect(configuration.binary == layout.bin + "/" + expected)
        #expect(configuration.cliConfigFile == nil)
    }

    @Test func nothingFoundNamesEveryPlaceSearched() throws {
        let layout = try Layout(bundled: false, rc: false, onPath: [])
        let expected = TerraformError.binaryNotFound(searched: [layout.root + "/.tools/terraform/bin/terraform", "terraform on PATH", "tofu on PATH"])
        #expect(throws: expected) { try layout.resolve([:]) }
        #expect(expected.description.contains("ASGARD_TERRAFORM_BIN"))
        #expect(expected.description.contains("make setup"))
    }

    @Test func printingAConfigurationOrConnectorShowsVariableNamesNotValues() {
        let configuration = TerraformConfiguration(
            binary: "/bin/terraform", cliConfigFile: nil, dataDirectory: "/data", moduleRoot: "/repo",
            environment: ["DATABRICKS_TOKEN": "dapi-SENTINEL-print", "PATH": "/bin"])
        let connector = TerraformConnector(configuration: configuration)
        for text in [
            String(describing: configuration), String(reflecting: configuration), String(describing: connector), String(reflecting: connector),
        ] {
            #expect(!text.contains("dapi-SENTINEL-print"), "\(text)")
            #expect(text.contains("DATABRICKS_TOKEN"), "\(text)")
        }
    }

    @Test func workspacePaths() throws {
        let workspace = try Workspace(ObjectRef(.servingEndpoint, "fraud-triage"), dataDirectory: "/data")
        #expect(workspace.directory == "/data/terraform/ServingEndpoint/fraud-triage")
        #expect(workspace.lock == "/data/terraform/ServingEndpoint/fraud-triage/.asgard.lock")
        #expect(Workspace.planFile(String(repeating: "a", count: 64)) == "plans/\(String(repeating: "a", count: 64)).tfplan")
        for bad in ["", ".", "..", "a/b"] {
            #expect(throws: TerraformError.self) { try Workspace(ObjectRef(.resource, bad), dataDirectory: "/data") }
        }
        #expect(Workspace.isDigest(String(repeating: "0f", count: 32)))
        #expect(!Workspace.isDigest(String(repeating: "0F", count: 32)))
        #expect(!Workspace.isDigest(String(repeating: "0", count: 63)))
    }

    @Test func workspaceRecordRoundTripsNamesOnly() throws {
        let record = WorkspaceRecord(
            ref: ObjectRef(.resource, "fraud-features"), project: "fraud-detection",
            module: "modules/databricks/uc-volume", environmentNames: ["DATABRICKS_TOKEN", "DATABRICKS_HOST"])
        let text = CanonicalJSON.pretty(record.json)
        let read = try WorkspaceRecord(bytes: Array(text.utf8), path: "asgard-workspace.json")
        #expect(read.ref == record.ref)
        #expect(read.project == record.project)
        #expect(read.module == record.module)
        #expect(read.environmentNames == ["DATABRICKS_HOST", "DATABRICKS_TOKEN"])
        #expect(throws: TerraformError.self) { try WorkspaceRecord(bytes: Array(#"{"kind":"Nope"}"#.utf8), path: "r") }
    }

    @Test func everyErrorSaysWhatHappened() {
        let errors: [TerraformError] = [
            .exited(step: .apply, status: 1, output: "Error: boom"), .timedOut(step: .plan, after: .seconds(5)),
            .killed(step: .apply, signal: 9), .planNotSaved(digest: "abc"), .stalePlan(digest: String(repeating: "a", count: 64), reason: "r"),
            .workspaceBusy(pid: 12), .workspaceBusy(pid: 0), .invalidPlanJSON("x"), .launchFailed(step: .initialize, reason: "ENOENT"),
        ]
        #expect(
            errors.map(\.description) == [
                "terraform apply failed with exit status 1:\nError: boom",
                "terraform plan timed out after 5.0 seconds; it and its child processes were terminated",
                "terraform apply was killed by signal 9",
                "no saved plan with digest abc in this workspace: plan first; nothing was applied",
                "saved plan aaaaaaaaaaaa is stale (r); nothing was applied: plan again",
                "the terraform workspace is busy: process 12 holds its lock",
                "the terraform workspace is busy: another pass is taking its lock",
                "terraform show -json printed an unreadable plan: x",
                "terraform init could not be started: ENOENT",
            ])
    }
}
