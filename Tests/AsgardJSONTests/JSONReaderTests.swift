import AsgardJSON
import Testing

/// Runs `body`, expecting a `JSONSyntaxError`; returns it (nil, with a recorded issue, if none).
private func syntaxError<T>(
    _ body: () throws(JSONSyntaxError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) -> JSONSyntaxError? {
    do {
        let result = try body()
        Issue.record("expected a JSONSyntaxError, got \(result)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

struct JSONReaderTests {
    @Test(arguments: [
        ("0", JSONValue.integer(0)),
        ("-0", .integer(0)),
        ("9223372036854775807", .integer(Int64.max)),
        ("-9223372036854775808", .integer(Int64.min)),
        ("9223372036854775808", .otherNumber("9223372036854775808")),
        ("1.5", .otherNumber("1.5")),
        ("1e3", .otherNumber("1e3")),
        ("-2.5E-3", .otherNumber("-2.5E-3")),
        ("true", .bool(true)),
        ("null", .null),
        (#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#, .string("a\"b\\c/d\n\té😀")),
        (#""\u0000""#, .string("\u{0}")),
        ("  [1, [], {}]  ", .array([.integer(1), .array([]), .object([])])),
        ("\u{FEFF}[]", .array([])),
        (#"{"a": 1, "a": 2}"#, .object([JSONMember(key: "a", value: .integer(1)), JSONMember(key: "a", value: .integer(2))])),
    ])
    func reads(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
    }

    @Test(arguments: [
        "", "[1,]", "{\"a\":1,}", "01", "-", "1.", ".5", "1e", "+1", "[1 2]", "{\"a\" 1}", "{a: 1}",
        "'x'", "\"unterminated", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"tab\there\"", "tru", "nul",
        "[1] 2", "// comment\n1", "NaN", "Infinity",
    ])
    func refusesMalformed(text: String) {
        let error = syntaxError { () throws(JSONSyntaxError) in try JSONValue.parse(text) }
        #expect(error?.description.hasPrefix("invalid JSON at line") == true)
    }

    @Test func reportsOffsetLineAndColumn() {
        let error = syntaxError { () throws(JSONSyntaxError) in try JSONValue.parse("[\n  1,\n  oops\n]") }
        #expect(error?.offset == 9)
        #expect(error?.line == 3)
        #expect(error?.column == 3)
        #expect(error?.message == "expected a value, found 'o'")
        #expect(error?.description == "invalid JSON at line 3, column 3: expected a value, found 'o'")
    }

    @Test(arguments: [
        ("[1,]", "invalid JSON at line 1, column 4: expected a value, found ']'"),
        ("", "invalid JSON at line 1, column 1: expected a value, found end of input"),
        ("[1] 2", "invalid JSON at line 1, column 5: unexpected '2' after the JSON value"),
        ("{\"a\" 1}", "invalid JSON at line 1, column 6: expected ':' after an object key, found '1'"),
    ])
    func describesTheProblem(text: String, description: String) {
        #expect(syntaxError { () throws(JSONSyntaxError) in try JSONValue.parse(text) }?.description == description)
    }

    @Test func refusesInvalidUTF8() {
        let error = syntaxError { () throws(JSONSyntaxError) in try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(error?.message == "a string is not valid UTF-8")
    }

    @Test func refusesExcessiveNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(syntaxError { () throws(JSONSyntaxError) in try JSONValue.parse(deep) }?.message == "nesting deeper than 512 levels")
    }
}
