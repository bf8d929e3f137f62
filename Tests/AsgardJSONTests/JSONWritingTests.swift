import AsgardJSON
import Testing

@Suite struct JSONWritingTests {
    @Test(arguments: [
        #"{"model":"x","temperature":0.70,"n":1,"big":123456789012345678901234567890,"e":1e-7,"s":"a\"b\\c\n\u0001é","l":[true,false,null,{}]}"#,
        #"[]"#, #""plain""#, #"-9223372036854775808"#,
    ])
    func roundTripsExactly(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(value.jsonText == text)
        #expect(try JSONValue.parse(value.jsonText) == value)
    }

    @Test func setsAndRemovesMembersInPlace() throws {
        let value = try JSONValue.parse(#"{"model":"public","stream":false}"#)
        #expect(value.setting("model", to: .string("upstream")).jsonText == #"{"model":"upstream","stream":false}"#)
        #expect(
            value.setting("usage_context", to: .object([JSONMember(key: "project", value: .string("p"))])).jsonText
                == #"{"model":"public","stream":false,"usage_context":{"project":"p"}}"#)
        #expect(value.removing("stream").jsonText == #"{"model":"public"}"#)
    }

    /// Every ASCII byte, alone and between other text, is written as RFC 8259 asks (quote,
    /// backslash and controls escaped, controls without a short form as lowercase `\u00xx`)
    /// and reads back as itself; strings with nothing to escape take the copy-whole path.
    @Test(arguments: 0..<128)
    func everyASCIIByteIsWrittenExactly(byte: Int) throws {
        let character = String(UnicodeScalar(UInt8(byte)))
        let short: [Int: String] = [0x22: #"\""#, 0x5C: #"\\"#, 0x08: #"\b"#, 0x0C: #"\f"#, 0x0A: #"\n"#, 0x0D: #"\r"#, 0x09: #"\t"#]
        let hex = String(byte, radix: 16)
        let expected = short[byte] ?? (byte < 0x20 ? #"\u00"# + (hex.count == 1 ? "0" + hex : hex) : character)
        for text in [character, "ab" + character + "cé", String(repeating: character, count: 3)] {
            var out: [UInt8] = []
            JSONValue.writeString(text, to: &out)
            let written = String(decoding: out, as: UTF8.self)
            #expect(written == "\"" + text.replacingOccurrences(of: character, with: expected) + "\"", "byte \(byte)")
            #expect(try JSONValue.parse(written) == .string(text))
        }
    }
}
