public import AsgardController
public import AsgardCore
public import AsgardGateway
public import AsgardPolicy
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// The gateway's current snapshot, swapped whole: readers never see half an update.
public final class SnapshotBox: Sendable {
    private let value: Mutex<GatewaySnapshot?>

    public init(_ snapshot: GatewaySnapshot? = nil) { value = Mutex(snapshot) }

    public var current: GatewaySnapshot? { value.withLock { $0 } }

    public func replace(with snapshot: GatewaySnapshot) { value.withLock { $0 = snapshot } }
}

/// The controller beside the HTTP server, as three services that never wait on one another
/// (like a Kubernetes controller manager):
///
/// - `ConfigurationPath` commits services, projects, keys and endpoint route withdrawals and
///   publishes the gateway snapshot within a second of a change to `desired/` or the policies,
///   whatever provisioning is doing;
/// - `ProvisioningPath` reconciles each resource and serving endpoint on a worker of its own
///   (at most four at once), each with its own backoff and status;
/// - `KillSwitchRefresher` re-reads the kill switches every second.
///
/// Nothing they meet stops the server: each catches, reports to `health` and tries again.
public struct Controller: Sendable {
    public let configuration: ConfigurationPath
    public let provisioning: ProvisioningPath
    public let killSwitches: KillSwitchRefresher
    public let health: HealthBoard

    /// - Parameters:
    ///   - passInterval: a configuration pass (and with it a provisioning round) runs at least
    ///     this often, besides whenever a file changes.
    ///   - concurrency: the most provisioning actions run at once.
    ///   - onPass / onOutcome: hear of every configuration pass and provisioning outcome, for logs.
    public init(
        store: any Store, desiredDirectory: String, policiesDirectory: String, snapshot: SnapshotBox, budgets: BudgetLedger,
        killSwitches board: KillSwitchBoard, environment: [String: String] = [:], health: HealthBoard = HealthBoard(),
        passInterval: Duration = .seconds(30),
        provisioner: any Provisioner = UnavailableProvisioner(), observers: VendorObservers = VendorObservers(),
        concurrency: Int = ProvisioningWorkers.defaultLimit, budgetLeases: BudgetLeaseKeeper? = nil,
        leadership: Leadership = Leadership(election: nil),
        onPass: @escaping @Sendable (ReconcileReport) -> Void = { _ in },
        onOutcome: @escaping @Sendable (ActionOutcome) -> Void = { _ in }
    ) {
        self.health = health
        killSwitches = KillSwitchRefresher(store: store, board: board, health: health)
        provisioning = ProvisioningPath(
            store: store, provisioner: provisioner, observers: observers, health: health,
            concurrency: concurrency, leadership: leadership, onOutcome: onOutcome)
        configuration = ConfigurationPath(
            store: store, desiredDirectory: desiredDirectory, policiesDirectory: policiesDirectory,
            snapshot: snapshot, budgets: budgets, leases: budgetLeases, leadership: leadership, environment: environment, health: health,
            provisioning: provisioning, killSwitches: killSwitches, passInterval: passInterval, onPass: onPass)
    }

    /// The services to run beside the HTTP server.
    public var services: [any ServiceLifecycle.Service] { [configuration, provisioning, killSwitches] }

    /// Asks for a provisioning round at once (after an approval, say).
    public func requestRound() { provisioning.requestRound() }

    /// Asks for a configuration pass (and with it a provisioning round) within a second: a
    /// request was made or cancelled, or a project proposal decided.
    public func requestPass() { configuration.requestPass() }
}

// MARK: - The configuration path

