import AsgardCore
import AsgardGateway
import AsgardJSON
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The budget promise as a property: whatever a key holder sends (any `n`, token caps, tools,
/// content parts, streamed or not), whatever the vendor reports (honest, inflated, nothing,
/// slowly), and wherever the client leaves, a project's ledger spend never exceeds its budget,
/// and every call the vendor received has exactly one ledger row.
///
/// Seeded (`SplitMix64`), so a failure names the seed that repeats it.
@Suite(.serialized) struct BudgetPropertyTests {
    static let budget = MicroDollars(1_000_000)

    enum Vendor: CaseIterable { case honest, inflated, silent }
    enum Client: CaseIterable { case stays, leavesEarly, leavesMidStream }

    struct Call {
        var body: String
        var stream: Bool
        var vendor: Vendor
        var client: Client
        var delay: Duration
        /// What an honest vendor reports.
        var prompt: Int64
        var completion: Int64
        /// Frames written before a streaming client leaves.
        var framesBeforeLeaving: Int
    }

    static func randomCall(_ rng: inout SplitMix64) -> Call {
        var fields: [String] = [#""model":"azure/gpt-4o""#]
        let text = String(repeating: "word ", count: Int.random(in: 1...300, using: &rng))
        if Bool.random(using: &rng) {
            fields.append(#""messages":[{"role":"user","content":"\#(text)"}]"#)
        } else {
            fields.append(#""messages":[{"role":"user","content":[{"type":"text","text":"\#(text)"},{"type":"text","text":"more"}]}]"#)
        }
        let n = Int.random(in: 1...4, using: &rng)
        if n > 1 || Bool.random(using: &rng) { fields.append(#""n":\#(n)"#) }
        var caps: [Int] = []
        if Bool.random(using: &rng) { caps.append(Int.random(in: 1...800, using: &rng)); fields.append(#""max_tokens":\#(caps.last!)"#) }
        if Bool.random(using: &rng) {
            caps.append(Int.random(in: 1...800, using: &rng))
            fields.append(#""max_completion_tokens":\#(caps.last!)"#)
        }
        let tools = Int.random(in: 0...2, using: &rng)
        if tools > 0 {
            let definitions = (0..<tools).map { #"{"type":"function","function":{"name":"t\#($0)","description":"\#(String(repeating: "d", count: 50))"}}"# }
            fields.append(#""tools":[\#(definitions.joined(separator: ","))]"#)
        }
        let stream = Bool.random(using: &rng)
        if stream { fields.append(#""stream":true"#) }
        // The service's default cap is 4,096 when the request gives none.
        let cap = caps.max() ?? 4_096
        return Call(
            body: "{" + fields.joined(separator: ",") + "}", stream: stream, vendor: Vendor.allCases.randomElement(using: &rng)!,
            client: Client.allCases.randomElement(using: &rng)!, delay: .milliseconds(Int.random(in: 0...20, using: &rng)),
            prompt: Int64.random(in: 1...Int64(text.utf8.count), using: &rng), completion: Int64.random(in: 0...Int64(n * cap), using: &rng),
            framesBeforeLeaving: Int.random(in: 0...3, using: &rng))
    }

    /// What the stand-in answers for `call`.
    static func script(_ vendor: StandInVendor, _ call: Call) {
        let usage: String
        switch call.vendor {
        case .honest: usage = #","usage":{"prompt_tokens":\#(call.prompt),"completion_tokens":\#(call.completion),"total_tokens":0}"#
        case .inflated: usage = #","usage":{"prompt_tokens":9000000000000000000,"completion_tokens":9000000000000,"total_tokens":0}"#
        case .silent: usage = ""
        }
        if call.stream {
            vendor.stream(
                [
                    #"{"choices":[{"index":0,"delta":{"role":"assistant","content":"an answer "}}]}"#,
                    #"{"choices":[{"index":0,"delta":{"content":"in parts"},"finish_reason":"stop"}]}"#,
                    #"{"choices":[]\#(usage)}"#,
                ], delay: call.delay)
        } else {
            vendor.answer(
                status: 200,
                body:
                    #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"an answer"},"finish_reason":"stop"}]\#(usage)}"#,
                delay: call.delay)
        }
    }

    struct Leaving: Error {}

    /// Sends `call` as its client behaves; the status the client saw (a stream's is 200).
    @discardableResult
    static func run(_ call: Call, in world: PipelineTests.World) async -> Int {
        let body = Array(call.body.utf8)
        let gateway = world.gateway
        let send = Task {
            await gateway.chat(authorization: "Bearer \(PipelineTests.secret)", dataClassHeader: "internal", body: body, endpoint: .openAICompatible)
        }
        if call.client == .leavesEarly {
            try? await Task.sleep(for: call.delay / 2)
            send.cancel()
        }
        let stream: GatewayEventStream
        switch await send.value {
        case .plain(let answer): return answer.status
        case .stream(let opened): stream = opened
        }
        var frames = 0
        _ = try? await stream.produce { _ in
            frames += 1
            if call.client == .leavesMidStream, frames > call.framesBeforeLeaving { throw Leaving() }
        }
        return 200
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func spendNeverExceedsTheBudgetAndEveryVendorCallHasOneRow(seed: UInt64) async throws {
        try await StandInVendor.run { vendor in
            let world = try await PipelineTests.World(vendor: vendor, budget: Self.budget)
            var rng = SplitMix64(seed: seed)
            var statuses: [Int] = []
            for _ in 0..<80 {
                let call = Self.randomCall(&rng)
                Self.script(vendor, call)
                statuses.append(await Self.run(call, in: world))
            }
            // The budget was under pressure: some calls were refused for it.
            #expect(statuses.contains(402) && statuses.contains(200), "seed \(seed): \(statuses)")
            // Streams dropped unproduced settle on their own; wait until nothing is held.
            for _ in 0..<100 where world.budgets.snapshot(project: "assistants")?.reserved != .zero {
                try await Task.sleep(for: .milliseconds(50))
            }
            let (_, ledger) = try await world.recorded()
            let spent = ledger.reduce(Int64(0)) { $0 + $1.cost.value }
            #expect(spent <= Self.budget.value, "seed \(seed): spent \(spent) of \(Self.budget.value)")
            #expect(world.budgets.snapshot(project: "assistants")?.spent == MicroDollars(spent), "seed \(seed)")
            #expect(world.budgets.snapshot(project: "assistants")?.reserved == .zero, "seed \(seed)")
            // Every call the vendor received has exactly one row; a row without a vendor call
            // can only be a client that left before the request went out (charged conservatively).
            let received = vendor.requests.compactMap { $0.headers["x-asgard-request-id"] }
            #expect(received.count == vendor.requests.count)
            let rows = Dictionary(grouping: ledger, by: \.requestID)
            #expect(rows.values.allSatisfy { $0.count == 1 })
            for id in received { #expect(rows[id]?.count == 1, "seed \(seed): vendor call \(id) has no ledger row") }
            for row in ledger where !received.contains(row.requestID) {
                #expect(row.status == "client_disconnected", "seed \(seed): \(row)")
            }
            await world.close()
        }
    }
}
