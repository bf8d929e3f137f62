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
}
