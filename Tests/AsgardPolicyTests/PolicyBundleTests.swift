import AsgardCore
import AsgardPolicy
import AsgardTestSupport
import Cedar
import Foundation
import Testing

@Suite struct PolicyBundleTests {
    @Test func namesPoliciesByTheirIdAnnotation() throws {
        let (bundle, problems) = PolicyBundle.load(files: [
            (
                name: "a.cedar",
                text: """
                @id("first")
                permit (principal, action, resource);
                @id("second") @reason("demo")
                forbid (principal, action, resource) when { false };
                """
            )
        ])
        #expect(problems.isEmpty)
        #expect(bundle.policies.map(\.id) == ["first", "second"])
        #expect(bundle.isForbid("second") && !bundle.isForbid("first"))
    }

    @Test func reportsFileLineColumnForEveryProblem() {
        let (_, problems) = PolicyBundle.load(files: [
            (name: "a.cedar", text: "@id(\"x\")\npermit (principal, action, resource);\npermit (principal, action, resource);\n"),
            (name: "b.cedar", text: "@id(\"x\")\npermit (principal, action, resource);\n"),
            (name: "c.cedar", text: "@id(\"y\")\npermit (principal, action, resource) when { 1 + };\n"),
            (name: "d.cedar", text: nil),
        ])
        let messages = problems.map(\.description)
        #expect(messages.count == 4)
        #expect(messages[0].hasPrefix("a.cedar:3:1: error: every Asgard policy needs an @id"))
        #expect(messages[1] == "b.cedar:1:1: error: duplicate policy id \"x\" (also at a.cedar:1:1)")
        #expect(messages[2].hasPrefix("c.cedar:2:"))
        #expect(messages[3] == "d.cedar:1:1: error: cannot read the file as UTF-8")
    }

    @Test func shippedPoliciesParse() {
        let (bundle, problems) = PolicyBundle.load(directory: packageRoot + "/policies")
        #expect(problems.isEmpty, "\(problems)")
        #expect(bundle.policies.count == 19)
    }
}
