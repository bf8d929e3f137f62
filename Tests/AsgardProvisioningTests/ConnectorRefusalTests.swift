import AsgardController
import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

/// What the connector refuses, and that a refusal applies nothing.
@Suite(.serialized)
struct ConnectorRefusalTests {
    @Test func unknownDigestFailsAndRunsNothing() async throws {
        let world = try TerraformWorld()
        let request = world.request()
        _ = try await world.connector().plan(request)

        // A connector whose "terraform" only records that it ran: apply must not start it.
        let marker = world.scratch + "/ran"
        let spy = world.scratch + "/terraform-spy"
        try "#!/bin/sh\ntouch \(marker)\nexit 1\n".write(toFile: spy, atomically: true, encoding: .utf8)
        #expect(chmod(spy, 0o755) == 0)
        var configuration = world.configuration
        configuration.binary = spy
        let spying = TerraformConnector(configuration: configuration)

        let unknown = String(repeating: "ab", count: 32)
        for digest in [unknown, "../../../etc/passwd", "", String(repeating: "AB", count: 32)] {
            await #expect(throws: TerraformError.planNotSaved(digest: digest)) {
                try await spying.apply(request, planDigest: digest)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try world.connector().state(of: request.ref) == nil)
        // No workspace at all: the same refusal.
        await #expect(throws: TerraformError.planNotSaved(digest: unknown)) {
            try await spying.apply(world.request("never-planned"), planDigest: unknown)
        }
        // A workspace that was planned but never applied manages nothing: destroying it
        // removes it without running terraform.
        try await spying.destroy(request.ref)
        #expect(!FileManager.default.fileExists(atPath: world.workspace()))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func planMadeAgainstNoStateIsRefusedOnceAFailedApplyWroteState() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let waiting = try await connector.plan(world.request(parameters: ["size": .number("1")]))

