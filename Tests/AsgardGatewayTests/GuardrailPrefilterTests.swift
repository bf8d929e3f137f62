import AsgardTestSupport
import Testing

@testable import AsgardGateway

/// `Guardrails.mayMatch`, the prefilter that lets short strings skip the scanners, must never
/// skip a string any detector would match: a skipped secret would be forwarded.
@Suite struct GuardrailPrefilterTests {
    /// Every finding the scanners make in `text`, without the prefilter.
    static func unfiltered(_ text: String) -> [GuardrailFinding] {
        Guardrails.resolve(Guardrails.candidates(in: Array(text.utf8), text: text, detectors: GuardrailDetector.all))
    }

    @Test func everyKnownMatchPassesThePrefilter() {
        for (detector, sample) in GuardrailSamples.positives {
            #expect(Guardrails.mayMatch(sample), "\(detector) sample \(sample.prefix(6))… would be skipped")
            #expect(!Guardrails.scan(sample).isEmpty)
        }
    }

    /// 150,000 strings shorter than the prefilter's length bound: half random over an alphabet
    /// heavy in what matches are made of (digits, separators, `@`, `+`, parentheses, hex, upper
    /// case), half pieces of known matches with a character or two changed. None the prefilter
    /// skips has a finding; and some it lets through do, so the check is not vacuous.
    @Test func noSkippedStringHasAFinding() {
        let alphabet = Array("0123456789012345678901234567890123456789 -.()+@_abcdefxyzABCDEFGHKLMNOPRSTUVXYZ/:")
        let samples = GuardrailSamples.positives.map { Array($0.1) }
        var rng = SplitMix64(seed: 18)
        var skipped = 0
        var matchedShort = 0
        for index in 0..<150_000 {
            let length = Int.random(in: 0..<Guardrails.minimumUnmarkedLength, using: &rng)
            var characters: [Character]
            if index.isMultiple(of: 2) {
                characters = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
            } else {
                let sample = samples.randomElement(using: &rng)!
                let start = Int.random(in: 0...max(0, sample.count - length), using: &rng)
                characters = Array(sample[start..<min(sample.count, start + length)])
                for _ in 0..<Int.random(in: 0...2, using: &rng) where !characters.isEmpty {
                    characters[Int.random(in: 0..<characters.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
            }
            let text = String(characters)
            let findings = Self.unfiltered(text)
            if !Guardrails.mayMatch(text) {
                skipped += 1
                #expect(findings.isEmpty, "\(text.debugDescription) was skipped but has \(findings)")
            } else if !findings.isEmpty {
                matchedShort += 1
            }
        }
        #expect(skipped > 10_000 && matchedShort > 1_000, "skipped \(skipped), short strings with a finding \(matchedShort)")
    }

    /// The bounds, each at its edge: the shortest of each kind of match passes.
    @Test(arguments: ["a@b.io", "41555501", "123-45-6789", "GB82WEST1234569", "4111111111111111"])
    func theShortestMatchesPass(text: String) {
        #expect(Guardrails.mayMatch(text))
    }

    @Test(arguments: ["", "user", "assistant", "max_tokens", "1700000", "stop", "chatcmpl-42", "gpt-4o-mini", "prompt_tokens"])
    func theShortStringsOfAnOrdinaryCallAreSkipped(text: String) {
        #expect(!Guardrails.mayMatch(text))
    }
}
