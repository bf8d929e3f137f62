public import AsgardController
import AsgardCore
public import AsgardGateway
import AsgardPolicy
public import AsgardStore
import Foundation
public import ServiceLifecycle
import Synchronization

/// The gateway's current snapshot, swapped whole: readers never see half an update.
public final class SnapshotBox: Sendable {
    private let value: Mutex<GatewaySnapshot?>

    public init(_ snapshot: GatewaySnapshot? = nil) { value = Mutex(snapshot) }

    public var current: GatewaySnapshot? { value.withLock { $0 } }

    public func replace(with snapshot: GatewaySnapshot) { value.withLock { $0 = snapshot } }
}

/// The controller loop beside the HTTP server: a reconcile pass at start, on a timer, and
/// whenever a file under the desired-state or policy directory changes (polled once a
/// second); after each valid pass the gateway snapshot is rebuilt and the budgets set (a
/// project's spend is read from the store when it first appears). Kill
/// switches are re-read from the store every second, so a switch engaged by `asgard kill`
/// (another process) takes effect within a second, without restart.
public final class ControllerLoop: ServiceLifecycle.Service, Sendable {
    public let store: SQLiteStore
    public let desiredDirectory: String
    public let policiesDirectory: String
    public let snapshot: SnapshotBox
    public let budgets: BudgetLedger
    public let killSwitches: KillSwitchBoard
    public let passInterval: Duration
    /// Carries out provisioning (the terraform connector).
    public let provisioner: AnyProvisioner
    /// Asks vendors what exists, for drift.
    public let vendor: (any VendorObserver)?
    /// Called after every pass with its report, for logs.
    public let onPass: @Sendable (ReconcileReport) -> Void
    /// Set by `requestPass()`: run a pass at the next tick (within a second).
    private let passRequested = Mutex(false)

    public init(store: SQLiteStore, desiredDirectory: String, policiesDirectory: String, snapshot: SnapshotBox, budgets: BudgetLedger,
                killSwitches: KillSwitchBoard, passInterval: Duration = .seconds(30), provisioner: any Provisioner = UnavailableProvisioner(),
                vendor: (any VendorObserver)? = nil, onPass: @escaping @Sendable (ReconcileReport) -> Void = { _ in }) {
        self.provisioner = AnyProvisioner(provisioner)
        self.vendor = vendor
        self.store = store
        self.desiredDirectory = desiredDirectory
        self.policiesDirectory = policiesDirectory
        self.snapshot = snapshot
        self.budgets = budgets
        self.killSwitches = killSwitches
        self.passInterval = passInterval
        self.onPass = onPass
    }

    /// One pass: reconcile, then rebuild what the gateway reads. Throws store errors only.
    public func pass() async throws {
        let (bundle, problems) = PolicyBundle.load(directory: policiesDirectory)
        // Invalid policies provision nothing (the gate fails closed) and keep the last good
        // gateway snapshot: never serve under a half-read policy set.
        let reconciler = Reconciler(store: store, provisioner: provisioner, policies: problems.isEmpty ? PolicyEngine(enforced: bundle) : nil,
                                    vendor: vendor, actor: "controller")
        let loaded = DesiredStateLoader().load(directory: desiredDirectory)
        let report = try await reconciler.runOnce(loaded: loaded, directory: desiredDirectory)
        onPass(report)
        guard report.isValid, problems.isEmpty else { return }
        let state = loaded.state
        let now = Date()
        let period = BudgetPeriod(containing: now)
        for project in state.projects.values {
            // The store's spend is read once, when a project first appears: from then on the
            // budget ledger is ahead of the store (a call settles there before its ledger row
            // reaches the store), and reading the store again would forget calls in between.
            let isNew = budgets.snapshot(project: project.id) == nil
            budgets.setBudget(project: project.id, monthly: project.monthlyBudget)
            guard isNew else { continue }
            let spent = try await store.spend(project: project.id, from: period.start, to: period.next.start)
            _ = budgets.load(project: project.id, spent: spent, period: period)
        }
        snapshot.replace(with: GatewaySnapshot(state: state, routes: try await store.routes(), policies: bundle,
                                         guardrails: state.projects.compactMapValues { $0.guardrails.map(GuardrailPolicy.init) }))
    }

    /// Asks for a pass within a second (after an approval, say), serialised with the loop's own.
    public func requestPass() { passRequested.withLock { $0 = true } }

    /// Re-reads the engaged kill switches.
    public func refreshKillSwitches() async throws {
        let ticket = killSwitches.ticketForRead()
        let stored = try await store.killSwitches()
        killSwitches.replace(with: KillSwitchSet(stored.compactMap { row in
            KillScope(rawValue: row.scope).map { KillSwitch(scope: $0, id: row.target, reason: row.reason, since: row.since, by: row.engagedBy) }
        }), readAt: ticket)
    }

    public func run() async throws {
        try await pass()
        try await refreshKillSwitches()
        var fingerprint = Self.fingerprint(of: [desiredDirectory, policiesDirectory])
        var lastPass = ContinuousClock.now
        while !Task.isCancelledOrShuttingDown {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelledOrShuttingDown { break }
            try await refreshKillSwitches()
            let now = Self.fingerprint(of: [desiredDirectory, policiesDirectory])
            let requested = passRequested.withLock { flag in defer { flag = false }; return flag }
            if requested || now != fingerprint || ContinuousClock.now - lastPass >= passInterval {
                fingerprint = now
                lastPass = ContinuousClock.now
                try await pass()
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

extension Task where Success == Never, Failure == Never {
    /// Cancelled, or the service group is shutting down gracefully.
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
