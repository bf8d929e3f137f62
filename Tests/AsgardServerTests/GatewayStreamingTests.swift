import AsgardCore
import AsgardJSON
import AsgardServer
import AsgardStore
import FakeDatabricks
import Foundation
import NIOCore
import Testing

@testable import AsgardGateway

/// The streamed path: against the fake Databricks over loopback (`GatewayHarness`), and the
/// pure pieces (SSE parsing, the per-chunk guardrail transformation) fed synthetic chunks.
@Suite(.serialized) struct GatewayStreamingTests {
    static let llama = "databricks-meta-llama-3-3-70b-instruct"

    static func body(content: String = "score this transaction", extra: String = "") -> [UInt8] {
        Array(
            #"{"model":"databricks/llama-3-3-70b","stream":true,"messages":[{"role":"user","content":\#(GatewayHarness.quote(content))}]\#(extra)}"#
                .utf8)
    }

    static func open(
        _ h: GatewayHarness, secret: String? = GatewayHarness.scorer, content: String = "score this transaction",
        extra: String = ""
    ) async throws -> GatewayEventStream {
        let response = await h.gateway.chat(
            authorization: secret.map { "Bearer \($0)" }, dataClassHeader: nil,
            body: body(content: content, extra: extra), endpoint: .openAICompatible)
        guard case .stream(let stream) = response else {
            if case .plain(let refusal) = response { Issue.record("refused: \(refusal.status) \(String(decoding: refusal.body, as: UTF8.self))") }
            throw CancellationError()
        }
        return stream
    }

    /// The `data:` payloads of SSE frames.
    static func payloads(_ frames: [[UInt8]]) -> [String] {
        var parser = SSEParser()
        return frames.flatMap { parser.push($0) }.map(\.data) + parser.finish().map(\.data)
    }

    /// The concatenated `choices[0].delta.content` of the frames.
    static func text(_ frames: [[UInt8]]) -> String {
        payloads(frames).compactMap { payload -> String? in
            guard let json = try? JSONValue.parse(payload), case .array(let choices)? = json["choices"],
                case .string(let content)? = choices.first?["delta"]?["content"]
            else { return nil }
            return content
        }.joined()
    }

    static func row(_ h: GatewayHarness, _ requestID: String) async throws -> LedgerEntry? {
        try await h.stored.ledger(project: "fraud-detection", from: .distantPast, to: .distantFuture).first { $0.requestID == requestID }
    }

    // MARK: - End to end

    @Test func aStreamedCallGivesTheSameTextAndIsRecordedBeforeDone() async throws {
        try await GatewayHarness().run { h in
            let plain = await h.chat(GatewayHarness.scorer)
            let expected = try #require(((plain.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
            let stream = try await Self.open(h)
            #expect(stream.status == 200)
            #expect(stream.headers.contains { $0.0 == "Content-Type" && $0.1 == "text/event-stream" })
            #expect(stream.headers.contains { $0.0 == "x-asgard-request-id" && $0.1 == stream.requestID })
            var frames: [[UInt8]] = []
            var rowsAtDone: [LedgerEntry?] = []
            let ending = try await stream.produce { frame in
                frames.append(frame)
                if frame == Array("data: [DONE]\n\n".utf8) { rowsAtDone.append(try await Self.row(h, stream.requestID)) }
            }
            #expect(rowsAtDone.count == 1)
            let rowAtDone = rowsAtDone.first ?? nil
            #expect(ending == .ok)
            #expect(Self.text(frames) == expected)
            #expect(Self.payloads(frames).last == "[DONE]")
            #expect(Self.payloads(frames).filter { $0 == "[DONE]" }.count == 1)
            // The client did not ask for usage: the vendor's usage chunk is not forwarded.
            #expect(!Self.payloads(frames).contains { $0.contains(#""usage""#) })
            // What the vendor was asked: a stream, with usage.
            let sent = try #require(h.fake.controls.lastRequestBody(for: Self.llama))
            #expect(sent.contains(#""stream":true"#) && sent.contains(#""include_usage":true"#))
            let row = try #require(rowAtDone, "the ledger row must be durable before [DONE] is written")
            let usage = try #require(plain.json["usage"] as? [String: Int])
            #expect(row.status == "ok" && !row.estimated)
            #expect(row.promptTokens == usage["prompt_tokens"] && row.completionTokens == usage["completion_tokens"])
            let audit = try await h.stored.auditTail(limit: 1)[0].content
            #expect(audit.outcome == "allowed" && audit.detail.contains(#""stream":"true""#) && audit.detail.contains(stream.requestID))
            #expect(h.budgets.snapshot(project: "fraud-detection")?.reserved == .zero)
        }
    }

