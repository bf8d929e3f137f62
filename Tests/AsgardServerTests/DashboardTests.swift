import AsgardCore
@testable import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The dashboard over real HTTP, as a visitor without a session, a careless person and a hostile
/// site would try it: every page and every form behind a session, the session cookie and its
/// server-side end, the CSRF token and the origin on every form, an open redirect at login,
/// markup in data, and what each person may see.
@Suite(.serialized) struct DashboardTests {
    static let lars = "lars.berg@example.com"  // admin, approver of fraud-detection
    static let tom = "tom.okafor@example.com"  // owner of marketing-copy
    static let pages = ["/", "/projects/fraud-detection", "/approvals", "/kill", "/audit", "/?from=2026-01-01&to=2026-01-31", "/audit?before=5"]
    static let forms = ["/rollup", "/approvals/apr_1/approve", "/approvals/apr_1/reject", "/kill/engage", "/kill/release", "/logout"]

    /// A browser without JavaScript: it keeps cookies by name and never follows redirects.
    final class Browser: Sendable {
        let client: HTTPClient
        let base: String
        let cookies = Mutex<[String: String]>([:])

        init(_ client: HTTPClient, _ base: String) {
            self.client = client
            self.base = base
        }

        struct Page {
            var status: Int
            var headers: HTTPHeaders
            var body: String
            var location: String? { headers.first(name: "Location") }
            var setCookies: [String] { headers[canonicalForm: "Set-Cookie"].map(String.init) }
            /// The value of the first hidden `csrf` field.
            var csrf: String? {
                guard let range = body.range(of: #"name="csrf" value=""#) else { return nil }
                return String(body[range.upperBound...].prefix { $0 != "\"" })
            }
        }

        func get(_ path: String, headers: [(String, String)] = []) async throws -> Page {
            try await send(.GET, path, body: nil, headers: headers)
        }

        func post(_ path: String, _ form: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
            let body = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
            return try await post(path, raw: body, headers: headers)
        }

        func post(_ path: String, raw: String, headers: [(String, String)] = []) async throws -> Page {
            try await send(.POST, path, body: raw, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
        }

        private func send(_ method: HTTPMethod, _ path: String, body: String?, headers: [(String, String)]) async throws -> Page {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            let jar = cookies.withLock { $0 }
            if !jar.isEmpty { request.headers.add(name: "Cookie", value: jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await client.execute(request, timeout: .seconds(60))
            let page = Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: try await response.body.collect(upTo: 1 << 24)))
            for line in page.setCookies {
                let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let (name, value) = (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                cookies.withLock { jar in if value.isEmpty || line.contains("Max-Age=0") { jar[name] = nil } else { jar[name] = value } }
            }
            return page
        }

        /// Logs in with `secret` through the login form; the answer to the post.
        @discardableResult
        func logIn(_ secret: String, next: String? = nil) async throws -> Page {
            let form = try await get("/login" + (next.map { "?next=" + Self.encode($0) } ?? ""))
            let csrf = try #require(form.csrf, "\(form.body)")
            var fields = [("csrf", csrf), ("credential", secret)]
            if let next { fields.append(("next", next)) }
            return try await post("/login", fields)
        }

        /// The session's CSRF token, read off a page.
        func csrf() async throws -> String {
            let page = try await get("/kill")
            return try #require(page.csrf, "\(page.status) \(page.body.prefix(300))")
        }

        static func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? ""
        }
    }

