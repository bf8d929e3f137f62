import AsgardCore
import AsgardCost
@testable import AsgardDashboard
import AsgardJSON
import Foundation
import Testing

struct KillPageTests {
    static let engaged = [
        StoredKillSwitch(scope: .project, target: "fraud-detection", reason: "<b>stop</b>", engagedBy: "User/lars@example.com", since: Fixture.instant),
        StoredKillSwitch(scope: .global, target: "ignored", reason: "incident 'all'", engagedBy: "cli", since: Fixture.instant),
    ]

    @Test func rowsNameTheirTargetAndEscapeTheReason() throws {
        let html = KillPage(engaged: Self.engaged).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<td class="reason">&lt;b&gt;stop&lt;/b&gt;</td>"#))
        #expect(!html.contains("<b>stop"))
        let project = try #require(Markup.row(containing: #"data-target="project:fraud-detection""#, in: html))
        #expect(project.contains(#"<th scope="row">project/fraud-detection</th>"#))
        #expect(project.contains(#"<td class="by">User/lars@example.com</td>"#))
        #expect(project.contains(#"<td class="since">2026-12-03 18:20 UTC</td>"#))
        #expect(project.contains(#"<input type="hidden" name="scope" value="project"><input type="hidden" name="id" value="fraud-detection">"#))
        #expect(project.contains(#"data-confirm="Release project/fraud-detection? Calls flow again at once.""#))
        let global = try #require(Markup.row(containing: #"data-target="global""#, in: html))
        #expect(global.contains(#"<th scope="row">global</th>"#))
        #expect(global.contains(#"<td class="reason">incident &#39;all&#39;</td>"#))
        #expect(global.contains(#"<input type="hidden" name="id" value="">"#))
        #expect(Markup.count("data-target=", in: html) == 2)
    }

    @Test func everyFormCarriesTheToken() {
        let html = KillPage(engaged: Self.engaged).render(viewer: Fixture.viewer)
        // Two releases, the engage form and logout.
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 4)
        #expect(html.contains(#"<form method="post" action="/kill/engage" id="engage""#))
    }

    @Test func engageFormOffersEveryScopeWithProjectSelected() {
        let html = KillPage(engaged: []).render(viewer: Fixture.viewer)
        #expect(html.contains("No kill switch is engaged."))
        for scope in KillScope.allCases where scope != .project {
            #expect(html.contains("<option value=\"\(scope.rawValue)\">\(scope.rawValue)</option>"))
        }
        #expect(html.contains(#"<option value="project" selected>project</option>"#))
        #expect(Markup.count(" selected", in: html) == 1)
        #expect(html.contains(#"<input id="reason" name="reason" type="text" maxlength="500" required>"#))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 2)
    }
}

struct ApprovalsPageTests {
    static let estimate = CostEstimate(basis: .rule, monthly: MicroDollars(450_000_000), detail: "cluster_size X-Small: $450/month")

    static let pending = Approval(
        id: "apr-1", ref: ObjectRef(.resource, "warehouse"), project: "fraud-detection", actionDigest: "act", planDigest: "plan-digest-pending",
        summary: "Create a <SQL> warehouse", operation: .provision,
        changes: [
            PlannedChange(
                address: "databricks_sql_endpoint.this", type: "databricks_sql_endpoint", action: "create", before: nil,
                after: ["cluster_size": "X-Small", "name": "wh<1>", "tags": nil])
        ],
        estimate: estimate, requestedBy: "User/ana@example.com", status: .pending, decidedBy: nil, reason: nil, createdAt: Fixture.instant,
        decidedAt: nil)

    static let decided = Approval(
        id: "apr-0", ref: ObjectRef(.servingEndpoint, "chat"), project: "fraud-detection", actionDigest: "act0", planDigest: "sha256-decided-plan",
        summary: "s", operation: .destroy, estimate: CostEstimate(basis: .unknown, monthly: MicroDollars(5), detail: "no rule"),
        requestedBy: "User/ana@example.com", status: .rejected, decidedBy: "User/lars@example.com", reason: "too <costly>", createdAt: Fixture.instant,
        decidedAt: Fixture.instant)

