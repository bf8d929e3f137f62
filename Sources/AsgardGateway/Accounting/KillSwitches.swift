public import AsgardCore
public import Foundation
import Synchronization

/// An operator's order to refuse calls in one scope, with who gave it, when and why.
public struct KillSwitch: Sendable, Hashable, Codable {
    public var scope: KillScope
    /// The vendor, model, project or key id it stops; empty (and ignored) for `.global`.
    public var id: String
    /// Shown to callers in the refusal and on the dashboard.
    public var reason: String
    public var since: Date
    /// Who engaged it.
    public var by: String

    public init(scope: KillScope, id: String, reason: String, since: Date, by: String) {
        self.scope = scope
        self.id = scope == .global ? "" : id
        self.reason = reason
        self.since = since
        self.by = by
    }
}

/// The kill switches in force, indexed for the per-call check.
public struct KillSwitchSet: Sendable, Hashable {
    /// The switches, as given (one per scope and id).
    public let switches: [KillSwitch]
    let global: KillSwitch?
    let byScope: [KillScope: [String: KillSwitch]]

    /// Indexes `switches`. Of two switches with the same scope and id, the first given wins.
    public init(_ switches: [KillSwitch]) {
        var global: KillSwitch?
        var byScope: [KillScope: [String: KillSwitch]] = [:]
        var kept: [KillSwitch] = []
        for killSwitch in switches {
            if killSwitch.scope == .global {
                guard global == nil else { continue }
                global = killSwitch
            } else {
                guard byScope[killSwitch.scope]?[killSwitch.id] == nil else { continue }
                byScope[killSwitch.scope, default: [:]][killSwitch.id] = killSwitch
            }
            kept.append(killSwitch)
        }
        self.switches = kept
        self.global = global
        self.byScope = byScope
    }

    /// No switch engaged.
    public static let empty = KillSwitchSet([])

    /// The switch that stops a call, if any: the first match in the order global, vendor, model,
    /// project, key, so the broadest applicable order is the one reported. O(1): at most four
    /// hash lookups.
    ///
    /// - Parameters:
    ///   - vendor: the vendor the call is routed to, e.g. `databricks`.
    ///   - model: the public model id, e.g. `databricks/llama-3-3-70b`.
    ///   - project: the project the key belongs to.
    ///   - key: the virtual key's id.
    public func check(vendor: String, model: String, project: String, key: String) -> KillSwitch? {
        if let global { return global }
        guard !byScope.isEmpty else { return nil }
        return byScope[.vendor]?[vendor] ?? byScope[.model]?[model]
            ?? byScope[.project]?[project] ?? byScope[.key]?[key]
    }

    /// The switch that stops every call of a caller, whatever the model: global, then project,
    /// then key. Authentication checks these; the vendor and model ones wait for the model.
    public func check(project: String, key: String) -> KillSwitch? {
        if let global { return global }
        guard !byScope.isEmpty else { return nil }
        return byScope[.project]?[project] ?? byScope[.key]?[key]
    }

    public var isEmpty: Bool { switches.isEmpty }
}

/// The kill switches currently in force, shared by every request handler.
///
/// The store is the source of truth (switches are engaged from the API and dashboard, possibly on
/// another replica); the server's refresh service reads them from the store at least once a
/// second and calls `replace(with:)`, so a switch takes effect everywhere within about a second.
/// Reads copy an immutable `KillSwitchSet` out of a `Mutex`, which is cheap and never waits on
/// the store.
public final class KillSwitchBoard: Sendable {
    /// The set in force, and the ticket of the read it came from (0: not from a ticketed read).
    let installed: Mutex<(set: KillSwitchSet, ticket: UInt64)>
    private let tickets = Atomic<UInt64>(0)

    /// A board holding `initial` (none by default).
    public init(_ initial: KillSwitchSet = .empty) {
        installed = Mutex((initial, 0))
    }

    /// The switches in force now.
    public var current: KillSwitchSet {
        installed.withLock { $0.set }
    }

    /// Installs a set of switches, replacing the previous one whole.
    public func replace(with newSet: KillSwitchSet) {
        installed.withLock { $0.set = newSet }
    }

    /// A ticket to take just before reading the switches from the store, for
    /// `replace(with:readAt:)`.
    public func ticketForRead() -> UInt64 {
        tickets.add(1, ordering: .sequentiallyConsistent).newValue
    }

    /// Installs a set read after taking `ticket`, unless a read that took a later ticket is
    /// installed already: a periodic refresh that read just before a switch was engaged cannot
    /// put the old state back over the one the engaging request installed after its commit.
    public func replace(with newSet: KillSwitchSet, readAt ticket: UInt64) {
        installed.withLock { installed in
            if ticket > installed.ticket { installed = (newSet, ticket) }
        }
    }

    /// `current.check(...)`: the switch that stops this call, if any.
    public func check(vendor: String, model: String, project: String, key: String) -> KillSwitch? {
        current.check(vendor: vendor, model: model, project: project, key: key)
    }
}
