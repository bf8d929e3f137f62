import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@Suite struct LoaderTests {
    @Test func shippedDesiredStateIsValidAndComplete() throws {
        let result = DesiredStateLoader().load(directory: packageRoot + "/desired")
        #expect(result.diagnostics.isEmpty, "\(result.messages)")
        let state = result.state
        #expect(Set(state.services.keys) == ["databricks", "openai", "litellm"])
        let databricks = try #require(state.services["databricks"])
        let inference = try #require(databricks.inference)
        #expect(inference.baseURLEnv == "DATABRICKS_HOST" && inference.tokenEnv == "DATABRICKS_TOKEN")
        #expect(inference.chatPath == "/serving-endpoints/{model}/invocations")
        let llama = try #require(inference.models.first { $0.id == "databricks/llama-3-3-70b" })
        #expect(llama.upstream == "databricks-meta-llama-3-3-70b-instruct")
        #expect(llama.pricing == TokenPricing(inputPerMillion: MicroDollars(500_000), outputPerMillion: MicroDollars(1_500_000)))
        let tiers = Dictionary(uniqueKeysWithValues: databricks.provisionable.map { ($0.name, $0.tier) })
        #expect(
            tiers == [
                "databricks-sql-warehouse": .human, "databricks-job": .human, "databricks-model-serving": .human, "databricks-uc-volume": .auto,
            ])
        #expect(
            databricks.costSource
                == CostSource(
                    type: .databricksBilling,
                    env: ["host": "DATABRICKS_HOST", "token": "DATABRICKS_TOKEN", "warehouse_id": "DATABRICKS_WAREHOUSE_ID"],
                    reconcileTolerancePercent: 5))
        #expect(state.services["openai"]?.inference?.chatPath == nil && state.services["litellm"]?.inference?.chatPath == nil)
        #expect(Set(state.projects.values.map(\.classification)).count == 2)
        #expect(state.keys.count >= 2 && state.servingEndpoints.count == 1 && state.resources.count >= 1)
        // Guardrail settings decode, and encode as an object keyed by class name: the same
        // bytes in every process (a dictionary keyed by an enum would not be).
        let fraud = try #require(state.projects["fraud-detection"])
        #expect(fraud.guardrails == GuardrailSettings(defaultAction: .redact, byDataClass: [.confidential: .block, .restricted: .block]))
        #expect(
            DesiredObject.project(fraud).canonicalJSON.contains(#""guardrails":{"confidential":"block","default":"redact","restricted":"block"}"#))
    }

    @Test func reportsEveryErrorOfEveryFileInOneRun() {
        let result = load([
            "a.yaml": project("alpha", classification: "secret"),
            "b.yaml": project("beta", budget: "-1"),
            "c.yaml": "kind: Key\nid: k\n",
        ])
        #expect(
            result.messages == [
                "test/a.yaml:5:17: error: Project/alpha classification: \"secret\" is not one of public, internal, confidential, restricted",
                "test/b.yaml:6:21: error: Project/beta monthly_budget_usd: \"-1\" must not be negative: expected an amount of US dollars such as 12.50",
                "test/c.yaml:1:1: error: Key/k allowed_models: missing required field",
                "test/c.yaml:1:1: error: Key/k digest: missing required field",
                "test/c.yaml:1:1: error: Key/k max_data_class: missing required field",
                "test/c.yaml:1:1: error: Key/k project: missing required field",
            ])
    }

    @Test func checksReferencesFloorsAndApprovers() {
        let result = load([
            "services/acme/service.yaml": acmeService,
            "p.yaml": project("open", classification: "public", approvers: "[]"),
            "q.yaml": project("inner", classification: "internal", approvers: "[]"),
            "r.yaml": """
            kind: Resource
            id: r1
            project: open
            service: acme-warehouse
            ---
            kind: Resource
            id: r2
            project: inner
            service: acme-warehouse
            ---
            kind: Resource
            id: r3
            project: inner
            service: acme-bucket
            """,
        ])
        #expect(
            result.messages == [
                "test/r.yaml:4:10: error: Resource/r1 service: \"acme-warehouse\" is human-tier but Project/open lists no approvers, so it could never be approved",
                "test/r.yaml:4:10: error: Resource/r1 service: Project/open is classified public, below the internal floor of \"acme-warehouse\"",
                "test/r.yaml:9:10: error: Resource/r2 service: \"acme-warehouse\" is human-tier but Project/inner lists no approvers, so it could never be approved",
            ])
    }

    @Test func keysMustStayWithinTheirProjectAndKnownModels() {
        let key = { (models: String, max: String) in
            """
            kind: Key
            id: k
            project: p
            digest: sha256:\(String(repeating: "ab", count: 32))
            allowed_models: \(models)
            max_data_class: \(max)
            """
        }
        #expect(load(["services/acme/service.yaml": acmeService, "p.yaml": project("p"), "k.yaml": key("[acme/small, acme/*]", "internal")]).isValid)
        #expect(
            load(["services/acme/service.yaml": acmeService, "p.yaml": project("p"), "k.yaml": key("[acme/big, globex/*]", "restricted")]).messages
                == [
                    "test/k.yaml:5:18: error: Key/k allowed_models[0]: unknown model \"acme/big\" (no Service or ServingEndpoint routes it)",
                    "test/k.yaml:5:28: error: Key/k allowed_models[1]: no Service \"globex\" with inference to allow models of",
                    "test/k.yaml:6:17: error: Key/k max_data_class: restricted is above the classification of Project/p (internal)",
                ])
    }

    @Test func optionalKeyFieldsAreCheckedWhenPresent() {
        let key = { (extra: String) in
            """
            kind: Key
            id: k
            project: p
            digest: sha256:\(String(repeating: "cd", count: 32))
            allowed_models: [acme/small]
            max_data_class: internal
            \(extra)
            """
        }
        let base = ["services/acme/service.yaml": acmeService, "p.yaml": project("p")]
        let valid = load(base.merging(["k.yaml": key("expires: 2027-06-30T12:00:00+02:00\nrequests_per_minute: 5")]) { $1 })
        #expect(valid.isValid)
        #expect(valid.state.keys["k"]?.expires == Date(timeIntervalSince1970: 1_814_349_600))
        #expect(valid.state.keys["k"]?.requestsPerMinute == 5)
        #expect(valid.state.keys["k"]?.defaultDataClass == .internal)
        let invalid = load(base.merging(["k.yaml": key("expires: 2027-02-30\nrequests_per_minute: -1\ndefault_data_class: restricted")]) { $1 })
        #expect(
            invalid.messages == [
                "test/k.yaml:7:10: error: Key/k expires: \"2027-02-30\" is not a date (YYYY-MM-DD) or an RFC 3339 time",
                "test/k.yaml:8:22: error: Key/k requests_per_minute: expected a whole number from 1 to 1000000, found \"-1\"",
            ])
        let above = load(base.merging(["k.yaml": key("default_data_class: confidential")]) { $1 })
        #expect(above.messages == ["test/k.yaml:7:21: error: Key/k default_data_class: confidential is above max_data_class internal"])
    }

    /// A vendor's credential may go in another header than `Authorization`, with another scheme
    /// or none; headers Asgard sets itself, and malformed names, are refused by position.
    @Test func theCredentialHeaderAndSchemeAreChecked() throws {
        func manifest(_ auth: String) -> [String: String] {
            [
                "services/acme/service.yaml": acmeService.replacingOccurrences(
                    of: "  token_env: ACME_TOKEN\n", with: "  token_env: ACME_TOKEN\n\(auth)")
            ]
        }
        let azure = load(manifest("  auth_header: api-key\n"))
        #expect(azure.isValid, "\(azure.messages)")
        let inference = try #require(azure.state.services["acme"]?.inference)
        #expect(inference.authHeader == "api-key" && inference.authScheme == nil)
        let token = load(manifest("  auth_scheme: Token\n"))
        #expect(token.state.services["acme"]?.inference?.authScheme == "Token")
        #expect(
            load(manifest("  auth_header: Content-Type\n")).messages == [
                "test/services/acme/service.yaml:7:16: error: Service/acme inference.auth_header: \"Content-Type\" is not a header name (letters, digits and -) other than one Asgard sets itself (Content-Type, Accept, Host, Content-Length)"
            ])
        #expect(load(manifest("  auth_scheme: Bearer token\n")).messages.count == 1)
        // Left out, the spec encodes as before: stored digests do not change.
        #expect(!DesiredObject.service(try #require(load(manifest("")).state.services["acme"])).canonicalJSON.contains("auth"))
    }

    @Test func aServiceLivesAtItsOwnPath() {
        #expect(
            load(["vendors/acme.yaml": acmeService]).messages == [
                "test/vendors/acme.yaml:2:5: error: Service/acme id: a Service manifest must live at services/acme/service.yaml under the desired-state directory"
            ])
    }

    @Test func secretLookingValuesAreNamedButNeverPrinted() throws {
        let secrets = [
            "dapi0123456789abcdef0123456789abcdef", "sk-EXAMPLEexampleEXAMPLEexample0000", "AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN EC PRIVATE KEY-----",
        ]
        for secret in secrets {
            let text = acmeService.replacingOccurrences(of: "ACME_TOKEN", with: secret.contains("\n") ? "|\n    \(secret)" : secret)
            let result = load(["services/acme/service.yaml": text, "\(secret.prefix(4)).yaml": "kind: Project\nid: \(secret)\n\(secret): 1\n"])
            #expect(!result.isValid)
            let everything = result.messages.joined(separator: "\n") + String(describing: result.diagnostics)
            #expect(!everything.contains(secret), "\(secret.prefix(4))… leaked")
            #expect(result.messages.contains { $0.contains("inference.token_env: looks like") })
        }
    }

    @Test func refusesOversizedBinaryAndNonUTF8Files() {
        var limits = LoadLimits()
        limits.maxFileBytes = 64
        let result = DesiredStateLoader(limits: limits).load([
            SourceFile(name: "big.yaml", relative: "big.yaml", bytes: Array(repeating: 0x61, count: 65)),
            SourceFile(name: "nul.yaml", relative: "nul.yaml", bytes: Array("kind: x\n\0".utf8)),
            SourceFile(name: "latin1.yaml", relative: "latin1.yaml", bytes: [0x61, 0x3a, 0x20, 0xe9, 0x0a]),
        ])
        #expect(
            result.messages == [
                "big.yaml:1:1: error: file is larger than 64 bytes: refused",
                "latin1.yaml:1:4: error: not valid UTF-8 (byte 3): desired state is UTF-8 YAML",
                "nul.yaml:2:1: error: binary file (contains a NUL byte): desired state is UTF-8 YAML",
            ])
    }

    @Test func loadsAFileOfExactlyTheSizeLimitAndRefusesOneByteMore() throws {
        // A valid Resource whose parameter is a flow list of 80,000 items, padded with a comment
        // to exactly 1 MiB: it loads whole. One byte more and the file is refused.
        let limit = LoadLimits().maxFileBytes
        var text = "kind: Resource\nid: big\nproject: inner\nservice: acme-bucket\nparameters:\n  names: ["
        text += (0..<80_000).map(LargeYAML.item).joined(separator: ", ") + "]\n"
        text += "#" + String(repeating: "-", count: limit - text.utf8.count - 2) + "\n"
        #expect(text.utf8.count == limit)
        let files = ["services/acme/service.yaml": acmeService, "p.yaml": project("inner")]

        let result = load(files.merging(["r.yaml": text]) { $1 })
        #expect(result.diagnostics.isEmpty, "\(result.messages)")
        let names = try #require(result.state.resources["big"]?.parameters["names"])
        #expect(names == .list((0..<80_000).map { .string(LargeYAML.item($0)) }))

        let tooBig = load(files.merging(["r.yaml": text + "\n"]) { $1 })
        #expect(tooBig.messages == ["test/r.yaml:1:1: error: file is larger than \(limit) bytes: refused"])
    }

    @Test func boundsTheNumberOfObjects() {
        var limits = LoadLimits()
        limits.maxObjects = 3
        let text = (0..<5).map { project("p\($0)") }.joined(separator: "\n---\n")
        let result = load(["p.yaml": text], limits: limits)
        #expect(result.messages.contains { $0.contains("more than 3 objects") })
    }

    @Test func followsLinksInsideButNotOutside() throws {
        let root = try temporaryDirectory()
        let outside = try temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: outside)
        }
        try write(["projects/p.yaml": project("p"), "notes.md": "ignored", ".hidden/x.yaml": "not: read"].merging(testPeople) { a, _ in a }, under: root)
        try write(["secret.yaml": project("stolen")], under: outside)
        let manager = FileManager.default
        try manager.createSymbolicLink(atPath: root + "/inside.yaml", withDestinationPath: root + "/projects/p.yaml")
        try manager.createSymbolicLink(atPath: root + "/escape.yaml", withDestinationPath: outside + "/secret.yaml")
        try manager.createSymbolicLink(atPath: root + "/escape-dir", withDestinationPath: outside)
        try manager.createSymbolicLink(atPath: root + "/loop.yaml", withDestinationPath: root + "/loop.yaml")
        let result = DesiredStateLoader().load(directory: root)
        #expect(
            result.messages
                == [
                    "\(root)/escape-dir:1:1: error: symbolic link leads outside the desired-state directory: refused",
                    "\(root)/escape.yaml:1:1: error: symbolic link leads outside the desired-state directory: refused",
                    // inside.yaml sorts first, so the file it links to is the duplicate.
                    "\(root)/projects/p.yaml:2:5: error: Project/p id: duplicate id: Project/p is already declared at \(root)/inside.yaml:1:1",
                    "\(root)/loop.yaml:1:1: error: symbolic link to nothing (or a link loop)",
                ].sorted())
        #expect(result.state.projects["stolen"] == nil)
    }

    @Test func aMissingDirectoryIsAClearError() {
        #expect(DesiredStateLoader().load(directory: "/nonexistent/desired").messages == ["/nonexistent/desired:1:1: error: no such directory"])
    }
}
