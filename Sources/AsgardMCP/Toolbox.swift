public import AsgardController
public import AsgardCore
public import AsgardCost
public import AsgardGateway
import AsgardJSON
import AsgardPolicy
import Cedar
public import Foundation
import Logging
public import MCP

/// Runs Asgard's MCP tools, each a thin adapter over the desks the CLI and the HTTP API use.
/// Every call: arguments checked against the tool's input schema (a bad one is invalid-params
/// naming its field), then Cedar's `<tool>` action on `Tool::"<tool>"` for the caller (with the
/// project the call concerns in the context), the decision audited with its determining
/// policies before the tool runs, then the desk, which decides again under its own policies.
/// A refusal is a tool result with `isError`; nothing a Swift error says reaches the client.
public struct Toolbox: Sendable {
    /// What the tools act through.
    public struct Dependencies: Sendable {
        public var store: any Store
        public var snapshot: @Sendable () -> GatewaySnapshot?
        public var gateway: Gateway
        public var budgets: BudgetLedger
        /// The cost plane; nil when the store has no cost tables.
        public var costDesk: CostDesk?
        public var desiredDirectory: String
        /// Asks the controller for a configuration pass (a request made or cancelled).
        public var requestPass: @Sendable () -> Void
        /// Asks the controller for a provisioning round (an approval decided).
        public var requestRound: @Sendable () -> Void
        /// Re-reads the kill switches (one was engaged or released).
        public var refreshKillSwitches: @Sendable () async -> Void
        /// Waits until the call journal is in the store, so the gateway's metering counts every call made.
        public var ledgerCaughtUp: @Sendable () async -> Bool
        public var clock: @Sendable () -> Date = Date.init

        public init(
            store: any Store, snapshot: @escaping @Sendable () -> GatewaySnapshot?, gateway: Gateway, budgets: BudgetLedger, costDesk: CostDesk?,
            desiredDirectory: String, requestPass: @escaping @Sendable () -> Void, requestRound: @escaping @Sendable () -> Void,
            refreshKillSwitches: @escaping @Sendable () async -> Void, ledgerCaughtUp: @escaping @Sendable () async -> Bool
        ) {
            self.store = store
            self.snapshot = snapshot
            self.gateway = gateway
            self.budgets = budgets
            self.costDesk = costDesk
            self.desiredDirectory = desiredDirectory
            self.requestPass = requestPass
            self.requestRound = requestRound
            self.refreshKillSwitches = refreshKillSwitches
            self.ledgerCaughtUp = ledgerCaughtUp
        }
    }

    public let dependencies: Dependencies
    static let logger = Logger(label: "asgard.mcp")

    public init(_ dependencies: Dependencies) { self.dependencies = dependencies }

    /// A refusal the caller reads: the tool result's text, with `isError`.
    struct Refusal: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// Runs tool `name` for `principal`.
    /// - Throws: `MCPError.invalidParams` for an unknown tool or a bad argument (naming it); never anything else.
    public func call(_ name: String, arguments: [String: Value]?, as principal: MCPPrincipal) async throws(MCPError) -> CallTool.Result {
        guard let definition = ToolDefinition.byName[name] else {
            throw MCPError.invalidParams("unknown tool \(ToolSchema.printable(name)): tools/list names the tools")
        }
        let arguments = Arguments(arguments ?? [:])
        do throws(ToolSchema.Violation) {
            try definition.input.validate(.object(arguments.values), at: "")
        } catch {
            throw MCPError.invalidParams(error.description)
        }
        guard let snapshot = dependencies.snapshot() else { return Self.refused("Asgard is starting: no configuration is published yet; try again in a moment") }
        do {
            let project = try await concernedProject(definition.name, arguments, principal, snapshot)
            try await authorize(definition.name, principal, project: project, snapshot)
            return try await run(definition.name, arguments, principal, snapshot)
        } catch let refusal as Refusal {
            return Self.refused(refusal.message)
        } catch let invalid as InvalidArgument {
            throw MCPError.invalidParams(invalid.description)
        } catch let error as RequestDesk.Refusal {
            if case .invalid(let diagnostics) = error { throw MCPError.invalidParams(diagnostics) }
            return Self.refused(error.description)
        } catch let error as ApprovalDesk.Refusal {
            return Self.refused(error.description)
        } catch let error as KillSwitchDesk.Refusal {
            return Self.refused(error.description)
        } catch let error as StoreError {
            return Self.refused(error.description)
        } catch {
            // A store fault, say: its text is for operators (the log), not for the client.
            Self.logger.error("MCP tool \(name) for \(principal.actor) failed: \(error)")
            return Self.refused("\(name) could not be completed: Asgard's store did not answer; nothing was changed, try again")
        }
    }

