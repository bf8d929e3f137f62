import AsgardController
import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

/// Timeouts, kills, credential scrubbing and the explicit environment, with fault modules.
@Suite(.serialized)
struct ConnectorHygieneTests {
    @Test func timeoutKillsTerraformAndItsChildren() async throws {
        let world = try TerraformWorld()
        let request = world.request(module: "sleeping", parameters: ["pid_dir": .string(world.scratch)])
        let plan = try await world.connector().plan(request)

        let started = ContinuousClock.now
        await #expect(throws: TerraformError.timedOut(step: .apply, after: .seconds(4))) {
            try await world.connector(timeout: .seconds(4)).apply(request, planDigest: plan.digest)
        }
        let elapsed = ContinuousClock.now - started
        // Well before the module's 120 s sleep would end: the timeout cut it short (the bound is
        // loose on purpose, so a loaded machine cannot fail it).
        #expect(elapsed < .seconds(90), "apply returned after \(elapsed)")

        let shell = try #require(try await waitForPid(world.scratch + "/shell.pid", within: 1))
        let sleeper = try #require(try await waitForPid(world.scratch + "/sleep.pid", within: 1))
        // Orphans are reaped by init a moment later; neither may still be running.
        try await Task.sleep(for: .milliseconds(500))
        #expect(!isRunning(shell), "local-exec shell \(shell) survived the timeout")
        #expect(!isRunning(sleeper), "local-exec child \(sleeper) survived the timeout")
        // The lock was released.
        #expect(!FileManager.default.fileExists(atPath: world.workspace() + "/.asgard.lock"))
    }

    @Test func cancellingThePassTerminatesTerraformAndItsChildren() async throws {
        let world = try TerraformWorld()
        let request = world.request(module: "sleeping", parameters: ["pid_dir": .string(world.scratch)])
        let plan = try await world.connector().plan(request)
        let connector = world.connector()
        let pass = Task { try await connector.apply(request, planDigest: plan.digest) }
        let sleeper = try #require(try await waitForPid(world.scratch + "/sleep.pid"))
        let shell = try #require(try await waitForPid(world.scratch + "/shell.pid"))
        pass.cancel()
        await #expect(throws: TerraformError.cancelled(step: .apply)) { try await pass.value }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!isRunning(shell))
        #expect(!isRunning(sleeper))
        #expect(!FileManager.default.fileExists(atPath: world.workspace() + "/.asgard.lock"))
    }

    @Test func applyKilledMidWayNeverFinishesItsWork() async throws {
        let world = try TerraformWorld()
        let counter = world.scratch + "/counter"
        let request = world.request(module: "counter", parameters: ["counter_file": .string(counter), "sleep_seconds": .number("8")])
        let plan = try await world.connector().plan(request)

        await #expect(throws: TerraformError.timedOut(step: .apply, after: .seconds(4))) {
            try await world.connector(timeout: .seconds(4)).apply(request, planDigest: plan.digest)
        }
        // Past the moment the killed command would have written "finished". (On a loaded
        // machine terraform may be killed before the command even started: no file then.)
        try await Task.sleep(for: .seconds(7))
        let written = (try? String(contentsOfFile: counter, encoding: .utf8)) ?? ""
        #expect(written == "started\n" || written.isEmpty, "\(written)")

        // The workspace is usable again: a new pass plans (the interrupted instance is
        // tainted or absent, so the plan creates or replaces it).
        let again = try await world.connector().plan(request)
        #expect(!again.changesNothing)
    }

    @Test func failingModuleErrorIsScrubbedAndNothingOnDiskHoldsTheToken() async throws {
        let world = try TerraformWorld()
        let request = world.request(module: "failing")
        let plan = try await world.connector().plan(request)

        let error = await #expect(throws: TerraformError.self) {
            try await world.connector().apply(request, planDigest: plan.digest)
        }
        guard case .exited(let step, let status, let output)? = error else {
            Issue.record("expected exited, got \(String(describing: error))")
            return
        }
        #expect(step == .apply)
        #expect(status == 1)
        #expect(output.contains("token is [REDACTED:DATABRICKS_TOKEN]"))
        #expect(output.contains("stdout token [REDACTED:DATABRICKS_TOKEN]"))
        #expect(!output.contains(world.sentinel))
        #expect(!String(describing: error).contains(world.sentinel))
        #expect(world.filesContaining(world.sentinel).isEmpty, "files holding the token: \(world.filesContaining(world.sentinel))")
        // Nor do terraform's per-command temporary directories (they are removed after each command).
        let temporaries = ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("asgard-tf-") }
        for directory in temporaries {
            #expect(world.filesContaining(world.sentinel, under: "/tmp/" + directory).isEmpty)
        }

        // Destroying the half-made workspace neither leaks it.
        try await world.connector().destroy(request.ref)
        #expect(!FileManager.default.fileExists(atPath: world.workspace()))
        #expect(world.filesContaining(world.sentinel).isEmpty)
    }

    @Test func terraformSeesOnlyTheExplicitEnvironment() async throws {
        let world = try TerraformWorld()
        let dump = world.scratch + "/env.txt"
        let request = world.request(module: "env", parameters: ["env_file": .string(dump)])
        let plan = try await world.connector().plan(request)
        _ = try await world.connector().apply(request, planDigest: plan.digest)

        let text = try String(contentsOfFile: dump, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dump)  // it holds the sentinel
        var variables: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        let connectorSets: Set<String> = [
            "PATH", "HOME", "TMPDIR", "TF_CLI_CONFIG_FILE", "TF_IN_AUTOMATION", "TF_INPUT",
            "CHECKPOINT_DISABLE", "DATABRICKS_HOST", "DATABRICKS_TOKEN",
        ]
        // Added below the connector: terraform 1.0's panicwrap re-exec (TF_TEMP_LOG_PATH,
        // TF_PANICWRAP_STDERR) and the local-exec shell (PWD, SHLVL, _, OLDPWD).
        let addedBelow: Set<String> = ["TF_TEMP_LOG_PATH", "TF_PANICWRAP_STDERR", "PWD", "SHLVL", "_", "OLDPWD"]
        let unexpected = Set(variables.keys).subtracting(connectorSets).subtracting(addedBelow)
        #expect(unexpected.isEmpty, "variables outside the allowed list: \(unexpected.sorted())")
        #expect(variables["DATABRICKS_TOKEN"] == world.sentinel)
        #expect(variables["HOME"] == world.dataDirectory + "/terraform/.home")
        let temporary = try #require(variables["TMPDIR"])
        #expect(temporary.hasPrefix("/tmp/asgard-tf-"))
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(variables["TF_IN_AUTOMATION"] == "1")
        #expect(variables["TF_INPUT"] == "0")
        #expect(variables["CHECKPOINT_DISABLE"] == "1")
        #expect(variables["UNRELATED_SECRET"] == nil)
        #expect(variables["TF_LOG"] == nil)
        #expect(variables["TF_TEMP_LOG_PATH"].map { $0.hasPrefix(temporary + "/") } ?? true)
        #expect(world.filesContaining(world.sentinel).isEmpty)
    }
}
