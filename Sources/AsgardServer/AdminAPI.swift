import AsgardController
import AsgardCore
import AsgardGateway
import AsgardPolicy
import Cedar
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The admin API: kill switches over HTTP.
///
/// `GET /api/admin/kill` lists them; `POST /api/admin/kill` with `{"scope", "id", "reason"}`
/// engages one; `DELETE /api/admin/kill?scope=&id=` releases one. The caller presents the admin
/// credential (Bearer), whose SHA-256 digest is `ASGARD_ADMIN_KEY_SHA256` (`sha256:<hex>`) in
/// the environment, and acts as `User::"admin"` in `Role::"admin"`: the Cedar `kill` decision
/// is made like every other, and engaging or releasing is audited. A switch takes effect at
/// once on this server and within a second on others sharing the store.
///
/// Approvals: `GET /api/admin/approvals[?status=pending]` lists them;
/// `POST /api/admin/approvals/{id}/approve` with `{"by": "<email>"}` and
/// `POST /api/admin/approvals/{id}/reject` with `{"by": "<email>", "reason": "..."}` decide one.
/// The admin credential authenticates the caller; `by` names the person deciding, who must pass
/// Cedar's `approve` (a project approver, not the requester). An approval asks the
/// provisioning path for a round at once, which applies exactly the approved plan.
struct AdminAPI: Sendable {
    var store: any Store
    var controller: Controller
    var snapshot: SnapshotBox
    /// Lower-case hex digest of the admin credential; nil disables the admin API.
    var adminDigest: String?

    /// Before the first snapshot is published, nothing can be decided.
    static let starting = GatewayError.starting

    func addRoutes(to router: Router<BasicRequestContext>) {
        addKillSwitchRoutes(to: router)
        addApprovalRoutes(to: router)
    }

    private func addApprovalRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/admin/approvals") { request, _ -> Response in
            if let refusal = authenticate(request) { return refusal }
            let statusText = request.uri.queryParameters.get("status")
            let status = statusText.flatMap { Approval.Status(rawValue: String($0)) }
            guard statusText == nil || status != nil else {
                return Self.error(.invalidRequest("status must be one of \(Approval.Status.allCases.map(\.rawValue).joined(separator: ", "))", param: "status"))
            }
            return Self.text(200, Rendering.json(["approvals": try await store.approvals(status: status)]))
        }
        for verb in ["approve", "reject"] {
            router.post("/api/admin/approvals/:id/\(verb)") { request, context -> Response in
                if let refusal = authenticate(request) { return refusal }
                let id = context.parameters.get("id") ?? ""
                let body = try await request.body.collect(upTo: 64 << 10)
                guard let json = try? JSONValue.parse(Array(body.readableBytesView)), case .object = json,
                      case .string(let by)? = json["by"], !by.isEmpty else {
                    return Self.error(.invalidRequest("the body is {\"by\": \"<approver email>\"" + (verb == "reject" ? ", \"reason\": \"...\"}" : "}")))
                }
                var reason: String?
                if case .string(let given)? = json["reason"] { reason = given }
                guard let current = snapshot.current else { return Self.error(Self.starting) }
                do {
                    let approval = try await ApprovalDesk(store: store, policies: current.policy)
                        .decide(id: id, approve: verb == "approve", by: by, reason: reason)
                    if verb == "approve" { controller.requestRound() }
                    return Self.text(200, Rendering.json(approval))
                } catch let refusal as ApprovalDesk.Refusal {
                    return Self.error(refusal.denied
                        ? GatewayError(status: 403, type: "permission_error", code: "policy_denied", message: refusal.description)
                        : GatewayError(status: 409, type: "invalid_request_error", code: "conflict", message: refusal.description))
                } catch StoreError.approvalNotFound(let id) {
                    return Self.error(GatewayError(status: 404, type: "not_found_error", code: "not_found", message: "no approval with id \(id)"))
                }
            }
        }
    }

    private func addKillSwitchRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/admin/kill") { request, _ -> Response in
            if let refusal = authenticate(request) { return refusal }
            let items = try await store.killSwitches().map { row in
                JSONValue.object([JSONMember(key: "scope", value: .string(row.scope.rawValue)), JSONMember(key: "id", value: .string(row.target)),
                                  JSONMember(key: "reason", value: .string(row.reason)), JSONMember(key: "by", value: .string(row.engagedBy))])
            }
            return Self.json(200, .object([JSONMember(key: "kill_switches", value: .array(items))]))
        }
        router.post("/api/admin/kill") { request, _ -> Response in
            if let refusal = authenticate(request) { return refusal }
            let body = try await request.body.collect(upTo: 64 << 10)
            guard let json = try? JSONValue.parse(Array(body.readableBytesView)), case .object = json,
                  case .string(let scopeText)? = json["scope"], let scope = KillScope(rawValue: scopeText),
                  case .string(let reason)? = json["reason"]
            else {
                return Self.error(.invalidRequest("the body is {\"scope\": global|vendor|model|project|key, \"id\": ..., \"reason\": ...}"))
            }
            var id = ""
            if case .string(let given)? = json["id"] { id = given }
            return await order { desk in
                try await desk.engage(scope: scope, id: id, reason: reason, by: .adminCredential)
                return .object([JSONMember(key: "engaged", value: .string(scope.target(id)))])
            }
        }
        router.delete("/api/admin/kill") { request, _ -> Response in
            if let refusal = authenticate(request) { return refusal }
            guard let scopeText = request.uri.queryParameters.get("scope"), let scope = KillScope(rawValue: scopeText) else {
                return Self.error(.invalidRequest("scope must be one of global, vendor, model, project, key", param: "scope"))
            }
            let id = request.uri.queryParameters.get("id") ?? ""
            return await order { desk in
                try await desk.release(scope: scope, id: id, by: .adminCredential)
                return .object([JSONMember(key: "released", value: .string(scope.target(id)))])
            }
        }
    }

    /// Carries out a kill-switch order through the desk (the one the CLI uses too) under the
    /// published policies, refreshes this server's switches at once, and maps refusals to
    /// answers: 400 for a malformed order, 403 for a Cedar denial, 404 for nothing to release.
    private func order(_ body: (KillSwitchDesk) async throws -> JSONValue) async -> Response {
        guard let current = snapshot.current else { return Self.error(Self.starting) }
        do {
            let answer = try await body(KillSwitchDesk(store: store, policies: current.policy))
            try? await controller.killSwitches.refresh()
            return Self.json(200, answer)
        } catch let refusal as KillSwitchDesk.Refusal {
            switch refusal {
            case .invalid(let message): return Self.error(.invalidRequest(message))
            case .denied(let message, _): return Self.error(GatewayError(status: 403, type: "permission_error", code: "policy_denied", message: message))
            case .notEngaged: return Self.error(GatewayError(status: 404, type: "not_found_error", code: "not_found", message: refusal.description))
            }
        } catch {
            return Self.error(GatewayError(status: 503, type: "server_error", code: "store_unavailable",
                                           message: "the store refused the change, so nothing changed; retry shortly"))
        }
    }

    /// Nil when the caller presents the admin credential; else the refusal.
    func authenticate(_ request: Hummingbird.Request) -> Response? {
        guard let adminDigest, let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              constantTimeEqual(SHA256.hex(String(header.dropFirst(7))), adminDigest)
        else { return Self.error(.invalidAPIKey) }
        return nil
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    static func text(_ status: Int, _ json: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func error(_ error: GatewayError) -> Response {
        Response(status: .init(code: error.status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: error.body)))
    }
}
