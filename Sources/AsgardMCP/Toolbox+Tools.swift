import AsgardController
import AsgardCore
import AsgardCost
import AsgardGateway
import AsgardJSON
import AsgardPolicy
import Foundation
import MCP

extension Toolbox {
    /// Runs an authorized tool.
    func run(_ tool: ToolName, _ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> CallTool.Result {
        switch tool {
        case .whoami: return Self.result(whoami(principal))
        case .list_models: return Self.result(listModels(principal, snapshot))
        case .list_services: return Self.result(try await listServices())
        case .get_budget: return Self.result(budget(of: arguments.string("project") ?? principal.keyProject ?? ""))
        case .get_costs: return Self.result(try await costs(arguments, principal))
        case .register_project: return Self.result(try await registerProject(arguments, principal, snapshot))
        case .request_resource: return Self.result(try await requestResource(arguments, principal, snapshot))
        case .get_request: return Self.result(try await requestView(visible(arguments.string("request_id") ?? "", to: principal)))
        case .list_approvals: return Self.result(try await listApprovals(arguments, principal))
        case .approve, .reject: return Self.result(try await decide(tool == .approve, arguments, principal, snapshot))
        case .cancel_request: return Self.result(try await cancel(arguments, principal, snapshot))
        case .chat: return try await chat(arguments, principal)
        case .kill, .unkill: return Self.result(try await killSwitch(engage: tool == .kill, arguments, principal, snapshot))
        }
    }

    // MARK: Reading

    func whoami(_ principal: MCPPrincipal) -> Value {
        switch principal {
        case .key(let caller):
            let key = caller.key
            return .object([
                "kind": "key", "id": .string(key.id), "project": .string(caller.project.id), "email": .null, "roles": [],
                "limits": .object([
                    "allowed_models": .array(key.allowedModels.map(Value.string)), "max_data_class": .string(key.maxDataClass.name),
                    "default_data_class": .string(key.defaultDataClass.name), "requests_per_minute": key.requestsPerMinute.map(Value.int) ?? .null,
                    "expires": .instant(key.expires),
                ]),
                "budget": budget(of: caller.project.id),
            ])
        case .person(let person):
            return .object([
                "kind": "person", "id": .string(person.id), "project": .null, "email": .string(person.email),
                "roles": .array(person.roles.map(Value.string)), "limits": .null, "budget": .null,
            ])
        }
    }

    func budget(of project: String) -> Value {
        guard let account = dependencies.budgets.snapshot(project: project) else {
            return .object(["project": .string(project), "month": .null, "monthly_usd": .null, "left_usd": .null])
        }
        return .object([
            "project": .string(project), "month": .text(account.period?.description), "monthly_usd": .dollars(account.budget),
            "spent_usd": .dollars(account.spent), "reserved_usd": .dollars(account.reserved), "vendor_spent_usd": .dollars(account.vendorSpent),
            "left_usd": .dollars(account.left),
        ])
    }

    func listModels(_ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) -> Value {
        var models: [Value] = []
        for model in snapshot.routes.models {
            guard let route = snapshot.routes[model] else { continue }
            if case .key(let caller) = principal {
                let key = caller.key
                guard key.allowedModels.contains(model) || key.allowedModels.contains("\(route.vendor)/*") else { continue }
                if let owner = route.project, owner != key.project, !route.sharedWith.contains(key.project) { continue }
            }
            models.append(
                .object([
                    "id": .string(model), "vendor": .string(route.vendor), "max_data_class": .string(route.maxDataClass.name),
                    "input_usd_per_million_tokens": .dollars(route.pricing.inputPerMillion),
                    "output_usd_per_million_tokens": .dollars(route.pricing.outputPerMillion), "serving_endpoint": .text(route.servingEndpoint),
                ]))
        }
        return .object(["models": .array(models)])
    }

    func listServices() async throws -> Value {
        let store = dependencies.store
        var services: [Value] = []
        for ref in try await store.observedState().objects.keys.filter({ $0.kind == .service }).sorted() {
            guard case .service(let service)? = try await store.object(ref) else { continue }
            for offered in service.provisionable.sorted(by: { $0.name < $1.name }) {
                services.append(
                    .object([
                        "name": .string(offered.name), "vendor": .string(service.id), "tier": .string(offered.tier.rawValue),
                        "classification_floor": .string(offered.classificationFloor.name),
                        "monthly_estimate_usd": .dollars(offered.monthlyEstimate),
                        "estimate_rule": offered.costRule.map { .string("by parameter \($0.parameter)") } ?? .null,
                    ]))
            }
        }
        return .object(["services": .array(services)])
    }

    func costs(_ arguments: Arguments, _ principal: MCPPrincipal) async throws -> Value {
        guard let desk = dependencies.costDesk else { throw Refusal("the cost plane is off: this store has no cost tables") }
        let project = arguments.string("project") ?? principal.keyProject ?? ""
        let today = CostDay(dependencies.clock())
        let period: CostPeriod
        do {
            let from = try arguments.string("from").map { text throws(CostDay.ParseError) in try CostDay(text) } ?? today.firstOfMonth
            let to = try arguments.string("to").map { text throws(CostDay.ParseError) in try CostDay(text) } ?? today
            period = try CostPeriod(from: from, to: to)
        } catch let error as CostDay.ParseError {
            throw InvalidArgument(description: "from/to: \(error.description)")
        } catch let error as CostPeriod.Problem {
            throw InvalidArgument(description: "from/to: \(error.description)")
        }
        // Today's gateway metering is brought up to date: the calls made so far copied into the
        // store's ledger, then a local, cheap, idempotent rollup of it.
        if period.contains(today) {
            _ = await dependencies.ledgerCaughtUp()
            do {
                _ = try await desk.rollup(try CostPeriod(from: today, to: today), only: [GatewayMetering.type], actor: principal.actor)
            } catch is CostDesk.RollupError {
                // No vendor has inference routes, so there is no gateway metering to bring up.
            }
        }
        let report = try await desk.report(period, projects: [project], groupBy: [.vendor, .source, .day])
        let lines: [Value] = report.lines.map { line in
            .object([
                "vendor": .text(line.keys[.vendor]), "source": .text(line.keys[.source]), "day": .text(line.keys[.day]),
                "measurement": .string(line.measurement), "amount_usd": .dollars(line.amount), "details": .array(line.details.map(Value.string)),
            ])
        }
        let budget: Value =
            report.budgets.first.map { budget in
                .object([
                    "month": .string(budget.month), "monthly_usd": .dollars(budget.monthlyBudget), "measured_usd": .dollars(budget.measured),
                    "estimated_usd": .dollars(budget.estimated), "projected_month_usd": .dollars(budget.projectedMonth),
                    "days_not_measured": .int(budget.daysNotMeasured),
                ])
            } ?? .null
        return .object([
            "project": .string(project), "from": .string(period.from.description), "to": .string(period.to.description), "lines": .array(lines),
            "budget": budget, "note": .string(CostReport.note),
        ])
    }

    func listApprovals(_ arguments: Arguments, _ principal: MCPPrincipal) async throws -> Value {
        let status = arguments.string("status").flatMap(Approval.Status.init(rawValue:)) ?? .pending
        let project = arguments.string("project") ?? principal.keyProject
        let approvals = try await dependencies.store.approvals(status: status).filter { project == nil || $0.project == project }
        return .object(["approvals": .array(approvals.map(\.value))])
    }

    /// The request `id`, if `principal` may see it: a key sees its own project's requests and
    /// the proposals it made (Cedar has checked the project already).
    func visible(_ id: String, to principal: MCPPrincipal) async throws -> ObjectRequest {
        let (request, project) = try await request(id)
        if case .key(let caller) = principal, project == nil, request.requester != principal.requester, caller.project.id != request.ref.id {
            throw Refusal("request \(id) is not one this key made")
        }
        return request
    }

    /// Where a request stands: its own status, its object's in the controller, its approval
    /// and the plan last applied.
    func requestView(_ request: ObjectRequest, submitted: RequestDesk.Submitted? = nil) async throws -> Value {
        let store = dependencies.store
        let observed = try await store.observedState().objects[request.ref]
        let approvals = try await store.approvals(status: nil).filter {
            $0.ref == request.ref && (request.ref.kind != .project || $0.actionDigest == request.documentDigest)
        }
        let approval = approvals.first { $0.createdAt >= request.createdAt.addingTimeInterval(-1) } ?? approvals.first
        let record = request.ref.kind.isProvisioned ? try await store.provisioningRecords()[request.ref] : nil
        var view: [String: Value] = [
            "request_id": .string(request.id), "object": .string(request.ref.description), "origin": .string(request.origin.rawValue),
            "requester": .string(request.requester.description), "status": .string(request.status.rawValue),
            "tier": .string((observed?.tier ?? submitted?.tier ?? (request.ref.kind == .project ? .human : .auto)).rawValue),
            "object_status": .text(observed?.status.rawValue), "reason": .text(observed?.reason ?? request.reason),
            "approval": approval?.value ?? .null, "applied_plan": .text(record?.appliedPlan), "document": .string(request.document),
        ]
        if let gate = submitted?.gate {
            view["gate"] = .object([
                "decision": .string(gate.verdict), "reason": .string(gate.reason), "policies": .array(gate.policies.map(Value.string)),
            ])
        }
        if let estimate = submitted?.estimate {
            view["estimate"] = .object([
                "monthly_usd": .dollars(estimate.monthly), "basis": .string(estimate.basis.rawValue), "detail": .string(estimate.detail),
            ])
        }
        return .object(view)
    }

    // MARK: Requests and approvals

    func requestDesk(_ snapshot: GatewaySnapshot) -> RequestDesk {
        RequestDesk(store: dependencies.store, policies: snapshot.policy, desiredDirectory: dependencies.desiredDirectory)
    }

    func registerProject(_ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> Value {
        let approvers: [String] =
            if case .array(let items)? = arguments.values["approvers"] { items.compactMap(\.stringValue) } else { [] }
        let submitted = try await requestDesk(snapshot).proposeProject(
            id: arguments.string("id") ?? "", name: arguments.string("name") ?? "", owner: arguments.string("owner") ?? "",
            classification: DataClass(name: arguments.string("classification") ?? "") ?? .internal,
            monthlyBudgetUSD: arguments.string("monthly_budget_usd") ?? "", approvers: approvers, by: principal.requester, origin: .mcp)
        return try await requestView(submitted.request, submitted: submitted)
    }

    func requestResource(_ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> Value {
        var parameters: [String: ParameterValue] = [:]
        if case .object(let members)? = arguments.values["parameters"] {
            for (name, value) in members {
                switch value {
                case .string(let text): parameters[name] = .string(text)
                case .int(let number): parameters[name] = .number(String(number))
                case .bool(let flag): parameters[name] = .bool(flag)
                default: continue
                }
            }
        }
        let submitted = try await requestDesk(snapshot).requestResource(
            id: arguments.string("id"), project: arguments.string("project") ?? "", service: arguments.string("service") ?? "",
            parameters: parameters, by: principal.requester, keyProject: principal.keyProject, origin: .mcp)
        dependencies.requestPass()
        // The controller plans it within a second or two: wait (bounded) for its first outcome.
        let wait = Duration.seconds(arguments.int("wait_seconds") ?? 20)
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            if try await settled(submitted.request.ref) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await requestView(submitted.request, submitted: submitted)
    }

    /// Whether the controller has an outcome for `ref` worth answering with: applied, refused or
    /// failed, or awaiting an approval that exists.
    func settled(_ ref: ObjectRef) async throws -> Bool {
        guard let observed = try await dependencies.store.observedState().objects[ref] else { return false }
        switch observed.status {
        case .applied, .refused, .failed: return true
        case .pending: return false
        case .awaitingApproval: return try await dependencies.store.approvals(status: .pending).contains { $0.ref == ref }
        }
    }

    func cancel(_ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> Value {
        let id = arguments.string("request_id") ?? ""
        _ = try await visible(id, to: principal)
        let closed = try await requestDesk(snapshot).cancel(id: id, by: principal.requester, isAdmin: principal.isAdmin, reason: arguments.string("reason"))
        dependencies.requestPass()
        return try await requestView(closed)
    }

    func decide(_ approve: Bool, _ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> Value {
        guard case .person(let person) = principal else {
            throw Refusal("approvals are decided by a person, with their personal credential: a key decides nothing")
        }
        let approval = try await ApprovalDesk(store: dependencies.store, policies: snapshot.policy)
            .decide(id: arguments.string("approval_id") ?? "", approve: approve, by: person.email, reason: arguments.string("reason"))
        dependencies.requestPass()
        dependencies.requestRound()
        return .object(["approval": approval.value])
    }

    func killSwitch(engage: Bool, _ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws -> Value {
        guard case .person(let person) = principal else { throw Refusal("kill switches are pulled by a person: a key pulls none") }
        let scope = KillScope(rawValue: arguments.string("scope") ?? "") ?? .global
        let id = arguments.string("id") ?? ""
        let desk = KillSwitchDesk(store: dependencies.store, policies: snapshot.policy)
        let by = Operator(id: person.email, roles: person.roles, via: "mcp")
        if engage {
            try await desk.engage(scope: scope, id: id, reason: arguments.string("reason") ?? "", by: by)
        } else {
            try await desk.release(scope: scope, id: id, by: by)
        }
        await dependencies.refreshKillSwitches()
        return .object([engage ? "engaged" : "released": .string(scope.target(id))])
    }

    // MARK: Chat

    func chat(_ arguments: Arguments, _ principal: MCPPrincipal) async throws -> CallTool.Result {
        guard case .key(let caller) = principal else {
            throw Refusal("chat calls models as a key (its project pays): a person's credential has no project to charge")
        }
        var body: [JSONMember] = [JSONMember(key: "model", value: .string(arguments.string("model") ?? ""))]
        if case .array(let messages)? = arguments.values["messages"] {
            body.append(
                JSONMember(
                    key: "messages",
                    value: .array(
                        messages.map { message in
                            .object([
                                JSONMember(key: "role", value: .string(message.objectValue?["role"]?.stringValue ?? "")),
                                JSONMember(key: "content", value: .string(message.objectValue?["content"]?.stringValue ?? "")),
                            ])
                        })))
        }
        if let maxTokens = arguments.int("max_tokens") { body.append(JSONMember(key: "max_tokens", value: .integer(Int64(maxTokens)))) }
        let gateway = dependencies.gateway
        let request: ChatRequest
        do {
            request = try ChatRequest(bytes: JSONValue.object(body).jsonBytes, limit: gateway.maxBodyBytes)
        } catch {
            throw InvalidArgument(description: "\(error.param ?? "messages"): \(error.message)")
        }
        let level = arguments.string("data_class").flatMap(DataClass.init(name:)) ?? caller.key.defaultDataClass
        guard case .plain(let response) = await gateway.chat(caller, request, dataClass: level) else {
            throw Refusal("the gateway answered with a stream, which the chat tool does not ask for")
        }
        let answer = (try? JSONValue.parse(response.body)) ?? .null
        guard response.status == 200 else {
            let message = answer["error"]?["message"]?.stringValue ?? "the gateway refused the call (status \(response.status))"
            return Self.refused(message)
        }
        let requestID = response.headers.first { $0.0.lowercased() == "x-asgard-request-id" }?.1 ?? ""
        let choice = answer["choices"]?[0]
        let usage = answer["usage"]
        // The row as the gateway made it durable (in the call journal) before answering.
        var ledger: Value = .null
        if let row = response.ledger {
                ledger = .object([
                    "request_id": .string(row.requestID), "time": .instant(row.time), "project": .string(row.project), "key": .string(row.keyID),
                    "model": .string(row.model), "prompt_tokens": .int(row.promptTokens), "completion_tokens": .int(row.completionTokens),
                    "cost_usd": .dollars(row.cost), "status": .string(row.status), "estimated": .bool(row.estimated),
                ])
        }
        return Self.result(
            .object([
                "request_id": .string(requestID), "model": .string(request.model),
                "content": .text(choice?["message"]?["content"]?.stringValue), "finish_reason": .text(choice?["finish_reason"]?.stringValue),
                "usage": .object([
                    "prompt_tokens": .int(Int(usage?["prompt_tokens"]?.int64Value ?? 0)),
                    "completion_tokens": .int(Int(usage?["completion_tokens"]?.int64Value ?? 0)),
                ]),
                "ledger": ledger,
            ]))
    }
}
