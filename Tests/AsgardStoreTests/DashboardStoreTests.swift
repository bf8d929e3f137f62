import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The dashboard's store: sessions kept by their token's digest with a server-side end, and the
/// audit trail searched by project, actor, action and outcome, a page at a time.
struct DashboardStoreTests {
    static func session(_ digest: String, at start: Date, idle: Duration = .seconds(60), absolute: Duration = .seconds(300)) -> DashboardSession {
        DashboardSession(
            digest: digest, email: "lars@example.com", credentialDigest: String(repeating: "c", count: 64), csrf: "token-\(digest.prefix(4))",
            createdAt: start, lastSeen: start, idle: idle, absolute: absolute)
    }

    @Test(arguments: StoreFactory.all)
    func aSessionSlidesOnUseAndEndsIdleOrAtItsAbsoluteLimit(factory: StoreFactory) async throws {
        try await withStore(factory) { opened, _ in
            let store = try #require(opened as? any DashboardStore)
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let digest = String(repeating: "a", count: 64)
            try await store.createSession(Self.session(digest, at: start))
            // Seen every 50 s, it lives on past its first idle limit...
            var now = start
            for _ in 0..<5 {
                now = now.addingTimeInterval(50)
                let seen = try #require(try await store.touchSession(digest: digest, now: now), "ended at \(now.timeIntervalSince(start)) s")
                #expect(seen.csrf == "token-aaaa" && seen.lastSeen == now)
            }
            // ...but not past its absolute limit (300 s after login), however busy.
            #expect(try await store.touchSession(digest: digest, now: start.addingTimeInterval(300)) == nil)
            // Ended means deleted: a clock turned back finds nothing either.
            #expect(try await store.touchSession(digest: digest, now: start.addingTimeInterval(1)) == nil)

            let idle = String(repeating: "b", count: 64)
            try await store.createSession(Self.session(idle, at: start))
            #expect(try await store.touchSession(digest: idle, now: start.addingTimeInterval(59)) != nil)
            #expect(try await store.touchSession(digest: idle, now: start.addingTimeInterval(59 + 60)) == nil)
        }
    }

    @Test func loggingOutDeletesAndOnlyDigestsAreStored() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            let digest = SHA256.hex("asgs_the_cookie_token")
            try await store.createSession(Self.session(digest, at: Date()))
            #expect(try await store.deleteSession(digest: digest))
            #expect(try await !store.deleteSession(digest: digest))
            #expect(try await store.touchSession(digest: digest, now: Date()) == nil)
            // The table refuses anything but a 64-digit digest: a raw token cannot be stored by mistake.
            await #expect(throws: (any Error).self) {
                try await store.createSession(Self.session("asgs_the_cookie_token", at: Date()))
            }
            #expect(try sqlite3(scratch.path, "SELECT count(*) FROM dashboard_sessions") == "0")
        }
    }

    @Test func expiredSessionsAreSweptAsNewOnesOpen() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            for index in 0..<5 { try await store.createSession(Self.session(String(repeating: String(index), count: 64), at: start)) }
            try await store.createSession(Self.session(String(repeating: "f", count: 64), at: start.addingTimeInterval(3600)))
            #expect(try sqlite3(scratch.path, "SELECT count(*) FROM dashboard_sessions") == "1")
        }
    }

    @Test(arguments: StoreFactory.all)
    func theAuditTrailIsSearchedByProjectActorActionAndOutcome(factory: StoreFactory) async throws {
        try await withStore(factory) { opened, _ in
            let store = try #require(opened as? any Store & DashboardStore)
            let entries = [
                AuditEntry(
                    actor: "Key/agent", action: "gateway.invoke", target: "databricks/llama", outcome: "allowed", detail: ["project": "fraud"]),
                AuditEntry(actor: "Key/agent", action: "gateway.invoke", target: "databricks/llama", outcome: "denied", detail: ["project": "fraud"]),
                AuditEntry(actor: "User/lars@example.com", action: "kill.engage", target: "project/fraud", outcome: "engaged"),
                AuditEntry(actor: "reconciler", action: "reconcile.create", target: "Project/marketing", outcome: "applied"),
                AuditEntry(actor: "User/tom@example.com", action: "dashboard.login", target: nil, outcome: "allowed"),
            ]
            for entry in entries { try await store.appendAudit(entry) }
            func actions(_ query: AuditQuery) async throws -> [String] {
                try await store.searchAudit(query).map { $0.content.action + "/" + $0.content.outcome }
            }

            #expect(try await actions(AuditQuery()).count == entries.count)
            #expect(try await actions(AuditQuery(projects: ["fraud"])) == ["kill.engage/engaged", "gateway.invoke/denied", "gateway.invoke/allowed"])
            #expect(try await actions(AuditQuery(projects: ["marketing"])) == ["reconcile.create/applied"])
            #expect(try await actions(AuditQuery(projects: [])) == [])
            #expect(try await actions(AuditQuery(projects: ["fraud"], outcome: "denied")) == ["gateway.invoke/denied"])
            #expect(try await actions(AuditQuery(actor: "User/tom@example.com")) == ["dashboard.login/allowed"])
            #expect(try await actions(AuditQuery(projects: ["fraud", "marketing"], action: "kill.engage")) == ["kill.engage/engaged"])
            // A value is bound, never spliced into the SQL.
            #expect(try await actions(AuditQuery(actor: "x' OR '1'='1")) == [])
            #expect(try await actions(AuditQuery(projects: ["fraud') OR ('1'='1"])) == [])

            // Pages: newest first, each ending where the next begins.
            let first = try await store.searchAudit(AuditQuery(projects: ["fraud"], limit: 2))
            #expect(first.map(\.content.action) == ["kill.engage", "gateway.invoke"])
            let second = try await store.searchAudit(AuditQuery(projects: ["fraud"], before: first.last?.content.sequence, limit: 2))
            #expect(second.map(\.content.outcome) == ["allowed"])
            #expect(AuditQuery(limit: 0).limit == 1 && AuditQuery(limit: 10_000).limit == 500)
            // The search reads the log; the chain still verifies.
            guard case .intact = try await store.verifyAudit() else {
                Issue.record("the chain broke")
                return
            }
        }
    }
}
