import AsgardController
import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

/// The fixtures of this test target.
let fixtures = packageRoot + "/Tests/AsgardProvisioningTests/Fixtures"

/// A fixture module's `module:` path, relative to the package root (the tests' module root).
func fixtureModule(_ name: String) -> String { "Tests/AsgardProvisioningTests/Fixtures/modules/null/\(name)" }

/// The bytes of a fixture file.
func fixtureBytes(_ name: String) throws -> [UInt8] {
    try Array(Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name)))
}

/// Why an integration test cannot run: said plainly, and a failure rather than a skip.
struct MissingTerraform: Error, CustomStringConvertible {
    var reason: String
    var description: String {
        "the integration tests need the real terraform binary: \(reason). Run `make setup` (it installs terraform and the null provider mirror into .tools/terraform), or set ASGARD_TERRAFORM_BIN."
    }
}

/// One integration test's world: a fresh data directory, a sentinel credential, and terraform
/// found the way Asgard finds it (`TerraformConfiguration.resolve` with the package root as
/// module root).
struct TerraformWorld {
    let dataDirectory: String
    /// Scratch space outside the data directory (pid files, env dumps, counters).
    let scratch: String
    /// The fake Databricks token injected into the connector's environment.
    let sentinel: String
    let environment: [String: String]
    let configuration: TerraformConfiguration

    init(_ name: String = #function, timeout: Duration = .seconds(120)) throws {
        dataDirectory = try makeTemporaryDirectory(name)
        scratch = try makeTemporaryDirectory(name + "scratch")
        sentinel = "dapi-SENTINEL-\(UUID().uuidString.prefix(12).lowercased())"
        let process = ProcessInfo.processInfo.environment
        var environment: [String: String] = [
            "PATH": process["PATH"] ?? "/usr/bin:/bin",
            "DATABRICKS_TOKEN": sentinel,
            "DATABRICKS_HOST": "https://adb-000.azuredatabricks.example",
            "UNRELATED_SECRET": "must-never-reach-terraform",
            "HOME": "/root",
            "TF_LOG": "TRACE",
        ]
        if let chosen = process["ASGARD_TERRAFORM_BIN"] { environment["ASGARD_TERRAFORM_BIN"] = chosen }
        self.environment = environment
        do {
            configuration = try TerraformConfiguration.resolve(
                environment: environment, dataDirectory: dataDirectory,
                moduleRoot: packageRoot, stepTimeout: timeout, killGrace: .seconds(2))
        } catch {
            throw MissingTerraform(reason: "\(error)")
        }
        if configuration.binary.hasSuffix("/.tools/terraform/bin/terraform"), configuration.cliConfigFile == nil {
            throw MissingTerraform(reason: "\(configuration.binary) exists but .tools/terraform/terraformrc (the provider mirror) does not")
        }
    }

    /// The connector, optionally with another step timeout.
    func connector(timeout: Duration? = nil, onEvent: @escaping @Sendable (TerraformEvent) -> Void = { _ in }) -> TerraformConnector {
        var configuration = configuration
        if let timeout { configuration.stepTimeout = timeout }
        return TerraformConnector(configuration: configuration, onEvent: onEvent)
    }

    /// A request for fixture module `module`.
    func request(
        _ id: String = "widget", module: String = "basic", parameters: [String: ParameterValue] = [:],
        replaceTypes: Set<String> = []
    ) -> ProvisioningRequest {
        let service = ProvisionableService(
            name: "null-\(module)", module: fixtureModule(module), tier: .auto,
            classificationFloor: .public, monthlyEstimate: MicroDollars(0),
            tagLocations: [TagLocation(resourceType: "null_resource", path: ["triggers"], format: .map)])
        return ProvisioningRequest(
            ref: ObjectRef(.resource, id), project: "fraud-detection", name: id, service: service,
            parameters: parameters, extraTags: ["owner": "maria"],
            environmentNames: ["DATABRICKS_HOST", "DATABRICKS_TOKEN"], replaceTypes: replaceTypes)
    }

    /// The workspace directory of resource `id`.
    func workspace(_ id: String = "widget") -> String { dataDirectory + "/terraform/Resource/\(id)" }

    /// Every regular file under the data directory whose bytes contain `needle`.
    func filesContaining(_ needle: String) -> [String] {
        filesContaining(needle, under: dataDirectory)
    }

    func filesContaining(_ needle: String, under root: String) -> [String] {
        var found: [String] = []
        let needleBytes = Data(needle.utf8)
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        while let relative = enumerator.nextObject() as? String {
            let path = root + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            if data.range(of: needleBytes) != nil { found.append(relative) }
        }
        return found
    }
}

/// Whether process `pid` is running (a zombie waiting for its parent counts as gone).
func isRunning(_ pid: Int32) -> Bool {
    guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
    let line = String(decoding: stat, as: UTF8.self)
    guard let close = line.lastIndex(of: ")") else { return false }
    let state = line[line.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
}

/// The PID written in `path`, once it appears (local-exec writes it a moment after apply starts).
func waitForPid(_ path: String, within seconds: Double = 60) async throws -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let data = FileManager.default.contents(atPath: path),
            let pid = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return pid
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}

/// A string of a JSON value, or nil.
extension ProvisioningOutputs {
    func string(_ name: String) -> String? {
        if case .string(let text)? = values[name] { return text }
        return nil
    }
}
