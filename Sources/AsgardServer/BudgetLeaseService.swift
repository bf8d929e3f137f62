import AsgardCore
import AsgardGateway
import ServiceLifecycle

/// Gives back, every `interval`, what this replica's grants of shared budgets hold for projects
/// it did not call since the last look; at once, what another replica says it is short of; and
/// everything it does not spend at shutdown (after the HTTP server has stopped taking calls),
/// so the other replicas can spend it.
struct BudgetLeaseService: ServiceLifecycle.Service {
    let keeper: BudgetLeaseKeeper
    var interval: Duration = .seconds(2)

    func run() async throws {
        let wanted = (keeper.store as? any StoreChangeFeed).map { feed in
            Task { [keeper] in
                for await change in feed.changes() {
                    guard case .budgetWanted(let project, let replica) = change, replica != keeper.store.replica else { continue }
                    await keeper.giveBack(project: project)
                }
            }
        }
        defer { wanted?.cancel() }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            await keeper.trimIdle()
        }
        await keeper.returnAll()
    }
}
