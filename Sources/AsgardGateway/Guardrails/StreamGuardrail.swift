/// Scans a streamed completion chunk by chunk, so a match split across chunks is still found.
///
/// Each `push` appends the chunk to a buffer (the bytes not yet emitted, plus up to 96 bytes
/// already emitted as look-behind context), scans it, and releases everything except the
/// last `window` bytes, with findings redacted. The cut is then moved back so it never falls
/// inside a candidate match (or a group of overlapping candidates), nor inside a UTF-8
/// scalar, nor inside a trailing `eyJ…` run that could still become a JWT. So the
/// concatenation of every `emit` (pushes, then `finish`) equals
/// `Guardrails.redact(fullText, detectors:)`, and the findings equal `Guardrails.scan`, as
/// long as the limits below are not exceeded.
///
/// Why a window of 256 suffices: every PII decision and every bounded secret (AWS key id,
/// PEM header) depends on at most 255 bytes from the match start (emails are capped at
/// 64 + 1 + 188 bytes); so anything starting before the last `window` bytes is fully
/// visible. `window` is raised to `minimumWindow` if smaller.
///
/// Long secrets (`dapi…`, `sk-…` and JWT signatures are runs of any length): when such a match
/// ends inside the buffer it is emitted whole even past the window; while it still reaches
/// the end of the buffer it is held, up to `maxHold` bytes. Past that, its marker is emitted
/// at once and the rest of its run (`A-Z a-z 0-9 - _`) is swallowed as it arrives, ending the
/// finding at the first other byte, exactly as the one-piece scan would. Limitations (only for
/// pathological inputs): an unconfirmed `eyJ…` run longer than `maxHold` is redacted as a JWT
/// (run of `A-Z a-z 0-9 - _ .`) even if it never becomes one; and if overlapping candidates
/// keep the buffer above `2 * maxHold + window` bytes, text is released at the window edge
/// regardless.
///
/// Memory and time: the buffer stays under about `maxHold + window + chunk` bytes, and each
/// push rescans it, so the cost is linear in the stream with a factor of at most the buffer
/// size per push.
public struct StreamGuardrail: Sendable {
    /// The smallest window that keeps every bounded detector's decision inside the buffer.
    public static let minimumWindow = 256
    /// Bytes of already-emitted text kept for look-behind (word boundaries, email local parts).
    static let contextBytes = 96

    public let detectors: Set<GuardrailDetector>
    /// Bytes held back at the tail of each push.
    public let window: Int
    /// How long an unfinished long secret (or `eyJ…` run) may be held before it is redacted
    /// and swallowed (see the type documentation).
    public let maxHold: Int

    private struct Swallow: Sendable {
        var detector: GuardrailDetector
        /// Stream offset of the match start.
        var start: Int
        /// Whether `.` continues the run (only for an unconfirmed `eyJ…` run).
        var dots: Bool
    }

    private var buffer: [UInt8] = []
    /// Index in `buffer` of the first byte not yet emitted; bytes before it are context.
    private var pendingStart = 0
    /// Stream offset of `buffer[0]`.
    private var base = 0
    private var swallow: Swallow?

    public init(detectors: Set<GuardrailDetector> = GuardrailDetector.all, window: Int = 256) {
        self.detectors = detectors
        self.window = max(window, Self.minimumWindow)
        self.maxHold = max(16 * self.window, 4096)
    }

    /// Bytes pushed but not yet emitted (held back by the window or an unfinished match).
    public var heldBytes: Int { buffer.count - pendingStart }

    /// Adds `chunk`; returns the text now safe to emit (findings redacted) and the findings in
    /// it, with ranges as UTF-8 offsets into the whole stream.
    public mutating func push(_ chunk: String) -> (emit: String, findings: [GuardrailFinding]) {
        buffer.append(contentsOf: chunk.utf8)
        return process(final: false)
    }

    /// Ends the stream: emits everything still held.
    public mutating func finish() -> (emit: String, findings: [GuardrailFinding]) {
        process(final: true)
    }

    private static func isToken(_ c: UInt8) -> Bool { PIIScanner.isAlnum(c) || c == 45 || c == 95 }
    private static func isUnbounded(_ detector: GuardrailDetector) -> Bool {
        detector == .databricksToken || detector == .openAIKey || detector == .jwt
    }

