import AsgardCore
import Testing

@Suite struct MicroDollarsTests {
    @Test(
        arguments: [
            ("0", 0), ("1500", 1_500_000_000), ("0.50", 500_000), (".5", 500_000), ("12.345678", 12_345_678),
            ("+3", 3_000_000), ("1.", 1_000_000), ("9223372036854", 9_223_372_036_854_000_000),
        ] as [(String, Int64)])
    func parsesDecimalText(text: String, micros: Int64) throws {
        #expect(try MicroDollars(dollars: text).value == micros)
    }

    @Test(arguments: [
        ("-1", MicroDollars.ParseError.negative), ("-0.5", .negative), ("abc", .notANumber), ("", .notANumber),
        (".", .notANumber), ("1e3", .notANumber), ("1,000", .notANumber), ("0.1234567", .tooManyDecimals),
        ("9223372036855", .tooLarge), ("--1", .notANumber), ("1.2.3", .notANumber), (" 1", .notANumber),
    ])
    func rejectsBadText(text: String, error: MicroDollars.ParseError) {
        #expect(throws: error) { try MicroDollars(dollars: text) }
    }

    @Test(arguments: [(0, "0"), (500_000, "0.5"), (1_500_000_000, "1500"), (12_345_678, "12.345678"), (1_000_001, "1.000001")] as [(Int64, String)])
    func printsShortestDecimal(micros: Int64, text: String) throws {
        #expect(MicroDollars(micros).description == text)
        #expect(try MicroDollars(dollars: text).value == micros)
    }
}

@Suite struct DataClassTests {
    @Test func isOrderedPublicToRestricted() {
        #expect(DataClass.allCases.sorted() == [.public, .internal, .confidential, .restricted])
        #expect(DataClass.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(DataClass.public < .restricted && !(DataClass.confidential < .internal))
    }

    @Test func parsesOnlyItsNames() {
        #expect(DataClass(name: "confidential") == .confidential)
        #expect(DataClass(name: "Confidential") == nil)
        #expect(DataClass(name: "secret") == nil)
    }
}

@Suite struct VirtualKeyTests {
    @Test func keysAreLongRandomAndDigestedOnce() {
        let keys = (0..<200).map { _ in VirtualKey.generate() }
        #expect(Set(keys.map(\.secret)).count == 200)
        for key in keys {
            // asg_ + 43 base64url characters = 32 bytes = 256 bits.
            #expect(key.secret.hasPrefix("asg_") && key.secret.count == 47)
            #expect(key.secret.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(key.digest == "sha256:" + SHA256.hex(key.secret))
            #expect(Rules.isKeyDigest(key.digest))
        }
    }
}
