public import Foundation

/// A store that several replicas share, each spending a project's monthly budget only out of
/// a grant it holds in the store: the grants of every replica together never exceed the budget
/// less what vendors measured, so no number of replicas can overspend, while each replica checks
/// a call against its own grant in memory, with no database round trip.
///
/// A grant grows when its replica runs short (`growBudgetGrant`), shrinks when its replica
/// gives back what it does not use (`shrinkBudgetGrant`), and at a replica's start is set to
/// exactly what that replica's calls cost this month (`resetBudgetGrants`): whatever it held
/// for calls in flight when it stopped goes back to the others.
public protocol BudgetLeaseStore: Sendable {
    /// This replica's name, as its grants are kept.
    var replica: String { get }

    /// Grants this replica up to `want` more of `project`'s budget for `month` (`YYYY-MM`): as
    /// much of it as the budget, less `vendorSpent` and every replica's grants, leaves. The
    /// budget is the applied project's, as the store holds it, never a replica's own view (which
    /// may lag a change the leader just wrote); a project the store does not hold gets nothing.
    /// Atomic across replicas.
    /// - Returns: this replica's grant now, what the other replicas hold, and the budget.
    func growBudgetGrant(project: String, month: String, vendorSpent: MicroDollars, want: MicroDollars) async throws -> BudgetGrant

    /// Lowers this replica's grant for `project` and `month` to `keep` (a grant is never raised
    /// here), giving the rest back.
    /// - Returns: this replica's grant now, and what the other replicas hold.
    @discardableResult
    func shrinkBudgetGrant(project: String, month: String, to keep: MicroDollars) async throws -> BudgetGrant

    /// Sets this replica's grants for `month` (those of `projects`, or all when nil) to what
    /// its own calls cost in `from..<to` (its ledger rows), and says what that is by project:
    /// what a replica does first, once its journal is in the store.
    func resetBudgetGrants(projects: [String]?, month: String, from: Date, to: Date) async throws -> [String: MicroDollars]
}

/// One replica's grant of a project's monthly budget.
public struct BudgetGrant: Sendable, Hashable {
    /// What this replica may commit (spent and reserved) this month.
    public var granted: MicroDollars
    /// What the other replicas hold.
    public var others: MicroDollars
    /// The project's monthly budget as the store holds it (nil when the answer did not read it).
    public var budget: MicroDollars?

    public init(granted: MicroDollars, others: MicroDollars, budget: MicroDollars? = nil) {
        self.granted = granted
        self.others = others
        self.budget = budget
    }
}
