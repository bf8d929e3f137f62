import ArgumentParser
import AsgardController
import AsgardCore
import AsgardStore

struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan (--dry-run) or run one pass (--once) of the controller.",
        discussion: """
        --dry-run prints the plan and has no side effects: it creates nothing, writes nothing, \
        and reads the store only if it already exists. --once applies projects, keys, services, \
        the gateway route table and cost-source configuration into the store, records \
        provisioning actions as pending (auto tier) or awaiting approval (human tier), and \
        audits every action. Exit 0 when valid and nothing failed, 1 otherwise.
        """
    )

    @Argument(help: "The desired-state directory.")
    var directory = "desired"

    @Flag(help: "Print the plan; change nothing.")
    var dryRun = false

    @Flag(help: "Run one reconcile pass and exit.")
    var once = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard dryRun != once else {
            throw ValidationError("give exactly one of --dry-run or --once (the continuous loop runs inside `asgard serve`)")
        }
    }

    func run() async throws {
        if dryRun {
            try dryRunPass()
        } else {
            try await oncePass()
        }
    }

    private func dryRunPass() throws {
        let observed = try SQLiteStore.observedStateIfPresent(path: store.storePath)
        let (result, actions) = DesiredStateLoader().plan(directory: directory, against: observed ?? ObservedState())
        if output.json {
            print(Rendering.json(JSONOutput.Plan(result, actions: actions, directory: directory)))
        } else if result.isValid {
            print(Rendering.plan(actions, objects: result.state.count, files: result.files))
            if observed == nil { print("(no store at \(store.storePath): planned against an empty observed state)") }
        } else {
            printError(Rendering.diagnostics(result.diagnostics, files: result.files))
        }
        if !result.isValid { throw ExitCode.failure }
    }

    private func oncePass() async throws {
        let sqlite = try SQLiteStore(path: store.storePath)
        let reconciler = Reconciler(store: sqlite, provisioner: UnavailableProvisioner())
        let report = try await reconciler.runOnce(directory: directory)
        if output.json {
            print(Rendering.json(JSONOutput.Pass(report)))
        } else if report.isValid {
            print(Rendering.pass(report))
        } else {
            printError(Rendering.diagnostics(report.diagnostics, files: report.files))
            printError("Nothing was applied; the rejection is in the audit log.")
        }
        if !report.succeeded { throw ExitCode.failure }
    }
}
