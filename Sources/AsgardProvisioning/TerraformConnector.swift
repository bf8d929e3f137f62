public import AsgardController
public import AsgardCore
import AsgardJSON
import Foundation

/// Something the connector did that an operator may want in the log.
public enum TerraformEvent: Sendable, Hashable {
    /// A lock left by a process that no longer exists was removed and the lock taken.
    case staleLockRemoved(workspace: String, pid: Int32?, reason: String)
}

/// The universal terraform connector: one workspace per resource at
/// `<data>/terraform/<Kind>/<id>/`, whose generated `main.tf.json` calls the provisionable
/// service's module; the real terraform (>= 1.0) or tofu binary does the work.
///
/// `plan` saves the plan under the SHA-256 of its canonical `show -json`; `apply` applies exactly
/// that saved plan and nothing else; `destroy` works from the workspace alone; `state(of:)` reads
/// the state file without running terraform. Every command runs with an explicit environment,
/// in its own process group, under the per-step timeout, and holding the workspace lock; every
/// byte it prints is scrubbed of the vendor credentials before the connector looks at it.
public struct TerraformConnector: Provisioner {
    public let configuration: TerraformConfiguration
    private let onEvent: @Sendable (TerraformEvent) -> Void

    /// A connector with `configuration`; `onEvent` hears about stale locks it cleared.
    public init(configuration: TerraformConfiguration, onEvent: @escaping @Sendable (TerraformEvent) -> Void = { _ in }) {
        var configuration = configuration
        configuration.dataDirectory = absolutePath(configuration.dataDirectory)
        configuration.moduleRoot = absolutePath(configuration.moduleRoot)
        self.configuration = configuration
        self.onEvent = onEvent
    }

    // MARK: Provisioner

    public func plan(_ request: ProvisioningRequest) async throws -> ProvisioningPlan {
        try await planWorkspace(request)
    }

    public func apply(_ request: ProvisioningRequest, planDigest: String) async throws -> ProvisioningOutputs {
        try await applyWorkspace(request, planDigest: planDigest)
    }

    public func destroy(_ ref: ObjectRef) async throws {
        try await destroyWorkspace(ref, lastApplied: nil)
    }

    public func planDestroy(_ ref: ObjectRef) async throws -> ProvisioningPlan? {
        try await planDestroyWorkspace(ref, lastApplied: nil)
    }

    public func destroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws {
        try await destroyWorkspace(ref, lastApplied: lastApplied)
    }

