import AsgardController
import AsgardCore
import AsgardGateway
import AsgardPolicy
import AsgardServer
import AsgardStore
import AsgardTestSupport
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// A vendor the test scripts: it records what it receives and answers whatever it is told to,
/// on loopback. It takes only `api-key: <token>`, as Azure OpenAI does.
final class StandInVendor: Sendable {
    static let token = "stand-in-vendor-token-0001"

    struct Received: Sendable {
        var headers: [String: String]
        var body: String
    }

    private struct Answer {
        var status: Int
        var body: String
        var contentType = "application/json"
        /// How long the vendor waits before its response head.
        var delay: Duration = .zero
    }

    private let answer = Mutex(
        Answer(
            status: 200,
            body:
                #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#
        ))
    private let received = Mutex<[Received]>([])
    private let address = Mutex("")
    /// Its base URL, once it runs.
    var url: String { address.withLock { $0 } }

    func answer(status: Int, body: String, contentType: String = "application/json", delay: Duration = .zero) {
        answer.withLock { $0 = Answer(status: status, body: body, contentType: contentType, delay: delay) }
    }

    /// Answers a stream: each of `events` as a `data:` frame, then `[DONE]`.
    func stream(_ events: [String], delay: Duration = .zero) {
        answer(
            status: 200, body: events.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n", contentType: "text/event-stream", delay: delay)
    }
    var requests: [Received] { received.withLock { $0 } }

    /// Starts it on a free port; `run` stops it.
    static func run(_ body: (StandInVendor) async throws -> Void) async throws {
        let vendor = StandInVendor()
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            vendor.received.withLock { $0.append(Received(headers: headers, body: String(buffer: bytes))) }
            guard headers["api-key"] == Self.token else {
                return Response(
                    status: .unauthorized, headers: [.contentType: "application/json"],
                    body: .init(
                        byteBuffer: ByteBuffer(string: #"{"error":{"code":"401","message":"Access denied due to invalid subscription key."}}"#)))
            }
            let answer = vendor.answer.withLock { $0 }
            if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
            return Response(
                status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        var logger = Logger(label: "stand-in-vendor")
        logger.logLevel = .warning
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            vendor.address.withLock { $0 = "http://127.0.0.1:\(port)" }
            do { try await body(vendor) } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}

/// The pipeline against a vendor the test scripts: a vendor served by data alone with a
/// non-Bearer credential header, one audit entry per refusal, what a non-JSON 2xx costs, an
/// unconfigured vendor.
@Suite(.serialized) struct PipelineTests {
    static let secret = "asg_pipeline_key_0001"

    /// A gateway over a real store and call log, with one vendor `azure` declared by manifest
    /// (`auth_header: api-key`) pointed at the stand-in, and one key for it.
    struct World {
        let root: String
        let store: SQLiteStore
        let calls: CallLog
        let budgets = BudgetLedger()
        let gateway: Gateway
        let snapshot: GatewaySnapshot

        init(
            vendor: StandInVendor, environment: [String: String]? = nil, guardrails: String = "", budget: MicroDollars = MicroDollars(100_000_000),
            timeoutSeconds: Int = 60
        ) async throws {
            root = try makeTemporaryDirectory("pipeline")
            let desired = root + "/desired"
            try FileManager.default.createDirectory(atPath: desired + "/services/azure", withIntermediateDirectories: true)
            try """
            kind: Service
            id: azure
            inference:
              kind: openai-compatible
              base_url_env: AZURE_OPENAI_URL
              token_env: AZURE_OPENAI_KEY
              auth_header: api-key
              timeout_seconds: \(timeoutSeconds)
              models:
                - id: azure/gpt-4o
                  upstream: gpt-4o
                  price_per_1m_input_usd: 2.50
                  price_per_1m_output_usd: 10
                  max_data_class: confidential
            """.write(toFile: desired + "/services/azure/service.yaml", atomically: true, encoding: .utf8)
            try """
            kind: Project
            id: assistants
            name: Assistants
            owner: ana@example.com
            classification: confidential
            monthly_budget_usd: 100
            \(guardrails)
            ---
            kind: Key
            id: assistant
            project: assistants
            digest: sha256:\(SHA256.hex(PipelineTests.secret))
            allowed_models: [azure/*]
            max_data_class: confidential
            """.write(toFile: desired + "/project.yaml", atomically: true, encoding: .utf8)
            store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
            calls = try CallLog.open(store: store, directory: root + "/journal")
            let loaded = DesiredStateLoader().load(directory: desired)
            try #require(loaded.isValid, "\(loaded.diagnostics)")
            let report = try await Reconciler(store: store, provisioner: UnavailableProvisioner()).apply(loaded.state)
            #expect(report.outcomes.allSatisfy { $0.result == .applied })
            let (bundle, _) = PolicyBundle.load(directory: packageRoot + "/policies")
            snapshot = GatewaySnapshot(
                try await store.gatewayConfiguration(), policies: bundle,
                environment: environment ?? ["AZURE_OPENAI_URL": vendor.url, "AZURE_OPENAI_KEY": StandInVendor.token])
            budgets.setBudget(project: "assistants", monthly: budget)
            let snapshot = self.snapshot
            gateway = Gateway(
                snapshot: { snapshot }, transport: HTTPUpstream(client: .shared), recorder: calls.recorder, budgets: budgets,
                rateLimiter: RateLimiter(), killSwitches: KillSwitchBoard())
        }

        func chat(_ content: String = "hello") async -> GatewayResponse {
            await send(#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"\#(content)"}]}"#)
        }

        /// A whole body, sent as the key holder would.
        func send(_ body: String) async -> GatewayResponse {
            await gateway.plain(authorization: "Bearer \(PipelineTests.secret)", dataClassHeader: "internal", body: Array(body.utf8))
        }

        /// The audit entries and ledger rows the store holds once the call log caught up.
        func recorded() async throws -> (audit: [AuditRecord], ledger: [LedgerEntry]) {
            await calls.ingester.caughtUp()
            return (
                try await store.auditTail(limit: 100).filter { $0.content.action == "gateway.invoke" },
                try await store.ledger(project: "assistants", from: .distantPast, to: .distantFuture)
            )
        }

        func close() async { await calls.close() }
    }

    static func text(_ response: GatewayResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// A second openai-compatible vendor whose credential goes in `api-key:` (as Azure OpenAI's
    /// does), declared by its manifest alone: the gateway sends the header the manifest names,
    /// never a Bearer token, and meters the call.
    @Test func aVendorWithAnotherCredentialHeaderIsServedByDataAlone() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            let response = await world.chat()
            #expect(response.status == 200, "\(Self.text(response))")
            let sent = try #require(vendor.requests.last)
            #expect(sent.headers["api-key"] == StandInVendor.token && sent.headers["authorization"] == nil)
            #expect(sent.body.contains(#""model":"gpt-4o""#))
            let (audit, ledger) = try await world.recorded()
            #expect(audit.count == 1 && audit[0].content.outcome == "allowed")
            #expect(ledger.map(\.status) == ["ok"] && ledger[0].promptTokens == 5 && !ledger[0].estimated)
            await world.close()
        }
    }

    /// An answer the output guardrail blocks, not streamed: the caller gets 400 and never the
    /// secret; the vendor's work is charged; one ledger row and exactly one audit entry.
    @Test func aBlockedAnswerIsAuditedOnce() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: block}")
            let leaked = "sk-proj-" + String(repeating: "A1b2C3d4", count: 6)
            vendor.answer(
                status: 200,
                body:
                    #"{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"the key is \#(leaked)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}"#
            )
            let response = await world.chat()
            #expect(response.status == 400 && Self.text(response).contains(#""code":"guardrail_blocked""#), "\(Self.text(response))")
            #expect(!Self.text(response).contains(leaked))
            let (audit, ledger) = try await world.recorded()
            #expect(audit.count == 1, "\(audit.map(\.content))")
            #expect(audit.first?.content.outcome == "denied" && audit.first?.content.detail.contains(#""reason":"guardrail_blocked""#) == true)
            #expect(ledger.map(\.status) == ["guardrail_blocked"] && ledger[0].completionTokens == 9)
            #expect(world.budgets.snapshot(project: "assistants")?.spent == ledger[0].cost && ledger[0].cost > .zero)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// An answer with nothing found is forwarded as the vendor's bytes (its spacing, key order and
    /// escapes kept); one with a finding is re-encoded with the finding redacted, and one that
    /// opens with a byte-order mark is re-encoded without it.
    @Test func theVendorsBytesAreForwardedOnlyWhenNothingWasFound() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: redact}")
            let clean =
                "{ \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 2, \"total_tokens\": 7},\n  \"id\": \"c3\", \"object\": \"chat.completion\",\n"
                + #"  "choices": [{"index": 0, "message": {"role": "assistant", "content": "caf\u00e9 \"ok\""}, "finish_reason": "stop"}] }"#
            vendor.answer(status: 200, body: clean)
            let forwarded = await world.chat()
            #expect(forwarded.status == 200 && Self.text(forwarded) == clean, "\(Self.text(forwarded))")

            let leaked = "sk-proj-" + String(repeating: "A1b2C3d4", count: 6)
            vendor.answer(status: 200, body: clean.replacingOccurrences(of: "caf\\u00e9", with: leaked))
            let redacted = await world.chat()
            #expect(redacted.status == 200 && !Self.text(redacted).contains(leaked), "\(Self.text(redacted))")
            #expect(Self.text(redacted).contains("[REDACTED:"))

            vendor.answer(status: 200, body: "\u{FEFF}" + clean)
            let marked = await world.chat()
            #expect(marked.status == 200 && !marked.body.starts(with: [0xEF, 0xBB, 0xBF]))
            let parsed = try JSONSerialization.jsonObject(with: Data(marked.body)) as? [String: Any]
            #expect(parsed?["id"] as? String == "c3")
            await world.close()
        }
    }

    /// A 2xx answer that is not JSON: 502 `upstream_invalid_response`, the reservation released,
    /// nothing charged (no ledger row: nothing usable came back), one audit entry.
    @Test(arguments: ["<html>gateway timeout page</html>", "", #"["not","an","object"]"#])
    func aNonJSONSuccessIsABadGatewayAndChargesNothing(reply: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            vendor.answer(status: 200, body: reply)
            let response = await world.chat()
            #expect(response.status == 502 && Self.text(response).contains(#""code":"upstream_invalid_response""#), "\(Self.text(response))")
            let (audit, ledger) = try await world.recorded()
            #expect(audit.count == 1 && audit[0].content.detail.contains(#""reason":"upstream_invalid_response""#))
            #expect(ledger.isEmpty)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            #expect(world.budgets.snapshot(project: "assistants")?.spent == .zero)
            await world.close()
        }
    }

    /// A vendor whose credential variable is not set: 503 naming the variable (never a value),
    /// nothing sent, nothing reserved; the snapshot says which vendor lacks what.
    @Test func anUnconfiguredVendorIsA503NamingTheVariable() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, environment: ["AZURE_OPENAI_URL": vendor.url])
            #expect(world.snapshot.unconfiguredVendors == ["azure": "AZURE_OPENAI_KEY"])
            let response = await world.chat()
            #expect(
                response.status == 503 && Self.text(response).contains(#""code":"vendor_unconfigured""#)
                    && Self.text(response).contains("AZURE_OPENAI_KEY is not set"), "\(Self.text(response))")
            #expect(vendor.requests.isEmpty)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }
}
