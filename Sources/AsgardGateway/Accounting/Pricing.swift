public import AsgardCore

/// What a chat call costs, in exact integer micro-dollars.
///
/// Prices are per million tokens (`TokenPricing`), so the cost of `n` tokens is
/// `n × pricePerMillion / 1,000,000` micro-dollars. The product is taken in 128-bit integers (it
/// cannot overflow: both factors fit in 64 bits) and the quotient is rounded **up**, once, for the
/// whole call: the gateway never charges less than the exact price, and overcharges by less than
/// one micro-dollar per call.
public enum Pricing {
    /// Tokens per priced unit: `TokenPricing` quotes prices per million tokens.
    public static let tokensPerPricedUnit: Int128 = 1_000_000

    /// The exact cost of a call, rounded up to the next micro-dollar.
    ///
    /// Negative token counts and negative prices count as zero (validation rejects negative
    /// prices; a negative count can only be a bug upstream, and must not turn into a credit).
    /// A cost beyond `Int64.max` micro-dollars (9.2 trillion dollars) saturates there, which any
    /// budget rejects.
    public static func cost(promptTokens: Int, completionTokens: Int, pricing: TokenPricing) -> MicroDollars {
        let input = Int128(max(promptTokens, 0)) * Int128(max(pricing.inputPerMillion.value, 0))
        let output = Int128(max(completionTokens, 0)) * Int128(max(pricing.outputPerMillion.value, 0))
        // Each product is below 2^126, so the sum fits in Int128 too.
        let total = input + output
        let roundedUp = (total + tokensPerPricedUnit - 1) / tokensPerPricedUnit
        return MicroDollars(roundedUp > Int128(Int64.max) ? Int64.max : Int64(roundedUp))
    }

    /// The most a call can cost: the prompt plus `maxTokens` completion tokens.
    ///
    /// This is the amount the gateway reserves against the project's budget before calling the
    /// vendor. It is a true bound only because the gateway sends `max_tokens` upstream (the
    /// request's, or the service's `default_max_tokens`), so the completion cannot be longer.
    public static func worstCase(promptTokens: Int, maxTokens: Int, pricing: TokenPricing) -> MicroDollars {
        cost(promptTokens: promptTokens, completionTokens: maxTokens, pricing: pricing)
    }

    /// Tokens added for every message: the chat template's role header and end-of-turn markers.
    ///
    /// OpenAI's chat format spends 3 per message (4 with a `name`); Llama 3's template spends 5
    /// (`<|start_header_id|>`, the role, `<|end_header_id|>`, `\n\n`, `<|eot_id|>`).
    public static let tokensPerMessage = 5

    /// Tokens added once per request: the start of text and the assistant header that primes the
    /// reply (3 in OpenAI's format, 5 in Llama 3's).
    public static let tokensPerRequest = 5

    /// A deterministic, deliberately high estimate of a prompt's token count, used only to size
    /// the budget reservation before the vendor reports the real usage.
    ///
    /// The estimate is `5 + Σ (⌈utf8Bytes / 3⌉ + 5)` over the messages' texts.
    ///
    /// Why it over-counts for the tokenizers the gateway fronts (GPT's cl100k/o200k, Llama 3,
    /// and other byte-level BPEs with vocabularies of 32k+ entries):
    /// - English averages about 4 characters per token, i.e. 4 UTF-8 bytes; dividing the byte
    ///   count by 3 over-counts ordinary prose by about a third, and code, JSON and numbers
    ///   (which tokenize worse, 2.5–3.5 bytes per token) still land at or below the estimate on
    ///   any realistic length.
    /// - Non-Latin scripts cost more bytes per character in UTF-8 (2 for Cyrillic and Greek, 3 for
    ///   CJK), and tokenizers spend at most about one token per such character on common text,
    ///   so bytes / 3 keeps pace.
    /// - The per-message and per-request constants are the largest chat-template overheads above.
    ///
    /// It is not a bound for adversarial text (random bytes or rare symbols can cost one token per
    /// byte). That is acceptable: the estimate only sizes the reservation, and the ledger always
    /// settles the *reported* usage, even above the reservation (see `BudgetLedger.settle`).
    public static func estimatePromptTokens(messages: [String]) -> Int {
        var tokens = tokensPerRequest
        for message in messages {
            tokens += (message.utf8.count + 2) / 3 + tokensPerMessage
        }
        return tokens
    }
}
