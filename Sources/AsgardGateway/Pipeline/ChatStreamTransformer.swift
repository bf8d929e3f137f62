import AsgardCore
import AsgardJSON

/// Turns the vendor's `chat.completion.chunk` events into the client's, pure and synchronous,
/// with the output guardrails over everything the client will read.
///
/// **Text channels.** Every string a choice's `delta` carries is a channel with its own
/// `StreamGuardrail`, so a match split across chunks is still caught: `content`, `refusal`,
/// `reasoning_content`, each tool call's `function.arguments`, `function.name` and `id` (tool
/// calls are told apart by their `index`), and any other field. A channel's fragments are
/// replaced by what its guardrail releases; what it holds back is released later, or at the
/// choice's `finish_reason`, or at `finish()`. Strings in other arrays, object keys, and every
/// field outside `delta` (ids, `model`, `logprobs` alternatives) are checked whole.
///
/// **Logprobs.** Their tokens spell the text, so under `block` and `redact` each entry is held
/// until the text it covers has been released by the channel it belongs to (`content` or
/// `refusal`), and until the text the tokens spell (and their `bytes` spell) has been released
/// by guardrails of their own, in case a vendor makes them disagree. Under `redact`, a choice
/// loses its logprobs from its first finding on: a token cannot be redacted consistently with
/// the text.
///
/// Per the action:
/// - `redact`: matches replaced by `[REDACTED:<detector>]`;
/// - `log`: everything passes unchanged and at once; findings are collected for the audit entry;
/// - `block`: the first finding sets `blocked` and nothing more is produced (not the chunk that
///   has the match's first byte, nor anything after it).
///
/// The vendor's `[DONE]` is swallowed (`sawDone`); the gateway sends its own after the ledger
/// row is durable. The `usage` chunk is forwarded only when the client asked for it
/// (`stream_options.include_usage`); the gateway asks the vendor regardless.
struct ChatStreamTransformer: Sendable {
    let action: GuardrailAction
    let detectors: Set<GuardrailDetector>
    /// Whether `usage` is passed on to the client.
    let forwardUsage: Bool
    /// Reads the vendor's events into OpenAI chunks.
    let adapter: any InferenceAdapter

    private var choices: [Int64: StreamedChoice] = [:]
    /// Choice indexes in order of first appearance.
    private var order: [Int64] = []
    /// The last chunk's envelope (`id`, `object`, `created`, `model`), for chunks the gateway makes.
    private var envelope: JSONValue = .object([JSONMember(key: "object", value: .string("chat.completion.chunk"))])

    /// Bytes of text the vendor generated (before any redaction), all choices and channels.
    private(set) var generatedBytes = 0
    /// The vendor's reported usage, if a chunk carried it.
    private(set) var usage: (prompt: Int, completion: Int)?
    private(set) var sawDone = false
    /// Set when the vendor sent an error object instead of a chunk (its code, if any).
    private(set) var upstreamFailure: String?
    /// Set when the `block` action stopped the stream.
    private(set) var blocked: GuardrailDetector?
    /// Detectors that fired, in order (offsets are not kept).
    private(set) var findings: [GuardrailDetector] = []

    init(action: GuardrailAction, detectors: Set<GuardrailDetector>, forwardUsage: Bool, adapter: any InferenceAdapter = OpenAICompatibleAdapter()) {
        self.action = action
        self.detectors = detectors
        self.forwardUsage = forwardUsage
        self.adapter = adapter
    }

    /// Whether nothing more should be read from the vendor.
    var isStopped: Bool { sawDone || blocked != nil || upstreamFailure != nil }

    /// Whether the vendor ended the stream properly: `[DONE]`, or every choice it started
    /// reached a `finish_reason` (`[DONE]` is not guaranteed by Databricks).
    var isComplete: Bool { sawDone || (!order.isEmpty && order.allSatisfy { choices[$0]?.finished == true }) }