    public func planDestroy(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws -> ProvisioningPlan? {
        try await planDestroyWorkspace(ref, lastApplied: lastApplied)
    }

    public func applyDestroy(_ ref: ObjectRef, planDigest: String) async throws {
        try await applyDestroyWorkspace(ref, planDigest: planDigest)
    }

    /// The state this replica last saw of `ref`: nil when there is none. With the state in
    /// PostgreSQL, a workspace this replica never planned (another replica applied it) is not
    /// a missing state but an unread one, and throws: taken for drift, it would have the
    /// tagged resources replaced on a new leader's first pass.
    public func state(of ref: ObjectRef) throws -> WorkspaceState? {
        let workspace = try Workspace(ref, dataDirectory: configuration.dataDirectory)
        let path = stateFile(workspace)
        guard let bytes = WorkspaceFiles.read(path) else {
            if case .postgres = configuration.stateBackend { throw TerraformError.sharedStateNotReadHere(ref: ref.description) }
            return nil
        }
        if bytes.isEmpty { return nil }
        return try StateReader.read(bytes, path: path)
    }

    // MARK: Plan

    private func planWorkspace(_ request: ProvisioningRequest) async throws(TerraformError) -> ProvisioningPlan {
        let workspace = try Workspace(request.ref, dataDirectory: configuration.dataDirectory)
        let root = try rootConfiguration(for: request)
        try WorkspaceFiles.makeDirectory(workspace.plans)

        return try await withLock(workspace) { () async throws(TerraformError) -> ProvisioningPlan in
            try write(root, of: request, into: workspace)
            let session = session(in: workspace, environmentNames: request.environmentNames)

            try await session.check(.initialize, ["init", "-input=false", "-no-color"])
            let stateBytes = try await currentState(workspace, session)
            let prior = PriorState(stateBytes: stateBytes)
            var replace: [String] = []
            if !request.replaceTypes.isEmpty, let stateBytes {
                replace = try StateReader.read(stateBytes, path: stateFile(workspace)).instances
                    .filter { request.replaceTypes.contains($0.type) }
                    .map { "-replace=\($0.address)" }
            }
            let pending = "plans/.pending-\(UUID().uuidString).tfplan"
            defer { try? WorkspaceFiles.remove(workspace.path(pending)) }
            try await session.check(.plan, ["plan", "-input=false", "-no-color", "-out=\(pending)"] + lockWait + replace)
            let shown = try await session.check(.show, ["show", "-json", pending])
            guard !shown.stdoutTruncated else { throw .outputTooLarge(step: .show, limit: session.runner.stdoutLimit) }
            let plan = try PlanReader.read(Array(shown.stdout.utf8))
            try WorkspaceFiles.write(prior.recorded + "\n", to: workspace.path(Workspace.priorFile(plan.digest)))
            try WorkspaceFiles.move(workspace.path(pending), to: workspace.path(Workspace.planFile(plan.digest)))
            return plan
        }
    }

    /// The root module that calls `request`'s module with its arguments, over the state backend.
    private func rootConfiguration(for request: ProvisioningRequest) throws(TerraformError) -> JSONValue {
        let moduleDirectory = absolutePath(configuration.moduleRoot + "/" + request.service.module)
        guard WorkspaceFiles.isDirectory(moduleDirectory) else {
            throw .moduleNotFound(module: request.service.module, path: moduleDirectory)
        }
        let outputs = try ModuleOutputScanner.outputs(inModule: moduleDirectory)
        return try RootConfiguration.document(for: request, moduleDirectory: moduleDirectory, outputs: outputs, backend: configuration.stateBackend)
    }

    /// Writes the workspace's root module and its record (called holding the workspace lock).
    private func write(_ root: JSONValue, of request: ProvisioningRequest, into workspace: Workspace) throws(TerraformError) {
        try WorkspaceFiles.write(CanonicalJSON.pretty(root), to: workspace.rootConfiguration)
        let record = WorkspaceRecord(
            ref: request.ref, project: request.project, module: request.service.module, environmentNames: request.environmentNames)
        try WorkspaceFiles.write(CanonicalJSON.pretty(record.json), to: workspace.record)
    }

    // MARK: Apply

    private func applyWorkspace(_ request: ProvisioningRequest, planDigest: String) async throws(TerraformError) -> ProvisioningOutputs {
        let workspace = try Workspace(request.ref, dataDirectory: configuration.dataDirectory)
        let planFile = Workspace.planFile(planDigest)
        guard Workspace.isDigest(planDigest), WorkspaceFiles.exists(workspace.path(planFile)) else {
            throw .planNotSaved(digest: planDigest)
        }
        return try await withLock(workspace) { () async throws(TerraformError) -> ProvisioningOutputs in
            // Checked again under the lock: another pass may have applied and cleared it.
            guard WorkspaceFiles.exists(workspace.path(planFile)) else { throw .planNotSaved(digest: planDigest) }
            let session = session(in: workspace, environmentNames: request.environmentNames)
            try checkFresh(workspace, digest: planDigest, current: try await currentState(workspace, session))

            let applied = try await session.run(.apply, ["apply", "-input=false", "-no-color"] + lockWait + [planFile])
            // What a reader of this replica's workspace sees follows what was applied.
            _ = try? await currentState(workspace, session)
            if applied.status != 0 {
                if StaleOutput.saysStale(applied.tail) {
                    throw .stalePlan(digest: planDigest, reason: "terraform: the state changed after the plan was made")
                }
                throw .exited(step: .apply, status: applied.status, output: applied.tail)
            }
            for name in WorkspaceFiles.list(workspace.plans) where !name.hasPrefix(planDigest + ".") {
                try WorkspaceFiles.remove(workspace.plans + "/" + name)
            }
            let shown = try await session.check(.output, ["output", "-json"])
            guard !shown.stdoutTruncated else { throw .outputTooLarge(step: .output, limit: session.runner.stdoutLimit) }
            return try OutputsReader.read(Array(shown.stdout.utf8))
        }
    }

    /// Refuses a saved plan made against another state than the workspace holds now (the
    /// case terraform 1.0.3 misses when the plan was made against no state at all).
    private func checkFresh(_ workspace: Workspace, digest: String, current stateBytes: [UInt8]?) throws(TerraformError) {
        let priorPath = workspace.path(Workspace.priorFile(digest))
        guard let recorded = WorkspaceFiles.read(priorPath),
            let prior = PriorState(recorded: String(decoding: recorded, as: UTF8.self))
        else {
            throw .stalePlan(digest: digest, reason: "there is no record of the state it was made against")
        }
        let current = PriorState(stateBytes: stateBytes)
        guard current == prior else {
            let reason =
                switch (prior.stateDigest, current.stateDigest) {
                case (nil, _): "it was made against no state, and the workspace has one now"
                case (_, nil): "the state it was made against is gone"
                default: "the state changed after it was made"
                }
            throw .stalePlan(digest: digest, reason: reason)
        }
    }

    // MARK: Destroy

    private func destroyWorkspace(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws(TerraformError) {
        let workspace = try Workspace(ref, dataDirectory: configuration.dataDirectory)
        guard try await makeAgainIfShared(workspace, ref: ref, lastApplied: lastApplied) else { return }
        try await withLock(workspace) { () async throws(TerraformError) in
            // No state, or a state with no instances: terraform manages nothing here.
            let session = try await initializedSession(in: workspace)
            if try managesSomething(try await currentState(workspace, session), workspace) {
                try await session.check(.destroy, ["destroy", "-input=false", "-no-color", "-auto-approve"] + lockWait)
            }
            try WorkspaceFiles.remove(workspace.directory)
        }
    }

    /// `plan -destroy` in the workspace, saved under its digest like any plan.
    private func planDestroyWorkspace(_ ref: ObjectRef, lastApplied: ProvisioningRequest?) async throws(TerraformError) -> ProvisioningPlan? {
        let workspace = try Workspace(ref, dataDirectory: configuration.dataDirectory)
        guard try await makeAgainIfShared(workspace, ref: ref, lastApplied: lastApplied) else { return nil }
        return try await withLock(workspace) { () async throws(TerraformError) -> ProvisioningPlan? in
            let session = try await initializedSession(in: workspace)
            let stateBytes = try await currentState(workspace, session)
            guard try managesSomething(stateBytes, workspace) else { return nil }
            try WorkspaceFiles.makeDirectory(workspace.plans)
            let prior = PriorState(stateBytes: stateBytes)
            let pending = "plans/.pending-\(UUID().uuidString).tfplan"
            defer { try? WorkspaceFiles.remove(workspace.path(pending)) }
            try await session.check(.plan, ["plan", "-destroy", "-input=false", "-no-color", "-out=\(pending)"] + lockWait)
            let shown = try await session.check(.show, ["show", "-json", pending])
            guard !shown.stdoutTruncated else { throw .outputTooLarge(step: .show, limit: session.runner.stdoutLimit) }
            let plan = try PlanReader.read(Array(shown.stdout.utf8))
            try WorkspaceFiles.write(prior.recorded + "\n", to: workspace.path(Workspace.priorFile(plan.digest)))
            try WorkspaceFiles.move(workspace.path(pending), to: workspace.path(Workspace.planFile(plan.digest)))
            return plan
        }
    }

    /// Applies a saved destroy plan, then removes the workspace.
    private func applyDestroyWorkspace(_ ref: ObjectRef, planDigest: String) async throws(TerraformError) {
        let workspace = try Workspace(ref, dataDirectory: configuration.dataDirectory)
        let planFile = Workspace.planFile(planDigest)
        guard Workspace.isDigest(planDigest), WorkspaceFiles.exists(workspace.path(planFile)) else {
            throw .planNotSaved(digest: planDigest)
        }
        try await withLock(workspace) { () async throws(TerraformError) in
            guard WorkspaceFiles.exists(workspace.path(planFile)) else { throw .planNotSaved(digest: planDigest) }
            let session = try await initializedSession(in: workspace)
            try checkFresh(workspace, digest: planDigest, current: try await currentState(workspace, session))
            let applied = try await session.run(.destroy, ["apply", "-input=false", "-no-color"] + lockWait + [planFile])
            if applied.status != 0 {
                if StaleOutput.saysStale(applied.tail) {
                    throw .stalePlan(digest: planDigest, reason: "terraform: the state changed after the plan was made")
                }
                throw .exited(step: .destroy, status: applied.status, output: applied.tail)
            }
            try WorkspaceFiles.remove(workspace.directory)
        }
    }

    /// Whether the workspace's state (`stateBytes`) manages any resource instance.
    private func managesSomething(_ stateBytes: [UInt8]?, _ workspace: Workspace) throws(TerraformError) -> Bool {
        try stateBytes.map { bytes throws(TerraformError) in try !StateReader.read(bytes, path: stateFile(workspace)).instances.isEmpty } ?? false
    }

    /// A session for a workspace that exists already, with the vendor variable names its record
    /// keeps (the object may have left desired state).
    private func session(in workspace: Workspace) throws(TerraformError) -> StepSession {
        let names: [String] =
            try WorkspaceFiles.read(workspace.record)
            .map { bytes throws(TerraformError) in try WorkspaceRecord(bytes: bytes, path: workspace.record).environmentNames } ?? []
        return session(in: workspace, environmentNames: names)
    }

    /// `session(in:)`, after `init` when the workspace has no providers installed.
    private func initializedSession(in workspace: Workspace) async throws(TerraformError) -> StepSession {
        let session = try session(in: workspace)
        if !WorkspaceFiles.isDirectory(workspace.providerDirectory) {
            try await session.check(.initialize, ["init", "-input=false", "-no-color"])
        }
        return session
    }

    // MARK: State

    /// Whether `workspace` is here to destroy from, made again if need be.
    ///
    /// No workspace here means nothing was applied from here. With local state that is nothing
    /// at all (false). With state in PostgreSQL another leader may have applied it: the workspace
    /// is made again from `lastApplied` (its root module and record; `init` then finds the state
    /// in the database), or without it refused by name rather than taken for "nothing to destroy".
    private func makeAgainIfShared(
        _ workspace: Workspace, ref: ObjectRef, lastApplied: ProvisioningRequest?
    ) async throws(TerraformError) -> Bool {
        guard !WorkspaceFiles.isDirectory(workspace.directory) else { return true }
        guard case .postgres = configuration.stateBackend else { return false }
        guard let lastApplied, lastApplied.ref == ref else { throw .workspaceOnAnotherReplica(ref: ref.description) }
        let root = try rootConfiguration(for: lastApplied)
        try WorkspaceFiles.makeDirectory(workspace.plans)
        try await withLock(workspace) { () async throws(TerraformError) in
            if !WorkspaceFiles.exists(workspace.rootConfiguration) { try write(root, of: lastApplied, into: workspace) }
        }
        return true
    }

    /// How long a command waits for the state lock: for PostgreSQL, a minute, since another
    /// replica's terraform may hold it (a dead leader's, finishing), and terraform 1.0's `pg`
    /// backend takes one database-wide lock while it creates any workspace's state; for the
    /// local backend, nothing (only this process runs terraform there, under the workspace lock).
    private var lockWait: [String] {
        if case .postgres = configuration.stateBackend { ["-lock-timeout=60s"] } else { [] }
    }

    /// Where this replica reads a workspace's state: terraform's own file for the local
    /// backend; for PostgreSQL, the copy `currentState` last pulled (`asgard-state.json`).
    private func stateFile(_ workspace: Workspace) -> String {
        switch configuration.stateBackend {
        case .local: workspace.state
        case .postgres: workspace.directory + "/asgard-state.json"
        }
    }

    /// The workspace's state now: the state file, or `terraform state pull` (copied to
    /// `stateFile`, 0600, for `state(of:)`; an empty copy when there is none); nil when there
    /// is none.
    private func currentState(_ workspace: Workspace, _ session: StepSession) async throws(TerraformError) -> [UInt8]? {
        guard case .postgres = configuration.stateBackend else { return WorkspaceFiles.read(workspace.state) }
        let pulled = try await session.check(.statePull, ["state", "pull"])
        guard !pulled.stdoutTruncated else { throw .outputTooLarge(step: .statePull, limit: session.runner.stdoutLimit) }
        let bytes = Array(pulled.stdout.utf8)
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0a }) else {
            // Read, and empty: recorded as such (an empty copy), unlike a state never read here.
            try WorkspaceFiles.write("", to: stateFile(workspace))
            return nil
        }
        try WorkspaceFiles.write(pulled.stdout, to: stateFile(workspace))
        return bytes
    }