/// Commits what the gateway serves and publishes it. Each pass loads the policies and
/// `desired/`, commits the configuration actions (`Reconciler.configure`), rebuilds the gateway
/// snapshot from what the store now holds as applied, sets the budgets, and hands the desired
/// state to the provisioning path. A pass runs at start, within a second of any change to a
/// file under the desired-state or policy directory (polled once a second), every
/// `passInterval`, and, while the last one failed, again after a backoff of 1 s doubling to 30 s.
///
/// What a bad day does:
/// - `desired/` invalid: nothing is committed, one `validate.rejected` audit entry per distinct
///   set of errors, and the gateway keeps serving what the store holds (at start too);
/// - policies invalid: the last good policy set keeps being enforced (at start, before there is
///   one, the gateway stays `starting`), and provisioning is refused (the gate fails closed);
/// - the store refusing: the actions it refused are reported and retried, and the gateway keeps
///   its last snapshot. Every one of these shows on `/healthz`.
public final class ConfigurationPath: ServiceLifecycle.Service, Sendable {
    public let store: any Store
    public let desiredDirectory: String
    public let policiesDirectory: String
    public let snapshot: SnapshotBox
    public let budgets: BudgetLedger
    /// This replica's grants of budgets shared with other replicas; nil when it is alone.
    let leases: BudgetLeaseKeeper?
    /// Whether this replica writes desired state into the store, or serves what the leader wrote.
    let leadership: Leadership
    /// Where vendor base URLs and credentials are read, by the names the manifests give.
    public let environment: [String: String]
    public let health: HealthBoard
    public let passInterval: Duration
    let provisioning: ProvisioningPath
    let killSwitches: KillSwitchRefresher
    let onPass: @Sendable (ReconcileReport) -> Void

    private struct Memory {
        /// The last policy set that loaded: enforced while a broken edit is being fixed.
        var goodPolicies: PolicyBundle?
        /// The diagnostics last audited as `validate.rejected`, so a broken state is audited once.
        var rejected: [Diagnostic]?
        /// Passes in a row that failed somewhere: the next one comes after a backoff.
        var failures = 0
        /// The unconfigured vendors last reported.
        var unconfigured: String?
        /// The digest of the policy set last recorded in the store as enforced.
        var recordedPolicies: String?
        /// The request problems last logged.
        var requestProblems = ""
    }

    private let memory = Mutex(Memory())
    private let passWanted = Mutex(false)
    private let logger = Logger(label: "asgard.controller")

    init(
        store: any Store, desiredDirectory: String, policiesDirectory: String, snapshot: SnapshotBox, budgets: BudgetLedger,
        leases: BudgetLeaseKeeper?, leadership: Leadership, environment: [String: String], health: HealthBoard, provisioning: ProvisioningPath,
        killSwitches: KillSwitchRefresher, passInterval: Duration, onPass: @escaping @Sendable (ReconcileReport) -> Void
    ) {
        self.leases = leases
        self.leadership = leadership
        self.store = store
        self.desiredDirectory = desiredDirectory
        self.policiesDirectory = policiesDirectory
        self.snapshot = snapshot
        self.budgets = budgets
        self.environment = environment
        self.health = health
        self.provisioning = provisioning
        self.killSwitches = killSwitches
        self.passInterval = passInterval
        self.onPass = onPass
    }