    /// The client's SSE frames for one vendor event (none or one).
    mutating func accept(_ event: SSEEvent) -> [[UInt8]] {
        guard !isStopped else { return [] }
        let chunk: JSONValue
        switch adapter.chunk(from: event) {
        case .done:
            sawDone = true
            return []
        case .failure(let code):
            upstreamFailure = code
            return []
        case .ignored:
            // An event that cannot be read cannot be checked, so it is not forwarded.
            return []
        case .chunk(let read):
            chunk = read
        }
        if case .integer(let prompt)? = chunk["usage"]?["prompt_tokens"], case .integer(let completion)? = chunk["usage"]?["completion_tokens"] {
            usage = (Gateway.Usage.clamped(prompt), Gateway.Usage.clamped(completion))
        }
        do {
            envelope = try checkedWhole(chunk.removing("choices").removing("usage"))
            var out = forwardUsage ? try checkedWhole(chunk.removing("choices")) : envelope
            guard case .array(let incoming)? = chunk["choices"], !incoming.isEmpty else {
                // A usage-only chunk the client did not ask for is dropped.
                return forwardUsage ? [Self.frame(out)] : []
            }
            var outgoing: [JSONValue] = []
            for choice in incoming { outgoing.append(try guarded(choice)) }
            out = out.setting("choices", to: .array(outgoing))
            return [Self.frame(out)]
        } catch {
            blocked = error.detector
            return []
        }
    }

    /// Ends the stream (normally or not): text still held is released in gateway-made chunks,
    /// one per unfinished choice. Nothing once stopped by `block`.
    mutating func finish() -> [[UInt8]] {
        guard blocked == nil else { return [] }
        var out: [[UInt8]] = []
        do {
            for index in order where choices[index]?.finished == false {
                let (delta, logprobs) = try finishChoice(index)
                guard delta != .object([]) || logprobs != nil else { continue }
                let choice = JSONValue.object([
                    JSONMember(key: "index", value: .integer(index)), JSONMember(key: "delta", value: delta),
                    JSONMember(key: "logprobs", value: logprobs ?? .null), JSONMember(key: "finish_reason", value: .null),
                ])
                out.append(Self.frame(envelope.setting("choices", to: .array([choice]))))
            }
        } catch {
            blocked = error.detector
            return []
        }
        return out
    }

    // MARK: One choice

    /// A choice as the client may see it; its held text and logprobs advance.
    private mutating func guarded(_ choice: JSONValue) throws(GuardrailBlock) -> JSONValue {
        let index: Int64
        if case .integer(let stated)? = choice["index"] { index = stated } else { index = 0 }
        if choices[index] == nil {
            choices[index] = StreamedChoice()
            order.append(index)
        }
        guard case .object(let members) = choice else { return try checkedWhole(choice) }
        var out: [JSONMember] = []
        var delta: JSONValue = .object([])
        var logprobs: JSONValue?
        for member in members {
            switch member.key {
            case "delta":
                delta = try guardedDelta(member.value, choice: index)
            case "logprobs":
                logprobs = try heldLogprobs(member.value, choice: index)
            default:
                out.append(JSONMember(key: try checkedKey(member.key), value: try checkedWhole(member.value)))
            }
        }
        if let reason = choice["finish_reason"], reason != .null, choices[index]?.finished == false {
            let (rest, released) = try finishChoice(index)
            delta = Self.merging(rest, into: delta)
            logprobs = Self.joining(logprobs, released)
        } else if action != .log {
            logprobs = releasedLogprobs(choice: index)
        }
        out.append(JSONMember(key: "delta", value: delta))
        if choice["logprobs"] != nil || logprobs != nil { out.append(JSONMember(key: "logprobs", value: logprobs ?? .null)) }
        return .object(out)
    }

    /// Releases everything a choice still holds: its channels' text (as a delta) and its logprobs.
    private mutating func finishChoice(_ index: Int64) throws(GuardrailBlock) -> (delta: JSONValue, logprobs: JSONValue?) {
        guard var choice = choices[index] else { return (.object([]), nil) }
        var delta: JSONValue = .object([])
        for path in choice.channelOrder {
            let (emit, found) = choice.channels[path]!.finish()
            let text = try judge(emit, found, raw: nil, choice: &choice)
            if !text.isEmpty { delta = Self.appending(text, at: path[...], in: delta) }
        }
        for kind in choice.logprobOrder {
            let found = choice.logprobs[kind]!.finish()
            _ = try judge("", found, raw: nil, choice: &choice)
        }
        choice.finished = true
        choices[index] = choice
        guard action != .log, !choice.logprobsDropped else { return (delta, nil) }
        return (delta, releasedLogprobs(choice: index, all: true))
    }

