import AsgardController
import AsgardCore
import AsgardCost
import AsgardDashboard
import AsgardGateway
import AsgardStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard at `/`, for people: spend, projects, approvals, kill switches and the audit
/// trail, rendered on the server (`AsgardDashboard`) from what the desks answer: the same
/// `CostDesk`, `ApprovalDesk` and `KillSwitchDesk` as the CLI, the HTTP API and MCP, and
/// `ProjectVisibility` (Cedar's `view`) for what a person sees. No rule lives here: a handler
/// reads the session, asks a desk, renders its answer.
///
/// Without a session every page answers 303 to `/login?next=<page>` and every form post 403;
/// a post without the session's CSRF token, or from another origin, is 403 and changes nothing.
struct DashboardController: Sendable {
    let store: any Store
    /// Sessions, on the store as a `DashboardStore` (which also searches the audit trail).
    let sessions: DashboardSessions
    let controller: Controller
    let snapshot: SnapshotBox
    let budgets: BudgetLedger
    let costDesk: CostDesk?
    /// `ASGARD_AUDIT_ANCHOR_FILE`, when anchors are exported: the audit page shows its last one.
    let anchorFile: String?
    /// The chain's verification (against the anchor file too), at most once a minute.
    let verifier: AuditVerifier
    var clock: @Sendable () -> Date = Date.init

    /// The most a form body may be.
    static let maxFormBytes = 64 << 10