    @Test func aClientThatAsksForUsageGetsTheUsageChunk() async throws {
        try await GatewayHarness().run { h in
            let stream = try await Self.open(h, extra: #","stream_options":{"include_usage":true}"#)
            var frames: [[UInt8]] = []
            try await stream.produce { frames.append($0) }
            let payloads = Self.payloads(frames)
            #expect(payloads.contains { $0.contains(#""usage":{"#) && $0.contains(#""completion_tokens""#) })
            #expect(payloads.last == "[DONE]")
        }
    }

    @Test func withoutUsageOrDoneTheRowIsEstimatedAndDoneIsStillSent() async throws {
        try await GatewayHarness().run { h in
            h.fake.controls.update(Self.llama) {
                $0.streamUsage = .never
                $0.streamDone = false
            }
            let stream = try await Self.open(h)
            var frames: [[UInt8]] = []
            var rowsAtDone: [LedgerEntry?] = []
            let ending = try await stream.produce { frame in
                frames.append(frame)
                if frame == Array("data: [DONE]\n\n".utf8) { rowsAtDone.append(try await Self.row(h, stream.requestID)) }
            }
            #expect(rowsAtDone.count == 1)
            let rowAtDone = rowsAtDone.first ?? nil
            #expect(ending == .ok && Self.payloads(frames).last == "[DONE]")
            #expect(Self.text(frames).hasPrefix("This is a deterministic answer"))
            let row = try #require(rowAtDone)
            let generated = Self.text(frames).utf8.count
            #expect(row.estimated && row.status == "ok")
            #expect(row.completionTokens > 0 && row.completionTokens == (generated + 2) / 3)
            #expect(
                row.cost
                    == Pricing.cost(
                        promptTokens: row.promptTokens, completionTokens: row.completionTokens,
                        pricing: TokenPricing(inputPerMillion: MicroDollars(500_000), outputPerMillion: MicroDollars(1_500_000))))
            #expect(h.budgets.snapshot(project: "fraud-detection")?.spent == row.cost)
        }
    }

    @Test func anUpstreamDropIsChargedForWhatWasGeneratedAndEndsWithAnErrorEvent() async throws {
        try await GatewayHarness().run { h in
            h.fake.controls.update(Self.llama) { $0.dropStreamAfterChunks = 4 }
            let stream = try await Self.open(h)
            var frames: [[UInt8]] = []
            let ending = try await stream.produce { frames.append($0) }
            #expect(ending == .upstreamDropped)
            let payloads = Self.payloads(frames)
            #expect(!payloads.contains("[DONE]"))
            #expect(payloads.last?.contains(#""code":"upstream_dropped""#) == true, "\(payloads)")
            // Up to four content pieces reached the client, in order (an HTTP client may lose the
            // last frames of a connection that closes under it, so only the prefix is certain).
            let text = Self.text(frames)
            #expect(!text.isEmpty && "This is a deterministic".hasPrefix(text), "\(text)")
            let row = try #require(try await Self.row(h, stream.requestID))
            #expect(row.status == "upstream_dropped" && row.estimated)
            #expect(row.completionTokens == (text.utf8.count + 2) / 3 && row.completionTokens > 0)
            let budget = try #require(h.budgets.snapshot(project: "fraud-detection"))
            #expect(budget.spent == row.cost && budget.reserved == .zero)
            let audit = try await h.stored.auditTail(limit: 1)[0].content
            #expect(audit.outcome == "denied" && audit.detail.contains(#""reason":"upstream_dropped""#))
        }
    }