    /// One pass; never throws. What went wrong is on the health board and in the report.
    /// - Returns: the report of the configuration actions (no provisioning outcomes: those
    ///   come from the provisioning path, one by one).
    @discardableResult
    public func pass() async -> ReconcileReport {
        let (source, bundle, policyProblems) = PolicyBundle.loadWithSource(directory: policiesDirectory)
        let policies: PolicyBundle? = memory.withLock { memory in
            if policyProblems.isEmpty { memory.goodPolicies = bundle }
            return memory.goodPolicies
        }
        health.report(
            .policies,
            policyProblems.isEmpty
                ? nil
                : "\(policiesDirectory) does not load (\(policyProblems.count) problem\(policyProblems.count == 1 ? "" : "s"); first: \(policyProblems[0])); "
                    + (policies == nil ? "nothing is served until it does" : "the last good policy set stays in force, and provisioning is refused"))
        // A follower writes nothing: it serves the configuration the leader wrote into the store.
        guard leadership.isLeader else {
            let published: Bool = if let policies { await publish(under: policies) } else { true }
            memory.withLock { $0.failures = published ? 0 : $0.failures + 1 }
            let report = ReconcileReport(directory: desiredDirectory, objects: 0, files: 0, diagnostics: [], outcomes: [])
            onPass(report)
            return report
        }
        // `desired/` and the requests made through MCP or the API. When the store cannot say
        // which requests are open, nothing is configured this pass: configuring `desired/`
        // alone would remove every requested object.
        let merged: DesiredWithRequests
        do {
            merged = try await DesiredWithRequests.load(directory: desiredDirectory, store: store)
        } catch {
            health.report(.configuration, "the open requests could not be read from the store, so nothing was applied; retried with backoff: \(error)")
            memory.withLock { $0.failures += 1 }
            if let policies { _ = await publish(under: policies) }
            return ReconcileReport(directory: desiredDirectory, objects: 0, files: 0, diagnostics: [], outcomes: [])
        }
        let loaded = merged.loaded
        var report = ReconcileReport(
            directory: desiredDirectory, objects: loaded.state.count, files: loaded.files,
            diagnostics: loaded.diagnostics, outcomes: [])
        let reconciler = Reconciler(
            store: store, provisioner: UnavailableProvisioner(), actor: "controller",
            onEvent: { [logger] event in
                if case .problem(let message) = event { logger.error("\(message)") }
            })
        var failed = false
        if loaded.isValid {
            health.report(.desired, nil)
            memory.withLock { $0.rejected = nil }
            do {
                report.outcomes = try await reconciler.configure(loaded.state)
                try await merged.closeSettled(in: store, actor: "controller")
                reportRequestProblems(merged.requests?.problems ?? [:])
                let refused = report.outcomes.filter { $0.result == .failed }
                health.report(
                    .configuration,
                    refused.first.map {
                        "\(refused.count) configuration action\(refused.count == 1 ? "" : "s") failed, retried with backoff; first: \($0.action.ref): \($0.reason ?? "")"
                    })
                failed = !refused.isEmpty
            } catch {
                health.report(.configuration, "the store could not be read, so nothing was applied; retried with backoff: \(error)")
                failed = true
            }
            provisioning.update(loaded.state, policies: policyProblems.isEmpty ? PolicyEngine(enforced: bundle) : nil)
        } else {
            health.report(
                .desired,
                "\(desiredDirectory) is invalid (\(loaded.diagnostics.count) error\(loaded.diagnostics.count == 1 ? "" : "s"); "
                    + "first: \(loaded.diagnostics[0])); the last applied configuration stays in force")
            let audited = memory.withLock { $0.rejected == loaded.diagnostics }
            if !audited {
                do {
                    try await reconciler.rejected(loaded, directory: desiredDirectory)
                    memory.withLock { $0.rejected = loaded.diagnostics }
                } catch {
                    logger.error("the rejection of \(desiredDirectory) could not be audited: \(error)")
                    failed = true
                }
            }
        }
        if let policies, !(await publish(under: policies)) { failed = true }
        if policyProblems.isEmpty, !(await record(source)) { failed = true }
        memory.withLock { $0.failures = failed ? $0.failures + 1 : 0 }
        onPass(report)
        return report
    }

    /// Open requests the loader refused beside `desired/` (a project removed since, say):
    /// logged once each time the set changes; they stay open and are retried every pass.
    private func reportRequestProblems(_ problems: [String: [Diagnostic]]) {
        let text = problems.keys.sorted().map { "request \($0) is left out: \(problems[$0]?.first?.description ?? "")" }.joined(separator: "; ")
        let changed = memory.withLock { memory in
            defer { memory.requestProblems = text }
            return memory.requestProblems != text
        }
        if changed, !text.isEmpty { logger.warning("\(text)") }
    }

    /// Asks for a pass within a second (a request was made through MCP or the API).
    public func requestPass() { passWanted.withLock { $0 = true } }

