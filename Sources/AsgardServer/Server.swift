public import AsgardController
public import AsgardCore
public import AsgardCost
public import AsgardGateway
import AsgardMCP
public import AsyncHTTPClient
import Foundation
import HTTPTypes
public import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// What `asgard serve` needs to start.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var desiredDirectory = "desired"
    public var policiesDirectory = "policies"
    public var dataDirectory = ".asgard"
    /// Where vendor base URLs and tokens are read, by the names the manifests give.
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    public var maxBodyBytes = 1 << 20
    public var passInterval: Duration = .seconds(30)
    /// A client connection with no request part for this long is closed (an idle keep-alive
    /// connection, or headers that stop arriving).
    public var idleTimeout: Duration = .seconds(30)
    /// A request body must arrive whole within this long (a body trickled byte by byte is
    /// answered 408 and its connection closed).
    public var bodyReadTimeout: Duration = .seconds(30)

    public init() {}
}

/// The effects the server is built on, chosen by the caller: `asgard serve` and `asgard demo`
/// open the SQLite store and resolve the terraform connector; tests bring their own.
public struct ServerDependencies: Sendable {
    public var store: any Store
    /// Calls vendors (`HTTPUpstream.vendorClient()`); the caller shuts it down.
    public var httpClient: HTTPClient
    /// Carries out provisioning: the terraform connector, or one that refuses by name.
    public var provisioner: any Provisioner
    /// List what vendors hold, for drift, by the names manifests give (`observe`).
    public var observers: VendorObservers
    /// The cost plane's tables: the store's own when it has them (SQLite does); without them
    /// the cost routes and the daily rollup are off.
    public var costLedger: (any CostLedger)?

    public init(
        store: any Store, httpClient: HTTPClient, provisioner: any Provisioner = UnavailableProvisioner(),
        observers: VendorObservers = VendorObservers()
    ) {
        self.store = store
        self.httpClient = httpClient
        self.provisioner = provisioner
        self.observers = observers
        self.costLedger = store as? any CostLedger
    }
}

/// The running pieces, for tests and `asgard demo`.
public struct ServerParts: Sendable {
    public let store: any Store
    public let calls: CallLog
    public let controller: Controller
    public let gateway: Gateway
    public let metrics: GatewayMetrics
    public let snapshot: SnapshotBox
}