    @Test func aConsumerCancelledAfterTwoChunksIsRecordedAsClientDisconnected() async throws {
        try await GatewayHarness().run { h in
            // Slow enough that the cancellation lands before the vendor's last chunk, even on a loaded machine.
            h.fake.controls.update(Self.llama) { $0.chunkDelay = .milliseconds(500) }
            let stream = try await Self.open(h)
            let (seen, signal) = AsyncStream.makeStream(of: Int.self)
            let outcome = await withTaskGroup(of: String.self) { group in
                group.addTask {
                    var count = 0
                    do {
                        try await stream.produce { _ in
                            count += 1
                            if count == 2 { signal.yield(count) }
                        }
                        return "finished"
                    } catch is CancellationError {
                        return "cancelled"
                    } catch {
                        return "\(error)"
                    }
                }
                for await _ in seen { break }
                group.cancelAll()
                return await group.next() ?? "none"
            }
            #expect(outcome == "cancelled")
            // Settled and recorded before `produce` threw.
            let row = try #require(try await Self.row(h, stream.requestID))
            #expect(row.status == "client_disconnected" && row.estimated && row.completionTokens > 0)
            let budget = try #require(h.budgets.snapshot(project: "fraud-detection"))
            #expect(budget.spent == row.cost && budget.reserved == .zero)
        }
    }

    struct Gone: Error {}

    @Test func aWriterThatFailsIsRecordedAsClientDisconnected() async throws {
        try await GatewayHarness().run { h in
            let stream = try await Self.open(h)
            var writes = 0
            do {
                try await stream.produce { _ in
                    writes += 1
                    if writes == 3 { throw Gone() }
                }
                Issue.record("produce should pass on the writer's error")
            } catch is Gone {
            } catch {
                Issue.record("unexpected \(error)")
            }
            let row = try #require(try await Self.row(h, stream.requestID))
            #expect(row.status == "client_disconnected" && row.completionTokens > 0)
            #expect(h.budgets.snapshot(project: "fraud-detection")?.reserved == .zero)
        }
    }

    @Test func refusalsAreTheSameAsTheNonStreamedPath() async throws {
        try await GatewayHarness().run { h in
            let response = await h.gateway.chat(
                authorization: "Bearer asg_nobody", dataClassHeader: nil, body: Self.body(), endpoint: .openAICompatible)
            guard case .plain(let refusal) = response else {
                Issue.record("not refused")
                return
            }
            #expect(refusal.status == 401 && String(decoding: refusal.body, as: UTF8.self).contains("invalid_api_key"))
            let invocations = try await h.stored.auditTail(limit: 100).filter { $0.content.action == "gateway.invoke" }
            #expect(invocations.isEmpty)
            // An upstream error answer: 502 with the vendor code and no token, nothing reserved.
            h.fake.controls.setFault(.unavailable(), for: Self.llama)
            let failed = await h.gateway.chat(
                authorization: "Bearer \(GatewayHarness.scorer)", dataClassHeader: nil,
                body: Self.body(), endpoint: .openAICompatible)
            guard case .plain(let upstream) = failed else {
                Issue.record("not refused")
                return
            }
            let text = String(decoding: upstream.body, as: UTF8.self)
            #expect(upstream.status == 502 && text.contains("upstream_TEMPORARILY_UNAVAILABLE") && !text.contains(GatewayHarness.sentinelToken))
            #expect(h.budgets.snapshot(project: "fraud-detection")?.reserved == .zero)
            #expect(try await h.stored.summary().ledgerRows == 0)
        }
    }

    @Test func theBlockActionLetsACleanStreamThrough() async throws {
        // The fake's replies have no finding, so blocking itself is exercised on synthetic
        // chunks below; here, `block` on a clean stream lets it through whole.
        let policy = GuardrailSettings(defaultAction: .block)
        try await GatewayHarness(guardrails: ["fraud-detection": policy]).run { h in
            let stream = try await Self.open(h)
            var frames: [[UInt8]] = []
            let ending = try await stream.produce { frames.append($0) }
            #expect(ending == .ok)
            #expect(Self.text(frames).hasPrefix("This is a deterministic answer"))
        }
    }

