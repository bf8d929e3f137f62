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

    /// The most a call can cost: `promptTokens` (a bound, `promptTokenBound`) plus
    /// `completionTokens` (`n` × the token cap). This is what the gateway reserves against the
    /// project's budget before calling the vendor, and the most settlement ever charges.
    public static func worstCase(promptTokens: Int, completionTokens: Int, pricing: TokenPricing) -> MicroDollars {
        cost(promptTokens: promptTokens, completionTokens: completionTokens, pricing: pricing)
    }

    /// Tokens added for every message: the chat template's role header and end-of-turn markers.
    ///
    /// OpenAI's chat format spends 3 per message (4 with a `name`); Llama 3's template spends 5
    /// (`<|start_header_id|>`, the role, `<|end_header_id|>`, `\n\n`, `<|eot_id|>`).
    public static let tokensPerMessage = 5

    /// Tokens added once per request: the start of text and the assistant header that primes the
    /// reply (3 in OpenAI's format, 5 in Llama 3's), plus a default system header a template may
    /// add (Llama 3.1's dates, about 25), with room to spare.
    public static let tokensPerRequest = 64

    /// Tokens a template may add around tool definitions: a preamble once (OpenAI's
    /// `namespace functions`, Llama's tool instructions) and a header per tool.
    public static let tokensForTools = 256
    public static let tokensPerTool = 16

    /// The most prompt tokens a request whose body is `bodyBytes` long can cost.
    ///
    /// Every tokenizer the gateway fronts spends at least one byte of input per token (byte-level
    /// BPEs such as GPT's cl100k/o200k and Llama 3's; SentencePiece models with byte fallback),
    /// so the text a vendor renders from the body costs at most its byte count, and the body's
    /// JSON is longer than any text rendered from it (quotes, braces and key names included).
    /// Only the template's own tokens are added. Images and audio, whose cost their bytes do
    /// not bound, are refused before this is asked.
    public static func promptTokenBound(bodyBytes: Int, messages: Int, tools: Int) -> Int {
        bodyBytes + tokensPerRequest + messages * tokensPerMessage + (tools > 0 ? tokensForTools + tools * tokensPerTool : 0)
    }

    /// A deterministic, deliberately high estimate of a prompt's token count, charged only when
    /// the vendor reports no usage: `⌈bodyBytes / 3⌉ + 5 + 5 per message`, never above the bound.
    ///
    /// Why it over-counts for the tokenizers the gateway fronts (GPT's cl100k/o200k, Llama 3,
    /// and other byte-level BPEs with vocabularies of 32k+ entries):
    /// - English averages about 4 characters per token, i.e. 4 UTF-8 bytes; dividing the byte
    ///   count by 3 over-counts ordinary prose by about a third, and code, JSON and numbers
    ///   (which tokenize worse, 2.5–3.5 bytes per token) still land at or below the estimate on
    ///   any realistic length. The body's JSON syntax (quotes, braces, key names) is counted too.
    /// - Non-Latin scripts cost more bytes per character in UTF-8 (2 for Cyrillic and Greek, 3 for
    ///   CJK), and tokenizers spend at most about one token per such character on common text,
    ///   so bytes / 3 keeps pace.
    ///
    /// It is not a bound for adversarial text (random bytes can cost one token per byte): the
    /// reservation uses `promptTokenBound`, and a vendor that reports usage is charged that.
    public static func estimatePromptTokens(bodyBytes: Int, messages: Int, tools: Int) -> Int {
        min((bodyBytes + 2) / 3 + 5 + messages * 5, promptTokenBound(bodyBytes: bodyBytes, messages: messages, tools: tools))
    }
}
