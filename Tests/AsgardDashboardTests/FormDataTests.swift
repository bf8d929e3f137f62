import AsgardDashboard
import Testing

struct FormDataTests {
    @Test func fieldsParseWithPlusAndPercentEscapes() throws {
        let form = try FormData("a=1&b=two+words&c=%E2%82%AC".utf8)
        #expect(form.fields == ["a": "1", "b": "two words", "c": "€"])
        #expect(form["c"] == "€")
        #expect(form["missing"] == nil)
    }

    @Test func lowerCaseHexAndEscapedSeparatorsDecode() throws {
        let form = try FormData("q=a%26b%3Dc%2Bd&e=%e2%82%ac&p=%2B+%25".utf8)
        #expect(form.fields == ["q": "a&b=c+d", "e": "€", "p": "+ %"])
    }

    @Test func namesAreDecodedToo() throws {
        let form = try FormData("my+name=1&a%3Db=c".utf8)
        #expect(form.fields == ["my name": "1", "a=b": "c"])
    }

    @Test func theFirstValueOfARepeatedNameWins() throws {
        let form = try FormData("x=1&x=2&y=a&x=3".utf8)
        #expect(form["x"] == "1")
        #expect(form["y"] == "a")
        #expect(form.fields.count == 2)
    }

    @Test func anEmptyFirstValueStillWins() throws {
        #expect(try FormData("x=&x=2".utf8)["x"] == "")
    }

    @Test func anEmptyValueAndANameWithoutEqualsAreEmptyStrings() throws {
        let form = try FormData("x=&flag&y=2".utf8)
        #expect(form.fields == ["x": "", "flag": "", "y": "2"])
    }

    @Test func onlyTheFirstEqualsSplitsNameFromValue() throws {
        #expect(try FormData("t=a=b=c".utf8)["t"] == "a=b=c")
    }

    @Test func emptyPairsAreSkipped() throws {
        #expect(try FormData("&&a=1&&".utf8).fields == ["a": "1"])
    }

    @Test(arguments: ["", "&", "&&&"])
    func aBodyWithoutPairsHasNoFields(_ body: String) throws {
        #expect(try FormData(body.utf8).fields.isEmpty)
        #expect(try FormData([UInt8]()).fields.isEmpty)
    }

    @Test(arguments: ["%zz", "a=%zz", "a=%4", "a=%", "%", "a=1&b=%G0", "a=%4g", "a%=1", "a=x%"])
    func aBadEscapeIsMalformed(_ body: String) {
        let error = #expect(throws: FormData.Malformed.self) { try FormData(body.utf8) }
        #expect(error?.description.contains("hex digits") == true)
    }

    @Test(arguments: ["a=%FF", "a=%C3", "a=%E2%82", "%80=1", "a=%C0%AF", "a=%ED%A0%80"])
    func bytesThatAreNotUTF8AreMalformed(_ body: String) {
        let error = #expect(throws: FormData.Malformed.self) { try FormData(body.utf8) }
        #expect(error?.description.contains("UTF-8") == true)
    }

    @Test func rawNonASCIIBytesThatAreUTF8Parse() throws {
        #expect(try FormData(Array("n=ünï".utf8))["n"] == "ünï")
        #expect(throws: FormData.Malformed.self) { try FormData([UInt8(ascii: "n"), UInt8(ascii: "="), 0xFF]) }
    }

    @Test func anEscapedNulIsKept() throws {
        #expect(try FormData("a=x%00y".utf8)["a"] == "x\u{0}y")
    }

    @Test func aSliceParsesLikeAnArray() throws {
        let bytes = Array("junk&a=1&b=2".utf8)
        let slice = bytes[5...]
        #expect(try FormData(slice).fields == ["a": "1", "b": "2"])
    }
}
