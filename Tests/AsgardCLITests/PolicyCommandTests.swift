import AsgardTestSupport
import Foundation
import Testing

@Suite struct PolicyCommandTests {
    @Test func checkListsTheShippedPolicies() async throws {
        let result = try await asgardDetached(["policy", "check"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("policies: 19 policies parse: "))
        #expect(result.stdout.contains("key-invokes-allowed-model") && result.stdout.contains("requester-never-approves"))
        #expect(result.stdout.contains("endpoint-serves-its-projects"))
    }

    @Test func checkAsJSONUsesBooleansAndNumbers() async throws {
        let result = try await asgardDetached(["policy", "check", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        #expect(result.status == 0 && json["valid"] as? Bool == true && json["policies"] as? Int == 19)
        #expect((json["ids"] as? [String])?.contains("keys-read-own-project-cost") == true && (json["errors"] as? [String])?.isEmpty == true)
    }

    @Test func checkReportsFileLineColumn() async throws {
        let root = try makeTemporaryDirectory("policy-check")
        try "@id(\"a\")\npermit (principal, action, resource)\nwhen { principal.x == };\n"
            .write(toFile: root + "/bad.cedar", atomically: true, encoding: .utf8)
        let result = try await asgardDetached(["policy", "check", root])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("\(root)/bad.cedar:3:23: error: "), "\(result.stderr)")
    }

    @Test func testRunsEveryShippedCase() async throws {
        let result = try await asgardDetached(["policy", "test"])
        #expect(result.status == 0)
        #expect(result.stdout.hasSuffix(" passed, 0 failed\n"))
    }

    @Test func aFailingExpectationFailsTheRun() async throws {
        let root = try makeTemporaryDirectory("policy-test")
        try FileManager.default.createDirectory(atPath: root + "/tests", withIntermediateDirectories: true)
        try "@id(\"deny-all\")\nforbid (principal, action, resource);\n".write(toFile: root + "/p.cedar", atomically: true, encoding: .utf8)
        try """
        entities: []
        cases:
          - name: hoped for an allow
            principal: User::"a"
            action: Action::"view"
            resource: Doc::"d"
            decision: allow
        """.write(toFile: root + "/tests/t.yaml", atomically: true, encoding: .utf8)
        let result = try await asgardDetached(["policy", "test", root])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAIL \(root)/tests/t.yaml:3: hoped for an allow"))
        #expect(result.stdout.contains("expected allow, got deny") && result.stdout.hasSuffix("0 passed, 1 failed\n"))
    }

    @Test func authorizePrintsDecisionReasonsAndErrorsAsJSON() async throws {
        let root = try makeTemporaryDirectory("policy-authorize")
        try """
        permit (principal in Group::"staff", action == Action::"view", resource);
        forbid (principal, action, resource) when { resource.secret };
        """.write(toFile: root + "/p.cedar", atomically: true, encoding: .utf8)
        try """
        [{"uid": {"type": "User", "id": "alice"}, "parents": [{"type": "Group", "id": "staff"}], "attrs": {}},
         {"uid": {"type": "Group", "id": "staff"}, "parents": [], "attrs": {}}]
        """.write(toFile: root + "/e.json", atomically: true, encoding: .utf8)
        let result = try await asgardDetached([
            "policy", "authorize", "--policies", root + "/p.cedar", "--entities", root + "/e.json",
            "--principal", "User::\"alice\"", "--action", "Action::\"view\"", "--resource", "Doc::\"d\"",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["decision"] as? String == "allow")
        #expect(json["reasons"] as? [String] == ["policy0"])
        // Doc::"d" is not in the store: the forbid errs, is skipped and is reported.
        #expect(json["errors"] as? [String] == ["policy1"])
        let bad = try await asgardDetached([
            "policy", "authorize", "--policies", root + "/p.cedar", "--entities", root + "/e.json",
            "--principal", "alice", "--action", "Action::\"view\"", "--resource", "Doc::\"d\"",
        ])
        #expect(bad.status == 1 && bad.stderr.contains("1:"))
    }
}