    private mutating func process(final: Bool) -> (emit: String, findings: [GuardrailFinding]) {
        var findings: [GuardrailFinding] = []
        let end = buffer.count
        if let current = swallow {
            var j = pendingStart
            while j < end, Self.isToken(buffer[j]) || (current.dots && buffer[j] == 46) { j += 1 }
            pendingStart = j
            if j == end, !final {
                trimContext()
                return ("", [])
            }
            findings.append(GuardrailFinding(detector: current.detector, range: current.start..<(base + j)))
            swallow = nil
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let candidates = Guardrails.candidates(in: buffer, text: text, detectors: detectors)
            .filter { $0.range.lowerBound >= pendingStart }
        let kept = Guardrails.resolve(candidates)

        var cut = end
        var force: Swallow?
        if !final {
            cut = end - window
            let jwtStart = detectors.contains(.jwt) ? potentialJWTStart() : nil
            if let last = kept.last, last.range.upperBound == end, Self.isUnbounded(last.detector),
                end - last.range.lowerBound > maxHold
            {
                cut = last.range.lowerBound
                force = Swallow(detector: last.detector, start: base + cut, dots: false)
            } else if let p = jwtStart {
                if end - p <= maxHold {
                    cut = min(cut, p)
                } else {
                    cut = p
                    force = Swallow(detector: .jwt, start: base + p, dots: true)
                }
            }
            cut = max(cut, pendingStart)
            let settled = settle(cut, candidates: candidates, kept: kept, end: end, jwtStart: jwtStart, allowForward: force == nil)
            if force != nil, settled != cut { force = nil }
            cut = settled
            if force == nil, end - pendingStart > 2 * maxHold + window {
                cut = max(pendingStart, end - window)
                while cut > pendingStart, buffer[cut] & 0xC0 == 0x80 { cut -= 1 }
            }
        }

        let emitted = kept.filter { $0.range.upperBound <= cut }
        var out = Guardrails.redact(bytes: buffer, from: pendingStart, to: cut, findings: emitted, offset: 0)
        findings += emitted.map { GuardrailFinding(detector: $0.detector, range: (base + $0.range.lowerBound)..<(base + $0.range.upperBound)) }
        if let force {
            out += force.detector.redactionMarker
            swallow = force
            pendingStart = end
        } else {
            pendingStart = cut
        }
        trimContext()
        return (out, findings)
    }

    /// Moves `cut` so it is not strictly inside a cluster of overlapping candidates nor inside
    /// a UTF-8 scalar. Moves back to the cluster start, except (once, when `allowForward`) to the
    /// cluster end when the cluster ends with a kept finding that is already final.
    private func settle(
        _ start: Int, candidates: [GuardrailFinding], kept: [GuardrailFinding], end: Int,
        jwtStart: Int?, allowForward: Bool
    ) -> Int {
        var cut = start
        var forward = allowForward
        while true {
            while cut > pendingStart, cut < end, buffer[cut] & 0xC0 == 0x80 { cut -= 1 }
            guard let cluster = cluster(containing: cut, candidates) else { return cut }
            if forward, let last = kept.last(where: { $0.range.upperBound == cluster.upperBound }),
                last.range.lowerBound >= cluster.lowerBound, last.range.upperBound < end,
                Self.isUnbounded(last.detector) || last.range.lowerBound + window <= end,
                jwtStart.map({ cluster.upperBound <= $0 }) ?? true
            {
                cut = cluster.upperBound
            } else {
                cut = cluster.lowerBound
            }
            forward = false
        }
    }

    /// The union of the overlapping candidates around `cut`, if `cut` is strictly inside it.
    private func cluster(containing cut: Int, _ candidates: [GuardrailFinding]) -> Range<Int>? {
        var lower = -1
        var upper = -1
        for candidate in candidates {
            let range = candidate.range
            if range.lowerBound >= upper {
                if lower >= 0, lower < cut, cut < upper { return lower..<upper }
                lower = range.lowerBound
                upper = range.upperBound
            } else {
                upper = max(upper, range.upperBound)
            }
            if lower > cut { return nil }
        }
        if lower >= 0, lower < cut, cut < upper { return lower..<upper }
        return nil
    }

    /// Start of a trailing `eyJ…` run (header, or header `.` payload) that could still become
    /// a JWT once more bytes arrive; `nil` if there is none in the unemitted bytes.
    private func potentialJWTStart() -> Int? {
        var j = buffer.count
        if j > pendingStart, buffer[j - 1] == 46 { j -= 1 }
        var runs: [(start: Int, length: Int, closed: Bool)] = []
        for _ in 0..<2 {
            var k = j
            while k > 0, Self.isToken(buffer[k - 1]) { k -= 1 }
            guard k < j else { break }
            runs.append((k, j - k, j < buffer.count))
            guard k > 0, buffer[k - 1] == 46 else { break }
            j = k - 1
        }
        for run in runs.reversed() where run.start >= pendingStart && (run.start > 0 || base == 0) {
            guard run.length >= 3, buffer[run.start] == 101, buffer[run.start + 1] == 121, buffer[run.start + 2] == 74 else { continue }
            if run.closed, run.length < 10 { continue }
            return run.start
        }
        return nil
    }

    /// Drops emitted bytes except the last `contextBytes` (starting on a scalar boundary).
    private mutating func trimContext() {
        var drop = max(0, pendingStart - Self.contextBytes)
        while drop < pendingStart, buffer[drop] & 0xC0 == 0x80 { drop += 1 }
        guard drop > 0 else { return }
        buffer.removeFirst(drop)
        base += drop
        pendingStart -= drop
    }
}