    /// The delta with each string passed through its channel's guardrail.
    private mutating func guardedDelta(_ delta: JSONValue, choice index: Int64) throws(GuardrailBlock) -> JSONValue {
        var choice = choices[index]!
        defer { choices[index] = choice }
        return try guardedValue(delta, path: [], choice: &choice)
    }

    private mutating func guardedValue(_ value: JSONValue, path: [ChannelStep], choice: inout StreamedChoice) throws(GuardrailBlock) -> JSONValue {
        switch value {
        case .string(let raw):
            // Enumerations (`role`, a tool call's `type`) arrive whole: held back, they would
            // reach the client only at the end. Anything else is a channel.
            if case .key(let field)? = path.last, Self.wholeFields[field]?.contains(raw) == true { return value }
            generatedBytes += raw.utf8.count
            return .string(try push(raw, channel: path, choice: &choice))
        case .object(let members):
            var out: [JSONMember] = []
            out.reserveCapacity(members.count)
            for member in members {
                out.append(
                    JSONMember(key: try checkedKey(member.key), value: try guardedValue(member.value, path: path + [.key(member.key)], choice: &choice)))
            }
            return .object(out)
        case .array(let elements) where path.last == .key("tool_calls"):
            var out: [JSONValue] = []
            for (position, call) in elements.enumerated() {
                let index: Int64
                if case .integer(let stated)? = call["index"] { index = stated } else { index = Int64(position) }
                out.append(try guardedValue(call, path: path + [.toolCall(index)], choice: &choice))
            }
            return .array(out)
        default:
            return try checkedWhole(value)
        }
    }

    /// Fields of a delta whose known values pass at once.
    static let wholeFields: [String: Set<String>] = [
        "role": ["assistant", "user", "system", "tool", "developer"], "type": ["function"],
    ]

    /// One fragment of a channel: what its guardrail releases now.
    private mutating func push(_ raw: String, channel path: [ChannelStep], choice: inout StreamedChoice) throws(GuardrailBlock) -> String {
        if choice.channels[path] == nil {
            choice.channels[path] = StreamGuardrail(detectors: detectors)
            choice.channelOrder.append(path)
        }
        choice.pushed[path, default: 0] += raw.utf8.count
        let (emit, found) = choice.channels[path]!.push(raw)
        return try judge(emit, found, raw: raw, choice: &choice)
    }

    /// Applies the action to what a guardrail released. `raw` is the pushed text (`log` forwards it).
    private mutating func judge(_ emit: String, _ found: [GuardrailFinding], raw: String?, choice: inout StreamedChoice) throws(GuardrailBlock) -> String {
        findings += found.map(\.detector)
        if !found.isEmpty { choice.logprobsDropped = true }
        switch action {
        case .redact:
            return emit
        case .log:
            return raw ?? ""
        case .block:
            if let first = found.first { throw GuardrailBlock(detector: first.detector) }
            // A long secret is emitted as its marker before its finding is reported (the
            // guardrail swallows the rest of its run): that too is a block.
            if let marker = detectors.sorted().first(where: { emit.contains($0.redactionMarker) }) { throw GuardrailBlock(detector: marker) }
            return emit
        }
    }

    // MARK: Logprobs

    /// A choice's `logprobs` for this chunk: under `log`, as they came; otherwise nil (its
    /// entries are held, and released by `releasedLogprobs`).
    private mutating func heldLogprobs(_ logprobs: JSONValue, choice index: Int64) throws(GuardrailBlock) -> JSONValue? {
        guard action != .log else { return try checkedWhole(logprobs) }
        guard case .object(let kinds) = logprobs else { return nil }
        var choice = choices[index]!
        defer { choices[index] = choice }
        for member in kinds {
            guard case .array(let entries) = member.value else { continue }
            if choice.logprobs[member.key] == nil {
                choice.logprobs[member.key] = HeldLogprobs(detectors: detectors)
                choice.logprobOrder.append(member.key)
            }
            for entry in entries {
                var whole = DocumentGuardrail(action: action, detectors: detectors)
                let checked = try whole.apply(entry)
                findings += whole.findings
                if !whole.findings.isEmpty { choice.logprobsDropped = true }
                let found = choice.logprobs[member.key]!.hold(checked)
                _ = try judge("", found, raw: nil, choice: &choice)
            }
        }
        return nil
    }

