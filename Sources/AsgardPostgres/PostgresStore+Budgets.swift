public import AsgardCore
public import Foundation
import PostgresNIO

/// Budgets shared by replicas: `budget_grants` holds each replica's grant of each project's
/// monthly budget. A change to a project's grants holds a transaction-scoped advisory lock on
/// the project and month, so two replicas never both take the last of a budget.
extension PostgresStore: BudgetLeaseStore {
    public func growBudgetGrant(project: String, month: String, vendorSpent: MicroDollars, want: MicroDollars) async throws -> BudgetGrant {
        let (replica, now) = (self.replica, StoreCoding.micros(clock()))
        return try await write { db in
            let held = try await Self.lockGrants(project: project, month: month, replica: replica, on: db)
            let stored = try await db.rows("SELECT spec_json FROM objects WHERE kind = \(ObjectKind.project.rawValue) AND id = \(project)").first
            guard let stored, case .project(let applied) = try ObjectTables.storedObject(stored) else {
                return BudgetGrant(granted: held.mine, others: held.others, budget: .zero)
            }
            let budget = applied.monthlyBudget
            // 128-bit arithmetic: a budget near Int64.max less a negative figure must not wrap.
            let left = Int128(budget.value) - Int128(max(0, vendorSpent.value)) - Int128(held.mine.value) - Int128(held.others.value)
            let added = Int64(max(0, min(Int128(max(0, want.value)), left)))
            guard added > 0 else { return BudgetGrant(granted: held.mine, others: held.others, budget: budget) }
            let granted = held.mine.value + added
            try await db.run(
                """
                INSERT INTO budget_grants (project, month, replica, granted, updated_at) VALUES (\(project), \(month), \(replica), \(granted), \(now))
                ON CONFLICT (project, month, replica) DO UPDATE SET granted = excluded.granted, updated_at = excluded.updated_at
                """)
            return BudgetGrant(granted: MicroDollars(granted), others: held.others, budget: budget)
        }
    }

    @discardableResult
    public func shrinkBudgetGrant(project: String, month: String, to keep: MicroDollars) async throws -> BudgetGrant {
        let (replica, now) = (self.replica, StoreCoding.micros(clock()))
        return try await write { db in
            let held = try await Self.lockGrants(project: project, month: month, replica: replica, on: db)
            let granted = max(0, min(keep.value, held.mine.value))
            guard granted < held.mine.value else { return BudgetGrant(granted: held.mine, others: held.others) }
            try await db.run(
                """
                UPDATE budget_grants SET granted = \(granted), updated_at = \(now)
                WHERE project = \(project) AND month = \(month) AND replica = \(replica)
                """)
            return BudgetGrant(granted: MicroDollars(granted), others: held.others)
        }
    }

    public func resetBudgetGrants(projects: [String]?, month: String, from: Date, to: Date) async throws -> [String: MicroDollars] {
        let (replica, now) = (self.replica, StoreCoding.micros(clock()))
        return try await write { db in
            let spent = try await db.rows(
                """
                SELECT project, SUM(cost_micros)::bigint AS spent FROM ledger
                WHERE replica = \(replica) AND time >= \(StoreCoding.micros(from)) AND time < \(StoreCoding.micros(to))
                GROUP BY project ORDER BY project
                """)
            var byProject: [String: MicroDollars] = [:]
            for row in spent { byProject[try row("project")] = MicroDollars(try row("spent", as: Int64.self)) }
            // Project by project, under each one's lock, so a replica growing a grant meanwhile
            // never reads a half-reset month.
            let known = try await db.rows("SELECT project FROM budget_grants WHERE month = \(month) AND replica = \(replica)")
                .map { try $0("project", as: String.self) }
            let chosen = Set(known).union(byProject.keys).filter { projects?.contains($0) ?? true }.union(projects ?? [])
            for project in chosen.sorted() {
                _ = try await Self.lockGrants(project: project, month: month, replica: replica, on: db)
                let granted = max(0, byProject[project]?.value ?? 0)
                try await db.run(
                    """
                    INSERT INTO budget_grants (project, month, replica, granted, updated_at) VALUES (\(project), \(month), \(replica), \(granted), \(now))
                    ON CONFLICT (project, month, replica) DO UPDATE SET granted = excluded.granted, updated_at = excluded.updated_at
                    """)
            }
            return byProject.filter { chosen.contains($0.key) }
        }
    }

    /// Takes the project's grant lock for `month` until the transaction ends, and reads what
    /// `replica` and the others hold.
    private static func lockGrants(project: String, month: String, replica: String, on db: PostgresConnection) async throws
        -> (mine: MicroDollars, others: MicroDollars)
    {
        try await db.run("SELECT pg_advisory_xact_lock(hashtextextended(\("budget/" + project + "/" + month), 0))")
        let row = try await db.rows(
            """
            SELECT COALESCE(SUM(granted) FILTER (WHERE replica = \(replica)), 0)::bigint AS mine,
                   COALESCE(SUM(granted) FILTER (WHERE replica <> \(replica)), 0)::bigint AS others
            FROM budget_grants WHERE project = \(project) AND month = \(month)
            """
        ).first
        return (MicroDollars(try row?("mine", as: Int64.self) ?? 0), MicroDollars(try row?("others", as: Int64.self) ?? 0))
    }
}
