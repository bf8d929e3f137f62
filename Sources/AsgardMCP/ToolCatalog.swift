public import MCP

/// Asgard's MCP tools: name, title, what they do, their argument and result schemas, and
/// honest hints. `Toolbox` runs them.
public enum ToolName: String, Sendable, CaseIterable {
    case whoami, list_models, list_services, get_budget, get_costs
    case register_project, request_resource, get_request, list_approvals, approve, reject, cancel_request
    case chat, kill, unkill
}

/// One tool as `tools/list` shows it.
public struct ToolDefinition: Sendable {
    public var name: ToolName
    public var title: String
    public var description: String
    public var input: ToolSchema
    public var output: Value
    public var annotations: Tool.Annotations

    /// The SDK's tool.
    public var tool: Tool {
        Tool(
            name: name.rawValue, title: title, description: description, inputSchema: input.json, annotations: annotations,
            outputSchema: output)
    }
}

extension ToolDefinition {
    /// Every tool, in `ToolName` order.
    public static let all: [ToolDefinition] = ToolName.allCases.map(definition)

    static let byName: [String: ToolDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name.rawValue, $0) })

    // MARK: Argument schemas

    static let id = ToolSchema.string(
        description: "An id: lower-case letters, digits and -, at most 63, starting with a letter or digit", maxLength: 63,
        pattern: "^[a-z0-9][a-z0-9-]{0,62}$", check: isID)
    static let project = ToolSchema.string(
        description: "A project id (a key may only name its own project; default: the key's project)", maxLength: 63,
        pattern: "^[a-z0-9][a-z0-9-]{0,62}$", check: isID)
    static let email = ToolSchema.string(
        description: "A person's email, as their Person in desired/ has it", maxLength: 254, check: { $0.contains("@") && !$0.contains(where: \.isWhitespace) })
    static let day = ToolSchema.string(description: "A UTC day, YYYY-MM-DD", maxLength: 10, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", check: isDay)
    static let approvalID = ToolSchema.string(description: "An approval id (apr_...)", maxLength: 40, pattern: "^apr_[0-9a-f]{16}$", check: { isToken($0, prefix: "apr_") })
    static let requestID = ToolSchema.string(description: "A request id (req_...)", maxLength: 40, pattern: "^req_[0-9a-f]{16}$", check: { isToken($0, prefix: "req_") })
    static let reason = ToolSchema.string(description: "Why, for the audit log and the people affected", maxLength: 1000)
    static let dataClass = ToolSchema.string(
        description: "The data class of what is sent", maxLength: 12, oneOf: ["public", "internal", "confidential", "restricted"])
    static let scope = ToolSchema.string(description: "What the switch stops", maxLength: 8, oneOf: ["global", "vendor", "model", "project", "key"])

    static func isID(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 63 else { return false }
        let allowed = { (s: Unicode.Scalar) in ("a"..."z").contains(s) || ("0"..."9").contains(s) || s == "-" }
        return first != "-" && text.unicodeScalars.allSatisfy(allowed)
    }

    static func isToken(_ text: String, prefix: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let rest = text.dropFirst(prefix.count).unicodeScalars
        return rest.count == 16 && rest.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    static func isDay(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 10, scalars[4] == "-", scalars[7] == "-" else { return false }
        return scalars.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || ("0"..."9").contains($0.element) }
    }

    // MARK: Result schemas

    static func result(_ properties: [String: Value], required: [String]) -> Value {
        ["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) })]
    }

    static let text: Value = ["type": "string"]
    static let optionalText: Value = ["type": ["string", "null"]]
    static let integer: Value = ["type": "integer"]
    static let money: Value = ["type": ["string", "null"], "description": "US dollars, exact, as a decimal string; null when not known"]
    static let objects: Value = ["type": "array", "items": ["type": "object"]]
    static let approval: Value = ["type": ["object", "null"], "description": "An approval: id, status, summary, plan digest, requester, decider"]
    static let budget: Value = result(
        ["project": text, "month": text, "monthly_usd": money, "spent_usd": money, "reserved_usd": money, "vendor_spent_usd": money, "left_usd": money],
        required: ["project", "monthly_usd", "left_usd"])
    static let requestResult: Value = result(
        [
            "request_id": text, "object": text, "origin": text, "requester": text, "status": text, "tier": text,
            "object_status": optionalText, "reason": optionalText, "gate": ["type": ["object", "null"]], "estimate": ["type": ["object", "null"]],
            "approval": approval, "applied_plan": optionalText, "document": text,
        ], required: ["request_id", "object", "status"])

    // MARK: The tools

    static func definition(_ name: ToolName) -> ToolDefinition {
        switch name {
        case .whoami:
            return ToolDefinition(
                name: name, title: "Who am I",
                description: "The caller as Asgard knows it from its credential: a key (its project, models, data class, rate limit, expiry, budget left) or a person (email, roles).",
                input: .object([:]),
                output: result(
                    ["kind": ["type": "string", "enum": ["key", "person"]], "id": text, "project": optionalText, "email": optionalText,
                     "roles": ["type": "array", "items": text], "limits": ["type": ["object", "null"]], "budget": ["type": ["object", "null"]]],
                    required: ["kind", "id"]),
                annotations: .init(title: "Who am I", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .list_models:
            return ToolDefinition(
                name: name, title: "List models",
                description: "The models the gateway routes that the caller may call (a key: those it is allowed), with vendor, data-class ceiling and prices per million tokens.",
                input: .object([:]), output: result(["models": objects], required: ["models"]),
                annotations: .init(title: "List models", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .list_services:
            return ToolDefinition(
                name: name, title: "List provisionable services",
                description: "The services a project can request through request_resource: vendor, approval tier (auto or human), classification floor and the manifest's monthly estimate.",
                input: .object([:]), output: result(["services": objects], required: ["services"]),
                annotations: .init(title: "List provisionable services", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .get_budget:
            return ToolDefinition(
                name: name, title: "Get a project's budget",
                description: "A project's monthly budget, what the gateway has settled and holds for calls in flight this month, what vendors measured, and what is left.",
                input: .object(["project": project]), output: budget,
                annotations: .init(title: "Get a project's budget", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .get_costs:
            return ToolDefinition(
                name: name, title: "Get a project's costs",
                description: "A project's spend per vendor and day from the cost plane, each figure marked measured, estimate or not_measured (never invented). The gateway's own metering is brought up to date first.",
                input: .object(["project": project, "from": day, "to": day]),
                output: result(
                    ["project": text, "from": text, "to": text, "lines": objects, "budget": ["type": ["object", "null"]], "note": text],
                    required: ["project", "from", "to", "lines"]),
                annotations: .init(title: "Get a project's costs", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .register_project:
            return ToolDefinition(
                name: name, title: "Propose a project",
                description: "Proposes a new project. It becomes a pending, human-tier request that an admin decides (never its proposer); it is never active by itself. Owner and approvers must be people declared in desired/.",
                input: .object(
                    [
                        "id": id, "name": .string(description: "The project's name", maxLength: 200), "owner": email,
                        "classification": .string(description: "The project's data class", maxLength: 12, oneOf: ["public", "internal", "confidential", "restricted"]),
                        "monthly_budget_usd": .string(
                            description: "The monthly budget in US dollars, e.g. 250.00", maxLength: 16, pattern: "^[0-9]{1,9}(\\.[0-9]{1,6})?$",
                            check: isAmount),
                        "approvers": .array(email, description: "Who approves the project's human-tier requests", minItems: 1, maxItems: 20),
                    ], required: ["id", "name", "owner", "classification", "monthly_budget_usd", "approvers"]),
                output: requestResult,
                annotations: .init(title: "Propose a project", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false))
        case .request_resource:
            return ToolDefinition(
                name: name, title: "Request a resource",
                description: "Asks for a provisionable service for a project. The request is checked like a file in desired/ and passes the provisioning gate; auto-tier services are applied by the controller, human-tier ones wait for an approval of their exact plan (its id is returned once planned).",
                input: .object(
                    [
                        "project": project,
                        "service": .string(description: "A provisionable service name (list_services)", maxLength: 63, pattern: "^[a-z0-9][a-z0-9-]{0,62}$", check: isID),
                        "parameters": .scalarMap(description: "The module's parameters", maxProperties: 64),
                        "id": id,
                        "wait_seconds": .integer(
                            description: "How long to wait for the controller's outcome or plan, in seconds (default 20; get_request tells later)", minimum: 0,
                            maximum: 25),
                    ], required: ["project", "service"]),
                output: requestResult,
                annotations: .init(title: "Request a resource", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true))
        case .get_request:
            return ToolDefinition(
                name: name, title: "Get a request",
                description: "Where a request made through MCP or the API stands: its status, its object's status in the controller, its approval and the plan applied.",
                input: .object(["request_id": requestID], required: ["request_id"]), output: requestResult,
                annotations: .init(title: "Get a request", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .list_approvals:
            return ToolDefinition(
                name: name, title: "List approvals",
                description: "Approvals, newest first: pending ones by default (a key sees its own project's).",
                input: .object([
                    "status": .string(description: "Only approvals in this status", maxLength: 10, oneOf: ["pending", "approved", "rejected", "void", "applied"]),
                    "project": project,
                ]),
                output: result(["approvals": objects], required: ["approvals"]),
                annotations: .init(title: "List approvals", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        case .approve:
            return ToolDefinition(
                name: name, title: "Approve",
                description: "Approves a pending approval as the calling person (a project approver, an admin for a project proposal; never its requester). The next controller pass applies exactly the approved plan.",
                input: .object(["approval_id": approvalID], required: ["approval_id"]), output: result(["approval": approval], required: ["approval"]),
                annotations: .init(title: "Approve", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true))
        case .reject:
            return ToolDefinition(
                name: name, title: "Reject",
                description: "Rejects a pending approval as the calling person, with a reason.",
                input: .object(["approval_id": approvalID, "reason": reason], required: ["approval_id", "reason"]),
                output: result(["approval": approval], required: ["approval"]),
                annotations: .init(title: "Reject", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false))
        case .cancel_request:
            return ToolDefinition(
                name: name, title: "Cancel a request",
                description: "Withdraws an open request (its requester, or an admin). Its object leaves desired state: what was provisioned for it is destroyed through its tier, like a file deleted from desired/.",
                input: .object(["request_id": requestID, "reason": reason], required: ["request_id"]), output: requestResult,
                annotations: .init(title: "Cancel a request", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true))
        case .chat:
            return ToolDefinition(
                name: name, title: "Chat",
                description: "Calls a model through the gateway as the calling key: the same rate limit, Cedar invoke, data class, guardrails, budget, ledger and audit as /v1/chat/completions. Returns the completion and its ledger row.",
                input: .object(
                    [
                        "model": .string(description: "A model id (list_models)", maxLength: 200),
                        "messages": .array(
                            .object(
                                [
                                    "role": .string(description: "Who speaks", maxLength: 10, oneOf: ["system", "user", "assistant"]),
                                    "content": .string(description: "What is said", maxLength: 200_000),
                                ], required: ["role", "content"]), description: "The conversation", minItems: 1, maxItems: 256),
                        "max_tokens": .integer(description: "The most tokens to generate", minimum: 1, maximum: 1_000_000),
                        "data_class": dataClass,
                    ], required: ["model", "messages"]),
                output: result(
                    ["request_id": text, "model": text, "content": optionalText, "finish_reason": optionalText, "usage": ["type": "object"],
                     "ledger": ["type": ["object", "null"]]],
                    required: ["request_id", "model", "usage"]),
                annotations: .init(title: "Chat", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true))
        case .kill:
            return ToolDefinition(
                name: name, title: "Engage a kill switch",
                description: "Stops calls and provisioning at once for everything, a vendor, a model, a project or a key (people with the right, per policy), audited with the reason.",
                input: .object(["scope": scope, "id": .string(description: "The vendor, model, project or key id (none for global)", maxLength: 256), "reason": reason], required: ["scope", "reason"]),
                output: result(["engaged": text], required: ["engaged"]),
                annotations: .init(title: "Engage a kill switch", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false))
        case .unkill:
            return ToolDefinition(
                name: name, title: "Release a kill switch",
                description: "Releases an engaged kill switch (people with the right, per policy), audited.",
                input: .object(["scope": scope, "id": .string(description: "The vendor, model, project or key id (none for global)", maxLength: 256)], required: ["scope"]),
                output: result(["released": text], required: ["released"]),
                annotations: .init(title: "Release a kill switch", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false))
        }
    }

    static func isAmount(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, (1...9).contains(whole.count), whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber)
        else { return false }
        if parts.count == 2 { return (1...6).contains(parts[1].count) && parts[1].allSatisfy { $0.isASCII && $0.isNumber } }
        return true
    }
}