    /// Runs `body` against a served Asgard with a client that does not follow redirects.
    static func serve(
        configure: @escaping (inout ServerConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (_ base: String, _ client: HTTPClient, _ store: SQLiteStore, _ desired: String) async throws -> Void
    ) async throws {
        let held = Mutex<(SQLiteStore?, String)>((nil, ""))
        try await ServedAsgard.run(
            configure: { configuration in
                configure(&configuration)
                held.withLock { $0.1 = configuration.desiredDirectory }
            },
            onStore: { store in held.withLock { $0.0 = store } }
        ) { base, _ in
            let (store, desired) = held.withLock { $0 }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
            do {
                try await body(base, client, try #require(store), desired)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test func withoutASessionEveryPageSendsToLoginAndEveryFormIsRefused() async throws {
        try await Self.serve { base, client, store, _ in
            for forged in [nil, "asgs_forged_not_a_session", ""] {
                let visitor = Browser(client, base)
                if let forged { visitor.cookies.withLock { $0["asgard_session"] = forged } }
                for path in Self.pages {
                    let page = try await visitor.get(path)
                    #expect(page.status == 303, "\(path): \(page.status)")
                    #expect(page.location == "/login?next=" + path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~/")))!, "\(path): \(page.location ?? "none")")
                }
                for path in Self.forms {
                    let page = try await visitor.post(path, [("csrf", "guess"), ("scope", "global"), ("id", ""), ("reason", "forged")])
                    #expect(page.status == 403, "\(path): \(page.status) \(page.body.prefix(200))")
                    #expect(page.body.contains("nothing was changed"), "\(path)")
                }
            }
            #expect(try await store.killSwitches().isEmpty)
            let audit = try await store.auditTail(limit: 1000).map(\.content)
            #expect(!audit.contains { $0.action.hasPrefix("kill.") || $0.action == "cost.rollup" }, "\(audit.map(\.action))")
            // The stylesheet and script need no session (the login page uses them); they are not pages.
            let anonymous = Browser(client, base)
            #expect(try await anonymous.get("/dashboard.css").status == 200)
            #expect(try await anonymous.get("/dashboard.js").status == 200)
        }
    }

    @Test func loggingInSetsAHardenedCookieAndNeverSendsAnyoneElsewhere() async throws {
        try await Self.serve { base, client, store, _ in
            let browser = Browser(client, base)
            let login = try await browser.get("/login")
            #expect(login.status == 200 && login.body.contains(#"<input id="credential" name="credential" type="password""#), "\(login.body)")
            let loginCookie = try #require(login.setCookies.first { $0.hasPrefix("asgard_login=") })
            #expect(loginCookie.contains("HttpOnly") && loginCookie.contains("SameSite=Strict") && !loginCookie.contains("Secure"), "\(loginCookie)")
            #expect(login.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)

            // The login form's token must match its cookie: a form posted from elsewhere has neither.
            let stranger = Browser(client, base)
            let forged = try await stranger.post("/login", [("csrf", try #require(login.csrf)), ("credential", personSecret(Self.lars))])
            #expect(forged.status == 403 && forged.setCookies.allSatisfy { !$0.hasPrefix("asgard_session=") }, "\(forged.status)")

            // A wrong credential, and a key's secret (keys are not people): 401, audited, no session.
            for secret in ["asgp_wrong_credential", ServedAsgard.secrets["sdk-key"]!, ""] {
                let refused = try await browser.logIn(secret)
                #expect(refused.status == 401 || (secret.isEmpty && refused.status == 401), "\(secret): \(refused.status)")
                #expect(refused.body.contains(#"id="error""#) && !refused.body.contains(secret.isEmpty ? "\u{0}" : secret))
                #expect(browser.cookies.withLock { $0["asgard_session"] } == nil)
            }
            let denied = try await store.auditTail(limit: 100).map(\.content).filter { $0.action == "dashboard.login" && $0.outcome == "denied" }
            #expect(denied.count == 3 && denied.allSatisfy { $0.actor == "anonymous" }, "\(denied)")

            // Lars: a session cookie (HttpOnly, SameSite=Strict, whole site) and the overview.
            let accepted = try await browser.logIn(personSecret(Self.lars))
            #expect(accepted.status == 303 && accepted.location == "/", "\(accepted.status) \(accepted.location ?? "")")
            let session = try #require(accepted.setCookies.first { $0.hasPrefix("asgard_session=") })
            #expect(session.contains("; Path=/;") && session.contains("HttpOnly") && session.contains("SameSite=Strict"), "\(session)")
            let token = String(session.dropFirst("asgard_session=".count).prefix { $0 != ";" })
            let overview = try await browser.get("/")
            #expect(overview.status == 200 && overview.body.contains(#"<span id="who">lars.berg@example.com</span>"#))
            #expect(!overview.body.contains(personSecret(Self.lars)) && !overview.body.contains(token), "the page carries a secret")
            // Only the token's digest is stored.
            let stored = try #require(try await store.touchSession(digest: SHA256.hex(token), now: Date()))
            #expect(stored.email == Self.lars && stored.digest != token)
            #expect(try await store.auditTail(limit: 100).map(\.content).contains { $0.action == "dashboard.login" && $0.actor == "User/\(Self.lars)" })

            // After login, only a local page: never another host.
            for (next, expected) in [("/approvals", "/approvals"), ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/")] {
                let other = Browser(client, base)
                let answer = try await other.logIn(personSecret(Self.lars), next: next)
                #expect(answer.status == 303 && answer.location == expected, "\(next): \(answer.location ?? "none")")
            }
        }
    }

    @Test func everyFormNeedsTheSessionsTokenFromThisOrigin() async throws {
        try await Self.serve { base, client, store, _ in
            let lars = Browser(client, base)
            try await lars.logIn(personSecret(Self.lars))
            let csrf = try await lars.csrf()
            let order = [("scope", "project"), ("id", "fraud-detection"), ("reason", "runaway agent")]
            // No token, a wrong one, another session's: refused, nothing engaged.
            let other = Browser(client, base)
            try await other.logIn(personSecret(Self.lars))
            let othersToken = try await other.csrf()
            #expect(othersToken != csrf)
            for fields in [order, [("csrf", "")] + order, [("csrf", csrf + "x")] + order, [("csrf", othersToken)] + order] {
                let refused = try await lars.post("/kill/engage", fields)
                #expect(refused.status == 403 && refused.body.contains("CSRF"), "\(refused.status)")
            }
            // The right token from another site (a browser names the origin): refused.
            for headers in [[("Origin", "http://evil.example")], [("Sec-Fetch-Site", "cross-site")], [("Origin", "null")]] {
                let refused = try await lars.post("/kill/engage", [("csrf", csrf)] + order, headers: headers)
                #expect(refused.status == 403, "\(headers): \(refused.status)")
            }
            #expect(try await store.killSwitches().isEmpty)
            // A malformed form and one over the limit change nothing either.
            #expect(try await lars.post("/kill/engage", raw: "csrf=\(csrf)&scope=%zz").status == 400)
            #expect(try await lars.post("/kill/engage", raw: "csrf=\(csrf)&reason=" + String(repeating: "a", count: 70_000)).status == 413)
            #expect(try await store.killSwitches().isEmpty)

            // The right token from this origin: engaged, shown, released.
            let host = String(base.dropFirst("http://".count))
            let engaged = try await lars.post("/kill/engage", [("csrf", csrf)] + order, headers: [("Origin", base), ("Host", host), ("Sec-Fetch-Site", "same-origin")])
            #expect(engaged.status == 303 && engaged.location == "/kill?changed=project/fraud-detection", "\(engaged.status) \(engaged.body.prefix(300))")
            #expect(try await store.killSwitches().map(\.target) == ["fraud-detection"])
            let page = try await lars.get("/kill?changed=project/fraud-detection")
            #expect(page.body.contains(#"<tr data-target="project:fraud-detection">"#) && page.body.contains(#"id="notice""#))
            let released = try await lars.post("/kill/release", [("csrf", csrf), ("scope", "project"), ("id", "fraud-detection")])
            #expect(released.status == 303)
            #expect(try await store.killSwitches().isEmpty)
            // Releasing what is not engaged: the desk's refusal on the page, 404.
            let again = try await lars.post("/kill/release", [("csrf", csrf), ("scope", "project"), ("id", "fraud-detection")])
            #expect(again.status == 404 && again.body.contains("no kill switch is engaged for project/fraud-detection"), "\(again.status)")
        }
    }

    @Test func sessionsEndOnTheServer() async throws {
        try await Self.serve(configure: { configuration in
            // Long enough for a login and a page on a loaded machine; the store's tests cover the
            // limits to the second with a fixed clock.
            configuration.environment["ASGARD_DASHBOARD_IDLE_SECONDS"] = "5"
            configuration.passInterval = .milliseconds(200)
        }) { base, client, store, desired in
            // Logging out deletes the session: the old cookie opens nothing.
            let lars = Browser(client, base)
            try await lars.logIn(personSecret(Self.lars))
            let token = try #require(lars.cookies.withLock { $0["asgard_session"] })
            let out = try await lars.post("/logout", [("csrf", try await lars.csrf())])
            #expect(out.status == 303 && out.location == "/login" && out.setCookies.contains { $0.hasPrefix("asgard_session=;") && $0.contains("Max-Age=0") })
            let replay = Browser(client, base)
            replay.cookies.withLock { $0["asgard_session"] = token }
            #expect(try await replay.get("/").status == 303)
            #expect(try await store.touchSession(digest: SHA256.hex(token), now: Date()) == nil)

            // Idle past the limit: the session ends, whatever the cookie says.
            let idle = Browser(client, base)
            try await idle.logIn(personSecret(Self.lars))
            #expect(try await idle.get("/").status == 200)
            try await Task.sleep(for: .milliseconds(5_500))
            #expect(try await idle.get("/").status == 303)

            // A credential rotated in desired/ ends the sessions it opened at the next pass.
            let tom = Browser(client, base)
            try await tom.logIn(personSecret(Self.tom))
            #expect(try await tom.get("/").status == 200)
            let file = desired + "/people/tom-okafor.yaml"
            let document = try String(contentsOfFile: file, encoding: .utf8)
            try document.replacingOccurrences(of: SHA256.hex(personSecret(Self.tom)), with: SHA256.hex("asgp_rotated_for_tom"))
                .write(toFile: file, atomically: true, encoding: .utf8)
            var status = 200
            for _ in 0..<100 where status == 200 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await tom.get("/").status
            }
            #expect(status == 303, "the session outlived the credential that opened it")
            #expect(try await tom.logIn(personSecret(Self.tom)).status == 401)
            #expect(try await Browser(client, base).logIn("asgp_rotated_for_tom").status == 303)
        }
    }

    @Test func behindTLSTheCookieIsSecure() async throws {
        try await Self.serve(configure: { (configuration: inout ServerConfiguration) in
            configuration.environment["ASGARD_PUBLIC_URL"] = "https://asgard.example.com"
        }) { base, client, _, _ in
            let browser = Browser(client, base)
            #expect(try await browser.get("/login").setCookies.allSatisfy { $0.hasSuffix("; Secure") })
            let accepted = try await browser.logIn(personSecret(Self.lars))
            #expect(accepted.setCookies.contains { $0.hasPrefix("asgard_session=") && $0.hasSuffix("; Secure") }, "\(accepted.setCookies)")
        }
    }

    @Test func whatAPersonSeesAndMayDoIsCedars() async throws {
        try await Self.serve { base, client, store, _ in
            let lars = Browser(client, base)
            try await lars.logIn(personSecret(Self.lars))
            let larsToken = try await lars.csrf()
            // Markup in a reason is shown as text, never run.
            let hostile = #"<script>alert("x")</script><img src=x onerror=alert(1)>"#
            let engaged = try await lars.post("/kill/engage", [("csrf", larsToken), ("scope", "project"), ("id", "fraud-detection"), ("reason", hostile)])
            #expect(engaged.status == 303)
            let kill = try await lars.get("/kill")
            #expect(!kill.body.contains("<script>alert") && !kill.body.contains("<img src=x"))
            #expect(kill.body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"))

            // Tom owns marketing-copy only: he sees it, not fraud-detection, nor its switch or audit entries.
            let tom = Browser(client, base)
            try await tom.logIn(personSecret(Self.tom))
            let overview = try await tom.get("/")
            #expect(overview.body.contains(#"data-project="marketing-copy""#) && !overview.body.contains(#"data-project="fraud-detection""#))
            #expect(try await tom.get("/projects/fraud-detection").status == 404)
            #expect(try await tom.get("/projects/marketing-copy").status == 200)
            #expect(try await tom.get("/projects/no-such-project").status == 404)
            #expect(!(try await tom.get("/kill").body.contains("project:fraud-detection")))
            let audit = try await tom.get("/audit")
            let engagedRow = #"<td class="action">kill.engage</td>"#
            #expect(audit.status == 200 && !audit.body.contains(engagedRow) && audit.body.contains("about your projects"))
            #expect(!(try await tom.get("/audit?project=fraud-detection").body.contains(engagedRow)))
            #expect(!(try await tom.get("/audit?action=kill.engage").body.contains(engagedRow)))
            // Lars (admin) sees both projects and the whole trail, filterable.
            let larsOverview = try await lars.get("/")
            #expect(larsOverview.body.contains(#"data-project="marketing-copy""#) && larsOverview.body.contains(#"data-project="fraud-detection""#))
            let filtered = try await lars.get("/audit?action=kill.engage&project=fraud-detection")
            #expect(filtered.body.contains("<td class=\"action\">kill.engage</td>"), "\(filtered.body.suffix(2000))")
            #expect(!filtered.body.contains("<td class=\"action\">dashboard.login</td>"))
            #expect(filtered.body.contains(#"id="chain-status" class="ok">verified"#))

            // Tom may not pull a kill switch nor roll costs up (Cedar and the admin role decide); nothing changes.
            let tomToken = try await tom.csrf()
            let refused = try await tom.post("/kill/engage", [("csrf", tomToken), ("scope", "project"), ("id", "marketing-copy"), ("reason", "mine")])
            #expect(refused.status == 403 && refused.body.contains("Cedar denied kill"), "\(refused.status)")
            #expect(try await tom.post("/rollup", [("csrf", tomToken)]).status == 403)
            #expect(try await store.killSwitches().map(\.target) == ["fraud-detection"])
            let tomsDenial = try await store.auditTail(limit: 500).map(\.content).filter { $0.action == "kill.engage" && $0.outcome == "denied" }
            #expect(tomsDenial.map(\.actor) == ["User/\(Self.tom)"], "\(tomsDenial)")

            // Lars rolls costs up from the overview: the last rollup's time is shown.
            #expect(try await lars.get("/").body.contains(#"<span id="last-rollup">never</span>"#))
            let rolled = try await lars.post("/rollup", [("csrf", larsToken)])
            #expect(rolled.status == 303 && rolled.location == "/?rolled=1")
            let after = try await lars.get("/?rolled=1")
            #expect(after.body.contains(#"<time id="last-rollup" datetime="20"#) && after.body.contains(#"id="notice""#))
        }
    }

    @Test func anEditedAuditEntryShowsTheChainBroken() async throws {
        try await Self.serve { base, client, _, desired in
            let lars = Browser(client, base)
            try await lars.logIn(personSecret(Self.lars))
            let path = String(desired.dropLast("/desired".count)) + "/data/asgard.sqlite"
            _ = try sqlite3(path, "UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
            let page = try await lars.get("/audit")
            #expect(page.body.contains(#"<p id="chain-status" class="error" role="alert">broken at entry 2:"#), "\(page.body.prefix(3000))")
        }
    }

    @Test func theAuditTrailPagesBackWithItsFilters() async throws {
        try await Self.serve { base, client, store, _ in
            for index in 0..<120 {
                try await store.appendAudit(
                    AuditEntry(actor: "User/someone@example.com", action: "test.page", target: "Project/marketing-copy", outcome: "ok", detail: ["n": String(index)]))
            }
            let lars = Browser(client, base)
            try await lars.logIn(personSecret(Self.lars))
            var path = "/audit?action=test.page"
            var seen: [Int] = []
            for _ in 0..<5 {
                let page = try await lars.get(path)
                let numbers = page.body.components(separatedBy: #"<tr data-seq=""#).dropFirst().compactMap { Int($0.prefix { $0 != "\"" }) }
                seen += numbers
                guard let range = page.body.range(of: #"<a rel="next" href=""#) else { break }
                path = String(page.body[range.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
                #expect(path.contains("action=test.page"), "\(path)")
            }
            #expect(seen.count == 120 && seen == seen.sorted(by: >) && Set(seen).count == 120, "\(seen.count)")
        }
    }
}

/// A session lifetime that is not whole seconds in range stops the server from starting, by name.
struct DashboardConfigurationTests {
    @Test(arguments: ["0", "-5", "1.5", "an hour", "2592001"])
    func aBadSessionLifetimeIsRefusedByName(_ text: String) throws {
        for name in ["ASGARD_DASHBOARD_IDLE_SECONDS", "ASGARD_DASHBOARD_SESSION_SECONDS"] {
            #expect(throws: DashboardSessions.ConfigurationError.self) { try DashboardSessions.seconds(name, in: [name: text], default: 60) }
            do {
                _ = try DashboardSessions.seconds(name, in: [name: text], default: 60)
            } catch {
                #expect("\(error)".hasPrefix(name + " must be a whole number of seconds"))
            }
        }
        #expect(try DashboardSessions.seconds("X", in: [:], default: 60) == .seconds(60))
        #expect(try DashboardSessions.seconds("X", in: ["X": "90"], default: 60) == .seconds(90))
    }
}

/// The audit page's verification runs at most once per `maxAge`, however many pages ask.
struct AuditVerifierTests {
    @Test func oneCheckServesEveryPageUntilItIsOld() async throws {
        let root = try makeTemporaryDirectory("verifier")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        try await store.appendAudit(AuditEntry(actor: "test", action: "test.one", target: nil, outcome: "ok"))
        let verifier = AuditVerifier(store: store, anchorFile: nil, maxAge: 60)
        let start = Date()
        async let first = verifier.checked(now: start)
        async let second = verifier.checked(now: start)
        let (a, b) = try await (first, second)
        #expect(a.at == b.at)
        guard case .intact(let count, _) = a.verification else { Issue.record("\(a.verification)"); return }
        #expect(count == 1)
        // An entry edited behind the store's back shows once the check is old enough to run again.
        _ = try sqlite3(root + "/asgard.sqlite", "UPDATE audit SET actor = 'someone-else' WHERE seq = 1")
        let cached = try await verifier.checked(now: start.addingTimeInterval(59))
        #expect(cached.at == a.at)
        let fresh = try await verifier.checked(now: start.addingTimeInterval(61))
        guard case .broken(let sequence, _) = fresh.verification else { Issue.record("\(fresh.verification)"); return }
        #expect(sequence == 1)
    }
}
