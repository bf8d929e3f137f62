import AsgardTestSupport
import PropertyBased
import Testing

@testable import AsgardGateway

@Suite struct GuardrailScannerTests {
    static let positives = GuardrailSamples.positives.map { Sample(detector: $0.0, text: $0.1) }
    static let negatives = GuardrailSamples.negatives.map { Sample(detector: $0.0, text: $0.1) }

    struct Sample: Sendable, CustomTestStringConvertible {
        var detector: GuardrailDetector
        var text: String
        var testDescription: String { "\(detector.rawValue): \(text.prefix(40))" }
    }

    static func offset(of prefix: String) -> Int { prefix.utf8.count }

    @Test(arguments: positives)
    func findsEachPositiveAloneAndInContext(_ sample: Sample) {
        #expect(Guardrails.scan(sample.text) == [GuardrailFinding(detector: sample.detector, range: 0..<sample.text.utf8.count)])
        for (before, after) in [("Contact: ", " thanks."), ("(é日 ", ")\n"), ("x ", "")] {
            let text = before + sample.text + after
            let start = Self.offset(of: before)
            #expect(
                Guardrails.scan(text) == [GuardrailFinding(detector: sample.detector, range: start..<(start + sample.text.utf8.count))],
                "in \(text)")
            #expect(Guardrails.redact(text) == before + sample.detector.redactionMarker + after)
        }
    }

    @Test(arguments: positives)
    func onlyTheEnabledDetectorsRun(_ sample: Sample) {
        #expect(Guardrails.scan(sample.text, detectors: [sample.detector]).map(\.detector) == [sample.detector])
        #expect(
            Guardrails.scan(sample.text, detectors: GuardrailDetector.all.subtracting([sample.detector])).allSatisfy {
                $0.detector != sample.detector
            })
    }

    @Test(arguments: negatives)
    func nearMissesDoNotMatch(_ sample: Sample) {
        let found = Guardrails.scan("see " + sample.text + " ok").filter { $0.detector == sample.detector }
        #expect(found.isEmpty, "\(found)")
    }

    @Test func everyDetectorHasPositivesAndNegatives() {
        for detector in GuardrailDetector.allCases {
            #expect(GuardrailSamples.positives.contains { $0.0 == detector })
            #expect(GuardrailSamples.negatives.contains { $0.0 == detector })
        }
        #expect(
            GuardrailDetector.allCases.map(\.rawValue) == [
                "databricks_token", "openai_key", "aws_access_key_id", "private_key", "jwt",
                "email", "phone", "credit_card", "us_ssn", "iban",
            ])
    }

    // MARK: Specific rules

    @Test func emailTrimsSentencePunctuationAndLeadingDots() {
        #expect(Guardrails.scan("mail a@b.io.") == [GuardrailFinding(detector: .email, range: 5..<11)])
        #expect(Guardrails.scan("mail a@b.io-") == [GuardrailFinding(detector: .email, range: 5..<11)])
        #expect(Guardrails.scan("..a@b.io") == [GuardrailFinding(detector: .email, range: 2..<8)])
        #expect(Guardrails.scan(String(repeating: "x", count: 64) + "@example.com").count == 1)
    }

    @Test func phoneTakesTheLongestValidPrefixOfAGroupRun() {
        // `415-555-0132 5` has four groups (11 digits): only the first three form a phone.
        #expect(Guardrails.scan("call 415-555-0132 5 times") == [GuardrailFinding(detector: .phone, range: 5..<17)])
    }

    @Test func cardTakesTheLongestLuhnValidPrefix() {
        #expect(Guardrails.scan("4111 1111 1111 1111 123") == [GuardrailFinding(detector: .creditCard, range: 0..<19)])
    }

    @Test func luhnAndChecksumHelpers() {
        #expect(PIIScanner(Array("79927398713".utf8)).luhn(from: 0, to: 11))
        #expect(!PIIScanner(Array("79927398710".utf8)).luhn(from: 0, to: 11))
        let iban = Array("GB82WEST12345698765432".utf8)
        #expect(PIIScanner(iban).ibanChecksum(from: 0, to: iban.count))
        // Every single-digit change of the check digits breaks the checksum.
        for check in 0...99 where check != 82 {
            let text = "GB" + (check < 10 ? "0" : "") + "\(check)WEST12345698765432"
            #expect(!PIIScanner(Array(text.utf8)).ibanChecksum(from: 0, to: 22))
        }
    }

    // MARK: Overlaps

    @Test func earlierStartWins() {
        // The phone `+4111…` is too long (16 digits), so the card inside is kept.
        #expect(Guardrails.scan("+4111 1111 1111 1111") == [GuardrailFinding(detector: .creditCard, range: 1..<20)])
        // Digit groups inside an IBAN (a trunk-style phone `0044 0532 0130 00`) are not reported.
        #expect(Guardrails.scan("DE89 3704 0044 0532 0130 00").map(\.detector) == [.iban])
        // An email whose local part is a phone number: same start, the longer email wins.
        #expect(Guardrails.scan("415-555-0132@example.com") == [GuardrailFinding(detector: .email, range: 0..<24)])
    }

    @Test func resolveKeepsEarlierThenLonger() {
        func f(_ d: GuardrailDetector, _ r: Range<Int>) -> GuardrailFinding { GuardrailFinding(detector: d, range: r) }
        let merged = Guardrails.merge([[f(.jwt, 0..<5), f(.jwt, 12..<14)], [f(.email, 3..<10), f(.phone, 10..<12)], [f(.iban, 0..<8)]])
        #expect(merged == [f(.iban, 0..<8), f(.jwt, 0..<5), f(.email, 3..<10), f(.phone, 10..<12), f(.jwt, 12..<14)])
        #expect(Guardrails.resolve(merged) == [f(.iban, 0..<8), f(.phone, 10..<12), f(.jwt, 12..<14)])
        // Same start and length: detector declaration order.
        #expect(Guardrails.resolve(Guardrails.merge([[f(.phone, 0..<4)], [f(.email, 0..<4)]])) == [f(.email, 0..<4)])
    }

    // MARK: Redaction

    @Test func redactsEveryFindingAndKeepsTheRest() {
        let text = "mail jane@example.com or call 415-555-0132; key AKIAIOSFODNN7EXAMPLE — ok"
        #expect(Guardrails.redact(text) == "mail [REDACTED:email] or call [REDACTED:phone]; key [REDACTED:aws_access_key_id] — ok")
        #expect(Guardrails.redact(text, findings: []) == text)
        #expect(Guardrails.redact("é日", findings: [GuardrailFinding(detector: .email, range: 2..<10)]) == "é日")
    }

    // MARK: Linear time

    /// Adversarial inputs of about 1 MB each. Linear by construction (bounded parses per
    /// position, email domains never walked past the next `@`); this only checks they finish.
    static let adversarial: [(String, String)] = [
        ("a@ repeated", String(repeating: "a@", count: 500_000)),
        ("a@ then dotted labels", "a@" + String(repeating: "a.", count: 500_000)),
        ("@a. repeated", String(repeating: "@a.", count: 340_000)),
        ("digits", String(repeating: "1", count: 1_000_000)),
        ("1- repeated", String(repeating: "1-", count: 500_000)),
        ("1 repeated", String(repeating: "1 ", count: 500_000)),
        ("4111 repeated", String(repeating: "4111 ", count: 200_000)),
        ("+1 ( repeated", String(repeating: "+1 (", count: 250_000)),
        ("(415) repeated", String(repeating: "(415)", count: 200_000)),
        ("123-45- repeated", String(repeating: "123-45-", count: 150_000)),
        ("GB82 repeated", String(repeating: "GB82 ", count: 200_000)),
        ("uppercase run", "GB82" + String(repeating: "A", count: 1_000_000)),
        ("eyJ run", "eyJ" + String(repeating: "a", count: 1_000_000)),
        ("sk- repeated", String(repeating: "sk-", count: 340_000)),
        ("dapi repeated", String(repeating: "dapi", count: 250_000)),
        ("BEGIN repeated", String(repeating: "-----BEGIN ", count: 95_000)),
        ("dots", String(repeating: ".", count: 1_000_000)),
    ]

    @Test func adversarialMegabyteInputsFinish() {
        for (name, text) in Self.adversarial {
            let findings = Guardrails.scan(text)
            #expect(findings.count <= text.utf8.count, "\(name)")
        }
        // A card starting inside a longer grouped number is still found.
        #expect(Guardrails.scan("1234 4111 1111 1111 1111 x") == [GuardrailFinding(detector: .creditCard, range: 5..<24)])
    }

    // MARK: Property

    /// Random filler that cannot join a match (letters, spaces, punctuation, non-ASCII), with
    /// known samples inserted between spaces: exactly the inserted samples are found.
    @Test func insertedSamplesAreFoundExactly() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let fillerAlphabet = Array("abcdefghij klmnop qrstuvw xyz ,;!? é日🙂\n")
            var text = ""
            var expected: [GuardrailFinding] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                text += String((0..<Int.random(in: 0...30, using: &rng)).map { _ in fillerAlphabet.randomElement(using: &rng)! })
                let sample = GuardrailSamples.positives.randomElement(using: &rng)!
                text += " "
                let start = text.utf8.count
                text += sample.1
                expected.append(GuardrailFinding(detector: sample.0, range: start..<text.utf8.count))
                text += " "
            }
            #expect(Guardrails.scan(text) == expected, "seed \(seed)")
            let redacted = Guardrails.redact(text)
            for sample in GuardrailSamples.positives { #expect(!redacted.contains(sample.1)) }
        }
    }
}