    /// The whole streamed path over a synthetic upstream whose card number is split across
    /// chunks: with `block`, the client gets an error event and never the number; the call is
    /// settled and recorded as `guardrail_blocked`.
    @Test func aBlockedOutputEndsTheStreamWithAnErrorEventAndIsRecorded() async throws {
        let policy = GuardrailSettings(defaultAction: .block, byDataClass: [.internal: .redact])
        try await GatewayHarness(guardrails: ["fraud-detection": policy]).run { h in
            var call = CallContext(requestID: "req_blocked")
            let caller = try h.gateway.authenticator.authenticate("Bearer \(GatewayHarness.scorer)")
            let admission = try h.gateway.admit(caller, try ChatRequest(bytes: Self.body(), limit: 1 << 20), .confidential, &call)
            let stream = GatewayEventStream(
                gateway: h.gateway, admission: admission, call: call, forwardUsage: false,
                upstream: Chunks(Self.upstream(Self.cardPieces, cut: 1_000_000)))
            var frames: [[UInt8]] = []
            let ending = try await stream.produce { frames.append($0) }
            #expect(ending == .guardrailBlocked)
            let all = String(decoding: frames.joined(), as: UTF8.self)
            #expect(!all.contains("4111") && !all.contains("[DONE]"))
            #expect(Self.payloads(frames).last?.contains(#""code":"guardrail_blocked""#) == true, "\(all)")
            let row = try #require(try await Self.row(h, "req_blocked"))
            #expect(row.status == "guardrail_blocked" && row.estimated && row.completionTokens > 0)
            #expect(h.budgets.snapshot(project: "fraud-detection")?.reserved == .zero)
            #expect(h.budgets.snapshot(project: "fraud-detection")?.spent == row.cost)
        }
    }

    // MARK: - Synthetic chunks

