import ArgumentParser
import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardServer
import AsgardStore
import AsyncHTTPClient
import Foundation

struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan (--dry-run) or run one pass (--once) of the controller.",
        discussion: """
            --dry-run prints the plan with, for each provisioning action, its tier, the gate's \
            decision and what would run next. It has no side effects: it creates and writes nothing, \
            runs no terraform (terraform state is read from the workspaces on disk), reads the store \
            only if it exists, and makes only the read-only vendor calls it prints (listing serving \
            endpoints, for drift). --once applies projects, keys, services, the gateway route table \
            and cost-source configuration into the store and provisions resources and serving \
            endpoints through the gate and the terraform connector (auto tier: applied now; human \
            tier: an approval of the exact plan is requested, and the approved plan is applied on a \
            later pass), printing progress per action. Every action is audited. Exit 0 when valid \
            and nothing failed, 1 otherwise.
            """
    )

    @Argument(help: "The desired-state directory.")
    var directory = "desired"

    @Flag(help: "Print the plan; change nothing.")
    var dryRun = false

    @Flag(help: "Run one reconcile pass and exit.")
    var once = false

    @Option(help: "The Cedar policy directory (the gate refuses all provisioning if it does not load).")
    var policies = "policies"

    @Option(help: "Seconds before a failed provisioning step is tried again; the wait doubles per failure, up to an hour.")
    var retryAfter: Int = 30

    @OptionGroup var store: StoreOptions
    @OptionGroup var provisioning: ProvisioningOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard dryRun != once else {
            throw ValidationError("give exactly one of --dry-run or --once (the continuous loop runs inside `asgard serve`)")
        }
        guard (1...3600).contains(retryAfter) else {
            throw ValidationError("--retry-after must be between 1 and 3600 seconds, not \(retryAfter)")
        }
    }

    func run() async throws {
        if dryRun {
            try await dryRunPass()
        } else {
            try await oncePass()
        }
    }

    /// The enforced policies, or nil (with the problems printed) when they do not load.
    private func loadPolicies() -> PolicyEngine? {
        enforcedPolicies(directory: policies, whenMissing: Self.policiesMissing)
    }

    private static let policiesMissing = "The policies did not load: the gate refuses all provisioning."

    private func dryRunPass() async throws {
        let snapshot = try store.readOnlySnapshot()
        let loader = DesiredStateLoader()
        let (sources, files, problems) = loader.read(directory: directory)
        var loaded = loader.load(sources)
        loaded.files = max(files, 0)
        loaded.diagnostics = (problems + loaded.diagnostics).sorted(by: Diagnostic.inFileOrder)
        // The requests made through MCP or the API are reconciled beside desired/: shown with their origin.
        var requests = RequestedState.unchanged(loaded.state)
        if loaded.isValid, let snapshot, !snapshot.requests.isEmpty {
            requests = RequestedState.merge(sources: sources, loaded: loaded, requests: snapshot.requests, approvals: snapshot.approvals, loader: loader)
            loaded.state = requests.state
        }
        guard loaded.isValid else {
            if output.json {
                print(Rendering.json(JSONOutput.Plan(loaded, actions: [], directory: directory)))
            } else {
                printError(Rendering.diagnostics(loaded.diagnostics, files: loaded.files))
            }
            throw ExitCode.failure
        }
        let provisioner = provisioning.provisioner(dataDirectory: store.directory)
        let observers = vendorObservers(client: HTTPClient.shared, environment: ProcessInfo.processInfo.environment)
        // The vendor calls a dry run makes are read-only, and printed.
        var notes: [String] = []
        let hasEndpoints = snapshot?.observed.objects.values.contains { $0.ref.kind == .servingEndpoint && $0.status == .applied } ?? false
        if hasEndpoints {
            let state = loaded.state
            for service in state.services.values.sorted(by: { $0.id < $1.id }) {
                let names = Set(
                    state.servingEndpoints.values.filter { $0.service == service.id }
                        .compactMap { state.provisionable[$0.provisioner]?.service.observer })
                for name in names.sorted() {
                    guard let observer = observers[name] else { continue }
                    notes.append(
                        observer.describeRead(of: service).map { "read-only: \($0)" }
                            ?? "\(service.id): not observed (its base URL variable is not set)")
                }
            }
        }
        var observed = snapshot?.observed ?? ObservedState()
        if let snapshot {
            let (withDrift, problems) = await DriftObserver(provisioner: provisioner, observers: observers)
                .observe(snapshot.observed, records: snapshot.records, desired: loaded.state)
            observed = withDrift
            notes += problems
        }
        let actions = plan(desired: loaded.state, observed: observed)
        let previews = Preview.actions(
            actions, desired: loaded.state, observed: observed, records: snapshot?.records ?? [:], approvals: snapshot?.approvals ?? [],
            gate: ProvisionGate(policies: loadPolicies(), killSwitches: snapshot?.killSwitches ?? []),
            hasWorkspace: { ((try? provisioner.state(of: $0)) ?? nil) != nil }, now: Date())
        if output.json {
            print(Rendering.json(JSONOutput.Plan(loaded, actions: previews, directory: directory, notes: notes, requested: requests.requested)))
        } else {
            print(Rendering.plan(previews, objects: loaded.state.count, files: loaded.files, requested: requests.requested))
            for note in notes { print("  note: \(note)") }
            if !requests.requested.isEmpty {
                print("Requested through MCP or the API (in force beside desired/; `asgard requests export` writes them to commit):")
                for (ref, request) in requests.requested.sorted(by: { $0.key < $1.key }) {
                    print("  \(ref)  via \(request.origin.rawValue) by \(request.requester)  (request \(request.id))")
                }
            }
            for (id, diagnostics) in requests.problems.sorted(by: { $0.key < $1.key }) {
                print("  request \(id) is left out: \(diagnostics.first?.description ?? "")")
            }
            for id in requests.waiting { print("  request \(id) waits for its approval (a project proposal)") }
            if snapshot == nil { print("(no store at \(store.location): planned against an empty observed state)") }
        }
    }

    private func oncePass() async throws {
        let sqlite = try store.open()
        // Read and parsed once: what the pass enforces is what it records as enforced.
        let (source, bundle, problems) = PolicyBundle.loadWithSource(directory: policies)
        let enforcedPolicies = enforced(bundle, problems: problems, whenMissing: Self.policiesMissing)
        if enforcedPolicies != nil {
            try await sqlite.recordEnforcedPolicies(source, audit: .policiesEnforced(source, by: "reconcile"))
        }
        let started = ContinuousClock.now
        let json = output.json
        let reconciler = Reconciler(
            store: sqlite, provisioner: provisioning.provisioner(dataDirectory: store.directory), policies: enforcedPolicies,
            observers: vendorObservers(client: HTTPClient.shared, environment: ProcessInfo.processInfo.environment),
            backoff: Backoff(first: .seconds(retryAfter)),
            onEvent: { event in
                // Progress as it happens, for people; machines get the report at the end.
                guard !json, let line = Rendering.progress(event, elapsed: ContinuousClock.now - started) else { return }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            })
        // desired/ and the requests made through MCP or the API, as `asgard serve` reconciles them.
        let merged = try await DesiredWithRequests.load(directory: directory, store: sqlite)
        let report = try await reconciler.runOnce(loaded: merged.loaded, directory: directory)
        if report.isValid { try await merged.closeSettled(in: sqlite, actor: "reconcile") }
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