    // MARK: Support

    /// Runs `body` holding the workspace lock, released on every exit path.
    private func withLock<Result>(
        _ workspace: Workspace,
        _ body: () async throws(TerraformError) -> Result
    ) async throws(TerraformError) -> Result {
        let lock = try WorkspaceLock.acquire(at: workspace.lock)
        defer { lock.release() }
        if let stale = lock.recoveredStale {
            onEvent(.staleLockRemoved(workspace: workspace.directory, pid: stale.record?.pid, reason: stale.reason))
        }
        return try await body()
    }

    private func session(in workspace: Workspace, environmentNames: [String]) -> StepSession {
        let home = Workspace.home(dataDirectory: configuration.dataDirectory)
        try? WorkspaceFiles.makeDirectory(home)
        let vendor = StepEnvironment.vendorVariables(from: configuration.environment, names: environmentNames)
        var environment = StepEnvironment.variables(
            from: configuration.environment, home: home, cliConfigFile: configuration.cliConfigFile, vendorNames: environmentNames)
        var secrets = vendor
        if case .postgres(_, let password?) = configuration.stateBackend {
            environment["PGPASSWORD"] = password
            secrets["PGPASSWORD"] = password
        }
        return StepSession(
            runner: TerraformRunner(binary: configuration.binary, timeout: configuration.stepTimeout, grace: configuration.killGrace),
            directory: workspace.directory,
            temporaryBase: StepEnvironment.temporaryBase(from: configuration.environment),
            environment: environment,
            redactor: Redactor(secrets: secrets))
    }
}