    /// The held logprobs entries of a choice whose text has been released (all of them with
    /// `all`), as a `logprobs` object; nil when there are none or the choice lost its logprobs.
    private mutating func releasedLogprobs(choice index: Int64, all: Bool = false) -> JSONValue? {
        guard var choice = choices[index] else { return nil }
        defer { choices[index] = choice }
        guard !choice.logprobsDropped else {
            for kind in choice.logprobOrder { choice.logprobs[kind]!.drop() }
            return nil
        }
        var out: [JSONMember] = []
        for kind in choice.logprobOrder {
            let path: [ChannelStep] = [.key(kind)]
            let textReleased = all ? Int.max : (choice.pushed[path] ?? 0) - (choice.channels[path]?.heldBytes ?? 0)
            let released = choice.logprobs[kind]!.release(textReleased: textReleased, all: all)
            if !released.isEmpty { out.append(JSONMember(key: kind, value: .array(released))) }
        }
        return out.isEmpty ? nil : .object(out)
    }

    // MARK: Whole values

    /// A value outside the text channels, every string of it checked whole.
    private mutating func checkedWhole(_ value: JSONValue) throws(GuardrailBlock) -> JSONValue {
        var scan = DocumentGuardrail(action: action, detectors: detectors)
        defer { findings += scan.findings }
        return try scan.apply(value)
    }

    private mutating func checkedKey(_ key: String) throws(GuardrailBlock) -> String {
        var scan = DocumentGuardrail(action: action, detectors: detectors)
        defer { findings += scan.findings }
        return try scan.apply(key) ?? key
    }

    // MARK: Building deltas

    /// `delta` with `text` appended to the string at `path` (created, with the objects and tool
    /// calls on the way, when missing).
    static func appending(_ text: String, at path: ArraySlice<ChannelStep>, in value: JSONValue?) -> JSONValue {
        guard let step = path.first else {
            if case .string(let existing)? = value { return .string(existing + text) }
            return .string(text)
        }
        switch step {
        case .key(let key):
            var base: JSONValue = .object([])
            if case .object? = value { base = value! }
            return base.setting(key, to: appending(text, at: path.dropFirst(), in: base[key]))
        case .toolCall(let index):
            var calls: [JSONValue] = []
            if case .array(let existing)? = value { calls = existing }
            if let at = calls.firstIndex(where: { $0["index"] == .integer(index) }) {
                calls[at] = appending(text, at: path.dropFirst(), in: calls[at])
            } else {
                calls.append(appending(text, at: path.dropFirst(), in: .object([JSONMember(key: "index", value: .integer(index))])))
            }
            return .array(calls)
        }
    }

    /// `delta` with every string of `rest` (a delta of released text) appended at its place.
    static func merging(_ rest: JSONValue, into delta: JSONValue) -> JSONValue {
        var merged = delta
        func walk(_ value: JSONValue, _ path: [ChannelStep]) {
            switch value {
            case .string(let text): merged = appending(text, at: path[...], in: merged)
            case .object(let members): for member in members where member.key != "index" { walk(member.value, path + [.key(member.key)]) }
            case .array(let calls):
                for (position, call) in calls.enumerated() {
                    let index: Int64
                    if case .integer(let stated)? = call["index"] { index = stated } else { index = Int64(position) }
                    walk(call, path + [.toolCall(index)])
                }
            default: break
            }
        }
        walk(rest, [])
        return merged
    }

    /// Two `logprobs` objects as one, entries of each kind in order.
    static func joining(_ first: JSONValue?, _ second: JSONValue?) -> JSONValue? {
        guard case .object(let later)? = second else { return first }
        guard case .object = first else { return second }
        var joined = first!
        for member in later {
            if case .array(let earlier)? = joined[member.key], case .array(let more) = member.value {
                joined = joined.setting(member.key, to: .array(earlier + more))
            } else {
                joined = joined.setting(member.key, to: member.value)
            }
        }
        return joined
    }