    func addRoutes(to router: Router<AsgardRequestContext>) {
        router.get("/dashboard.css") { _, _ in Self.asset(Assets.stylesheet, type: "text/css; charset=utf-8") }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/dashboard.js") { _, _ in Self.asset(Assets.script, type: "text/javascript; charset=utf-8") }
        router.get("/login") { request, _ in try await loginPage(request) }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in
            try await action(request, context) { signed, _ in
                try await sessions.close(request)
                try await store.appendAudit(AuditEntry(actor: "User/\(signed.person.email)", action: "dashboard.logout", target: nil, outcome: "ok"))
                var response = Self.redirect("/login")
                response.headers.append(
                    HTTPField(name: .setCookie, value: sessions.cookie(DashboardSessions.sessionCookie, "", path: "/", maxAge: 0)))
                return response
            }
        }
        router.get("/") { request, _ in
            try await page(request) { signed in
                let rolled = request.uri.queryParameters.get("rolled") != nil
                return try await overview(request, signed, message: rolled ? .notice("The cost rollup ran: the figures below include it.") : nil)
            }
        }
        router.post("/rollup") { request, context in try await action(request, context) { signed, _ in try await rollup(request, signed) } }
        router.get("/projects/:id") { request, context in
            try await page(request) { signed in try await project(context.parameters.get("id") ?? "", signed) }
        }
        router.get("/approvals") { request, _ in try await page(request) { signed in try await approvals(request, signed, message: nil) } }
        for verb in ["approve", "reject"] {
            router.post("/approvals/:id/\(verb)") { request, context in
                try await action(request, context) { signed, form in
                    try await decide(context.parameters.get("id") ?? "", approve: verb == "approve", form: form, request, signed)
                }
            }
        }
        router.get("/kill") { request, _ in try await page(request) { signed in try await killSwitches(request, signed, message: nil) } }
        router.post("/kill/engage") { request, context in
            try await action(request, context) { signed, form in try await kill(engage: true, form, request, signed) }
        }
        router.post("/kill/release") { request, context in
            try await action(request, context) { signed, form in try await kill(engage: false, form, request, signed) }
        }
        router.get("/audit") { request, _ in try await page(request) { signed in try await audit(request, signed) } }
    }

    // MARK: Sessions and forms

    /// A page for a signed-in person; 303 to the login page without a session.
    private func page(_ request: Request, _ render: (DashboardSessions.SignedIn) async throws -> Response) async throws -> Response {
        guard let signed = try await sessions.signedIn(request) else {
            let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Self.redirect("/login?next=" + Format.queryEscape(path, keeping: "/"))
        }
        return try await render(signed)
    }

    /// A form post by a signed-in person carrying their session's CSRF token, from this origin.
    /// Refused with 403 otherwise, before anything is read or changed.
    private func action(
        _ request: Request, _ context: AsgardRequestContext, _ handle: (DashboardSessions.SignedIn, FormData) async throws -> Response
    ) async throws -> Response {
        guard let signed = try await sessions.signedIn(request) else {
            return Self.problem(
                .forbidden, "Log in first", "Your session has ended or you are not logged in: nothing was changed. Log in and try again.", viewer: nil
            )
        }
        guard Self.sameOrigin(request) else {
            return Self.problem(.forbidden, "Refused", "This form was posted from another site: nothing was changed.", viewer: signed.viewer)
        }
        let form = try await Self.form(request, context: context)
        guard let token = form["csrf"], constantTimeEqual(token, signed.session.csrf) else {
            return Self.problem(
                .forbidden, "Refused",
                "The form's CSRF token is missing or does not match your session: nothing was changed. Reload the page and try again.",
                viewer: signed.viewer)
        }
        return try await handle(signed, form)
    }

    /// The request's form body, at most `maxFormBytes`, arrived within 30 s.
    static func form(_ request: Request, context: AsgardRequestContext) async throws -> FormData {
        let body = try await collectBody(request, on: context.channel, upTo: maxFormBytes, within: .seconds(30))
        do { return try FormData(body.readableBytesView) } catch { throw GatewayError.invalidRequest(error.description) }
    }

    /// A browser's post names its origin (`Origin`, or at least `Sec-Fetch-Site`); a post that
    /// names another is refused. One naming none (a non-browser client) is left to the CSRF token.
    static func sameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return false }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return true }
        guard let host = request.head.authority, let url = URL(string: origin), let originHost = url.host else { return false }
        let originAuthority = originHost + (url.port.map { ":\($0)" } ?? "")
        return originAuthority.lowercased() == host.lowercased()
    }

    private func loginPage(_ request: Request) async throws -> Response {
        if try await sessions.signedIn(request) != nil { return Self.redirect("/") }
        return loginForm(next: Self.localPath(request.uri.queryParameters.get("next").map { String($0) }), status: .ok, message: nil)
    }

    /// The login form with a fresh token, set in its cookie too.
    private func loginForm(next: String?, status: HTTPResponse.Status, message: Message?) -> Response {
        let token = VirtualKey.generate(prefix: "").secret
        var response = Self.html(LoginPage(csrf: token, next: next, message: message).render(), status: status)
        response.headers.append(
            HTTPField(name: .setCookie, value: sessions.cookie(DashboardSessions.loginCookie, token, path: "/login", maxAge: 900)))
        return response
    }

    private func login(_ request: Request, _ context: AsgardRequestContext) async throws -> Response {
        let form = try await Self.form(request, context: context)
        let next = Self.localPath(form["next"])
        guard Self.sameOrigin(request), let token = form["csrf"], let expected = request.cookies[DashboardSessions.loginCookie]?.value,
            !expected.isEmpty, constantTimeEqual(token, expected)
        else {
            return loginForm(
                next: next, status: .forbidden, message: .error("The login form expired or came from another site (CSRF): log in again."))
        }
        guard let secret = form["credential"], !secret.isEmpty, secret.utf8.count <= 256,
            let (person, cookie) = try await sessions.open(credential: secret)
        else {
            try await store.appendAudit(
                AuditEntry(
                    actor: "anonymous", action: "dashboard.login", target: nil, outcome: "denied", detail: ["reason": "not a person's credential"]))
            return loginForm(
                next: next, status: .unauthorized,
                message: .error("That is not a person's credential. Use the secret of your personal credential (asgp_…); a key cannot log in."))
        }
        try await store.appendAudit(AuditEntry(actor: "User/\(person.email)", action: "dashboard.login", target: nil, outcome: "allowed"))
        var response = Self.redirect(next ?? "/")
        response.headers.append(HTTPField(name: .setCookie, value: cookie))
        response.headers.append(HTTPField(name: .setCookie, value: sessions.cookie(DashboardSessions.loginCookie, "", path: "/login", maxAge: 0)))
        return response
    }

    // MARK: Pages

    /// What the signed-in person sees, under the published policies.
    private func visibility(_ signed: DashboardSessions.SignedIn) throws -> (ProjectVisibility, GatewaySnapshot) {
        guard let current = snapshot.current else { throw GatewayError.starting }
        return (
            ProjectVisibility(person: signed.person, projects: current.projects.keys, policies: current.policy, entities: current.entities), current
        )
    }

    private func overview(_ request: Request, _ signed: DashboardSessions.SignedIn, message: Message?) async throws -> Response {
        let (visibility, current) = try visibility(signed)
        let today = CostDay(clock())
        var message = message
        // The last 30 days by default: a month's history whatever the day of the month.
        var period = try CostPeriod(from: today.adding(days: -29), to: today)
        do {
            period = try CostController.period(request, default: (period.from, today))
        } catch {
            message = .error(error.message)
        }
        let names = visibility.projects.sorted().map { (id: $0, name: current.projects[$0]?.name ?? $0) }
        var projects: [OverviewPage.ProjectSpend] = []
        if let costDesk, !names.isEmpty {
            let report = try await costDesk.report(period, projects: visibility.projects, groupBy: [.project, .vendor, .source, .day])
            projects = OverviewPage.projects(from: report, names: names)
        }
        let lastRollup = try await lastRollupTime()
        return Self.html(OverviewPage(period: period, projects: projects, lastRollup: lastRollup).render(viewer: signed.viewer, message: message))
    }

    private func lastRollupTime() async throws -> String? {
        try await sessions.store.searchAudit(AuditQuery(action: "cost.rollup", limit: 1)).first?.content.time
    }

    private func rollup(_ request: Request, _ signed: DashboardSessions.SignedIn) async throws -> Response {
        guard let costDesk else {
            return try await overview(request, signed, message: .error("The cost plane is off: this store has no cost tables."))
        }
        let admin = Operator(id: signed.person.email, roles: signed.person.roles, via: "dashboard")
        do {
            let by = try CostController.rollupOperator(admin)
            let today = CostDay(clock())
            let period = try CostPeriod(from: CostRollupService.firstDay(through: today), to: today)
            _ = try await CostController.rollup(desk: costDesk, budgets: budgets, period: period, sources: nil, by: by)
            return Self.redirect("/?rolled=1")
        } catch let error as GatewayError {
            var response = try await overview(request, signed, message: .error(error.message))
            response.status = .init(code: error.statusCode)
            return response
        }
    }

    private func project(_ id: String, _ signed: DashboardSessions.SignedIn) async throws -> Response {
        let (visibility, current) = try visibility(signed)
        guard visibility.sees(project: id), let project = current.projects[id] else {
            return Self.problem(.notFound, "Not found", "There is no project \(id) you can see.", viewer: signed.viewer)
        }
        let now = clock()
        let keys = current.keysByDigest.values.filter { $0.project == id }.sorted { $0.id < $1.id }
        let killed = Set(try await store.killSwitches().filter { $0.scope == .key }.map(\.target))
        let drift = controller.provisioning.lastDrift
        var objects: [ProjectPage.Object] = []
        for (ref, observed) in try await store.observedState().objects.sorted(by: { $0.key < $1.key })
        where observed.project == id && ref.kind.isProvisioned {
            let service: String? =
                switch try await store.object(ref) {
                case .resource(let resource)?: resource.service
                case .servingEndpoint(let endpoint)?: endpoint.service
                default: nil
                }
            objects.append(
                ProjectPage.Object(
                    ref: ref, service: service, status: observed.status.rawValue, tier: observed.tier.rawValue, reason: observed.reason,
                    drift: drift?.drift[ref]))
        }
        let today = CostDay(now)
        let period = try CostPeriod(from: today.firstOfMonth, to: today)
        var spend: OverviewPage.ProjectSpend?
        if let costDesk {
            let report = try await costDesk.report(period, projects: [id], groupBy: [.project, .vendor, .source, .day])
            spend = OverviewPage.projects(from: report, names: [(id, project.name)]).first
        }
        let calls = try await store.ledger(project: id, from: now.addingTimeInterval(-7 * 86_400), to: now.addingTimeInterval(1))
        let refusals = try await sessions.store.searchAudit(AuditQuery(projects: [id], outcome: "denied", limit: 20))
        let page = ProjectPage(
            project: project, keys: keys, killedKeys: killed, objects: objects, driftObservedAt: drift?.at, spend: spend, period: period,
            calls: Array(calls.suffix(20).reversed()), refusals: refusals, now: now)
        return Self.html(page.render(viewer: signed.viewer))
    }

    private func approvals(_ request: Request, _ signed: DashboardSessions.SignedIn, message: Message?) async throws -> Response {
        let (visibility, _) = try visibility(signed)
        let all = try await store.approvals(status: nil).filter(visibility.sees)
        var message = message
        if message == nil, let id = request.uri.queryParameters.get("decided").map({ String($0) }),
            let decided = all.first(where: { $0.id == id && $0.status != .pending })
        {
            message = .notice("\(decided.ref) \(decided.status.rawValue) by \(decided.decidedBy ?? "—").")
        }
        let decided = all.filter { $0.status != .pending }.sorted { ($0.decidedAt ?? $0.createdAt) > ($1.decidedAt ?? $1.createdAt) }
        let page = ApprovalsPage(pending: all.filter { $0.status == .pending }, decided: Array(decided.prefix(50)))
        return Self.html(page.render(viewer: signed.viewer, message: message))
    }

    private func decide(_ id: String, approve: Bool, form: FormData, _ request: Request, _ signed: DashboardSessions.SignedIn) async throws
        -> Response
    {
        guard let current = snapshot.current else { throw GatewayError.starting }
        do {
            _ = try await ApprovalDesk(store: store, policies: current.policy)
                .decide(id: id, approve: approve, by: signed.person.email, reason: form["reason"].flatMap { $0.isEmpty ? nil : $0 })
        } catch let refusal as ApprovalDesk.Refusal {
            return try await refused(refusal.gatewayError) { try await approvals(request, signed, message: $0) }
        } catch let error as StoreError {
            return try await refused(error.gatewayError) { try await approvals(request, signed, message: $0) }
        }
        if approve { controller.requestRound() }
        return Self.redirect("/approvals?decided=" + Format.queryEscape(id, keeping: "/"))
    }

    private func killSwitches(_ request: Request, _ signed: DashboardSessions.SignedIn, message: Message?) async throws -> Response {
        let (visibility, current) = try visibility(signed)
        let keyProjects = Dictionary(current.keysByDigest.values.map { ($0.id, $0.project) }, uniquingKeysWith: { first, _ in first })
        let engaged = try await store.killSwitches().filter { visibility.sees($0, keyProjects: keyProjects) }
        var message = message
        if message == nil, let changed = request.uri.queryParameters.get("changed").map({ String($0) }) {
            message = .notice(engaged.contains { $0.scope.target($0.target) == changed } ? "Engaged \(changed)." : "\(changed) is not engaged.")
        }
        return Self.html(KillPage(engaged: engaged).render(viewer: signed.viewer, message: message))
    }

    private func kill(engage: Bool, _ form: FormData, _ request: Request, _ signed: DashboardSessions.SignedIn) async throws -> Response {
        guard let current = snapshot.current else { throw GatewayError.starting }
        guard let text = form["scope"], let scope = KillScope(rawValue: text) else {
            return try await refused(.invalidRequest("Choose a scope: \(KillScope.allCases.map(\.rawValue).joined(separator: ", ")).")) {
                try await killSwitches(request, signed, message: $0)
            }
        }
        let id = form["id"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let desk = KillSwitchDesk(store: store, policies: current.policy)
        let by = Operator(id: signed.person.email, roles: signed.person.roles, via: "dashboard")
        do {
            if engage {
                _ = try await desk.engage(scope: scope, id: id, reason: form["reason"] ?? "", by: by)
            } else {
                try await desk.release(scope: scope, id: id, by: by)
            }
        } catch let refusal as KillSwitchDesk.Refusal {
            return try await refused(refusal.gatewayError) { try await killSwitches(request, signed, message: $0) }
        }
        try? await controller.killSwitches.refresh()
        return Self.redirect("/kill?changed=" + Format.queryEscape(scope.target(id), keeping: "/"))
    }

    private func audit(_ request: Request, _ signed: DashboardSessions.SignedIn) async throws -> Response {
        let (visibility, _) = try visibility(signed)
        var filters = AuditPage.Filters()
        func parameter(_ name: String) -> String {
            String((request.uri.queryParameters.get(name).map { String($0) } ?? "").trimmingCharacters(in: .whitespaces).prefix(200))
        }
        (filters.project, filters.actor, filters.action, filters.outcome) = (
            parameter("project"), parameter("actor"), parameter("action"), parameter("outcome")
        )
        var projects = visibility.auditProjects
        if !filters.project.isEmpty { projects = (projects ?? [filters.project]).intersection([filters.project]) }
        let limit = 50
        let records = try await sessions.store.searchAudit(
            AuditQuery(
                projects: projects, actor: filters.actor.isEmpty ? nil : filters.actor, action: filters.action.isEmpty ? nil : filters.action,
                outcome: filters.outcome.isEmpty ? nil : filters.outcome, before: Int64(parameter("before")), limit: limit))
        var anchor: AuditPage.Anchor?
        var anchorProblem: String?
        if let anchorFile {
            do {
                anchor = try AuditAnchorFile.read(anchorFile).last.map { AuditPage.Anchor(anchor: $0, file: anchorFile) }
                if anchor == nil { anchorProblem = "No anchor has been exported to \(anchorFile) yet." }
            } catch {
                anchorProblem = "The anchor file cannot be read: \(error)"
            }
        } else if let head = try await store.auditTail(limit: 1).first {
            anchor = AuditPage.Anchor(anchor: AuditAnchor(head: head, at: clock()), file: nil)
        }
        let verification: AuditVerification
        let verifiedAt: Date?
        do {
            let checked = try await verifier.checked(now: clock())
            (verification, verifiedAt) = (checked.verification, checked.at)
        } catch {
            (verification, verifiedAt) = (.broken(sequence: 0, reason: "the chain could not be checked: \(error)"), nil)
        }
        let page = AuditPage(
            filters: filters, records: records, older: records.count == limit ? records.last?.content.sequence : nil,
            verification: verification, verifiedAt: verifiedAt, anchor: anchor, anchorProblem: anchorProblem,
            seesEverything: visibility.seesEverything)
        return Self.html(page.render(viewer: signed.viewer))
    }

    /// The page `render` draws with a desk's refusal as its message, at the refusal's status.
    private func refused(_ error: GatewayError, _ render: (Message) async throws -> Response) async throws -> Response {
        var response = try await render(.error(error.message))
        response.status = .init(code: error.statusCode)
        return response
    }

    // MARK: Responses

    /// What every page's answer carries: no caching, no framing, scripts and styles from this origin only.
    static func securityHeaders(_ type: String) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: type, .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ]
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return headers
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: securityHeaders("text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders(type)
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        var headers = securityHeaders("text/plain; charset=utf-8")
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    static func problem(_ status: HTTPResponse.Status, _ title: String, _ detail: String, viewer: Viewer?) -> Response {
        html(ProblemPage(title: title, detail: detail).render(viewer: viewer), status: status)
    }

    /// `path` when it is a path on this server (`/…`, not `//host`), else nil: a login never
    /// sends anyone elsewhere.
    static func localPath(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"), path.utf8.count <= 512,
            !path.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F })
        else { return nil }
        return path
    }
}
