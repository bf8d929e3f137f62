/// One terraform command the connector runs, named in errors and timeouts.
public enum TerraformStep: String, Sendable, Hashable, CaseIterable {
    case initialize = "init"
    case plan
    case show
    case apply
    case output
    case destroy
    /// `state pull`: the state from a remote backend (`TerraformStateBackend.postgres`).
    case statePull = "state pull"
}

/// Why the terraform connector could not plan, apply, destroy or read a workspace.
///
/// Every text this error carries went through the connector's scrubber first: no vendor
/// credential value appears in a description.
public enum TerraformError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No terraform (or tofu) binary was found; `searched` lists where the connector looked.
    case binaryNotFound(searched: [String])
    /// The provisionable service's `module:` directory does not exist under the module root.
    case moduleNotFound(module: String, path: String)
    /// A file of the module cannot be read (e.g. a `*.tf.json` that is not JSON).
    case invalidModule(path: String, reason: String)
    /// An object reference that cannot name a workspace directory (e.g. it holds `/`).
    case invalidReference(String)
    /// A parameter cannot be passed to the module: a reserved argument name, or a number that
    /// is not a JSON number.
    case invalidParameter(name: String, reason: String)
    /// The binary could not be started at all.
    case launchFailed(step: TerraformStep, reason: String)
    /// terraform ran and exited non-zero; `output` is the tail of what it printed, scrubbed.
    case exited(step: TerraformStep, status: Int32, output: String)
    /// terraform ran longer than the per-step timeout: it and its process group were
    /// sent SIGTERM, then SIGKILL after a short grace.
    case timedOut(step: TerraformStep, after: Duration)
    /// The calling task was cancelled (e.g. Asgard is shutting down): terraform and its process
    /// group were terminated like at a timeout.
    case cancelled(step: TerraformStep)
    /// terraform was ended by a signal the connector did not send (e.g. the OOM killer).
    case killed(step: TerraformStep, signal: Int32)
    /// terraform printed more than the connector keeps, where it needs all of it (JSON).
    case outputTooLarge(step: TerraformStep, limit: Int)
    /// `apply` was asked for a digest that no earlier `plan` saved in this workspace.
    case planNotSaved(digest: String)
    /// State is in PostgreSQL and this replica has no workspace for `ref` (another leader made
    /// it), nor what to make it again from: the object's provisionable service has left desired
    /// state, so its module and arguments are unknown here.
    case workspaceOnAnotherReplica(ref: String)
    /// State is in PostgreSQL and this replica has not read `ref`'s yet (another replica
    /// applied it; this one pulls it when it next plans): unknown here, which is not drift.
    case sharedStateNotReadHere(ref: String)
    /// The saved plan no longer matches the workspace's state (another apply or destroy ran
    /// after it was made); nothing was applied. Plan again.
    case stalePlan(digest: String, reason: String)
    /// Another pass (process `pid`, possibly this one) holds the workspace's lock; pid 0 when
    /// the lock file is being written and names nobody yet.
    case workspaceBusy(pid: Int32)
    /// `terraform show -json` printed something the connector cannot read as a plan.
    case invalidPlanJSON(String)
    /// `terraform output -json` printed something the connector cannot read.
    case invalidOutputJSON(String)
    /// The workspace's `terraform.tfstate` (or `asgard-workspace.json`) cannot be read.
    case invalidState(path: String, reason: String)
    /// A file or directory operation in the workspace failed.
    case fileSystem(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .binaryNotFound(let searched):
            "no terraform binary found (looked at: \(searched.joined(separator: ", "))); set ASGARD_TERRAFORM_BIN to a terraform >= 1.0 or tofu binary, or run `make setup`"
        case .moduleNotFound(let module, let path):
            "terraform module \(module) not found: \(path) is not a directory"
        case .invalidModule(let path, let reason):
            "cannot read terraform module file \(path): \(reason)"
        case .invalidReference(let reason):
            "cannot name a terraform workspace: \(reason)"
        case .invalidParameter(let name, let reason):
            "parameter \(name) cannot be passed to the module: \(reason)"
        case .launchFailed(let step, let reason):
            "terraform \(step.rawValue) could not be started: \(reason)"
        case .exited(let step, let status, let output):
            output.isEmpty
                ? "terraform \(step.rawValue) failed with exit status \(status)"
                : "terraform \(step.rawValue) failed with exit status \(status):\n\(output)"
        case .timedOut(let step, let after):
            "terraform \(step.rawValue) timed out after \(after); it and its child processes were terminated"
        case .cancelled(let step):
            "terraform \(step.rawValue) was stopped because its pass was cancelled"
        case .killed(let step, let signal):
            "terraform \(step.rawValue) was killed by signal \(signal)"
        case .outputTooLarge(let step, let limit):
            "terraform \(step.rawValue) printed more than \(limit) bytes; its output was not read"
        case .planNotSaved(let digest):
            "no saved plan with digest \(digest) in this workspace: plan first; nothing was applied"
        case .workspaceOnAnotherReplica(let ref):
            "\(ref) was provisioned by another replica, whose workspace (its terraform configuration) this replica does not have, "
                + "and its provisionable service is no longer in desired state to make it again from; its state is in PostgreSQL; "
                + "nothing was destroyed (declare the service again until the destroy is done)"
        case .sharedStateNotReadHere(let ref):
            "\(ref)'s terraform state is in PostgreSQL and this replica has not read it yet (it does when it next plans \(ref))"
        case .stalePlan(let digest, let reason):
            "saved plan \(digest.prefix(12)) is stale (\(reason)); nothing was applied: plan again"
        case .workspaceBusy(let pid):
            pid > 0
                ? "the terraform workspace is busy: process \(pid) holds its lock"
                : "the terraform workspace is busy: another pass is taking its lock"
        case .invalidPlanJSON(let reason):
            "terraform show -json printed an unreadable plan: \(reason)"
        case .invalidOutputJSON(let reason):
            "terraform output -json printed unreadable outputs: \(reason)"
        case .invalidState(let path, let reason):
            "cannot read \(path): \(reason)"
        case .fileSystem(let operation, let path, let reason):
            "cannot \(operation) \(path): \(reason)"
        }
    }
}