    // MARK: Frames

    static func frame(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + value.jsonBytes + Array("\n\n".utf8)
    }

    static func errorFrame(_ error: GatewayError) -> [UInt8] {
        Array("data: ".utf8) + Array(error.body.utf8) + Array("\n\n".utf8)
    }

    static let doneFrame = Array("data: [DONE]\n\n".utf8)

    /// Completion tokens when the vendor reports none: `⌈bytes / 3⌉` of the generated text
    /// (the same deliberately high rate as `Pricing.estimatePromptTokens`), at most `maxTokens`
    /// (the vendor was told it may not produce more). Zero for no text.
    static func estimateCompletionTokens(bytes: Int, maxTokens: Int) -> Int {
        min(max(maxTokens, 0), (bytes + 2) / 3)
    }
}

/// A step on the way from a choice's `delta` to one of its strings.
enum ChannelStep: Hashable, Sendable {
    case key(String)
    /// The tool call with this `index`.
    case toolCall(Int64)
}

/// What the transformer keeps for one choice.
struct StreamedChoice: Sendable {
    var channels: [[ChannelStep]: StreamGuardrail] = [:]
    var channelOrder: [[ChannelStep]] = []
    /// Raw bytes pushed into each channel.
    var pushed: [[ChannelStep]: Int] = [:]
    /// Held logprobs by kind (`content`, `refusal`).
    var logprobs: [String: HeldLogprobs] = [:]
    var logprobOrder: [String] = []
    /// Set at the first finding in the choice: its logprobs are withheld from then on.
    var logprobsDropped = false
    var finished = false
}

/// One kind of a choice's logprobs entries, held until the text they spell is released.
struct HeldLogprobs: Sendable {
    /// The text the entries' tokens spell, and the text their `bytes` spell.
    private var tokens: StreamGuardrail
    private var bytes: StreamGuardrail
    /// Entries not yet released, with where each ends in the token text, in the bytes' text,
    /// and in the text it covers.
    private(set) var entries: [(entry: JSONValue, tokenEnd: Int, spelledEnd: Int, textEnd: Int)] = []
    private var tokenBytes = 0
    private var spelledBytes = 0
    private var textBytes = 0

    init(detectors: Set<GuardrailDetector>) {
        tokens = StreamGuardrail(detectors: detectors)
        bytes = StreamGuardrail(detectors: detectors)
    }

    /// Holds `entry` (already checked whole); returns what its token and bytes add to the
    /// spelled texts' findings.
    mutating func hold(_ entry: JSONValue) -> [GuardrailFinding] {
        var token = ""
        if case .string(let text)? = entry["token"] { token = text }
        let raw = LogprobsText.tokenBytes(entry)
        let spelled = String(decoding: raw, as: UTF8.self)
        let found = tokens.push(token).findings + bytes.push(spelled).findings
        tokenBytes += token.utf8.count
        spelledBytes += spelled.utf8.count
        textBytes += raw.isEmpty ? token.utf8.count : raw.count
        entries.append((entry, tokenBytes, spelledBytes, textBytes))
        return found
    }

    /// The end of the spelled texts: what they still held.
    mutating func finish() -> [GuardrailFinding] {
        tokens.finish().findings + bytes.finish().findings
    }

    /// The entries whose spelled texts, and the text they cover (`textReleased` bytes of it
    /// are out), have been released; every entry with `all`.
    mutating func release(textReleased: Int, all: Bool) -> [JSONValue] {
        let tokensReleased = tokenBytes - tokens.heldBytes
        let spelledReleased = spelledBytes - bytes.heldBytes
        let count =
            all
            ? entries.count
            : entries.prefix { $0.tokenEnd <= tokensReleased && $0.spelledEnd <= spelledReleased && $0.textEnd <= textReleased }.count
        defer { entries.removeFirst(count) }
        return entries.prefix(count).map(\.entry)
    }

    /// Drops every held entry.
    mutating func drop() { entries.removeAll() }
}