    /// `data:` events of an upstream stream whose content pieces are `pieces`, cut into TCP-like
    /// chunks of `cut` bytes.
    static func upstream(_ pieces: [String], cut: Int, usage: Bool = false, done: Bool = true) -> [[UInt8]] {
        var bytes: [UInt8] = []
        for (index, piece) in pieces.enumerated() {
            var delta: [JSONMember] = [JSONMember(key: "content", value: .string(piece))]
            if index == 0 { delta.insert(JSONMember(key: "role", value: .string("assistant")), at: 0) }
            let choice = JSONValue.object([
                JSONMember(key: "index", value: .integer(0)), JSONMember(key: "delta", value: .object(delta)),
                JSONMember(key: "finish_reason", value: .null),
            ])
            bytes += ChatStreamTransformer.frame(
                .object([JSONMember(key: "id", value: .string("c1")), JSONMember(key: "choices", value: .array([choice]))]))
        }
        let last = JSONValue.object([
            JSONMember(key: "index", value: .integer(0)), JSONMember(key: "delta", value: .object([])),
            JSONMember(key: "finish_reason", value: .string("stop")),
        ])
        bytes += ChatStreamTransformer.frame(
            .object([JSONMember(key: "id", value: .string("c1")), JSONMember(key: "choices", value: .array([last]))]))
        if usage {
            bytes += Array(#"data: {"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":9,"total_tokens":16}}"#.utf8) + [10, 10]
        }
        if done { bytes += Array("data: [DONE]\r\n\r\n".utf8) }
        return stride(from: 0, to: bytes.count, by: cut).map { Array(bytes[$0..<min($0 + cut, bytes.count)]) }
    }

    static func run(_ transformer: inout ChatStreamTransformer, _ chunks: [[UInt8]]) -> [[UInt8]] {
        var parser = SSEParser()
        var out: [[UInt8]] = []
        for chunk in chunks {
            for event in parser.push(chunk) { out += transformer.accept(event) }
        }
        for event in parser.finish() { out += transformer.accept(event) }
        return out + transformer.finish()
    }

    static let cardPieces = ["Your card is 4111 11", "11 1111 ", "1111 and the", " token dapi0123456789ab", "cdef0123456789abcdef01 ok."]

    @Test(arguments: [1, 3, 7, 64, 4096])
    func aSecretOrCardSplitAcrossChunksIsRedacted(cut: Int) {
        var transformer = ChatStreamTransformer(action: .redact, detectors: GuardrailDetector.all, forwardUsage: false)
        let frames = Self.run(&transformer, Self.upstream(Self.cardPieces, cut: cut, usage: true))
        let text = Self.text(frames)
        #expect(text == "Your card is [REDACTED:credit_card] and the token [REDACTED:databricks_token] ok.")
        #expect(text == Guardrails.redact(Self.cardPieces.joined()))
        let all = String(decoding: frames.joined(), as: UTF8.self)
        #expect(!all.contains("4111") && !all.contains("dapi0123") && !all.contains("[DONE]") && !all.contains("usage"))
        #expect(transformer.sawDone && transformer.isComplete)
        #expect(transformer.usage?.prompt == 7 && transformer.usage?.completion == 9)
        #expect(transformer.generatedBytes == Self.cardPieces.joined().utf8.count)
        #expect(transformer.findings == [.creditCard, .databricksToken])
    }

    @Test func theBlockActionStopsBeforeTheMatchIsForwarded() {
        var transformer = ChatStreamTransformer(action: .block, detectors: GuardrailDetector.all, forwardUsage: false)
        let frames = Self.run(&transformer, Self.upstream(Self.cardPieces, cut: 5))
        #expect(transformer.blocked == .creditCard && transformer.isStopped)
        let all = String(decoding: frames.joined(), as: UTF8.self)
        #expect(!all.contains("4111") && !all.contains(" 1111") && !all.contains("REDACTED"))
    }

    @Test func theLogActionPassesTextUnchangedAndRecordsFindings() {
        var transformer = ChatStreamTransformer(action: .log, detectors: GuardrailDetector.all, forwardUsage: true)
        let frames = Self.run(&transformer, Self.upstream(Self.cardPieces, cut: 11, usage: true, done: false))
        #expect(Self.text(frames) == Self.cardPieces.joined())
        #expect(transformer.findings == [.creditCard, .databricksToken])
        #expect(Self.payloads(frames).contains { $0.contains(#""usage""#) })
        #expect(!transformer.sawDone && transformer.isComplete)
    }

    @Test func anUnfinishedStreamIsIncompleteAndItsHeldTextIsFlushed() {
        var transformer = ChatStreamTransformer(action: .redact, detectors: GuardrailDetector.all, forwardUsage: false)
        let chunks = Self.upstream(["Hello", " there", " mail jane@example.com"], cut: 9, done: false)
        // Drop the finish chunk: the stream stops after the third content chunk.
        var parser = SSEParser()
        var frames: [[UInt8]] = []
        for event in chunks.flatMap({ parser.push($0) }).prefix(3) { frames += transformer.accept(event) }
        #expect(!transformer.isComplete)
        frames += transformer.finish()
        #expect(Self.text(frames) == "Hello there mail [REDACTED:email]")
        #expect(transformer.usage == nil)
        #expect(ChatStreamTransformer.estimateCompletionTokens(bytes: transformer.generatedBytes, maxTokens: 4096) == (33 + 2) / 3)
        #expect(ChatStreamTransformer.estimateCompletionTokens(bytes: 1_000, maxTokens: 10) == 10)
    }

    @Test func theSSEParserHandlesAnyBoundaryAndLineEnding() {
        let stream = ": comment\r\nevent: x\r\ndata: {\"a\":\r\ndata:1}\r\n\r\ndata: [DONE]\r\rdata: tail"
        let bytes = Array(stream.utf8)
        for cut in 1...bytes.count {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            for start in stride(from: 0, to: bytes.count, by: cut) { events += parser.push(bytes[start..<min(start + cut, bytes.count)]) }
            events += parser.finish()
            #expect(events == [SSEEvent(data: "{\"a\":\n1}", event: "x"), SSEEvent(data: "[DONE]"), SSEEvent(data: "tail")], "cut \(cut)")
        }
    }
}

/// An upstream body of fixed chunks, as a vendor would send them.
struct Chunks: UpstreamBody {
    let chunks: [[UInt8]]
    init(_ chunks: [[UInt8]]) { self.chunks = chunks }

    func read(_ consume: ([UInt8]) async throws -> Bool) async throws {
        for chunk in chunks where try await !consume(chunk) { return }
    }
}
