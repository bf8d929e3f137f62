import AsgardCore
import Testing

@testable import AsgardGateway

@Suite struct GuardrailSettingsTests {
    static let policy = GuardrailSettings(defaultAction: .log, byDataClass: [.confidential: .redact, .restricted: .block])

    @Test func actionPerDataClass() {
        #expect(Self.policy.action(for: .public) == .log)
        #expect(Self.policy.action(for: .internal) == .log)
        #expect(Self.policy.action(for: .confidential) == .redact)
        #expect(Self.policy.action(for: .restricted) == .block)
        #expect(GuardrailSettings().action(for: .restricted) == .redact)
    }

    @Test(arguments: GuardrailScannerTests.positives)
    func blockNamesTheDetectorNeverTheMatch(_ sample: GuardrailScannerTests.Sample) {
        let text = "please use " + sample.text + " for this"
        let outcome = Guardrails.apply(Self.policy, dataClass: .restricted, to: text)
        #expect(outcome == .blocked(detector: sample.detector))
        #expect(outcome.text == nil)
        let rendered = "\(outcome) \(String(describing: outcome.blockedMessage))"
        #expect(!rendered.contains(sample.text))
        #expect(outcome.blockedMessage?.contains(sample.detector.rawValue) == true)
    }

    @Test func blockReportsTheFirstFinding() {
        let text = "a@b.io then AKIAIOSFODNN7EXAMPLE"
        #expect(Guardrails.apply(Self.policy, dataClass: .restricted, to: text) == .blocked(detector: .email))
        #expect(Guardrails.apply(Self.policy, dataClass: .restricted, to: "nothing here") == .pass(text: "nothing here", findings: []))
    }

    @Test func redactReplacesBeforeTheUpstreamSeesIt() {
        let text = "ssn 123-45-6789, iban GB82 WEST 1234 5698 7654 32."
        let outcome = Guardrails.apply(Self.policy, dataClass: .confidential, to: text)
        #expect(outcome.text == "ssn [REDACTED:us_ssn], iban [REDACTED:iban].")
        guard case .pass(_, let findings) = outcome else {
            Issue.record("expected pass")
            return
        }
        #expect(findings.map(\.detector) == [.usSSN, .iban])
    }

    @Test func logPassesTheTextUnchangedWithFindings() {
        let text = "call +44 20 7946 0958"
        #expect(
            Guardrails.apply(Self.policy, dataClass: .public, to: text)
                == .pass(text: text, findings: [GuardrailFinding(detector: .phone, range: 5..<21)]))
    }

    @Test func policyDetectorsNarrowTheScan() {
        let settings = GuardrailSettings(defaultAction: .block)
        let secrets = GuardrailDetector.secrets
        #expect(Guardrails.apply(settings, dataClass: .public, to: "a@b.io", detectors: secrets) == .pass(text: "a@b.io", findings: []))
        #expect(Guardrails.apply(settings, dataClass: .public, to: "AKIAIOSFODNN7EXAMPLE", detectors: secrets) == .blocked(detector: .awsAccessKeyID))
    }

    @Test func findingDescriptionNeverContainsText() {
        let finding = GuardrailFinding(detector: .creditCard, range: 3..<22)
        #expect("\(finding)" == "credit_card@3..<22")
    }
}
