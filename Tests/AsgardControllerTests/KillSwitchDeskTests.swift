import AsgardController
import AsgardCore
import AsgardPolicy
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The one path every front end (admin API, CLI) takes to engage or release a kill switch.
@Suite struct KillSwitchDeskTests {
    let store: SQLiteStore

    init() throws {
        store = try SQLiteStore(path: try makeTemporaryDirectory("kill-desk") + "/asgard.sqlite", auditKey: testAuditKey)
    }

    /// The shipped policies plus `extra` Cedar text.
    static func policies(adding extra: String = "") -> PolicyEngine {
        let shipped = try! FileManager.default.contentsOfDirectory(atPath: packageRoot + "/policies").filter { $0.hasSuffix(".cedar") }
        let files = shipped.map { ($0, try? String(contentsOfFile: packageRoot + "/policies/" + $0, encoding: .utf8)) } + [("extra.cedar", extra)]
        let (bundle, problems) = PolicyBundle.load(files: files)
        precondition(problems.isEmpty, "\(problems)")
        return PolicyEngine(enforced: bundle)
    }

    @Test func anAdminEngagesAndReleasesWithTheDecidingPolicyAudited() async throws {
        let desk = KillSwitchDesk(store: store, policies: Self.policies())
        let ops = Operator.commandLine(by: "ops")
        try await desk.engage(scope: .project, id: "fraud-detection", reason: "runaway agent", by: ops)
        #expect(try await store.killSwitches().map { "\($0.scope.rawValue) \($0.target) \($0.engagedBy)" } == ["project fraud-detection ops"])
        try await desk.release(scope: .project, id: "fraud-detection", by: ops)
        #expect(try await store.killSwitches().isEmpty)
        let audit = try await store.auditTail(limit: 10).map(\.content)
        #expect(
            audit.map { "\($0.actor) \($0.action) \($0.target ?? "") \($0.outcome)" } == [
                "User/ops kill.engage project/fraud-detection engaged", "User/ops kill.release project/fraud-detection released",
            ])
        #expect(audit.allSatisfy { $0.detail.contains(#""policies":"admins-kill""#) && $0.detail.contains(#""via":"cli""#) })
        await #expect(throws: KillSwitchDesk.Refusal.notEngaged(target: "project/fraud-detection")) {
            try await desk.release(scope: .project, id: "fraud-detection", by: ops)
        }
    }

    @Test func aForbidOnKillIsObeyedAndTheRefusalAudited() async throws {
        let desk = KillSwitchDesk(
            store: store,
            policies: Self.policies(
                adding: """
                    @id("no-global-kill-from-the-cli")
                    forbid (principal, action == Action::"kill", resource) when { context.scope == "global" && context.via == "cli" };
                    """))
        await #expect(
            throws: KillSwitchDesk.Refusal.denied(
                "Cedar denied kill for User::\"ops\": forbidden by no-global-kill-from-the-cli", policies: ["no-global-kill-from-the-cli"])
        ) {
            try await desk.engage(scope: .global, id: "", reason: "panic", by: .commandLine(by: "ops"))
        }
        #expect(try await store.killSwitches().isEmpty)
        let denied = try #require(try await store.auditTail(limit: 1).first?.content)
        #expect(denied.action == "kill.engage" && denied.outcome == "denied" && denied.detail.contains("no-global-kill-from-the-cli"))
        // The admin credential over HTTP is not the CLI: the same policy lets it through.
        try await desk.engage(scope: .global, id: "", reason: "panic", by: .adminCredential)
        #expect(try await store.killSwitches().map(\.scope) == [.global])
    }

    @Test(arguments: [
        (KillScope.global, "x", "a global kill switch takes no id"),
        (.project, "", "a project kill switch needs the project id"),
        (.key, "bad\u{7}id", "the key id must be at most 256 characters without control characters"),
    ])
    func malformedOrdersAreRefusedBeforeCedar(scope: KillScope, id: String, message: String) async throws {
        let desk = KillSwitchDesk(store: store, policies: Self.policies())
        await #expect(throws: KillSwitchDesk.Refusal.invalid(message)) {
            try await desk.engage(scope: scope, id: id, reason: "r", by: .adminCredential)
        }
        #expect(try await store.auditTail(limit: 1).isEmpty)
    }

    @Test func noIdentityOrNoPoliciesIsRefused() async throws {
        await #expect(throws: KillSwitchDesk.Refusal.self) {
            try await KillSwitchDesk(store: store, policies: Self.policies()).engage(scope: .global, id: "", reason: "r", by: .commandLine(by: nil))
        }
        await #expect(throws: KillSwitchDesk.Refusal.self) {
            try await KillSwitchDesk(store: store, policies: nil).engage(scope: .global, id: "", reason: "r", by: .adminCredential)
        }
        #expect(try await store.killSwitches().isEmpty)
    }
}
