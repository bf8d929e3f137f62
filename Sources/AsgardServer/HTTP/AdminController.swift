import AsgardController
import AsgardCore
import AsgardGateway
import AsgardJSON
import Foundation
import Hummingbird

/// The admin API, behind `AdminAuthentication` (a person's credential, acting as that person,
/// or the admin credential, acting as `User::"admin"` in `Role::"admin"` and as no person):
///
/// - `GET /api/admin/kill` lists the engaged kill switches; `POST /api/admin/kill` with
///   `{"scope", "id", "reason"}` engages one; `DELETE /api/admin/kill?scope=&id=` releases one.
///   Through `KillSwitchDesk`, as the CLI: Cedar decides `kill`, the order or its refusal is
///   audited; a switch takes effect at once here and within a second on other servers.
/// - `GET /api/admin/approvals[?status=]` lists approvals, newest first;
///   `POST /api/admin/approvals/{id}/approve` (an empty body or `{}`) and `.../reject` with
///   `{"reason"}` decide one through `ApprovalDesk` as the person whose credential called: they
///   must pass Cedar's `approve` (a project approver, never the requester). The admin credential
///   is no person and decides nothing; a body naming someone (`by`) is refused. An approval asks
///   for a provisioning round at once.
struct AdminController: Sendable {
    let store: any Store
    let controller: Controller
    let snapshot: SnapshotBox

    struct KillOrder: Decodable, Sendable {
        var scope: KillScope
        var id: String?
        var reason: String
    }

    struct KillSwitches: Encodable, Sendable {
        var killSwitches: [Engaged]

        struct Engaged: Encodable, Sendable {
            var scope: String
            var id: String
            var reason: String
            var by: String
            var since: Date
        }
    }

    struct Changed: Encodable, Sendable {
        var engaged: String?
        var released: String?
    }

    struct Decision: Sendable {
        var reason: String?
    }

    struct Approvals: Encodable, Sendable {
        var approvals: [Approval]
    }

    func addRoutes(to group: RouterGroup<AsgardRequestContext>) {
        group.get("/api/admin/kill") { _, _ -> JSONAnswer<KillSwitches> in
            JSONAnswer(
                value: KillSwitches(
                    killSwitches: try await store.killSwitches().map { row in
                        KillSwitches.Engaged(scope: row.scope.rawValue, id: row.target, reason: row.reason, by: row.engagedBy, since: row.since)
                    }))
        }
        group.post("/api/admin/kill") { request, context -> JSONAnswer<Changed> in
            let order = try await decodeBody(
                KillOrder.self, from: request, context: context,
                expected: #"{"scope": global|vendor|model|project|key, "id": ..., "reason": ...}"#)
            let id = order.id ?? ""
            try await desk().engage(scope: order.scope, id: id, reason: order.reason, by: try operatorOf(context))
            try? await controller.killSwitches.refresh()
            return JSONAnswer(value: Changed(engaged: order.scope.target(id)))
        }
        group.delete("/api/admin/kill") { request, context -> JSONAnswer<Changed> in
            guard let text = request.uri.queryParameters.get("scope"), let scope = KillScope(rawValue: String(text)) else {
                throw GatewayError.invalidRequest(
                    "scope must be one of \(KillScope.allCases.map(\.rawValue).joined(separator: ", "))", param: "scope")
            }
            let id: String = request.uri.queryParameters.get("id").map { String($0) } ?? ""
            try await desk().release(scope: scope, id: id, by: try operatorOf(context))
            try? await controller.killSwitches.refresh()
            return JSONAnswer(value: Changed(released: scope.target(id)))
        }
        group.get("/api/admin/approvals") { request, _ -> JSONAnswer<Approvals> in
            let text: String? = request.uri.queryParameters.get("status").map { String($0) }
            let status = text.flatMap(Approval.Status.init(rawValue:))
            guard text == nil || status != nil else {
                throw GatewayError.invalidRequest(
                    "status must be one of \(Approval.Status.allCases.map(\.rawValue).joined(separator: ", "))", param: "status")
            }
            return JSONAnswer(value: Approvals(approvals: try await store.approvals(status: status)))
        }
        for verb in ["approve", "reject"] {
            group.post("/api/admin/approvals/:id/\(verb)") { request, context -> JSONAnswer<Approval> in
                let decision = try await decodeDecision(request, context: context, verb: verb)
                guard let person = context.person else {
                    throw GatewayError(
                        status: 403, type: "permission_error", code: "not_a_person",
                        message: "approvals are decided by a person: call with your personal credential (`asgard keygen --person`), not the admin credential")
                }
                guard let current = snapshot.current else { throw GatewayError.starting }
                let approval = try await ApprovalDesk(store: store, policies: current.policy)
                    .decide(id: context.parameters.get("id") ?? "", approve: verb == "approve", by: person.email, reason: decision.reason)
                if verb == "approve" { controller.requestRound() }
                return JSONAnswer(value: approval)
            }
        }
    }

    /// The decision's body: nothing, `{}`, or `{"reason": ...}`. A field naming who decides is
    /// refused by name: who decides is the credential's holder.
    private func decodeDecision(_ request: Request, context: AsgardRequestContext, verb: String) async throws -> Decision {
        let body = try await collectBody(request, on: context.channel, upTo: 64 << 10, within: .seconds(30))
        guard body.readableBytes > 0 else { return Decision() }
        guard case .object(let members)? = try? JSONValue.parse(Array(body.readableBytesView)) else {
            throw GatewayError.invalidRequest("the body must be a JSON object: {}" + (verb == "reject" ? #" or {"reason": "..."}"# : ""))
        }
        if let other = members.first(where: { $0.key != "reason" }) {
            throw GatewayError.invalidRequest(
                "unknown field \(other.key): who decides is the holder of the credential that calls, never a body field", param: other.key)
        }
        guard let member = members.first else { return Decision() }
        guard case .string(let reason) = member.value else { throw GatewayError.invalidRequest("reason must be a string", param: "reason") }
        return Decision(reason: reason)
    }

    /// The desk under the published policies; nothing is decided before they are published.
    private func desk() throws -> KillSwitchDesk {
        guard let current = snapshot.current else { throw GatewayError.starting }
        return KillSwitchDesk(store: store, policies: current.policy)
    }

    private func operatorOf(_ context: AsgardRequestContext) throws -> Operator {
        guard let admin = context.admin else { throw GatewayError.invalidAPIKey }
        return admin
    }
}
