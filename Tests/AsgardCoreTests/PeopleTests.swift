import AsgardCore
import AsgardTestSupport
import Testing

/// People, not strings: a `Person` is an email and a credential's digest; approvers and
/// requesters must be people, one per email and per credential, whatever the letter case.
@Suite struct PeopleTests {
    let ops = "kind: Person\nid: ops\nemail: \" Ops@Example.COM \"\ncredential: sha256:\(String(repeating: "a", count: 64))\nroles: [admin]\n"

    @Test func aPersonIsAnEmailACredentialDigestAndRoles() throws {
        let result = load(["people/ops.yaml": ops], people: false)
        #expect(result.isValid, "\(result.messages)")
        let person = try #require(result.state.people["ops"])
        #expect(person == Person(id: "ops", email: "ops@example.com", credential: String(repeating: "a", count: 64), roles: ["admin"]))
        #expect(result.state.person(email: "OPS@example.com") == person)
    }

    @Test(arguments: [
        ("email: ops\n", "is not an email address (name@domain, no spaces)"),
        ("email: a b@example.com\n", "is not an email address (name@domain, no spaces)"),
        ("email: ops@example\n", "is not an email address (name@domain, no spaces)"),
        ("credential: \(String(repeating: "a", count: 64))\n", "is not a credential digest of the form sha256:"),
        ("credential: sha256:\(String(repeating: "A", count: 64))\n", "is not a credential digest of the form sha256:"),
        ("roles: [Admin]\n", "roles[0]: \"Admin\" is not a Cedar role id"),
        ("name: Ops\n", "name"),
    ])
    func aMalformedPersonIsRefusedByField(replacement: String, message: String) {
        let field = replacement.split(separator: ":")[0]
        var lines = ops.split(separator: "\n").map(String.init).filter { !$0.hasPrefix(field + ":") }
        lines.append(String(replacement.dropLast()))
        let result = load(["people/ops.yaml": lines.joined(separator: "\n") + "\n"], people: false)
        #expect(!result.isValid && result.messages.contains { $0.contains(message) }, "\(result.messages)")
    }

    @Test func oneEmailAndOneCredentialPerPersonWhateverTheCase() {
        let twin = "kind: Person\nid: twin\nemail: OPS@example.com\ncredential: sha256:\(String(repeating: "b", count: 64))\n"
        let copycat = "kind: Person\nid: copycat\nemail: cat@example.com\ncredential: sha256:\(String(repeating: "a", count: 64))\n"
        let messages = load(["people/ops.yaml": ops, "people/twin.yaml": twin, "people/copycat.yaml": copycat], people: false).messages
        #expect(messages.contains { $0.contains("Person/twin email: ops@example.com is already Person/ops") }, "\(messages)")
        // Files load in name order: copycat.yaml came first, so ops.yaml holds the copy.
        #expect(messages.contains { $0.contains("Person/ops credential: already the digest of Person/copycat") }, "\(messages)")
    }

    @Test func aCredentialIsNeverAlsoAKey() {
        let files = [
            "services/acme/service.yaml": acmeService, "p.yaml": project("p"), "people/ops.yaml": ops,
            "k.yaml": "kind: Key\nid: k\nproject: p\ndigest: sha256:\(String(repeating: "a", count: 64))\nallowed_models: [acme/small]\nmax_data_class: internal\n",
        ]
        let messages = load(files, people: false).messages
        #expect(messages.contains { $0.contains("Person/ops credential: already the digest of Key/k") }, "\(messages)")
    }

    @Test func approversAndRequestersMustBePeople() {
        let files = [
            "services/acme/service.yaml": acmeService,
            "p.yaml": project("p", approvers: "[ops@example.com, Mallory@Example.com]"),
            "q.yaml": project("q").replacingOccurrences(of: "owner@example.com", with: "ghost@example.com"),
            "r.yaml": """
                kind: Resource
                id: named
                project: p
                service: acme-bucket
                requested_by: stranger@example.com
                ---
                kind: Resource
                id: owned
                project: q
                service: acme-warehouse
                ---
                kind: Resource
                id: owned-auto
                project: q
                service: acme-bucket
                ---
                kind: Resource
                id: by-ops
                project: q
                service: acme-warehouse
                requested_by: OPS@example.com
                """,
        ]
        let messages = load(files).messages
        #expect(
            messages.sorted() == [
                "test/p.yaml:7:30: error: Project/p approvers[1]: approver mallory@example.com is not a Person in desired state: add one (kind: Person, with a credential from `asgard keygen --person`)",
                "test/r.yaml:5:15: error: Resource/named requested_by: requester stranger@example.com is not a Person in desired state: add one (kind: Person, with a credential from `asgard keygen --person`)",
                "test/r.yaml:9:10: error: Resource/owned project: owner ghost@example.com is not a Person in desired state: add one (kind: Person, with a credential from `asgard keygen --person`); the owner of Project/q is the requester of this human-tier request, which names no requested_by",
            ], "\(messages)")
    }

    /// `validate --git` on the requester: `requested_by` when named; for a human-tier request
    /// without one, the project's owner, so leaving the field out names nobody else either.
    @Test func theOwnerIsTheRequesterACommitMustComeFrom() {
        let files = [
            "services/acme/service.yaml": acmeService, "p.yaml": project("p"),
            "r.yaml": "kind: Resource\nid: big\nproject: p\nservice: acme-warehouse\n",
            "s.yaml": "kind: Resource\nid: small\nproject: p\nservice: acme-bucket\n",
        ]
        let result = load(files)
        #expect(result.isValid, "\(result.messages)")
        let byOps = RequesterAuthorship.check(result) { _ in .committed("ops@example.com") }
        #expect(
            byOps.map(\.description) == [
                "test/r.yaml:1:1: error: Resource/big: the owner owner@example.com (the requester, as no requested_by is named) is not the author of the last commit that changed r.yaml (ops@example.com): a request names the person who committed it as requested_by"
            ], "\(byOps.map(\.description))")
        #expect(RequesterAuthorship.check(result) { _ in .committed("Owner@Example.com") }.isEmpty)
    }
}
