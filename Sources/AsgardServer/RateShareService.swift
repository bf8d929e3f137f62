import AsgardCore
import AsgardGateway
import ServiceLifecycle

/// Renews this replica's shares of rate limits shared with other replicas every
/// `RateShares.renewEvery`, gives back every `interval` what keys idle for that long do not use,
/// and at shutdown (after the HTTP server has stopped taking calls) everything unused.
struct RateShareService: ServiceLifecycle.Service {
    let keeper: RateShareKeeper
    var interval: Duration = .seconds(2)

    func run() async throws {
        var lastRenewal = ContinuousClock.now
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            await keeper.trimIdle(idleFor: interval)
            if ContinuousClock.now - lastRenewal >= RateShares.renewEvery - interval {
                lastRenewal = .now
                await keeper.renew()
            }
        }
        await keeper.returnAll()
    }
}
