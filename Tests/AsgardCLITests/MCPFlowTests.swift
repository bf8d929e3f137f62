import AsgardCore
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import FakeDatabricks
import Foundation
import Testing

/// The MCP control plane end to end, as an agent and people use it: the official Python `mcp`
/// client (`scripts/mcp_flow.py`) against `asgard serve`, with the real terraform 1.0.3 on the
/// null_resource doubles and the fake Databricks. Then the requests as an operator sees them:
/// listed, shown by a dry run with their origin, exported as YAML, committed, and owned by Git.
@Suite(.serialized) struct MCPFlowTests {
    static let agent = "asg_mcp_flow_agent_key_0001"
    static let expired = "asg_mcp_flow_expired_key_01"

    @Test func anAgentRegistersProvisionsAndUsesThroughGovernedToolCalls() async throws {
        let root = try makeTemporaryDirectory("mcp-flow")
        let desired = try copyShippedDesired(into: root)
        try ProvisioningFlowTests.nullManifest.write(toFile: desired + "/services/databricks/service.yaml", atomically: true, encoding: .utf8)
        try """
        kind: Key
        id: mcp-agent
        project: fraud-detection
        digest: sha256:\(SHA256.hex(Self.agent))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: confidential
        requests_per_minute: 100000
        ---
        kind: Key
        id: mcp-expired
        project: fraud-detection
        digest: sha256:\(SHA256.hex(Self.expired))
        allowed_models: [databricks/llama-3-3-70b]
        max_data_class: internal
        expires: 2020-01-01
        """.write(toFile: desired + "/keys/mcp.yaml", atomically: true, encoding: .utf8)
        try await ServeProcess.withTerraformDoubles(root: root) { server, client in
            try await flow(root: root, desired: desired, server: server, client: client)
        }
    }

    private func flow(root: String, desired: String, server: ServeProcess, client: HTTPClient) async throws {
        try await server.waitUntilHealthy(client)
        let base = try await server.base()

        let flow = try await runProcess(
            packageRoot + "/.venv/bin/python",
            [
                packageRoot + "/scripts/mcp_flow.py", base, Self.agent, Self.expired, personSecret("lars.berg@example.com"),
                personSecret("priya.natarajan@example.com"),
            ])
        let log = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: server.output))) ?? Data(), as: UTF8.self)
        try #require(flow.status == 0, "\(flow.output)\n--- asgard serve:\n\(log.suffix(4000))")
        let summary = try JSONValue.parse(String(flow.output.split(separator: "\n").last ?? ""))
        #expect(summary["tools"]?.arrayValue?.count == 15)
        #expect((summary["invalid_params"]?.intValue ?? 0) >= 60, "\(summary)")

        // The store holds what the client saw: the requests with their origin and requester,
        // the chat's ledger row, and the audit of every tool decision; the chain verifies.
        let store = try SQLiteStore(path: root + "/data/asgard.sqlite", auditKey: testAuditKey)
        let requests = try await store.objectRequests(status: nil)
        let byObject = Dictionary(uniqueKeysWithValues: requests.map { ($0.ref.description, $0) })
        #expect(byObject["Resource/agent-volume"]?.requester == .key("mcp-agent") && byObject["Resource/agent-volume"]?.origin == .mcp)
        #expect(byObject["Resource/lars-warehouse"]?.status == .cancelled)
        #expect(byObject["Project/agent-labs"]?.status == .open)
        let chatID = try #require(summary["chat"]?["request_id"]?.stringValue)
        let ledger = try await store.ledger(project: "fraud-detection", from: Date().addingTimeInterval(-3600), to: Date().addingTimeInterval(60))
        #expect(ledger.contains { $0.requestID == chatID && $0.keyID == "mcp-agent" })
        let audit = try await store.auditTail(limit: 5000).map(\.content)
        let whoami = audit.filter { $0.action == "mcp.whoami" && $0.outcome == "allowed" }
        #expect(whoami.contains { $0.detail.contains(#""policies":"keys-use-agent-tools""#) }, "\(whoami)")
        let denied = audit.filter { $0.action == "mcp.get_budget" && $0.outcome == "denied" }
        #expect(denied.contains { $0.actor == "Key/mcp-agent" }, "\(denied)")
        let submitted = audit.filter { $0.action == "request.submit" && $0.target == "Resource/agent-volume" }
        #expect(submitted.contains { $0.actor == "Key/mcp-agent" }, "\(submitted)")
        let environment = ["ASGARD_DATA_DIR": root + "/data"].merging(testAuditEnvironment) { a, _ in a }
        #expect(try await asgardDetached(["audit", "verify"], in: root, environment: environment).status == 0)

        // An operator sees the requests: listed, and in a dry run with their origin.
        let listed = try await asgardDetached(["requests", "list"], in: root, environment: environment)
        #expect(listed.status == 0 && listed.stdout.contains("Resource/agent-volume  open  via mcp by Key/mcp-agent"), "\(listed.stdout)")
        let dry = try await asgardDetached(["reconcile", "--dry-run", "desired"], in: root, environment: environment)
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        #expect(!dry.stdout.contains("delete   Resource/agent-volume"), "a dry run without the requests would delete the volume: \(dry.stdout)")
        #expect(dry.stdout.contains("origin: requested via mcp by Key/mcp-agent"), "\(dry.stdout)")
        #expect(dry.stdout.contains("  Resource/agent-volume  via mcp by Key/mcp-agent  (request "), "\(dry.stdout)")
        #expect(dry.stdout.contains("  Project/agent-labs  via mcp by Key/mcp-agent  (request "), "\(dry.stdout)")
        #expect(!dry.stdout.contains("Resource/lars-warehouse  via"), "a cancelled request is not in force: \(dry.stdout)")

        // Exported and committed, Git owns them: the next pass marks the requests committed.
        let exported = try await asgardDetached(["requests", "export", "--into", "desired"], in: root, environment: environment)
        #expect(exported.status == 0 && exported.stdout.contains("wrote desired/resources/agent-volume.yaml"), "\(exported.stdout)\(exported.stderr)")
        let volumeFile = try String(contentsOfFile: desired + "/resources/agent-volume.yaml", encoding: .utf8)
        #expect(volumeFile.hasPrefix("# Requested via mcp by Key/mcp-agent"), "\(volumeFile)")
        #expect(try await asgardDetached(["validate", "desired"], in: root, environment: environment).status == 0)
        var committed = false
        for _ in 0..<100 where !committed {
            try await Task.sleep(for: .milliseconds(200))
            committed = try await store.objectRequests(status: .committed).contains { $0.ref == ObjectRef(.resource, "agent-volume") }
        }
        #expect(committed, "the request was not marked committed once desired/ declared the volume")
        let after = try await store.observedState().objects[ObjectRef(.resource, "agent-volume")]
        #expect(after?.status == .applied, "Git taking the volume over changes nothing at the vendor: \(String(describing: after))")

        let printed = flow.output + String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: server.output))) ?? Data(), as: UTF8.self)
        #expect(!printed.contains(ServeProcess.sentinel))
    }
}