    @Test func pendingArticleShowsRequesterEstimateAndChanges() throws {
        let html = ApprovalsPage(pending: [Self.pending], decided: [Self.decided]).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<article class="approval" data-approval="apr-1" data-ref="Resource/warehouse" aria-labelledby="a-apr-1">"#))
        #expect(html.contains(#"<h3 id="a-apr-1">Provision Resource/warehouse</h3>"#))
        #expect(html.contains(#"<dd class="requester">User/ana@example.com</dd>"#))
        #expect(html.contains(#"<dd class="estimate">$450.00 a month (cluster_size X-Small: $450/month)</dd>"#))
        #expect(html.contains("<code>plan-digest-pending</code>"))
        #expect(html.contains("<p>Create a &lt;SQL&gt; warehouse</p>"))
        #expect(html.contains("Waiting for a decision (1)"))
        // The plan's values as JSON text, escaped.
        #expect(html.contains("<td><code>name</code></td><td><code>—</code></td><td><code>&quot;wh&lt;1&gt;&quot;</code></td>"))
        #expect(!html.contains("<code>tags</code>"))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 3)  // approve, reject, logout
        #expect(html.contains(#"<form method="post" action="/approvals/apr-1/approve" class="approve" data-confirm="Approve Resource/warehouse? Its plan will be applied.">"#))
        #expect(html.contains(#"<form method="post" action="/approvals/apr-1/reject" class="reject">"#))
    }

    @Test func decidedTableShowsWhoWhenWhyAndThePlanDigest() throws {
        let html = ApprovalsPage(pending: [], decided: [Self.decided]).render(viewer: Fixture.viewer)
        let row = try #require(Markup.row(containing: #"data-approval="apr-0""#, in: html))
        #expect(row.hasPrefix(#"<tr data-approval="apr-0" data-ref="ServingEndpoint/chat">"#))
        #expect(row.contains(#"<td class="status">rejected</td>"#))
        #expect(row.contains(#"<td class="decided-by">User/lars@example.com</td>"#))
        #expect(row.contains(#"<td class="decided-at">2026-12-03 18:20 UTC</td>"#))
        #expect(row.contains("<td>too &lt;costly&gt;</td>"))
        #expect(row.contains(#"<td class="plan-digest"><code>sha256-decided-plan</code></td>"#))
        #expect(html.contains("Nothing is waiting for you."))
        #expect(!html.contains("<article"))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 1)
    }

    @Test func aDestroyWithAnUnknownEstimateAndNoPlan() {
        var approval = Self.decided
        approval.id = "apr-2"
        approval.status = .pending
        approval.planDigest = nil
        let html = ApprovalsPage(pending: [approval], decided: []).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<h3 id="a-apr-2">Destroy ServingEndpoint/chat</h3>"#))
        #expect(html.contains("<dt>Stops spending</dt><dd class=\"estimate\">unknown (no rule)</dd>"))
        #expect(html.contains("<code>none (no plan)</code>"))
        #expect(html.contains("No resource changes are recorded for this plan."))
        #expect(html.contains(#"<td colspan="6">None yet.</td>"#))
    }

    static func names(_ rows: [(String, String, String)]) -> [String] { rows.map(\.0) }

    @Test func attributesOfAnUpdateShowBothSidesAsJSONText() {
        let change = PlannedChange(
            address: "a", type: "t", action: "update",
            before: ["size": "X-Small", "password": "(sensitive)", "id": "123", "tags": nil, "count": 1, "gone": ["x"]],
            after: ["size": "Small", "password": "(sensitive)", "tags": nil, "count": 2, "gone": nil, "new": true])
        let rows = ApprovalsPage.attributes(change)
        #expect(Self.names(rows) == ["count", "gone", "id", "new", "password", "size"])
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.0, ($0.1, $0.2)) })
        #expect(byName["password"]! == (#""(sensitive)""#, #""(sensitive)""#))
        #expect(byName["size"]! == (#""X-Small""#, #""Small""#))
        #expect(byName["count"]! == ("1", "2"))
        #expect(byName["id"]! == (#""123""#, "(known after apply)"))
        #expect(byName["gone"]! == (#"["x"]"#, "null"))
        #expect(byName["new"]! == ("—", "true"))
        #expect(byName["tags"] == nil)
    }

    @Test func attributesOfACreate() {
        let change = PlannedChange(
            address: "a", type: "t", action: "create", before: nil,
            after: ["name": "wh", "password": "(sensitive)", "tags": nil, "spec": ["size": "S"]])
        let rows = ApprovalsPage.attributes(change)
        #expect(Self.names(rows) == ["name", "password", "spec"])
        #expect(rows.map(\.1) == ["—", "—", "—"])
        #expect(rows.map(\.2) == [#""wh""#, #""(sensitive)""#, #"{"size":"S"}"#])
    }

    @Test func anAttributeAbsentAfterIsKnownAfterApplyUnlessDestroyed() {
        let before: JSONValue = ["id": "i-1", "name": "old"]
        let replace = ApprovalsPage.attributes(PlannedChange(address: "a", type: "t", action: "replace", before: before, after: ["name": "new"]))
        #expect(replace.map(\.0) == ["id", "name"])
        #expect(replace.map(\.2) == ["(known after apply)", #""new""#])
        let destroy = ApprovalsPage.attributes(PlannedChange(address: "a", type: "t", action: "destroy", before: before, after: nil))
        #expect(destroy.map(\.1) == [#""i-1""#, #""old""#])
        #expect(destroy.map(\.2) == ["—", "—"])
    }

    @Test func nothingSetOnEitherSideIsNoRowsAndNonObjectsAreNoValues() {
        #expect(ApprovalsPage.attributes(PlannedChange(address: "a", type: "t", action: "update", before: ["x": nil], after: ["x": nil, "y": nil])).isEmpty)
        #expect(ApprovalsPage.attributes(PlannedChange(address: "a", type: "t", action: "create", before: nil, after: nil)).isEmpty)
        #expect(ApprovalsPage.attributes(PlannedChange(address: "a", type: "t", action: "create", before: "text", after: [1, 2])).isEmpty)
        let rendered = ApprovalsPage.changes([PlannedChange(address: "addr", type: "t", action: "update", before: ["x": nil], after: ["x": nil])]).rendered
        #expect(rendered.contains(#"<tr><td>addr</td><td>update</td><td colspan="3"></td></tr>"#))
    }
}