    /// Records the policy set that loaded as the one enforced (once per change, audited), so
    /// commands that decide alone (`asgard approve`, `kill`) use exactly it. False when the
    /// store could not be written (retried next pass).
    private func record(_ source: PolicySource) async -> Bool {
        let digest = source.digest
        guard memory.withLock({ $0.recordedPolicies }) != digest else { return true }
        do {
            try await store.recordEnforcedPolicies(source, audit: .policiesEnforced(source, by: "controller"))
            memory.withLock { $0.recordedPolicies = digest }
            return true
        } catch {
            logger.error("the enforced policy set could not be recorded: \(error)")
            return false
        }
    }

    /// Rebuilds the gateway snapshot from the store's applied configuration, sets budgets, and
    /// swaps it in. Before the first snapshot the kill switches are read once, so a switch
    /// engaged before the start is obeyed from the first call. Returns false when the store
    /// could not be read (the gateway keeps its last snapshot).
    private func publish(under policies: PolicyBundle) async -> Bool {
        do {
            if snapshot.current == nil { try await killSwitches.refresh() }
            let configuration = try await store.gatewayConfiguration()
            let period = BudgetPeriod(containing: Date())
            for project in configuration.projects {
                // The store's spend is read once, when a project first appears: from then on the
                // budget ledger is ahead of the store (a call settles there before its ledger
                // row reaches the store), and reading the store again would forget calls in
                // between. Until it is read, the project has no budget and every call is refused.
                if budgets.snapshot(project: project.id) == nil, let leases {
                    // Shared with other replicas: this replica's grant starts at its own spend.
                    try await leases.add(project: project.id, budget: project.monthlyBudget, now: Date())
                } else if budgets.snapshot(project: project.id) == nil {
                    let spent = try await store.spend(project: project.id, from: period.start, to: period.next.start)
                    budgets.setBudget(project: project.id, monthly: project.monthlyBudget)
                    _ = budgets.load(project: project.id, spent: spent, period: period)
                } else {
                    budgets.setBudget(project: project.id, monthly: project.monthlyBudget)
                }
            }
            if let ledger = store as? any CostLedger { try await budgets.loadVendorSpend(from: ledger, now: Date()) }
            let published = GatewaySnapshot(configuration, policies: policies, environment: environment)
            snapshot.replace(with: published)
            reportUnconfigured(published.unconfiguredVendors)
            return true
        } catch {
            health.report(.configuration, "the applied configuration could not be read from the store, so the gateway serves the last one: \(error)")
            return false
        }
    }

    /// Vendors whose manifests name unset variables: on `/healthz` while they are, and logged
    /// once when the set changes.
    private func reportUnconfigured(_ vendors: [String: String]) {
        let problem =
            vendors.isEmpty
            ? nil
            : vendors.sorted { $0.key < $1.key }
                .map { "\($0.key) cannot be called: \($0.value) is not set" }.joined(separator: "; ")
        let changed = memory.withLock { memory in
            defer { memory.unconfigured = problem }
            return memory.unconfigured != problem
        }
        health.report(.vendors, problem)
        if changed, let problem { logger.warning("\(problem)") }
    }

    public func run() async throws {
        // A follower re-reads the configuration as the leader commits it (announced on a store
        // replicas share), not only every `passInterval`.
        let announced = (store as? any StoreChangeFeed).map { feed in
            Task { [leadership] in
                for await change in feed.changes() where change == .configuration || change == .resynchronize {
                    if !leadership.isLeader { requestPass() }
                }
            }
        }
        defer { announced?.cancel() }
        var fingerprint = Self.fingerprint(of: [desiredDirectory, policiesDirectory])
        await pass()
        var lastPass = ContinuousClock.now
        var ticks = 0
        while !Task.isCancelledOrShuttingDown {
            // A pass asked for starts within a tenth of a second; the files are looked at every second.
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isCancelledOrShuttingDown { break }
            ticks += 1
            guard ticks % 10 == 0 || passWanted.withLock({ $0 }) else { continue }
            let now = Self.fingerprint(of: [desiredDirectory, policiesDirectory])
            let failures = memory.withLock { $0.failures }
            let since = ContinuousClock.now - lastPass
            let retry = failures > 0 && since >= Backoff(first: .seconds(1), maximum: .seconds(30)).delay(afterFailures: failures)
            let asked = passWanted.withLock { wanted in
                defer { wanted = false }
                return wanted
            }
            if now != fingerprint || since >= passInterval || retry || asked {
                // Taken before the pass reads the files: a change made during the pass starts another.
                fingerprint = now
                lastPass = ContinuousClock.now
                await pass()
            }
        }
    }

