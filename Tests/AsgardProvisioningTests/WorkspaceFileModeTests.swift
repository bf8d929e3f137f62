import AsgardController
import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

/// Plans and state may hold whatever a provider reads back: the connector keeps them private to
/// its user whatever the umask (tests run with the usual 022, so terraform itself creates its
/// files 0644). Stat'ed on the real files terraform wrote.
@Suite(.serialized)
struct WorkspaceFileModeTests {
    @Test func plansStateAndWorkspacesArePrivate() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request(parameters: ["size": .number("1")])
        let plan = try await connector.plan(request)
        let workspace = world.workspace()
        var directories = [workspace, workspace + "/plans", world.dataDirectory + "/terraform", world.dataDirectory + "/terraform/Resource"]
        directories.append(world.dataDirectory + "/terraform/.home")
        for directory in directories {
            #expect(permissions(of: directory) == 0o700, "\(directory): \(octal(permissions(of: directory)))")
        }
        let planned = ["main.tf.json", "asgard-workspace.json", "plans/\(plan.digest).tfplan", "plans/\(plan.digest).prior"]
        for file in planned {
            #expect(permissions(of: workspace + "/" + file) == 0o600, "\(file): \(octal(permissions(of: workspace + "/" + file)))")
        }

        _ = try await connector.apply(request, planDigest: plan.digest)
        #expect(FileManager.default.fileExists(atPath: workspace + "/terraform.tfstate"))
        // A second apply makes terraform write a backup of the state too.
        let again = try await connector.plan(world.request(parameters: ["size": .number("2")]))
        _ = try await connector.apply(world.request(parameters: ["size": .number("2")]), planDigest: again.digest)
        for file in ["terraform.tfstate", "terraform.tfstate.backup", "plans/\(again.digest).tfplan"] {
            #expect(permissions(of: workspace + "/" + file) == 0o600, "\(file): \(octal(permissions(of: workspace + "/" + file)))")
        }
        try await connector.destroy(request.ref)
    }

    @Test func theWorkspaceLockIsPrivate() throws {
        let directory = try makeTemporaryDirectory()
        let lock = try WorkspaceLock.acquire(at: directory + "/.asgard.lock")
        defer { lock.release() }
        #expect(permissions(of: directory + "/.asgard.lock") == 0o600)
    }
}
