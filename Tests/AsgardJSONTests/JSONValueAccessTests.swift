import AsgardJSON
import Testing

struct JSONValueAccessTests {
    @Test func typedViewsAreNilForOtherKinds() throws {
        let value = try JSONValue.parse(#"{"s":"x","i":7,"f":0.5,"big":12345678901234567890,"b":true,"a":[1,"y"],"o":{},"n":null}"#)
        #expect(value["s"]?.stringValue == "x" && value["i"]?.stringValue == nil)
        #expect(value["i"]?.intValue == 7 && value["i"]?.int64Value == 7 && value["f"]?.intValue == nil)
        #expect(value["big"]?.int64Value == nil && value["big"]?.doubleValue == 12345678901234567890.0)
        #expect(value["f"]?.doubleValue == 0.5 && value["i"]?.doubleValue == 7 && value["s"]?.doubleValue == nil)
        #expect(value["b"]?.boolValue == true && value["n"]?.boolValue == nil)
        #expect(value["a"]?.arrayValue == [1, "y"] && value["a"]?[1] == "y" && value["a"]?[2] == nil && value[0] == nil)
        #expect(value["o"]?.members == [] && value["a"]?.members == nil)
        #expect(value["n"]?.isNull == true && value["missing"] == nil)
        #expect(value.members?.map(\.key) == ["s", "i", "f", "big", "b", "a", "o", "n"])
        #expect(value["a"]?.kindName == "array" && value["f"]?.kindName == "number")
    }

    @Test func literalsKeepTheWrittenOrder() {
        let value: JSONValue = ["z": 1, "a": [true, nil, 2.5, "s"], "m": [:]]
        #expect(
            value
                == .object([
                    JSONMember(key: "z", value: .integer(1)),
                    JSONMember(key: "a", value: .array([.bool(true), .null, .otherNumber("2.5"), .string("s")])),
                    JSONMember(key: "m", value: .object([])),
                ]))
        #expect(value.jsonText == #"{"z":1,"a":[true,null,2.5,"s"],"m":{}}"#)
    }

    @Test func floatLiteralsWriteTextThatReadsBack() throws {
        let values: [JSONValue] = [2.0, 0.1, 1e-7, -3.25, 1e21]
        #expect(values.map(\.jsonText) == ["2.0", "0.1", "1e-07", "-3.25", "1e+21"])
        for value in values { #expect(try JSONValue.parse(value.jsonText) == value) }
    }

    @Test func keySubscriptSetsLikeADictionary() {
        var value = JSONValue.object([
            JSONMember(key: "a", value: 1), JSONMember(key: "b", value: 2), JSONMember(key: "a", value: 3),
        ])
        value["a"] = "x"
        value["c"] = nil
        value["d"] = [4]
        #expect(value.jsonText == #"{"a":"x","b":2,"a":3,"d":[4]}"#)
        value["a"] = nil
        #expect(value.jsonText == #"{"b":2,"d":[4]}"#)
        var array: JSONValue = [1]
        array["a"] = 2
        #expect(array == [1])
    }
}