/// The commands of one pass in one workspace, sharing its environment and scrubber.
struct StepSession: Sendable {
    let runner: TerraformRunner
    let directory: String
    /// Where each command's `TMPDIR` is made: created fresh for it and removed after it, with
    /// whatever terraform and its providers left there.
    let temporaryBase: String
    /// The environment of every command, but `TMPDIR`.
    let environment: [String: String]
    let redactor: Redactor

    /// Runs a command; any exit status is returned. The state and plans it wrote are made 0600.
    func run(_ step: TerraformStep, _ arguments: [String]) async throws(TerraformError) -> StepOutput {
        let temporary = try WorkspaceFiles.makeTemporaryDirectory(in: temporaryBase)
        defer {
            try? WorkspaceFiles.remove(temporary)
            WorkspaceFiles.restrictTerraformFiles(in: directory)
        }
        var environment = environment
        environment["TMPDIR"] = temporary
        return try await runner.run(step, arguments, in: directory, environment: environment, redactor: redactor)
    }

    /// Runs a command that must succeed.
    @discardableResult
    func check(_ step: TerraformStep, _ arguments: [String]) async throws(TerraformError) -> StepOutput {
        let output = try await run(step, arguments)
        guard output.status == 0 else { throw .exited(step: step, status: output.status, output: output.tail) }
        return output
    }
}

/// Recognises terraform's refusal of a stale saved plan.
enum StaleOutput {
    /// terraform (0.12 … 1.x) and OpenTofu print `Error: Saved plan is stale`.
    static func saysStale(_ output: String) -> Bool {
        output.contains("Saved plan is stale")
    }
}
