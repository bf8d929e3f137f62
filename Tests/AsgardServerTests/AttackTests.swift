import AsgardCore
import AsgardGateway
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

/// The gateway's promises tried as a hostile key holder and a lying or hanging vendor would,
/// each attack as it was reproduced against `52f5cee` (see issue 13), through the real pipeline,
/// store and call log, with a scripted stand-in vendor on loopback (`azure/gpt-4o`: $2.50 in,
/// $10 out per million tokens).
@Suite(.serialized) struct AttackTests {
    typealias World = PipelineTests.World
    static let leaked = "sk-proj-" + String(repeating: "A1b2C3d4", count: 6)
    static let fragment = "A1b2C3d4A1b2"

    static func text(_ response: GatewayResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static func completion(content: String = "fine", choice extra: String = "", prompt: Int64 = 5, completion: Int64 = 1) -> String {
        #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"\#(extra)}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":1}}"#
    }

    /// A streamed call produced to the end; the client's bytes, or the refusal's.
    static func streamed(_ world: World, _ body: String) async -> (text: String, ending: GatewayStreamEnding?) {
        switch await world.gateway.chat(
            authorization: "Bearer \(PipelineTests.secret)", dataClassHeader: "internal", body: Array(body.utf8), endpoint: .openAICompatible)
        {
        case .plain(let refusal):
            return (text(refusal), nil)
        case .stream(let stream):
            var bytes: [UInt8] = []
            let ending = try? await stream.produce { bytes += $0 }
            return (String(decoding: bytes, as: UTF8.self), ending)
        }
    }

    // MARK: Budgets

    /// `n`, `max_completion_tokens` and `tools` used to pass the reservation uncounted: a $0.05
    /// budget ended at $0.248. Now every call is reserved at `n` × its cap plus every byte sent,
    /// so with a vendor that bills every token it may, spend stays within the budget.
    @Test func fieldsTheReservationIgnoredCannotOverspend() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, budget: MicroDollars(50_000))
            vendor.answer(status: 200, body: Self.completion(prompt: 400, completion: 4 * 1_000))
            let body =
                #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hello"}],"n":4,"max_completion_tokens":1000,"tools":[{"type":"function","function":{"name":"lookup","description":"Look a customer up","parameters":{"type":"object","properties":{"id":{"type":"string"}}}}}]}"#
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(await world.send(body).status) }
            #expect(statuses.first == 200 && statuses.contains(402), "\(statuses)")
            let (_, ledger) = try await world.recorded()
            #expect(ledger.count == statuses.filter { $0 == 200 }.count)
            let spent = ledger.reduce(Int64(0)) { $0 + $1.cost.value }
            #expect(spent <= 50_000 && world.budgets.snapshot(project: "assistants")?.spent == MicroDollars(spent))
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// Fields whose cost the reservation cannot bound, or that carry opaque parameters or
    /// another project's attribution, are refused with a 400 naming them; nothing is sent.
    @Test(arguments: [
        (#","service_tier":"priority""#, "service_tier"), (#","extra_params":{"n":64}"#, "extra_params"),
        (#","usage_context":{"project":"someone-else"}"#, "usage_context"), (#","audio":{"voice":"alloy"}"#, "audio"),
    ])
    func fieldsTheManifestDoesNotAllowAreRefused(extra: String, field: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            let response = await world.send(#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}]"# + extra + "}")
            #expect(response.status == 400 && Self.text(response).contains(#""param":"\#(field)""#), "\(Self.text(response))")
            #expect(vendor.requests.isEmpty)
            await world.close()
        }
    }

    /// A vendor claiming 9e18 prompt tokens once charged $4.5 trillion. Usage beyond what the
    /// request could produce is charged at the request's bound, flagged `overrun`.
    @Test func inflatedUsageIsChargedAtTheBoundAndFlagged() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            vendor.answer(status: 200, body: Self.completion(prompt: 9_000_000_000_000_000_000, completion: 9_000_000_000))
            let response = await world.send(#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":100}"#)
            #expect(response.status == 200)
            let (audit, ledger) = try await world.recorded()
            let row = try #require(ledger.first)
            #expect(row.overrun && row.completionTokens == 100 && row.promptTokens < 1_000, "\(row)")
            // At most the bound: 100 output tokens at $10/M plus under 1,000 input tokens at $2.50/M.
            #expect(row.cost.value <= 1_000 + 2_500)
            #expect(audit.first?.content.detail.contains("overrun") == true)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// A vendor that does the work and then hangs used to cost nothing (the reservation was
    /// released on the timeout). Now the worst case is settled, estimated, and recorded once.
    /// A first call opens the connection, so the 1 s deadline runs while the request is with the
    /// vendor, not while a loaded machine makes a connection (a call that never left is charged
    /// nothing: `anUnreachableVendorChargesNothing`).
    @Test func aTimeoutAfterSendingSettlesTheWorstCase() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, timeoutSeconds: 1)
            #expect(await world.chat().status == 200)
            let before = try #require(world.budgets.snapshot(project: "assistants")?.spent)
            vendor.answer(status: 200, body: Self.completion(), delay: .seconds(3))
            let response = await world.send(#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":200}"#)
            #expect(response.status == 504 && Self.text(response).contains("upstream_timeout"), "\(Self.text(response))")
            let (audit, ledger) = try await world.recorded()
            let row = try #require(ledger.first { $0.status != "ok" })
            #expect(ledger.count == 2 && row.status == "upstream_timeout" && row.estimated && row.completionTokens == 200, "\(ledger)")
            #expect(audit.count == 2 && audit.filter { $0.content.outcome == "denied" }.count == 1)
            #expect(world.budgets.snapshot(project: "assistants")?.spent.value == before.value + row.cost.value && row.cost > .zero)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// A vendor that cannot be reached at all did no work: nothing is charged.
    @Test func anUnreachableVendorChargesNothing() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, environment: ["AZURE_OPENAI_URL": "http://127.0.0.1:1", "AZURE_OPENAI_KEY": "k"])
            let response = await world.chat()
            #expect(response.status == 502 && Self.text(response).contains(#""code":"upstream_unreachable""#), "\(Self.text(response))")
            let (audit, ledger) = try await world.recorded()
            #expect(ledger.isEmpty && audit.count == 1)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// A streamed call whose client left before the vendor's response head used to leave its
    /// reservation held forever, with no ledger row and no audit entry.
    @Test func aStreamWhoseClientLeavesBeforeTheHeadIsSettled() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            vendor.stream([#"{"choices":[{"index":0,"delta":{"content":"late"},"finish_reason":"stop"}]}"#], delay: .seconds(2))
            let body = #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":50}"#
            let call = Task {
                await world.gateway.chat(
                    authorization: "Bearer \(PipelineTests.secret)", dataClassHeader: "internal", body: Array(body.utf8), endpoint: .openAICompatible)
            }
            try await Task.sleep(for: .milliseconds(400))
            call.cancel()
            _ = await call.value
            let (audit, ledger) = try await world.recorded()
            #expect(ledger.map(\.status) == ["client_disconnected"] && ledger.first?.estimated == true, "\(ledger)")
            #expect(audit.count == 1)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    /// A stream the server never got to write (its client gone when the head came) is settled
    /// when it is dropped.
    @Test func aStreamNeverWrittenIsSettledWhenDropped() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            vendor.stream([#"{"choices":[{"index":0,"delta":{"content":"unread"},"finish_reason":"stop"}]}"#])
            let body = #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":50}"#
            let response = await world.send(body)
            #expect(response.status == -1, "the stand-in answers a stream")
            var ledger: [LedgerEntry] = []
            for _ in 0..<100 where ledger.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
                ledger = try await world.recorded().ledger
            }
            #expect(ledger.map(\.status) == ["client_disconnected"] && ledger.first?.completionTokens == 50)
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero)
            await world.close()
        }
    }

    // MARK: Guardrails in

    /// Every place of a request a vendor reads, with a secret in it: blocked, nothing sent;
    /// redacted, the vendor never sees it.
    static let requestsCarryingTheSecret: [String] = [
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi","name":"LEAK"}]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"LEAK"}]}]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"key\":\"LEAK\"}"}}]}]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"LEAK"}}]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"LEAK":{"type":"string"}}}}}]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"user":"LEAK"}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"stop":["LEAK"]}"#,
        #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","description":"LEAK"}}}"#,
    ]

    @Test(arguments: requestsCarryingTheSecret)
    func aSecretAnywhereInARequestIsBlocked(template: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: block}")
            let response = await world.send(template.replacingOccurrences(of: "LEAK", with: Self.leaked))
            #expect(response.status == 400 && Self.text(response).contains("guardrail_blocked"), "\(Self.text(response))")
            #expect(!Self.text(response).contains(Self.fragment))
            #expect(vendor.requests.isEmpty)
            await world.close()
        }
    }

    @Test(arguments: requestsCarryingTheSecret)
    func aSecretAnywhereInARequestIsRedacted(template: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: redact}")
            let response = await world.send(template.replacingOccurrences(of: "LEAK", with: Self.leaked))
            #expect(response.status == 200, "\(Self.text(response))")
            let sent = try #require(vendor.requests.last?.body)
            #expect(!sent.contains(Self.fragment) && sent.contains("[REDACTED:"), "\(sent)")
            await world.close()
        }
    }

    /// `{"content":"hello","content":"<secret>"}` was scanned as "hello" and forwarded whole.
    @Test func aSecretBehindARepeatedKeyIsRefused() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: block}")
            let response = await world.send(
                #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hello","content":"\#(Self.leaked)"}]}"#)
            #expect(response.status == 400 && Self.text(response).contains(#""param":"messages[0].content""#), "\(Self.text(response))")
            #expect(vendor.requests.isEmpty)
            await world.close()
        }
    }

    // MARK: Guardrails out

    /// Every place of an answer a client reads, with the secret in it (in logprobs, split over
    /// tokens as a vendor sends them).
    static let answersCarryingTheSecret: [String] = [
        completion(
            choice:
                #","logprobs":{"content":[{"token":"sk-proj-","logprob":-0.1,"bytes":[115],"top_logprobs":[]},{"token":"\#(String(repeating: "A1b2C3d4", count: 6))","logprob":-0.1,"top_logprobs":[]}]}"#
        ),
        completion(
            choice: #","logprobs":{"content":[{"token":"ok","logprob":-0.1,"top_logprobs":[{"token":"\#(leaked)","logprob":-9}]}]}"#),
        #"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"k\":\"\#(leaked)\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#,
        #"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"\#(leaked)"}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#,
        #"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"no","refusal":"\#(leaked)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#,
        #"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"no","reasoning_content":"\#(leaked)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#,
        #"{"id":"c1","system_fingerprint":"\#(leaked)","choices":[{"index":0,"message":{"role":"assistant","content":"no"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#,
    ]

    @Test(arguments: answersCarryingTheSecret)
    func aSecretAnywhereInAnAnswerIsBlocked(answer: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: block}")
            vendor.answer(status: 200, body: answer)
            let response = await world.chat()
            #expect(response.status == 400 && Self.text(response).contains("guardrail_blocked"), "\(Self.text(response))")
            #expect(!Self.text(response).contains(Self.fragment))
            let (audit, ledger) = try await world.recorded()
            #expect(audit.count == 1 && ledger.map(\.status) == ["guardrail_blocked"])
            await world.close()
        }
    }

    @Test(arguments: answersCarryingTheSecret)
    func aSecretAnywhereInAnAnswerIsRedacted(answer: String) async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor, guardrails: "guardrails: {default: redact}")
            vendor.answer(status: 200, body: answer)
            let response = await world.chat()
            #expect(response.status == 200, "\(Self.text(response))")
            #expect(!Self.text(response).contains(Self.fragment), "\(Self.text(response))")
            await world.close()
        }
    }

    /// Streamed answers with the secret split over chunks: in content and the logprobs that
    /// spell it, in tool-call arguments, in refusal. Under `block` the client never gets the
    /// secret's first byte; under `redact` never the secret.
    static let streamsCarryingTheSecret: [[String]] = [
        [
            #"{"choices":[{"index":0,"delta":{"role":"assistant","content":"the key is sk-proj-"},"logprobs":{"content":[{"token":"the key is ","logprob":-1},{"token":"sk-proj-","logprob":-1}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"content":"\#(String(repeating: "A1b2C3d4", count: 6))"},"logprobs":{"content":[{"token":"\#(String(repeating: "A1b2C3d4", count: 6))","logprob":-1}]},"finish_reason":"stop"}]}"#,
        ],
        [
            #"{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{\"k\":\"sk-proj-A1b2"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\#(String(repeating: "C3d4A1b2", count: 5))C3d4\"}"}}]},"finish_reason":"tool_calls"}]}"#,
        ],
        [
            #"{"choices":[{"index":0,"delta":{"role":"assistant","refusal":"sk-proj-A1b2C3d4"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"refusal":"\#(String(repeating: "A1b2C3d4", count: 5))"},"finish_reason":"stop"}]}"#,
        ],
    ]

    @Test(arguments: streamsCarryingTheSecret)
    func aSecretSplitOverAStreamIsNeverForwarded(events: [String]) async throws {
        for action in ["block", "redact"] {
            try await StandInVendor.run { vendor in
                let world = try await World(vendor: vendor, guardrails: "guardrails: {default: \(action)}")
                vendor.stream(events + [#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":20}}"#])
                let (text, ending) = await Self.streamed(
                    world, #"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"logprobs":true}"#)
                #expect(!text.contains("A1b2C3d4"), "\(action): \(text)")
                if action == "block" {
                    #expect(ending == .guardrailBlocked && !text.contains("sk-proj"), "\(text)")
                } else {
                    #expect(ending == .ok && text.contains("[REDACTED:"), "\(text)")
                }
                // Charged either way: what the vendor reported, or (blocked before its usage came)
                // what it had generated, estimated.
                let (_, ledger) = try await world.recorded()
                #expect(
                    ledger.count == 1
                        && (action == "block" ? ledger[0].estimated && ledger[0].completionTokens > 0 : ledger[0].completionTokens == 20))
                await world.close()
            }
        }
    }

    // MARK: Audit flooding

    /// Refusals of callers with no key are counted, not audited; a caller's model id is cut
    /// to a bounded audit target (900 KB targets were seen).
    @Test func theAuditLogCannotBeFlooded() async throws {
        try await StandInVendor.run { vendor in
            let world = try await World(vendor: vendor)
            let body = Array(#"{"model":"azure/gpt-4o","messages":[{"role":"user","content":"hi"}]}"#.utf8)
            for _ in 0..<50 {
                _ = await world.gateway.chat(authorization: "Bearer asg_nobody", dataClassHeader: nil, body: body, endpoint: .openAICompatible)
            }
            let huge = "azure/" + String(repeating: "x", count: 900_000)
            let response = await world.send(#"{"model":"\#(huge)","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(response.status == 404)
            let (audit, _) = try await world.recorded()
            #expect(audit.count == 1)
            #expect((audit.first?.content.target?.utf8.count ?? .max) <= 204)
            await world.close()
        }
    }
}
