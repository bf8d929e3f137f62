import AsgardCore
import AsgardGateway
import AsgardJSON
import AsgardTestSupport
import Foundation
import Testing

/// A fuzz run of chat bodies through the input guardrails: random valid bodies using every field
/// a vendor reads, with a secret planted in one random string or key (sometimes with a character
/// written as a `\u` escape), sent under `block` to the stand-in vendor. No planted secret may
/// reach it.
@Suite(.serialized) struct GuardrailFuzzTests {
    static let secrets = [
        "dapi0123456789abcdef0123456789abcdef", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "AKIAIOSFODNN7EXAMPLE",
        "-----BEGIN RSA PRIVATE KEY-----",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "4111 1111 1111 1111",
        "123-45-6789", "jane.doe+tag@example.co.uk",
    ]

    /// A random chat body whose strings are the placeholders `S0`, `S1`, …; returns it and how
    /// many placeholders it has.
    static func randomBody(_ rng: inout SplitMix64) -> (JSONValue, Int) {
        var count = 0
        func text() -> JSONValue {
            defer { count += 1 }
            return .string("S\(count)")
        }
        func key() -> String {
            defer { count += 1 }
            return "S\(count)"
        }
        var messages: [JSONValue] = []
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            var message: [JSONMember] = [JSONMember(key: "role", value: "user")]
            if Bool.random(using: &rng) {
                message.append(JSONMember(key: "content", value: text()))
            } else {
                let parts = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                    JSONValue.object([JSONMember(key: "type", value: "text"), JSONMember(key: "text", value: text())])
                }
                message.append(JSONMember(key: "content", value: .array(parts)))
            }
            if Bool.random(using: &rng) { message.append(JSONMember(key: "name", value: text())) }
            messages.append(.object(message))
        }
        if Bool.random(using: &rng) {
            let call = JSONValue.object([
                JSONMember(key: "id", value: text()), JSONMember(key: "type", value: "function"),
                JSONMember(key: "function", value: .object([JSONMember(key: "name", value: text()), JSONMember(key: "arguments", value: text())])),
            ])
            messages.append(.object([JSONMember(key: "role", value: "assistant"), JSONMember(key: "tool_calls", value: .array([call]))]))
            messages.append(.object([JSONMember(key: "role", value: "tool"), JSONMember(key: "tool_call_id", value: text()), JSONMember(key: "content", value: text())]))
        }
        var body: [JSONMember] = [JSONMember(key: "model", value: "azure/gpt-4o"), JSONMember(key: "messages", value: .array(messages))]
        if Bool.random(using: &rng) {
            let parameters = JSONValue.object([
                JSONMember(key: "type", value: "object"),
                JSONMember(
                    key: "properties",
                    value: .object([JSONMember(key: key(), value: .object([JSONMember(key: "type", value: "string"), JSONMember(key: "description", value: text())]))])),
            ])
            let function = JSONValue.object([
                JSONMember(key: "name", value: text()), JSONMember(key: "description", value: text()), JSONMember(key: "parameters", value: parameters),
            ])
            body.append(JSONMember(key: "tools", value: .array([.object([JSONMember(key: "type", value: "function"), JSONMember(key: "function", value: function)])])))
        }
        if Bool.random(using: &rng) { body.append(JSONMember(key: "user", value: text())) }
        if Bool.random(using: &rng) { body.append(JSONMember(key: "stop", value: .array([text(), text()]))) }
        if Bool.random(using: &rng) {
            let schema = JSONValue.object([JSONMember(key: "name", value: text()), JSONMember(key: "description", value: text())])
            body.append(
                JSONMember(key: "response_format", value: .object([JSONMember(key: "type", value: "json_schema"), JSONMember(key: "json_schema", value: schema)])))
        }
        if Bool.random(using: &rng) { body.append(JSONMember(key: "client_request_id", value: text())) }
        return (.object(body), count)
    }

    @Test func noPlantedSecretReachesTheVendorUnderBlock() async throws {
        try await StandInVendor.run { vendor in
            let world = try await PipelineTests.World(vendor: vendor, guardrails: "guardrails: {default: block}")
            var rng = SplitMix64(seed: 13)
            var (planted, blocked, escaped, controls, passed) = (0, 0, 0, 0, 0)
            for _ in 0..<2_000 {
                let (body, slots) = Self.randomBody(&rng)
                let slot = Int.random(in: 0..<slots, using: &rng)
                let secret = Self.secrets.randomElement(using: &rng)!
                let filler = ["hello", "see below", "x", ""].randomElement(using: &rng)!
                // Written into the JSON text as they stand: `\n` and `\t` as escapes.
                let separator = [" ", #"\n"#, ": ", #"\t"#].randomElement(using: &rng)!
                var text = String(decoding: body.jsonBytes, as: UTF8.self)
                // A control: the same kind of body with nothing planted goes through.
                if planted % 10 == 0 {
                    controls += 1
                    if await world.send(text).status == 200 { passed += 1 }
                }
                for index in (0..<slots).reversed() {
                    text = text.replacingOccurrences(of: "\"S\(index)\"", with: index == slot ? "\"\(filler)\(separator)\(secret)\"" : "\"plain \(index)\"")
                }
                // Sometimes one character of the secret travels as a JSON escape.
                if Bool.random(using: &rng), let scalar = secret.unicodeScalars.first(where: { $0.isASCII && $0 != "-" }) {
                    let escapedScalar = String(format: "\\u%04x", scalar.value)
                    text = text.replacingOccurrences(of: secret, with: secret.replacingOccurrences(of: String(scalar), with: escapedScalar))
                    escaped += 1
                }
                planted += 1
                let response = await world.send(text)
                if response.status == 400, String(decoding: response.body, as: UTF8.self).contains("guardrail_blocked") { blocked += 1 }
            }
            #expect(passed == controls, "\(controls - passed) bodies without a secret were refused")
            let leaks = vendor.requests.filter { request in Self.secrets.contains { request.body.contains($0) } }
            print("guardrail fuzz: \(planted) secrets planted (\(escaped) with an escaped character), \(blocked) blocked, \(vendor.requests.count) bodies reached the vendor (\(controls) controls without a secret), \(leaks.count) with a secret")
            #expect(leaks.isEmpty)
            #expect(blocked == planted, "\(planted - blocked) bodies with a planted secret were not blocked")
            await world.close()
        }
    }
}
