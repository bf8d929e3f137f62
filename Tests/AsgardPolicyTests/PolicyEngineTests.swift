import AsgardCore
import AsgardPolicy
import AsgardTestSupport
import Cedar
import Foundation
import Testing

@Suite struct PolicyEngineTests {
    static let request = Request(
        principal: EntityUID(type: "User", id: "a"), action: EntityUID(type: "Action", id: "invoke"),
        resource: EntityUID(type: "Model", id: "m"))

    static func bundle(_ text: String) throws -> PolicyBundle {
        let (bundle, problems) = PolicyBundle.load(files: [(name: "t.cedar", text: text)])
        try #require(problems.isEmpty, "\(problems)")
        return bundle
    }

    /// Cedar skips an erring forbid and allows; Asgard denies, naming the forbid.
    @Test func anErringForbidFailsClosed() throws {
        let engine = PolicyEngine(
            enforced: try Self.bundle(
                """
                @id("allow-all") permit (principal, action, resource);
                @id("broken-forbid") forbid (principal, action, resource) when { principal.missing };
                """))
        let decision = engine.decide(Self.request, entities: Entities(closingParentsOf: []))
        #expect(decision.response.decision == .allow)
        #expect(decision.response.errors == ["broken-forbid"])
        #expect(!decision.allowed && decision.failedClosedOn == ["broken-forbid"])
    }

    @Test func anErringPermitDoesNotFailClosed() throws {
        let engine = PolicyEngine(
            enforced: try Self.bundle(
                """
                @id("allow-all") permit (principal, action, resource);
                @id("broken-permit") permit (principal, action, resource) when { principal.missing };
                """))
        let decision = engine.decide(Self.request, entities: Entities(closingParentsOf: []))
        #expect(decision.allowed && decision.failedClosedOn.isEmpty && decision.response.errors == ["broken-permit"])
    }

    @Test func aShadowSetDecidesAlongsideButNeverEnforces() throws {
        let engine = PolicyEngine(
            enforced: try Self.bundle("@id(\"allow-all\") permit (principal, action, resource);"),
            shadow: try Self.bundle("@id(\"stricter\") forbid (principal, action, resource);"))
        let decision = engine.decide(Self.request, entities: Entities(closingParentsOf: []))
        #expect(decision.allowed)
        #expect(decision.shadow?.decision == .deny && decision.shadow?.reasons == ["stricter"])
        #expect(decision.shadowDisagrees)
        let agreeing = PolicyEngine(
            enforced: try Self.bundle("@id(\"a\") permit (principal, action, resource);"),
            shadow: try Self.bundle("@id(\"a\") permit (principal, action, resource);"))
        #expect(!agreeing.decide(Self.request, entities: Entities(closingParentsOf: [])).shadowDisagrees)
    }
}

@Suite struct ShippedPolicyTests {
    /// policies/tests/*.yaml against policies/*.cedar: the same run as `asgard policy test`.
    @Test func everyShippedPolicyTestPasses() throws {
        let (bundle, policyProblems) = PolicyBundle.load(directory: packageRoot + "/policies")
        let (suite, testProblems) = PolicyTestSuite.load(directory: packageRoot + "/policies/tests")
        #expect(policyProblems.isEmpty && testProblems.isEmpty, "\(policyProblems + testProblems)")
        #expect(suite.cases.count >= 20)
        for result in suite.run(against: bundle) {
            #expect(result.passed, "\(result.testCase.file):\(result.testCase.line) \(result.testCase.name): \(result.failures)")
        }
    }
}