    /// A tool result with `isError`.
    static func refused(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }

    /// A tool result: the structured content and its JSON text.
    static func result(_ content: Value) -> CallTool.Result {
        CallTool.Result(content: [.text(text: content.jsonText, annotations: nil, _meta: nil)], structuredContent: Optional<Value>.some(content), isError: false)
    }

    /// An argument the schema allows but the tool cannot use (a project a person must name, say).
    struct InvalidArgument: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: Authorization

    /// The project the call concerns: named by the arguments or the request, or the key's own.
    private func concernedProject(_ tool: ToolName, _ arguments: Arguments, _ principal: MCPPrincipal, _ snapshot: GatewaySnapshot) async throws
        -> Project?
    {
        let named: String?
        switch tool {
        case .get_budget, .get_costs:
            named = arguments.string("project") ?? principal.keyProject
            if named == nil { throw InvalidArgument(description: "project: is required when a person calls \(tool.rawValue)") }
        case .request_resource:
            named = arguments.string("project")
        case .list_approvals:
            named = arguments.string("project") ?? principal.keyProject
        case .chat:
            named = principal.keyProject
        case .get_request, .cancel_request:
            named = try await request(arguments.string("request_id") ?? "").project
        case .whoami, .list_models, .list_services, .register_project, .approve, .reject, .kill, .unkill:
            named = nil
        }
        guard let named else { return nil }
        guard let project = snapshot.projects[named] else { throw Refusal("no project \(named) is applied") }
        return project
    }

    /// The request with `id` and the project of its object (nil for a project proposal).
    /// - Throws: `Refusal` when there is none.
    func request(_ id: String) async throws -> (request: ObjectRequest, project: String?) {
        guard let request = try await dependencies.store.objectRequests(status: nil).first(where: { $0.id == id }) else {
            throw Refusal("no request with id \(id)")
        }
        let project = request.ref.kind == .project ? nil : DesiredStateLoader().load([request.source]).state.object(request.ref)?.projectID
        return (request, project)
    }

    /// Cedar's `<tool>` on `Tool::"<tool>"`, audited as `mcp.<tool>` with the determining policies.
    /// - Throws: `Refusal` when denied (after auditing it).
    func authorize(_ tool: ToolName, _ principal: MCPPrincipal, project: Project?, _ snapshot: GatewaySnapshot) async throws {
        var context: [String: Cedar.Value] = [:]
        if let project { context["project"] = .entity(Project.entityUID(project.id)) }
        let decision = snapshot.policy.decide(
            Request(
                principal: principal.uid, action: EntityUID(type: "Action", id: tool.rawValue),
                resource: EntityUID(type: "Tool", id: tool.rawValue), context: context),
            entities: principal.entities(in: snapshot))
        let determining = decision.response.reasons.sorted()
        var detail = ["policies": determining.joined(separator: ","), "via": "mcp"]
        if let project { detail["project"] = project.id }
        guard decision.allowed else {
            let why = decision.denialReason
            detail["reason"] = why
            try await dependencies.store.appendAudit(
                AuditEntry(actor: principal.actor, action: "mcp.\(tool.rawValue)", target: "Tool/\(tool.rawValue)", outcome: "denied", detail: detail))
            throw Refusal("Cedar denied \(tool.rawValue) for \(principal.uid): \(why)")
        }
        try await dependencies.store.appendAudit(
            AuditEntry(actor: principal.actor, action: "mcp.\(tool.rawValue)", target: "Tool/\(tool.rawValue)", outcome: "allowed", detail: detail))
    }
}

/// A tool's arguments, already checked against its schema.
struct Arguments: Sendable {
    var values: [String: Value]

    init(_ values: [String: Value]) { self.values = values }

    func string(_ name: String) -> String? {
        if case .string(let text)? = values[name] { return text }
        return nil
    }

    func int(_ name: String) -> Int? {
        if case .int(let number)? = values[name] { return number }
        return nil
    }
}
