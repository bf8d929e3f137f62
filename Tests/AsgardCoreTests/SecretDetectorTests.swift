import AsgardCore
import Testing

@Suite struct SecretDetectorTests {
    @Test(arguments: [
        ("dapi0123456789abcdef0123456789abcdef", SecretDetector.Kind.databricksToken),
        ("token=dapi0123456789abcdef0123456789abcdef-2 trailing", .databricksToken),
        ("sk-EXAMPLEexampleEXAMPLEexample0000", .openAIKey),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz012345", .openAIKey),
        ("AKIAIOSFODNN7EXAMPLE", .awsAccessKeyID),
        ("id ASIAIOSFODNN7EXAMPLE.", .awsAccessKeyID),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", .privateKey),
        ("-----BEGIN PRIVATE KEY-----", .privateKey),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", .jwt),
    ])
    func findsSecrets(text: String, kind: SecretDetector.Kind) throws {
        let match = try #require(SecretDetector.firstMatch(in: text))
        #expect(match.kind == kind)
    }

    @Test(arguments: [
        "DATABRICKS_TOKEN", "dapi-not-hex-at-all-but-long-enough-to-count", "dapi0123", "sk-short", "task-runner-for-the-nightly-batch",
        "AKIAshort", "AKIAIOSFODNN7EXAMPLEANDMORE", "-----BEGIN CERTIFICATE-----", "eyJ.short", "risk-assessment-model-v2-production",
        "/serving-endpoints/{model}/invocations", "databricks-meta-llama-3-3-70b-instruct",
    ])
    func leavesOrdinaryTextAlone(text: String) {
        #expect(SecretDetector.firstMatch(in: text) == nil)
    }

    @Test func findsEveryMatchWithItsRange() {
        let text = "a AKIAIOSFODNN7EXAMPLE b sk-EXAMPLEexampleEXAMPLEexample0000 c"
        let matches = SecretDetector.matches(in: text)
        #expect(matches.map(\.kind) == [.awsAccessKeyID, .openAIKey])
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[matches[0].range], as: UTF8.self) == "AKIAIOSFODNN7EXAMPLE")
        #expect(String(decoding: bytes[matches[1].range], as: UTF8.self) == "sk-EXAMPLEexampleEXAMPLEexample0000")
    }

    @Test func quotedNeverEchoesASecret() {
        let secret = "dapi0123456789abcdef0123456789abcdef"
        let text = quoted("prefix \(secret)")
        #expect(!text.contains(secret) && !text.contains("0123456789abcdef"))
        #expect(text.contains("Databricks token"))
        #expect(quoted("plain\nline") == "\"plain\\nline\"")
    }
}
