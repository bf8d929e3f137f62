import AsgardJSON
import Testing

struct CanonicalJSONTests {
    @Test(arguments: [
        (#"{"b":1,"a":2}"#, #"{"a":2,"b":1}"#),
        ("{ \"z\" : [ {\"y\":true, \"x\":null} ], \"a\" : \"t\" }", #"{"a":"t","z":[{"x":null,"y":true}]}"#),
        (#"{"k":"\u003cb\u003e \u0026 \/"}"#, #"{"k":"<b> & /"}"#),
        (#"[3, 1.50, -0, 1e3, 12345678901234567890]"#, #"[3,1.50,0,1e3,12345678901234567890]"#),
        (#"{"B":1,"a":2,"_":3,"aa":4}"#, #"{"B":1,"_":3,"a":2,"aa":4}"#),
        (#"{"é":1,"z":2}"#, #"{"z":2,"é":1}"#),
        (#"{"dup":1,"dup":2}"#, #"{"dup":1,"dup":2}"#),
        ("\"line\\nbreak\\ttab\"", "\"line\\nbreak\\ttab\""),
    ])
    func canonicalText(input: String, expected: String) throws {
        #expect(CanonicalJSON.text(try JSONValue.parse(input)) == expected)
    }

    @Test("keys sort by UTF-8 bytes: a prefix first, then the first differing byte, ASCII or not")
    func keysSortByBytes() {
        let keys = ["", "a", "aa", "ab", "b", "B", "_", "é", "e", "z", "zz", "ü", "\u{7f}", "🦀", "\u{FFFF}", "a\u{0}", "request_id", "reason"]
        let members = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, String($0)) })
        let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let written = try? JSONValue.parse(CanonicalJSON.encodeStrings(members))
        guard case .object(let object)? = written else {
            Issue.record("encodeStrings wrote no object")
            return
        }
        #expect(object.map(\.key).map { Array($0.utf8) } == expected.map { Array($0.utf8) })
    }

    @Test func sameMeaningSameBytesDifferentMeaningDifferentBytes() throws {
        let one = try JSONValue.parse(#"{"a": {"y": [1, 2], "x": "s"}, "b": false}"#)
        let two = try JSONValue.parse("{\n  \"b\": false,\n  \"a\": {\"x\": \"s\", \"y\": [1,2]}\n}")
        let three = try JSONValue.parse(#"{"a": {"y": [2, 1], "x": "s"}, "b": false}"#)
        #expect(CanonicalJSON.bytes(one) == CanonicalJSON.bytes(two))
        #expect(CanonicalJSON.bytes(one) != CanonicalJSON.bytes(three))
    }

    @Test func prettyIsTheSameValueIndented() throws {
        let value = try JSONValue.parse(#"{"b":[1,{"d":{},"c":[]}],"a":"x"}"#)
        let pretty = CanonicalJSON.pretty(value)
        #expect(
            pretty == """
                {
                  "a": "x",
                  "b": [
                    1,
                    {
                      "c": [],
                      "d": {}
                    }
                  ]
                }

                """)
        #expect(CanonicalJSON.bytes(try JSONValue.parse(pretty)) == CanonicalJSON.bytes(value))
    }
}
