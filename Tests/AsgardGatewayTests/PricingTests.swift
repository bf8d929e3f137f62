import AsgardCore
import AsgardJSON
import AsgardTestSupport
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct PricingTests {
    struct CostCase: Sendable, CustomTestStringConvertible {
        var prompt: Int
        var completion: Int
        var inputPerMillion: Int64
        var outputPerMillion: Int64
        var expected: Int64
        var testDescription: String { "\(prompt)×\(inputPerMillion) + \(completion)×\(outputPerMillion) → \(expected)" }
    }

    @Test(arguments: [
        // $0.50 / $1.50 per million: 1,000 + 500 tokens cost exactly $0.00125.
        CostCase(prompt: 1_000, completion: 500, inputPerMillion: 500_000, outputPerMillion: 1_500_000, expected: 1_250),
        CostCase(prompt: 0, completion: 0, inputPerMillion: 500_000, outputPerMillion: 1_500_000, expected: 0),
        // Half a micro-dollar is charged as one: never undercharge.
        CostCase(prompt: 1, completion: 0, inputPerMillion: 500_000, outputPerMillion: 0, expected: 1),
        // 999,999 / 1,000,000 of a micro-dollar still rounds up to one.
        CostCase(prompt: 3, completion: 0, inputPerMillion: 333_333, outputPerMillion: 0, expected: 1),
        // Rounded once for the call, not per side: 0.5 + 0.5 = 1, not 2.
        CostCase(prompt: 1, completion: 1, inputPerMillion: 500_000, outputPerMillion: 500_000, expected: 1),
        // A millionth of a micro-dollar over a whole amount is still charged as the next one.
        CostCase(prompt: 1, completion: 0, inputPerMillion: 1, outputPerMillion: 0, expected: 1),
        CostCase(prompt: 1_000_001, completion: 0, inputPerMillion: 1, outputPerMillion: 0, expected: 2),
        CostCase(prompt: 0, completion: 2_000_001, inputPerMillion: 0, outputPerMillion: 1, expected: 3),
        // Exactly one micro-dollar is not rounded further.
        CostCase(prompt: 1, completion: 0, inputPerMillion: 1_000_000, outputPerMillion: 0, expected: 1),
        CostCase(prompt: 1_000_001, completion: 0, inputPerMillion: 1_000_000, outputPerMillion: 0, expected: 1_000_001),
        // $15 / $75 per million (a large model), 12,345 + 6,789 tokens = $0.185175 + $0.509175.
        CostCase(prompt: 12_345, completion: 6_789, inputPerMillion: 15_000_000, outputPerMillion: 75_000_000, expected: 694_350),
        // Free models cost nothing.
        CostCase(prompt: 1_000_000, completion: 1_000_000, inputPerMillion: 0, outputPerMillion: 0, expected: 0),
        // Negative counts and prices are no credit.
        CostCase(prompt: -5_000_000, completion: 10, inputPerMillion: 1_000_000, outputPerMillion: -1_000_000, expected: 0),
        // Products far beyond 64 bits saturate instead of trapping or wrapping.
        CostCase(prompt: Int.max, completion: Int.max, inputPerMillion: Int64.max, outputPerMillion: Int64.max, expected: Int64.max),
        // Int.max tokens at $1 per million: 9,223,372,036,854.775807 micro-dollars, rounded up.
        CostCase(prompt: Int.max, completion: 0, inputPerMillion: 1, outputPerMillion: 0, expected: 9_223_372_036_855),
    ])
    func costIsExactAndRoundedUp(_ c: CostCase) {
        let pricing = TokenPricing(inputPerMillion: MicroDollars(c.inputPerMillion), outputPerMillion: MicroDollars(c.outputPerMillion))
        #expect(Pricing.cost(promptTokens: c.prompt, completionTokens: c.completion, pricing: pricing) == MicroDollars(c.expected))
    }

    /// For any counts and prices: cost × 10⁶ ≥ the exact price, and (cost − 1) × 10⁶ < it.
    @Test func costIsTheCeilingOfTheExactPrice() async {
        await propertyCheck(count: 500, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let prompt = Int.random(in: 0...Int(Int32.max), using: &rng)
            let completion = Int.random(in: 0...Int(Int32.max), using: &rng)
            let pricing = TokenPricing(
                inputPerMillion: MicroDollars(Int64.random(in: 0...100_000_000, using: &rng)),
                outputPerMillion: MicroDollars(Int64.random(in: 0...100_000_000, using: &rng)))
            let exact =
                Int128(prompt) * Int128(pricing.inputPerMillion.value)
                + Int128(completion) * Int128(pricing.outputPerMillion.value)
            let cost = Int128(Pricing.cost(promptTokens: prompt, completionTokens: completion, pricing: pricing).value)
            #expect(cost * 1_000_000 >= exact)
            #expect((cost - 1) * 1_000_000 < exact)
        }
    }

    @Test func costIsMonotoneInTokens() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let pricing = TokenPricing(
                inputPerMillion: MicroDollars(Int64.random(in: 0...30_000_000, using: &rng)),
                outputPerMillion: MicroDollars(Int64.random(in: 0...30_000_000, using: &rng)))
            let prompt = Int.random(in: 0...200_000, using: &rng)
            let completion = Int.random(in: 0...200_000, using: &rng)
            let more = Int.random(in: 0...1_000, using: &rng)
            let base = Pricing.cost(promptTokens: prompt, completionTokens: completion, pricing: pricing)
            #expect(Pricing.cost(promptTokens: prompt + more, completionTokens: completion, pricing: pricing) >= base)
            #expect(Pricing.cost(promptTokens: prompt, completionTokens: completion + more, pricing: pricing) >= base)
        }
    }

    @Test func worstCaseIsThePromptPlusEveryAllowedCompletionToken() {
        let pricing = TokenPricing(inputPerMillion: MicroDollars(2_000_000), outputPerMillion: MicroDollars(6_000_000))
        #expect(Pricing.worstCase(promptTokens: 800, completionTokens: 1_024, pricing: pricing) == MicroDollars(1_600 + 6_144))
        for completion in [0, 1, 512, 1_023, 1_024] {
            #expect(
                Pricing.cost(promptTokens: 800, completionTokens: completion, pricing: pricing)
                    <= Pricing.worstCase(promptTokens: 800, completionTokens: 1_024, pricing: pricing))
        }
    }

    /// The bound counts every byte of the body, and the template's tokens on top.
    @Test func thePromptBoundCountsTheWholeBodyAndTheTemplate() {
        #expect(Pricing.promptTokenBound(bodyBytes: 1_000, messages: 2, tools: 0) == 1_000 + 64 + 10)
        #expect(Pricing.promptTokenBound(bodyBytes: 1_000, messages: 2, tools: 3) == 1_000 + 64 + 10 + 256 + 48)
    }

    struct EstimateCase: Sendable, CustomTestStringConvertible {
        var body: String
        var messages: Int
        var expected: Int
        /// A count no real tokenizer of the families we front goes above for this text.
        var realisticUpperBound: Int
        var testDescription: String { String(body.prefix(40)) }
    }

    @Test(arguments: [
        // 48 bytes: ⌈48/3⌉ = 16, + 5 + 5. The vendor reads "user" and "Hello": 2 tokens.
        EstimateCase(body: #"{"messages":[{"role":"user","content":"Hello"}]}"#, messages: 1, expected: 16 + 10, realisticUpperBound: 2 + 10),
        // 8 CJK characters (24 bytes) inside 67 bytes of JSON: at most one token per character.
        EstimateCase(body: #"{"messages":[{"role":"user","content":"日本語のテキスト"}]}"#, messages: 1, expected: 23 + 10, realisticUpperBound: 1 + 8 + 10),
    ])
    func promptEstimate(_ c: EstimateCase) {
        let estimate = Pricing.estimatePromptTokens(bodyBytes: c.body.utf8.count, messages: c.messages, tools: 0)
        #expect(estimate == c.expected)
        #expect(estimate >= c.realisticUpperBound)
        #expect(estimate <= Pricing.promptTokenBound(bodyBytes: c.body.utf8.count, messages: c.messages, tools: 0))
    }

    /// English prose runs at about 4 characters per token; the estimate must stay above that
    /// rate (plus the template overhead) for any message lengths, and never above the bound.
    @Test func promptEstimateOverCountsEnglishProse() async {
        let words = [
            "the", "budget", "ledger", "reserves", "a", "call's", "worst", "case", "before", "it",
            "reaches", "vendor,", "and", "settles", "actual", "cost.", "Tokens", "are", "counted",
        ]
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let messages = (0..<Int.random(in: 1...6, using: &rng)).map { _ in
                (0..<Int.random(in: 0...400, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            }
            let body = JSONValue.object([
                JSONMember(
                    key: "messages",
                    value: .array(messages.map { .object([JSONMember(key: "role", value: "user"), JSONMember(key: "content", value: .string($0))]) }))
            ]).jsonBytes
            let characters = messages.reduce(0) { $0 + $1.count }
            let generous = (characters + 3) / 4 + messages.count * 5 + 5
            let estimate = Pricing.estimatePromptTokens(bodyBytes: body.count, messages: messages.count, tools: 0)
            #expect(estimate >= generous)
            #expect(estimate <= Pricing.promptTokenBound(bodyBytes: body.count, messages: messages.count, tools: 0))
        }
    }
}