    /// Paths, sizes and modification times of every file below `directories`.
    static func fingerprint(of directories: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for directory in directories {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = directory + "/" + relative
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                result[path] = "\(attributes[.size] ?? 0)@\(modified)"
            }
        }
        return result
    }
}

// MARK: - The provisioning path

/// Reconciles resources and serving endpoints, each object on a worker of its own: a round
/// (`Reconciler.provisioningRound`: the plan against the store, terraform state and the
/// vendors) of a new generation runs whenever the configuration path hands over desired state
/// (every pass) and when a round is requested (an approval); within a generation each object is
/// carried out once, and an object a newer generation wanted while it was busy runs again when
/// its worker ends. `ProvisioningSchedule` decides what starts: one worker per object, at most
/// `concurrency` at once. A worker carries out its action (gate, plan, tag check, tier, apply or destroy);
/// each object's failures and backoff are in its provisioning record. A round that cannot be
/// planned (the store refusing) is reported and retried after a backoff.
///
/// On graceful shutdown the workers are cancelled, which tears their terraform down.
public final class ProvisioningPath: ServiceLifecycle.Service, Sendable {
    public let store: any Store
    public let provisioner: any Provisioner
    public let observers: VendorObservers
    public let health: HealthBoard
    public let concurrency: Int
    /// Only the leader provisions.
    let leadership: Leadership
    let onOutcome: @Sendable (ActionOutcome) -> Void

    private enum Event: Sendable {
        case round
        case finished(ActionOutcome)
    }

    private let events: AsyncStream<Event>
    private let inbox: AsyncStream<Event>.Continuation
    /// The desired state and enforced policies to reconcile towards; nil until the first pass.
    private let target = Mutex<(state: DesiredState, policies: PolicyEngine?)?>(nil)
    /// Objects whose worker is running now, for tests.
    private let busy = Mutex<Set<ObjectRef>>([])
    private let observedDrift = Mutex<(drift: [ObjectRef: String], at: Date)?>(nil)
    /// Grows with every new reason to look at every object (`update`, `requestRound`).
    private let generation = Mutex(0)

    init(
        store: any Store, provisioner: any Provisioner, observers: VendorObservers, health: HealthBoard, concurrency: Int,
        leadership: Leadership, onOutcome: @escaping @Sendable (ActionOutcome) -> Void
    ) {
        self.store = store
        self.leadership = leadership
        self.provisioner = provisioner
        self.observers = observers
        self.health = health
        self.concurrency = concurrency
        self.onOutcome = onOutcome
        (events, inbox) = AsyncStream.makeStream(of: Event.self)
    }

    /// Hands over the desired state (validated) and the enforced policies (nil: the policies
    /// do not load, and the gate refuses all provisioning), and asks for a round.
    public func update(_ state: DesiredState, policies: PolicyEngine?) {
        target.withLock { $0 = (state, policies) }
        requestRound()
    }

    /// Asks for a round of a new generation at once.
    public func requestRound() {
        generation.withLock { $0 += 1 }
        inbox.yield(.round)
    }

    /// The objects being worked on now.
    public var working: Set<ObjectRef> { busy.withLock { $0 } }

    /// The drift the last planned round observed, by ref, and when; nil before the first round.
    /// Pages show it rather than calling vendors themselves (a vendor that hangs stalls no page).
    var lastDrift: (drift: [ObjectRef: String], at: Date)? { observedDrift.withLock { $0 } }

