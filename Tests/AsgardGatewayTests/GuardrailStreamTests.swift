import AsgardTestSupport
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct GuardrailStreamTests {
    /// Streams `chunks` through a fresh guardrail; returns all emits joined and all findings.
    static func stream(
        _ chunks: [String], detectors: Set<GuardrailDetector> = GuardrailDetector.all,
        window: Int = 256
    ) -> (text: String, findings: [GuardrailFinding]) {
        var guardrail = StreamGuardrail(detectors: detectors, window: window)
        var out = ""
        var findings: [GuardrailFinding] = []
        for chunk in chunks {
            let step = guardrail.push(chunk)
            out += step.emit
            findings += step.findings
        }
        let last = guardrail.finish()
        return (out + last.emit, findings + last.findings)
    }

    /// `text` cut at the given character offsets.
    static func split(_ text: String, at cuts: [Int]) -> [String] {
        let characters = Array(text)
        var pieces: [String] = []
        var start = 0
        for cut in cuts.sorted() where cut > start && cut < characters.count {
            pieces.append(String(characters[start..<cut]))
            start = cut
        }
        pieces.append(String(characters[start...]))
        return pieces
    }

    static let filler = String(repeating: "Lorem ipsum dolor sit amet, é日 consectetur 12 adipiscing. ", count: 6)

    static func expectSameAsOnePiece(_ chunks: [String], _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let full = chunks.joined()
        let streamed = stream(chunks)
        #expect(streamed.text == Guardrails.redact(full), comment, sourceLocation: sourceLocation)
        #expect(streamed.findings == Guardrails.scan(full), comment, sourceLocation: sourceLocation)
    }

    /// Every positive sample, in the middle of more than a window of text, split in two at
    /// every offset inside the sample, in three at several pairs of offsets, and one character
    /// per chunk: the stream emits exactly the one-piece redaction.
    @Test(arguments: GuardrailScannerTests.positives)
    func splitMatchesAreCaught(_ sample: GuardrailScannerTests.Sample) {
        let before = Self.filler + "see "
        let text = before + sample.text + " and then " + Self.filler
        let start = before.count
        let length = sample.text.count
        let full = Guardrails.scan(text)
        #expect(full.contains { $0.detector == sample.detector })
        for cut in start...(start + length) {
            Self.expectSameAsOnePiece(Self.split(text, at: [cut]), "two pieces at \(cut)")
        }
        for first in stride(from: start - 3, through: start + length, by: max(1, length / 4)) {
            for second in stride(from: first + 1, through: start + length + 2, by: max(1, length / 3)) {
                Self.expectSameAsOnePiece(Self.split(text, at: [first, second]), "three pieces at \(first), \(second)")
            }
        }
        Self.expectSameAsOnePiece(text.map { String($0) }, "one character per chunk")
        let result = Self.stream(text.map { String($0) })
        #expect(!result.text.contains(sample.text))
        #expect(result.text.contains(sample.detector.redactionMarker))
    }

    @Test func findingsAreStreamOffsetsAndEmitsAreIncremental() {
        let text = Self.filler + "mail jane@example.com now " + Self.filler + "card 4111 1111 1111 1111. " + Self.filler
        var guardrail = StreamGuardrail()
        var emitted = 0
        var findings: [GuardrailFinding] = []
        for chunk in Self.split(text, at: Array(stride(from: 7, to: text.count, by: 7))) {
            let step = guardrail.push(chunk)
            emitted += step.emit.utf8.count
            findings += step.findings
        }
        #expect(emitted > 0)
        findings += guardrail.finish().findings
        #expect(findings == Guardrails.scan(text))
        #expect(findings.map(\.detector) == [.email, .creditCard])
    }

    @Test func holdsBackAtMostTheWindowForPlainText() {
        var guardrail = StreamGuardrail()
        let text = String(repeating: "plain words only ", count: 100)
        var emitted = ""
        for chunk in Self.split(text, at: Array(stride(from: 5, to: text.count, by: 5))) {
            emitted += guardrail.push(chunk).emit
            #expect(text.utf8.count > 0)
        }
        #expect(emitted.utf8.count >= text.utf8.count - 256 - 16)
        #expect(emitted + guardrail.finish().emit == text)
        #expect(StreamGuardrail(window: 10).window == StreamGuardrail.minimumWindow)
    }

    @Test func neverSplitsAScalar() {
        let text = String(repeating: "日本語🙂é", count: 200)
        var guardrail = StreamGuardrail()
        var emitted = ""
        for character in text {
            let step = guardrail.push(String(character))
            #expect(step.emit.unicodeScalars.allSatisfy { $0 != "\u{FFFD}" })
            emitted += step.emit
        }
        #expect(emitted + guardrail.finish().emit == text)
    }

    /// Secrets far longer than the window, including longer than the hold limit: still
    /// redacted exactly as in one piece.
    @Test(arguments: [100, 1_000, 10_000])
    func longSecretsAcrossManyChunks(_ length: Int) {
        let key = "sk-" + String(repeating: "aB3_", count: length / 4)
        let token = "dapi" + String(repeating: "0123456789abcdef", count: max(2, length / 16))
        let jwt =
            "eyJ" + String(repeating: "h", count: length) + ".eyJ" + String(repeating: "p", count: length) + ".sig"
            + String(repeating: "s", count: length)
        for secret in [key, token, jwt] {
            let text = Self.filler + "x " + secret + " tail " + Self.filler
            for size in [1, 7, 100, 4096] where size >= 100 || length <= 1_000 {
                let cuts = Array(stride(from: size, to: text.count, by: size))
                let result = Self.stream(Self.split(text, at: cuts))
                #expect(result.text == Guardrails.redact(text), "length \(length), chunk \(size)")
                #expect(result.findings == Guardrails.scan(text), "length \(length), chunk \(size)")
            }
        }
    }

    /// Random texts rich in digits, separators, `@`, `.` and letters (so partial and
    /// overlapping candidates are common), cut at random points: streaming equals one piece.
    @Test func randomChunkingEqualsOnePiece() async {
        await propertyCheck(count: 150, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let alphabet = Array("0123456789     -.()+@abcxyzAKIGBDE_é\n")
            var text = ""
            while text.utf8.count < 900 {
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    text += GuardrailSamples.positives.randomElement(using: &rng)!.1
                } else {
                    text += String((0..<Int.random(in: 1...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
                }
            }
            let count = text.count
            let cuts = (0..<Int.random(in: 1...60, using: &rng)).map { _ in Int.random(in: 1..<count, using: &rng) }
            let result = Self.stream(Self.split(text, at: cuts))
            #expect(result.text == Guardrails.redact(text), "seed \(seed)")
            #expect(result.findings == Guardrails.scan(text), "seed \(seed)")
        }
    }
}
