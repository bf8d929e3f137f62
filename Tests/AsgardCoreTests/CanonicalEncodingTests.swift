import AsgardCore
import AsgardJSON
import AsgardTestSupport
import Foundation
import PropertyBased
import Testing

@Suite struct CanonicalEncodingTests {
    static func reference<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Byte for byte what Foundation's JSONEncoder writes, so stored specs read back with JSONDecoder.
    @Test func matchesJSONEncoderOnRandomDesiredStates() async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            for object in RandomState.desired(seed: seed).objects {
                let ours = try? CanonicalJSON.encode(object)
                #expect(ours != nil && ours == (try? Self.reference(object)))
            }
        }
    }

    @Test func matchesJSONEncoderOnAwkwardValues() throws {
        let key = Key(
            id: "k", project: "p", digest: String(repeating: "a", count: 64), allowedModels: ["a/b", "x/*"],
            maxDataClass: .restricted, defaultDataClass: .public, expires: Date(timeIntervalSince1970: 1_814_313_600),
            requestsPerMinute: 7)
        let resource = Resource(
            id: "r", project: "p", service: "s",
            parameters: [
                "text": .string("quote \" backslash \\ slash / tab \t newline \n bell \u{7} backspace \u{8} form feed \u{c} é 日本 🙂"),
                "nested": .map(["b": .list([.number("-1.5e3"), .bool(false), .map([:])]), "a": .list([])]),
            ])
        for object in [DesiredObject.key(key), .resource(resource)] {
            #expect(try CanonicalJSON.encode(object) == Self.reference(object))
        }
        #expect(try CanonicalJSON.encode(["z": 1, "a": 2]) == "{\"a\":2,\"z\":1}")
        #expect(try CanonicalJSON.encode([Int8(-3), Int8(4)]) == "[-3,4]")
    }

    /// The string-object fast path writes exactly what the general encoder writes.
    @Test(
        arguments: [
            [:],
            ["b": "2", "a": "1"],
            [
                "quote \"": "backslash \\ slash / tab \t newline \n bell \u{7} backspace \u{8} form feed \u{c} é 日本 🙂", "Z": "", "é": "ä",
                "a": "\u{0}",
            ],
            ["reason": "policy_denied", "policies": "forbid-restricted,permit-all", "request_id": "req_0123456789abcdef01234567"],
        ] as [[String: String]])
    func stringObjectsMatchTheGeneralEncoder(_ members: [String: String]) throws {
        #expect(CanonicalJSON.encodeStrings(members) == (try CanonicalJSON.encode(members)))
    }

    @Test func refusesFloatingPoint() {
        #expect(throws: EncodingError.self) { try CanonicalJSON.encode(["price": 0.5]) }
    }

    @Test func storedSpecsDecodeBack() throws {
        for object in RandomState.desired(seed: 99).objects {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            #expect(try decoder.decode(DesiredObject.self, from: Data(object.canonicalJSON.utf8)) == object)
        }
    }
}
