import AsgardTestSupport
import Foundation
import Testing

/// `asgard kill` and `unkill` decide through Cedar like the admin API, under the policy set the
/// controller enforces (recorded in the store), and check their arguments alike.
@Suite struct KillCommandTests {
    let root: String
    init() throws { root = try makeTemporaryDirectory("kill-command") }

    /// One `reconcile --once` of the shipped desired state under `policies`: what it records as
    /// the enforced policy set.
    func enforce(_ policies: String) async throws {
        let desired = FileManager.default.fileExists(atPath: root + "/desired") ? root + "/desired" : try copyShippedDesired(into: root)
        let pass = try await asgardDetached(["reconcile", "--once", desired, "--policies", policies, "--data-dir", root + "/data"])
        #expect(pass.status == 0, "\(pass.output)")
    }

    @Test func aCedarForbidInTheEnforcedPoliciesRefusesTheCLIAndIsAudited() async throws {
        let policies = root + "/policies"
        try FileManager.default.copyItem(atPath: packageRoot + "/policies", toPath: policies)
        try """
        @id("freeze-fraud-switches")
        forbid (principal, action == Action::"kill", resource == Project::"fraud-detection");
        """.write(toFile: policies + "/freeze.cedar", atomically: true, encoding: .utf8)
        try await enforce(policies)
        let order = ["kill", "--scope", "project", "--id", "fraud-detection", "--reason", "drill", "--by", "ops", "--data-dir", root + "/data"]
        let refused = try await asgardDetached(order)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("refused: Cedar denied kill for User::\"ops\": forbidden by freeze-fraud-switches"), "\(refused.output)")
        let tail = try await asgardDetached(["audit", "tail", "--json", "--data-dir", root + "/data"])
        #expect(tail.stdout.contains("kill.engage") && tail.stdout.contains("denied") && tail.stdout.contains("freeze-fraud-switches"))
        #expect(tail.stdout.contains("policy.enforce"), "the enforced policy set is audited")
        // No directory of the caller's choosing decides: the option is gone.
        let permissive = try await asgardDetached(order + ["--policies", packageRoot + "/policies"])
        #expect(permissive.status == 2 && permissive.stderr.contains("--policies"), "\(permissive.output)")
        // Another project is not frozen.
        #expect(
            try await asgardDetached(["kill", "--scope", "project", "--id", "marketing-copy", "--reason", "drill", "--by", "ops", "--data-dir", root + "/data"])
                .status == 0)
        // Once the controller enforces the shipped policies, the same order passes.
        try await enforce(packageRoot + "/policies")
        #expect(try await asgardDetached(order).status == 0)
    }

    @Test func beforeAnyPolicySetIsEnforcedNothingIsDecided() async throws {
        _ = try await asgardDetached(["reconcile", "--once", try copyShippedDesired(into: root), "--policies", root + "/none", "--data-dir", root + "/data"])
        let refused = try await asgardDetached(["kill", "--scope", "global", "--reason", "drill", "--by", "ops", "--data-dir", root + "/data"])
        #expect(refused.status == 1 && refused.stderr.contains("no enforced policy set is recorded in this store"), "\(refused.output)")
    }

    @Test func withoutAnOperatorTheShippedPoliciesRefuse() async throws {
        try await enforce(packageRoot + "/policies")
        let refused = try await asgardDetached(["kill", "--scope", "global", "--reason", "drill", "--data-dir", root + "/data"])
        #expect(refused.status == 1 && refused.stderr.contains("an operator with no identity (give --by)"), "\(refused.output)")
        let engaged = try await asgardDetached(["kill", "--scope", "global", "--reason", "drill", "--by", "ops", "--data-dir", root + "/data"])
        #expect(engaged.status == 0 && engaged.stdout.contains("kill switch engaged: global (drill)"), "\(engaged.output)")
        #expect(try await asgardDetached(["unkill", "--scope", "global", "--data-dir", root + "/data"]).status == 1)
        #expect(
            try await asgardDetached(["unkill", "--scope", "global", "--by", "ops", "--data-dir", root + "/data"]).stdout.contains(
                "kill switch released: global"))
        let again = try await asgardDetached(["unkill", "--scope", "global", "--by", "ops", "--data-dir", root + "/data"])
        #expect(again.status == 1 && again.stderr.contains("no kill switch is engaged for global"))
    }

    @Test(arguments: [
        (["kill", "--scope", "galaxy", "--reason", "r"], "--scope must be one of global, vendor, model, project, key"),
        (["unkill", "--scope", "galaxy"], "--scope must be one of global, vendor, model, project, key"),
        (["unkill", "--scope", "global", "--id", "x"], "a global switch takes no --id"),
        (["unkill", "--scope", "project"], "--id is required for project"),
        (["kill", "--scope", "key", "--id", "k", "--reason", " "], "--reason must not be empty"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], message: String) async throws {
        let result = try await asgardDetached(arguments + ["--by", "ops", "--data-dir", root + "/data"])
        #expect(result.status == 2 && result.stderr.contains(message), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: root + "/data/asgard.sqlite"))
    }
}