struct AuditPageTests {
    static func page(filters: AuditPage.Filters = .init(), older: Int64? = nil, verification: AuditVerification, anchor: AuditPage.Anchor? = nil,
                     anchorProblem: String? = nil, records: [AuditRecord] = []) -> AuditPage {
        AuditPage(filters: filters, records: records, older: older, verification: verification, anchor: anchor, anchorProblem: anchorProblem, seesEverything: true)
    }

    static let intact = AuditVerification.intact(count: 12, head: "0123456789abcdef0123456789abcdef")

    @Test func linkKeepsTheFiltersAndPercentEncodesThem() {
        var filters = AuditPage.Filters()
        filters.project = "fraud-detection"
        filters.actor = "User/a b&c"
        filters.outcome = "denied"
        #expect(Self.page(filters: filters, verification: Self.intact).link(before: 42)
            == "/audit?project=fraud-detection&actor=User%2Fa%20b%26c&outcome=denied&before=42")
        #expect(Self.page(verification: Self.intact).link(before: 7) == "/audit?before=7")
    }

    @Test(arguments: [
        ("User/a b&c", "User%2Fa%20b%26c"),
        ("a-z_A.Z~09", "a-z_A.Z~09"),
        ("é", "%C3%A9"),
        ("=?#+%", "%3D%3F%23%2B%25"),
        ("\n\u{0}", "%0A%00"),
        ("", ""),
    ])
    func queryEscape(_ text: String, _ expected: String) {
        #expect(Format.queryEscape(text) == expected)
    }

    @Test func theOlderLinkIsEscapedInTheAttribute() {
        var filters = AuditPage.Filters()
        filters.actor = "x\"y"
        let html = Self.page(filters: filters, older: 5, verification: Self.intact).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<a rel="next" href="/audit?actor=x%22y&amp;before=5">Older entries</a>"#))
        #expect(html.contains(#"<input id="f-actor" name="actor" type="text" value="x&quot;y" placeholder="User/lars@example.com">"#))
        #expect(!Self.page(verification: Self.intact).render(viewer: Fixture.viewer).contains("rel=\"next\""))
    }

    @Test func chainStatusIntact() {
        let html = Self.page(verification: Self.intact).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<p id="chain-status" class="ok">verified: all 12 entries chain and check out under the audit key; head 0123456789abcdef…</p>"#))
        #expect(html.contains(#"<p id="last-anchor">No anchor: the log is empty.</p>"#))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 1)
    }

    @Test func chainStatusBroken() {
        let html = Self.page(verification: .broken(sequence: 7, reason: "its previous-hash does not match <entry 6>"), anchorProblem: "unreadable anchor file")
            .render(viewer: Fixture.viewer)
        #expect(html.contains(#"<p id="chain-status" class="error" role="alert">broken at entry 7: its previous-hash does not match &lt;entry 6&gt;</p>"#))
        #expect(html.contains(#"<p id="last-anchor">unreadable anchor file</p>"#))
    }

    @Test func anchorLine() {
        let anchor = AuditPage.Anchor(anchor: AuditAnchor(sequence: 11, mac: String(repeating: "ab", count: 32), time: "2026-12-03T10:00:00Z"), file: "/var/anchors")
        let html = Self.page(verification: Self.intact, anchor: anchor).render(viewer: Fixture.viewer)
        #expect(html.contains("Last anchor: entry 11, 2026-12-03T10:00:00Z, MAC abababababababab… (exported to /var/anchors;"))
    }

    @Test func recordsAndTheSelectedOutcome() {
        var filters = AuditPage.Filters()
        filters.outcome = "custom<x>"
        let record = AuditRecord(
            content: .init(sequence: 9, time: "2026-12-03T18:20:29.123Z", actor: "User/<eve>", action: "kill.engage", target: nil, outcome: "denied",
                           detail: #"{"why":"<no>"}"#),
            previousHash: "p", hash: "h")
        let html = Self.page(filters: filters, verification: Self.intact, records: [record]).render(viewer: Fixture.viewer)
        let row = Markup.row(containing: #"data-seq="9""#, in: html) ?? ""
        #expect(row == #"<tr data-seq="9"><td class="number">9</td><td class="time">2026-12-03 18:20:29 UTC</td><td class="actor">User/&lt;eve&gt;</td><td class="action">kill.engage</td><td class="target"></td><td class="outcome">denied</td><td class="details"><code>{&quot;why&quot;:&quot;&lt;no&gt;&quot;}</code></td></tr>"#)
        // An outcome not in the list is offered (and selected) so the filter round-trips.
        #expect(html.contains(#"<option value="custom&lt;x&gt;" selected>custom&lt;x&gt;</option>"#))
        #expect(html.contains(#"<option value="">any</option>"#))
        #expect(Markup.count(" selected", in: html) == 1)
    }
}

struct LoginPageTests {
    @Test func loginFormWithNext() throws {
        let html = LoginPage(csrf: "login-tok", next: "/approvals?x=1&y=2").render()
        let credential = try #require(Markup.openingTags("input", in: html).first { Markup.attribute("id", of: $0) == "credential" })
        #expect(Markup.attribute("type", of: credential) == "password")
        #expect(Markup.attribute("name", of: credential) == "credential")
        #expect(credential.contains(" required "))
        #expect(html.contains(#"<input type="hidden" name="next" value="/approvals?x=1&amp;y=2">"#))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: "login-tok") == 1)
        #expect(html.contains(#"<label for="credential">Personal credential</label>"#))
        // Nobody is logged in: no navigation, no logout.
        #expect(!html.contains("<nav"))
        #expect(!html.contains("logout"))
    }

    @Test func loginFormWithoutNext() {
        let html = LoginPage(csrf: "login-tok", next: nil, message: .error("That credential is not known.")).render()
        #expect(!html.contains(#"name="next""#))
        #expect(html.contains(#"<form id="login" method="post" action="/login" class="card"><input type="hidden" name="csrf" value="login-tok">"#))
        #expect(html.contains(#"<p id="error" class="error" role="alert">That credential is not known.</p>"#))
    }

    @Test func problemPage() {
        let html = ProblemPage(title: "Not found", detail: "No project <x>").render(viewer: nil)
        #expect(html.contains("<h1>Not found</h1><p id=\"error\" class=\"error\" role=\"alert\">No project &lt;x&gt;</p>"))
    }
}

struct ProjectPageTests {
    static let secretDigest = "d1635f0e5d9b7c2aRECOGNIZABLEDIGEST0000000000000000000000000000000"

    static func page(spend: OverviewPage.ProjectSpend? = nil) -> ProjectPage {
        let now = Fixture.instant
        let keys = [
            Key(id: "k-active", project: "fraud-detection", digest: secretDigest, allowedModels: ["databricks/*", "openai/gpt"], maxDataClass: .confidential,
                defaultDataClass: .internal, expires: now.addingTimeInterval(86_400), requestsPerMinute: 60),
            Key(id: "k-expired", project: "fraud-detection", digest: secretDigest + "2", allowedModels: [], maxDataClass: .public,
                defaultDataClass: .public, expires: now.addingTimeInterval(-1)),
            Key(id: "k-now", project: "fraud-detection", digest: secretDigest + "3", allowedModels: [], maxDataClass: .public,
                defaultDataClass: .public, expires: now),
            Key(id: "k-killed", project: "fraud-detection", digest: secretDigest + "4", allowedModels: [], maxDataClass: .public,
                defaultDataClass: .public, expires: now.addingTimeInterval(-100)),
        ]
        let call = LedgerEntry(
            requestID: "req-1", time: now, project: "fraud-detection", keyID: "k-active", vendor: "openai", model: "openai/gpt", upstream: "gpt",
            promptTokens: 10, completionTokens: 20, cost: MicroDollars(1_234_567), latencyMicroseconds: 5, status: "ok", estimated: true)
        return ProjectPage(
            project: Fixture.project("fraud-detection", budget: 1_500), keys: keys, killedKeys: ["k-killed"],
            objects: [.init(ref: ObjectRef(.resource, "wh"), service: nil, status: "applied", tier: "human", reason: String(repeating: "r", count: 241), drift: "size")],
            driftObservedAt: nil, spend: spend, period: Fixture.period("2026-12-01", "2026-12-03"), calls: [call], refusals: [], now: now)
    }

    @Test func keyDigestsAreNeverRendered() {
        let html = Self.page().render(viewer: Fixture.viewer)
        #expect(html.contains(#"data-key="k-active""#))
        #expect(!html.contains("RECOGNIZABLEDIGEST"))
        #expect(!html.contains(Self.secretDigest.prefix(16)))
    }

    @Test(arguments: [("k-active", "active"), ("k-expired", "expired"), ("k-now", "expired"), ("k-killed", "killed")])
    func keyState(_ id: String, _ state: String) throws {
        let html = Self.page().render(viewer: Fixture.viewer)
        let row = try #require(Markup.row(containing: "data-key=\"\(id)\"", in: html))
        #expect(row.hasSuffix("<td>\(state)</td></tr>"))
    }

    @Test func keyRowShowsModelsClassLimitAndExpiry() throws {
        let html = Self.page().render(viewer: Fixture.viewer)
        let row = try #require(Markup.row(containing: #"data-key="k-active""#, in: html))
        #expect(row == #"<tr data-key="k-active"><th scope="row">k-active</th><td>databricks/*, openai/gpt</td><td>confidential</td><td>60</td><td>2026-12-04 18:20 UTC</td><td>active</td></tr>"#)
        let expired = try #require(Markup.row(containing: #"data-key="k-expired""#, in: html))
        #expect(expired.contains("<td>unlimited</td>"))
    }

    @Test func factsObjectsCallsAndNoSpend() throws {
        let html = Self.page().render(viewer: Fixture.viewer)
        #expect(html.contains("<dt>Monthly budget</dt><dd>$1,500.00</dd>"))
        #expect(html.contains("<dt>Approvers</dt><dd>approver@example.com</dd>"))
        #expect(html.contains("The cost plane is off: this store has no cost tables."))
        #expect(html.contains("Drift has not been observed yet"))
        let object = try #require(Markup.row(containing: #"data-ref="Resource/wh""#, in: html))
        #expect(object.contains(#"<td class="drift">size</td>"#))
        #expect(object.contains("<td title=\"\(String(repeating: "r", count: 241))\">\(String(repeating: "r", count: 240))…</td>"))
        let call = try #require(Markup.row(containing: #"data-request="req-1""#, in: html))
        #expect(call.contains(#"<td class="number" title="$1.234567">$1.23 (estimate)</td>"#))
        #expect(call.contains(#"<td class="number">10 / 20</td>"#))
        #expect(html.contains(#"<a href="/audit?project=fraud-detection">"#))
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: Fixture.viewer.csrf) == 1)
    }

    @Test func spendSectionReusesTheOverviewChartAndTable() throws {
        let report = OverviewPageTests.report()
        let spend = try #require(OverviewPage.projects(from: report, names: [("fraud-detection", "Fraud")]).first)
        let html = Self.page(spend: spend).render(viewer: Fixture.viewer)
        #expect(html.contains(#"<svg class="chart" role="img""#))
        #expect(html.contains(#"aria-labelledby="chart-project-title""#))
        #expect(Markup.count(#"<td class="measurement">"#, in: html) == 3)
        #expect(!html.contains("The cost plane is off"))
    }

    @Test func shortened() {
        #expect(ProjectPage.shortened(String(repeating: "x", count: 240)) == String(repeating: "x", count: 240))
        #expect(ProjectPage.shortened(String(repeating: "x", count: 241)) == String(repeating: "x", count: 240) + "…")
        #expect(ProjectPage.shortened("") == "")
    }
}
