import AsgardController
import AsgardCore
import AsgardCost
import AsgardGateway
import AsgardJSON
import Cedar
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The cost plane's HTTP API, over `CostDesk`:
///
/// - `POST /api/cost/rollup` (an operator in `Role::"admin"`: the admin credential or an admin
///   person), body empty or `{"from": "YYYY-MM-DD", "to": ..., "sources": [...]}` (default: the
///   last `CostRollupService.defaultDays` days through today, every source). Idempotent; audited as
///   `cost.rollup`. Answers the days, sources and counts.
/// - `GET /api/cost?from=&to=&group_by=project,vendor,day&project=&format=json|csv` (an operator,
///   or a key): spend per group across every source, each figure marked measured, estimate,
///   partial or not measured, with budgets and burn. Cedar's `read_cost` decides which projects
///   the caller sees (a key: its own project); naming a project the caller may not read is 403,
///   audited.
struct CostController: Sendable {
    let store: any Store
    let desk: CostDesk
    let snapshot: SnapshotBox
    /// Measured vendor spend counts against budgets as soon as a rollup has it.
    let budgets: BudgetLedger

    func addRoutes(operators: RouterGroup<AsgardRequestContext>, readers: RouterGroup<AsgardRequestContext>) {
        operators.post("/api/cost/rollup") { request, context -> Response in
            let admin = try Self.rollupOperator(context.admin)
            let (period, sources) = try await Self.rollupOrder(request, context: context, today: CostDay(desk.clock()))
            let outcome = try await Self.rollup(desk: desk, budgets: budgets, period: period, sources: sources, by: admin)
            return Self.json(
                .object([
                    JSONMember(key: "from", value: .string(outcome.period.from.description)),
                    JSONMember(key: "to", value: .string(outcome.period.to.description)),
                    JSONMember(key: "sources", value: .array(outcome.sources.map(JSONValue.string))),
                    JSONMember(key: "measured", value: .integer(Int64(outcome.measured))),
                    JSONMember(key: "estimate", value: .integer(Int64(outcome.estimated))),
                    JSONMember(key: "not_measured", value: .integer(Int64(outcome.notMeasured))),
                    JSONMember(key: "changed", value: .integer(Int64(outcome.replacement.changed))),
                ]))
        }
        readers.get("/api/cost") { request, context -> Response in
            guard let current = snapshot.current else { throw GatewayError.starting }
            let today = CostDay(desk.clock())
            let period = try Self.period(request, default: (today.firstOfMonth, today))
            let groupBy = try Self.groupBy(request)
            let (principal, entities) = Self.principal(context, current)
            let reader = UsageDesk(store: store, policies: current.policy)
            var visible = Set(current.projects.keys.filter { reader.mayRead($0, principal: principal, entities: entities) })
            if let named = request.uri.queryParameters.get("project").map({ String($0) }) {
                guard visible.contains(named) else {
                    try await store.appendAudit(
                        AuditEntry(
                            actor: "\(principal.type)/\(principal.id)", action: "cost.read", target: "Project/\(named)", outcome: "denied",
                            detail: ["reason": "no policy lets \(principal) read the cost of project \(named)"]))
                    throw GatewayError(
                        status: 403, type: "permission_error", code: "policy_denied", message: "no policy lets \(principal) read the cost of project \(named)")
                }
                visible = [named]
            }
            let report = try await desk.report(period, projects: visible, groupBy: groupBy)
            switch request.uri.queryParameters.get("format").map({ String($0) }) ?? "json" {
            case "json": return Self.json(report.json)
            case "csv":
                return Response(
                    status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: report.csv)))
            case let other: throw GatewayError.invalidRequest("format must be json or csv, not \(other.prefix(20))", param: "format")
            }
        }
    }

    /// The operator a rollup is ordered by: the admin credential or a person in the admin role.
    /// - Throws: `GatewayError` 403 for anyone else.
    static func rollupOperator(_ admin: Operator?) throws(GatewayError) -> Operator {
        guard let admin, admin.roles.contains("admin") else {
            throw GatewayError(
                status: 403, type: "permission_error", code: "not_an_admin", message: "a cost rollup needs the admin credential or a person in the admin role")
        }
        return admin
    }

    /// Rolls `period` up as `admin` (the API's and the dashboard's refresh alike), then counts
    /// the measured vendor spend against budgets at once.
    static func rollup(desk: CostDesk, budgets: BudgetLedger, period: CostPeriod, sources: Set<String>?, by admin: Operator) async throws
        -> CostDesk.RollupOutcome
    {
        let outcome: CostDesk.RollupOutcome
        do {
            outcome = try await desk.rollup(period, only: sources, actor: "User/\(admin.id ?? "anonymous")")
        } catch let error as CostDesk.RollupError {
            throw GatewayError.invalidRequest(error.description, param: "sources")
        }
        try await budgets.loadVendorSpend(from: desk.ledger, now: desk.clock())
        return outcome
    }

    /// Who asks, as Cedar sees them: a key, or an operator (`User::"<email>"` in their roles).
    static func principal(_ context: AsgardRequestContext, _ current: GatewaySnapshot) -> (EntityUID, Entities) {
        if let caller = context.caller { return (InvokeEntities.uid(key: caller.key.id), current.entities) }
        let admin = context.admin ?? Operator(id: nil, roles: [], via: "api")
        let user = Entity(uid: EntityUID(type: "User", id: admin.id ?? "anonymous"), ancestors: Set(admin.roles.map { EntityUID(type: "Role", id: $0) }))
        return (user.uid, Entities(closingParentsOf: Array(current.entities.byUID.values) + [user]))
    }

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    /// `from` and `to` query parameters (`YYYY-MM-DD`), each defaulting.
    static func period(_ request: Request, default fallback: (CostDay, CostDay)) throws(GatewayError) -> CostPeriod {
        func day(_ name: String, _ fallback: CostDay) throws(GatewayError) -> CostDay {
            guard let text = request.uri.queryParameters.get(name) else { return fallback }
            do { return try CostDay(String(text)) } catch { throw .invalidRequest("\(name): \(error)", param: name) }
        }
        do { return try CostPeriod(from: day("from", fallback.0), to: day("to", fallback.1)) } catch let error as CostPeriod.Problem {
            throw .invalidRequest(error.description, param: "to")
        } catch let error as GatewayError { throw error } catch { throw .invalidRequest("\(error)") }
    }

    static func groupBy(_ request: Request) throws(GatewayError) -> [CostReport.Dimension] {
        guard let text = request.uri.queryParameters.get("group_by") else { return [.project, .vendor, .day] }
        var dimensions: [CostReport.Dimension] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let dimension = CostReport.Dimension(rawValue: String(name)), !dimensions.contains(dimension) else {
                throw .invalidRequest(
                    "group_by takes distinct names from \(CostReport.Dimension.allCases.map(\.rawValue).joined(separator: ", ")), e.g. project,vendor,day",
                    param: "group_by")
            }
            dimensions.append(dimension)
        }
        return dimensions
    }

    /// The rollup's body: empty, or `{"from", "to", "sources"}`; anything else is refused by name.
    static func rollupOrder(_ request: Request, context: AsgardRequestContext, today: CostDay) async throws -> (CostPeriod, Set<String>?) {
        let body = try await collectBody(request, on: context.channel, upTo: 64 << 10, within: .seconds(30))
        var from = CostRollupService.firstDay(through: today), to = today
        var sources: Set<String>?
        guard body.readableBytes > 0 else { return (try CostPeriod(from: from, to: to), nil) }
        guard case .object(let members)? = try? JSONValue.parse(Array(body.readableBytesView)) else {
            throw GatewayError.invalidRequest(#"the body must be a JSON object: {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "sources": [...]}"#)
        }
        for member in members {
            switch (member.key, member.value) {
            case ("from", .string(let text)), ("to", .string(let text)):
                let day: CostDay
                do { day = try CostDay(text) } catch { throw GatewayError.invalidRequest("\(member.key): \(error)", param: member.key) }
                if member.key == "from" { from = day } else { to = day }
            case ("sources", .array(let names)):
                sources = Set(try names.map { name -> String in
                    guard let text = name.stringValue else { throw GatewayError.invalidRequest("sources must be names of cost sources", param: "sources") }
                    return text
                })
            default:
                throw GatewayError.invalidRequest("unknown or mistyped field \(member.key): the body takes from, to (days) and sources (names)", param: member.key)
            }
        }
        do { return (try CostPeriod(from: from, to: to), sources) } catch { throw GatewayError.invalidRequest(error.description, param: "to") }
    }
}