    private func reconciler(_ policies: PolicyEngine?) -> Reconciler {
        Reconciler(store: store, provisioner: provisioner, policies: policies, observers: observers, actor: "controller")
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            var schedule = ProvisioningSchedule(limit: concurrency)
            var latest: (reconciler: Reconciler, round: Reconciler.ProvisioningRound)?
            var failures = 0
            /// The generation last planned, and whether a worker asked for a round since.
            var planned = 0
            var wanted = false
            let inbox = self.inbox
            func start(_ actions: [Action]) {
                guard let (reconciler, round) = latest else { return }
                busy.withLock { $0.formUnion(actions.map(\.ref)) }
                for action in actions {
                    group.addTask { inbox.yield(.finished(await reconciler.carryOut(action, in: round))) }
                }
            }
            for await event in events.cancelOnGracefulShutdown() {
                switch event {
                case .round:
                    let current = generation.withLock { $0 }
                    // Rounds asked for in a burst: one plan covers them all. Only the leader provisions.
                    guard leadership.isLeader, current > planned || wanted || failures > 0, let (state, policies) = target.withLock({ $0 })
                    else { continue }
                    let reconciler = reconciler(policies)
                    do {
                        latest = (reconciler, try await reconciler.provisioningRound(state))
                        let drift = latest?.round.drift ?? [:]
                        observedDrift.withLock { $0 = (drift, Date()) }
                        (planned, wanted, failures) = (current, false, 0)
                        health.report(.provisioning, nil)
                    } catch {
                        failures += 1
                        let wait = Backoff(first: .seconds(1), maximum: .seconds(30)).delay(afterFailures: failures)
                        health.report(.provisioning, "a provisioning round could not be planned (\(error)); retrying in \(wait)")
                        group.addTask {
                            try? await Task.sleep(for: wait)
                            inbox.yield(.round)
                        }
                        continue
                    }
                    start(schedule.offer(latest?.round.actions ?? [], generation: current))
                case .finished(let outcome):
                    busy.withLock { _ = $0.remove(outcome.action.ref) }
                    onOutcome(outcome)
                    let (next, again) = schedule.finished(outcome.action.ref)
                    start(next)
                    if again {
                        wanted = true
                        inbox.yield(.round)
                    }
                }
            }
            group.cancelAll()
        }
    }
}

// MARK: - Kill switches

/// Re-reads the engaged kill switches from the store every second, so a switch engaged by
/// `asgard kill` (another process) or another replica takes effect within a second. A failed
/// read keeps the switches in force and is reported until a read succeeds.
public final class KillSwitchRefresher: ServiceLifecycle.Service, Sendable {
    public let store: any Store
    public let board: KillSwitchBoard
    public let health: HealthBoard

    init(store: any Store, board: KillSwitchBoard, health: HealthBoard) {
        self.store = store
        self.board = board
        self.health = health
    }

    /// Reads the switches and installs them.
    /// - Throws: the store's errors (the installed switches stay as they were).
    public func refresh() async throws {
        let ticket = board.ticketForRead()
        let stored = try await store.killSwitches()
        board.replace(
            with: KillSwitchSet(
                stored.map { row in
                    KillSwitch(scope: row.scope, id: row.target, reason: row.reason, since: row.since, by: row.engagedBy)
                }), readAt: ticket)
    }

    public func run() async throws {
        // On a store replicas share, a switch another replica engages is announced as it
        // commits, and read at once; the read every second stays as the fallback.
        let announced = (store as? any StoreChangeFeed).map { feed in
            Task {
                for await change in feed.changes() where change == .killSwitches || change == .resynchronize {
                    await refreshReporting()
                }
            }
        }
        defer { announced?.cancel() }
        while !Task.isCancelledOrShuttingDown {
            await refreshReporting()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// `refresh`, its outcome on the health board.
    private func refreshReporting() async {
        do {
            try await refresh()
            health.report(.killSwitches, nil)
        } catch {
            health.report(.killSwitches, "the kill switches could not be read from the store, so the last ones read stay in force: \(error)")
        }
    }
}

extension Task where Success == Never, Failure == Never {
    /// Cancelled, or the service group is shutting down gracefully.
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
