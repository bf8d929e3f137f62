import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The enforced policy set, as the controller records it for commands that decide alone: one
/// row, replaced only when the files change, each change audited, an edited row refused.
@Suite struct EnforcedPoliciesTests {
    let first = PolicySource(files: [.init(name: "a.cedar", text: "@id(\"a\")\npermit (principal, action, resource);\n")])
    let second = PolicySource(files: [.init(name: "a.cedar", text: "@id(\"a\")\nforbid (principal, action, resource);\n")])

    @Test func recordedOncePerChangeAndAudited() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            #expect(try await store.enforcedPolicies() == nil)
            #expect(try await store.recordEnforcedPolicies(first, audit: .policiesEnforced(first, by: "controller")))
            #expect(try await store.recordEnforcedPolicies(first, audit: .policiesEnforced(first, by: "controller")) == false)
            #expect(try await store.enforcedPolicies() == first)
            #expect(try await store.recordEnforcedPolicies(second, audit: .policiesEnforced(second, by: "reconcile")))
            #expect(try await store.enforcedPolicies() == second)
            let audited = try await store.auditTail(limit: 10).filter { $0.content.action == "policy.enforce" }
            #expect(audited.count == 2)
            #expect(audited[0].content.detail.contains(first.digest) && audited[1].content.detail.contains(second.digest))
            #expect(first.digest != second.digest)
        }
    }

    /// Someone who edits the row's files behind the controller's back (say, to a permit-all
    /// set) makes it unreadable rather than enforced.
    @Test func anEditedRowIsRefused() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            try await store.recordEnforcedPolicies(second, audit: .policiesEnforced(second, by: "controller"))
            let permissive = String(decoding: try JSONEncoder().encode(first.files), as: UTF8.self)
            _ = try sqlite3(scratch.path, "UPDATE enforced_policies SET files_json = '\(permissive)'")
            await #expect(throws: (any Error).self) { try await store.enforcedPolicies() }
        }
    }
}