/// Wires the store, the controller, the gateway and the HTTP routes: the one composition root
/// that `asgard serve`, `asgard demo` and the tests all build the server with. The call
/// journal lives in `<data directory>/journal`.
///
/// Routes: `GET /healthz` (503 `starting` until the first configuration is published, then
/// 200 `ok`, or 200 `degraded` with the reasons); `GET /v1/models` (the presented key's models);
/// `POST /v1/chat/completions` (OpenAI drop-in; data class from `X-Asgard-Data-Class`);
/// `POST /api/gateway/chat` (Asgard's shape: the body carries `data_class`);
/// `GET /api/projects/{id}/usage?from=&to=` (spend by model and day, for the project's keys);
/// the admin API (`AdminController`); `/mcp`, the MCP server, and its RFC 9728 metadata
/// (`MCPController`).
/// With `ASGARD_AUDIT_ANCHOR_FILE` in the configuration's environment, the audit head is
/// appended to that file periodically (`AuditAnchorExport`).
/// - Throws: `CallLogError` when another server has the journal open; the journal's and the
///   store's errors when the journal cannot be opened or recovered; `AuditAnchorExportError`;
///   `DashboardSessions.ConfigurationError` for a session lifetime that is not whole seconds.
public func buildApplication(
    _ configuration: ServerConfiguration, _ dependencies: ServerDependencies,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> (ServerParts, some ApplicationProtocol) {
    try ServerParts.build(configuration, dependencies, onServerRunning: onServerRunning)
}

extension ServerParts {
    static func build(
        _ configuration: ServerConfiguration, _ dependencies: ServerDependencies,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) throws -> (ServerParts, some ApplicationProtocol) {
        let (store, httpClient) = (dependencies.store, dependencies.httpClient)
        let anchorExport = try AuditAnchorExport.configured(store: store, environment: configuration.environment)
        let calls = try CallLog.open(store: store, directory: configuration.dataDirectory + "/journal")
        let snapshot = SnapshotBox()
        let budgets = BudgetLedger()
        let leases = (store as? any BudgetLeaseStore).map { BudgetLeaseKeeper(store: $0, ledger: budgets) }
        let rateLimiter = RateLimiter(leased: store is any RateShareStore)
        let rateShares = (store as? any RateShareStore).map { RateShareKeeper(store: $0, limiter: rateLimiter) }
        let election = store as? any LeaderElection
        let leadership = Leadership(election: election)
        let killSwitches = KillSwitchBoard()
        let health = HealthBoard()
        let ingester = calls.ingester
        health.watch(.ledger) { ingester.failure }
        if let leases { health.watch(.budgets) { leases.lastFailure } }
        if let rateShares { health.watch(.rateLimits) { rateShares.lastFailure } }
        let logger = Logger(label: "asgard.controller")
        let controller = Controller(
            store: store, desiredDirectory: configuration.desiredDirectory, policiesDirectory: configuration.policiesDirectory,
            snapshot: snapshot, budgets: budgets, killSwitches: killSwitches, environment: configuration.environment, health: health,
            passInterval: configuration.passInterval,
            provisioner: dependencies.provisioner, observers: dependencies.observers, budgetLeases: leases, leadership: leadership,
            onOutcome: { outcome in
                let line: Logger.Message =
                    "\(outcome.action.ref) \(outcome.action.verb.rawValue): \(outcome.result.rawValue) in \(outcome.elapsedMilliseconds) ms\(outcome.reason.map { ": \($0)" } ?? "")"
                switch outcome.result {
                case .failed: logger.warning(line)
                case .deferred: logger.debug(line)
                default: logger.info(line)
                }
            })
        let metrics = GatewayMetrics(ledgerBacklog: { ingester.backlog })
        var gateway = Gateway(
            snapshot: { snapshot.current }, transport: HTTPUpstream(client: httpClient, plain: PooledHTTP1Client()), recorder: calls.recorder,
            budgets: budgets, rateLimiter: rateLimiter, killSwitches: killSwitches, metering: metrics)
        gateway.maxBodyBytes = configuration.maxBodyBytes
        gateway.leases = leases
        gateway.rateShares = rateShares
        let server = ServerParts(store: store, calls: calls, controller: controller, gateway: gateway, metrics: metrics, snapshot: snapshot)
        let router = Router(context: AsgardRequestContext.self)
        let metricsDigest = configuration.environment["ASGARD_METRICS_KEY_SHA256"].flatMap { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : nil }
        HealthController(health: health, snapshot: snapshot, metrics: metrics, metricsDigest: metricsDigest).addRoutes(to: router)
        let authenticator = gateway.authenticator
        let pipeline = gateway
        // Chat refusals, at authentication too, are audited as `gateway.invoke`.
        GatewayController(gateway: gateway, maxBodyBytes: configuration.maxBodyBytes, bodyReadTimeout: configuration.bodyReadTimeout).addRoutes(
            to: router.group()
                .add(middleware: RequestMetrics(metrics: metrics))
                .add(
                    middleware: KeyAuthentication(authenticator: authenticator) { error, key in await pipeline.refuseUnauthenticated(error, key: key)
                    }))
        UsageController(store: store, ingester: calls.ingester).addRoutes(
            to: router.group()
                .add(middleware: KeyAuthentication(authenticator: authenticator) { error, _ in GatewayResponse(error: error) }))
        let adminDigest = configuration.environment["ASGARD_ADMIN_KEY_SHA256"].flatMap { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : nil }
        let adminAuthentication = AdminAuthentication(digest: adminDigest, snapshot: snapshot)
        AdminController(store: store, controller: controller, snapshot: snapshot)
            .addRoutes(to: router.group().add(middleware: adminAuthentication))
        var costServices: [any ServiceLifecycle.Service] = []
        var costDesk: CostDesk?
        if let ledger = dependencies.costLedger {
            var desk = CostDesk.serving(store: store, ledger: ledger, client: httpClient, environment: configuration.environment)
            desk.onDrift = { vendor, drift in metrics.costDrift(vendor: vendor, drift: drift) }
            costDesk = desk
            CostController(store: store, desk: desk, snapshot: snapshot, budgets: budgets).addRoutes(
                operators: router.group().add(middleware: adminAuthentication),
                readers: router.group().add(middleware: OperatorOrKeyAuthentication(operators: adminAuthentication, keys: authenticator)))
            let at = try CostRollupService.minuteOfDay(configuration.environment["ASGARD_COST_ROLLUP_AT"] ?? "02:30")
            costServices.append(
                CostRollupService(desk: desk, minuteOfDay: at) { try await budgets.loadVendorSpend(from: ledger, now: Date()) })
        }
        let toolbox = Toolbox(
            Toolbox.Dependencies(
                store: store, snapshot: { snapshot.current }, gateway: gateway, budgets: budgets,
                costDesk: costDesk,
                desiredDirectory: configuration.desiredDirectory, requestPass: { controller.requestPass() },
                requestRound: { controller.requestRound() },
                refreshKillSwitches: { try? await controller.killSwitches.refresh() }, ledgerCaughtUp: { await ingester.caughtUp() }))
        if let sessionStore = store as? any DashboardStore {
            let environment = configuration.environment
            let sessions = DashboardSessions(
                store: sessionStore, snapshot: snapshot,
                idle: try DashboardSessions.seconds("ASGARD_DASHBOARD_IDLE_SECONDS", in: environment, default: 3_600),
                absolute: try DashboardSessions.seconds("ASGARD_DASHBOARD_SESSION_SECONDS", in: environment, default: 43_200),
                secure: environment["ASGARD_PUBLIC_URL"]?.lowercased().hasPrefix("https://") == true)
            let anchorFile = environment["ASGARD_AUDIT_ANCHOR_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            DashboardController(
                store: store, sessions: sessions, controller: controller, snapshot: snapshot, budgets: budgets, costDesk: costDesk,
                anchorFile: anchorFile, verifier: AuditVerifier(store: store, anchorFile: anchorFile)
            ).addRoutes(to: router)
        }
        MCPController(
            endpoint: MCPEndpoint(configuration: .from(configuration.environment), toolbox: toolbox, authenticator: authenticator),
            maxBodyBytes: configuration.maxBodyBytes, bodyReadTimeout: configuration.bodyReadTimeout
        ).addRoutes(to: router)
        let elected: [any ServiceLifecycle.Service] =
            election.map { election in
                [
                    LeadershipService(leadership: leadership, election: election) { _ in
                        controller.requestPass()
                        controller.requestRound()
                    }
                ]
            } ?? []
        let application = Application(
            router: router,
            server: .http1BoundToEventLoops(configuration: HTTP1Channel.Configuration(idleTimeout: TimeAmount(configuration.idleTimeout))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "asgard"),
            // Services stop in reverse order: the anchor export last, so its last anchor covers everything written.
            services: (anchorExport.map { [$0] } ?? []) + elected + controller.services + costServices
                + (leases.map { [BudgetLeaseService(keeper: $0)] } ?? []) + (rateShares.map { [RateShareService(keeper: $0)] } ?? [])
                + [calls.ingester],
            onServerRunning: onServerRunning)
        return (server, application)
    }
}

extension GatewayEventStream {
    /// The stream as a Hummingbird response body (the status and headers are `status` and
    /// `headers`). A client that goes away makes the writer throw; the call is then recorded
    /// as `client_disconnected` and the error passed on to Hummingbird.
    var responseBody: ResponseBody {
        ResponseBody { writer in
            try await produce { frame in try await writer.write(ByteBuffer(bytes: frame)) }
            try await writer.finish(nil)
        }
    }
}

extension CostDesk {
    /// The desk the server and the CLI roll up with: sources built at each rollup from the
    /// store's cost-source configuration and route table, over `client`.
    public static func serving(store: any Store, ledger: any CostLedger, client: HTTPClient, environment: [String: String]) -> CostDesk {
        CostDesk(store: store, ledger: ledger) {
            CostSources.build(
                configured: try await store.costSources(), projects: try await store.gatewayConfiguration().projects,
                inferenceVendors: try await store.routes().map(\.vendor), environment: environment,
                http: HTTPCostTransport(client: client), ledger: ledger)
        }
    }
}

extension MCPEndpoint.Configuration {
    /// From the environment: `ASGARD_PUBLIC_URL`, `ASGARD_MCP_ALLOWED_HOSTS` and
    /// `ASGARD_MCP_ALLOWED_ORIGINS` (comma-separated, added to the loopback defaults),
    /// `ASGARD_MCP_SESSION_IDLE_SECONDS` and `ASGARD_MCP_SESSIONS_PER_CREDENTIAL`.
    static func from(_ environment: [String: String]) -> MCPEndpoint.Configuration {
        var configuration = MCPEndpoint.Configuration()
        func list(_ name: String) -> [String] {
            (environment[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        configuration.allowedHosts += list("ASGARD_MCP_ALLOWED_HOSTS")
        configuration.allowedOrigins += list("ASGARD_MCP_ALLOWED_ORIGINS")
        if let url = environment["ASGARD_PUBLIC_URL"], !url.isEmpty {
            configuration.publicURL = url
            if let host = URL(string: url)?.host {
                configuration.allowedHosts.append(host + ":*")
                configuration.allowedHosts.append(host)
            }
        }
        if let seconds = environment["ASGARD_MCP_SESSION_IDLE_SECONDS"].flatMap(Int.init), seconds > 0 {
            configuration.idleTimeout = .seconds(seconds)
        }
        if let count = environment["ASGARD_MCP_SESSIONS_PER_CREDENTIAL"].flatMap(Int.init), count > 0 {
            configuration.sessionsPerCredential = count
        }
        return configuration
    }
}