        // Another pass in the same workspace fails half-way: its instance is created (tainted)
        // before its provisioner fails, so the state changed; the waiting plan is kept.
        let failing = try await connector.plan(world.request(module: "failing"))
        await #expect {
            try await connector.apply(world.request(module: "failing"), planDigest: failing.digest)
        } throws: { error in
            guard case TerraformError.exited(.apply, 1, _) = error else { return false }
            return true
        }
        let stateBefore = try #require(try connector.state(of: world.request().ref))
        #expect(FileManager.default.fileExists(atPath: world.workspace() + "/plans/\(waiting.digest).tfplan"))

        // terraform 1.0.3 itself would apply this plan (its staleness check needs a prior
        // state) and orphan the instance the failed pass created; the connector refuses it.
        await #expect(throws: TerraformError.stalePlan(digest: waiting.digest, reason: "it was made against no state, and the workspace has one now"))
        {
            try await connector.apply(world.request(parameters: ["size": .number("1")]), planDigest: waiting.digest)
        }
        #expect(try connector.state(of: world.request().ref) == stateBefore)
    }

    @Test func planMadeBeforeAnotherApplyIsRefusedByTheConnectorAndByTerraform() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let plans = world.workspace() + "/plans"
        let first = try await connector.plan(world.request(parameters: ["size": .number("1")]))
        _ = try await connector.apply(world.request(parameters: ["size": .number("1")]), planDigest: first.digest)

        // Planned against the state of the first apply, then kept aside: the next apply clears it.
        let old = try await connector.plan(world.request(parameters: ["size": .number("6")]))
        for suffix in ["tfplan", "prior"] {
            try FileManager.default.copyItem(atPath: "\(plans)/\(old.digest).\(suffix)", toPath: "\(world.scratch)/old.\(suffix)")
        }
        let newer = try await connector.plan(world.request(parameters: ["size": .number("7")]))
        _ = try await connector.apply(world.request(parameters: ["size": .number("7")]), planDigest: newer.digest)
        #expect(!FileManager.default.fileExists(atPath: "\(plans)/\(old.digest).tfplan"))
        let stateAfterNewer = try #require(try connector.state(of: world.request().ref))
        for suffix in ["tfplan", "prior"] {
            try FileManager.default.copyItem(atPath: "\(world.scratch)/old.\(suffix)", toPath: "\(plans)/\(old.digest).\(suffix)")
        }

        // The connector's own check: the state changed after the plan was made.
        await #expect(throws: TerraformError.stalePlan(digest: old.digest, reason: "the state changed after it was made")) {
            try await connector.apply(world.request(parameters: ["size": .number("6")]), planDigest: old.digest)
        }

        // With the recorded prior state forged to match, terraform's own check refuses it.
        let current = PriorState(stateBytes: WorkspaceFiles.read(world.workspace() + "/terraform.tfstate"))
        try WorkspaceFiles.write(current.recorded + "\n", to: "\(plans)/\(old.digest).prior")
        await #expect(throws: TerraformError.stalePlan(digest: old.digest, reason: "terraform: the state changed after the plan was made")) {
            try await connector.apply(world.request(parameters: ["size": .number("6")]), planDigest: old.digest)
        }
        #expect(try connector.state(of: world.request().ref) == stateAfterNewer)
        #expect(try await connector.plan(world.request(parameters: ["size": .number("7")])).changesNothing)
    }

    @Test func liveLockRefusesAndDeadLockIsTakenOver() async throws {
        let world = try TerraformWorld()
        let lockPath = world.workspace() + "/.asgard.lock"
        try FileManager.default.createDirectory(atPath: world.workspace(), withIntermediateDirectories: true)

        // A lock held by a live process (this one): busy, and the lock is left alone.
        let live = LockRecord(pid: getpid(), processStart: ProcessInspector.startTime(of: getpid()), acquiredAt: "2025-01-01T00:00:00Z")
        try live.text.write(toFile: lockPath, atomically: true, encoding: .utf8)
        await #expect(throws: TerraformError.workspaceBusy(pid: getpid())) {
            try await world.connector().plan(world.request())
        }
        #expect(try String(contentsOfFile: lockPath, encoding: .utf8) == live.text)

        // A lock left by a process that has exited: taken over, reported, released after the pass.
        let finished = ChildProcess()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        await finished.exited()
        let deadPid = finished.processIdentifier
        let dead = LockRecord(pid: deadPid, processStart: nil, acquiredAt: "2025-01-01T00:00:00Z")
        try dead.text.write(toFile: lockPath, atomically: true, encoding: .utf8)
        let events = EventLog()
        let plan = try await world.connector(onEvent: { events.append($0) }).plan(world.request())
        #expect(!plan.resources.isEmpty)
        let recorded = events.all
        #expect(recorded.count == 1)
        if case .staleLockRemoved(let workspace, let pid, let reason)? = recorded.first {
            #expect(workspace == world.workspace())
            #expect(pid == deadPid)
            #expect(reason.contains("no longer exists"))
        }
        #expect(!FileManager.default.fileExists(atPath: lockPath))
    }

    @Test func concurrentPassesOnOneWorkspaceRunOneAtATime() async throws {
        let world = try TerraformWorld()
        let connector = world.connector()
        let request = world.request()
        async let first = attempt { try await connector.plan(request) }
        async let second = attempt { try await connector.plan(request) }
        let results = await [first, second]
        // Busy names this process, or nobody yet (pid 0) when the other pass had created the
        // lock file but not yet written its record.
        let busy = results.filter {
            if case .failure(let error) = $0, case TerraformError.workspaceBusy(let pid) = error { return pid == getpid() || pid == 0 }
            return false
        }
        let planned = results.compactMap { try? $0.get() }
        // Either they did not overlap (both planned, same digest), or one was refused as busy.
        #expect(planned.count + busy.count == 2, "\(results)")
        #expect(Set(planned.map(\.digest)).count == 1)
        #expect(!FileManager.default.fileExists(atPath: world.workspace() + "/.asgard.lock"))
    }

    @Test func missingModuleIsNamed() async throws {
        let world = try TerraformWorld()
        await #expect {
            try await world.connector().plan(world.request(module: "does-not-exist"))
        } throws: { error in
            guard case TerraformError.moduleNotFound(let module, _) = error else { return false }
            return module.hasSuffix("null/does-not-exist")
        }
        #expect(!FileManager.default.fileExists(atPath: world.workspace()))
    }

    /// With the state in PostgreSQL, a workspace this replica never planned has an unread
    /// state, not a missing one (drift would have its resources replaced); one it read and
    /// found empty has none. The local backend's missing state is none.
    @Test func aSharedStateNeverReadHereIsUnknownNotMissing() throws {
        let world = try TerraformWorld()
        let ref = world.request().ref
        #expect(try world.connector().state(of: ref) == nil)
        var configuration = world.configuration
        configuration.stateBackend = .postgres(connection: "postgres://asgard@127.0.0.1:1/none", password: nil)
        let shared = TerraformConnector(configuration: configuration)
        #expect(throws: TerraformError.sharedStateNotReadHere(ref: ref.description)) { try shared.state(of: ref) }
        let workspace = try Workspace(ref, dataDirectory: configuration.dataDirectory)
        try FileManager.default.createDirectory(atPath: workspace.directory, withIntermediateDirectories: true)
        try "".write(toFile: workspace.directory + "/asgard-state.json", atomically: true, encoding: .utf8)
        #expect(try shared.state(of: ref) == nil)
    }
}

/// Events a connector reported, collected across tasks.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [TerraformEvent] = []

    func append(_ event: TerraformEvent) { lock.withLock { events.append(event) } }
    var all: [TerraformEvent] { lock.withLock { events } }
}

/// The outcome of `body`, thrown errors included.
func attempt<Success>(_ body: () async throws -> Success) async -> Result<Success, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}
