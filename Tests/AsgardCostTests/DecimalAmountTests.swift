import AsgardCore
import AsgardCost
import Foundation
import Testing

struct DecimalAmountTests {
    @Test(arguments: [
        ("0", 0), ("1", 1_000_000), ("1500.00", 1_500_000_000), ("0.50", 500_000), ("12.3456784", 12_345_678),
        ("12.3456785", 12_345_679), ("-12.3456785", -12_345_679), ("0.000000499999999999999999", 0), ("0.0000005", 1),
        // Databricks' DECIMAL(38,18) sums, digit for digit.
        ("1234.567890123456789012", 1_234_567_890), ("0.333333333333333333", 333_333), ("-0.000000500000000000", -1),
        // JSON numbers with exponents (OpenAI).
        ("1.5e2", 150_000_000), ("2E-6", 2), ("2.5e-7", 0), ("9.99e-1", 999_000),
        ("9223372.036854775807", 9_223_372_036_855),
    ] as [(String, Int64)])
    func amountsAreReadExactly(_ text: String, _ micros: Int64) throws {
        #expect(try DecimalAmount.micros(text) == MicroDollars(micros))
    }

    @Test(arguments: ["", "-", ".", "1.2.3", "1,5", "0x10", "NaN", "1e", "1e+", "12 ", " 12", "1e999", "99999999999999999999", "٣"])
    func notAnAmountIsRefused(_ text: String) {
        #expect(throws: DecimalAmount.ParseError.self) { try DecimalAmount.micros(text) }
    }

    /// Summing Databricks-shaped decimals with Foundation's Decimal and parsing the text gives
    /// the same micro-dollars as rounding the exact sum: no binary float anywhere.
    @Test func aLongSumStaysExact() throws {
        var sum = Decimal(0)
        for n in 0..<10_000 { sum += Decimal(string: "0.000000\(n % 10)33333333333")! }
        let text = "\(sum)"
        // 1,000 × (0+1+…+9) × 1e-7 + 10,000 × 0.33333333333e-7 = 0.00483333333333 dollars.
        #expect(text == "0.00483333333333")
        #expect(try DecimalAmount.micros(text) == MicroDollars(4_833))
    }

    /// Terms are added exactly and the total rounded once: three 0.4 µ$ lines are 1 µ$, not 0.
    @Test func aSumIsRoundedOnceAtTheEnd() throws {
        var sum = DecimalSum()
        for _ in 0..<3 { try sum.add("0.0000004") }
        #expect(sum.micros == MicroDollars(1))
        try sum.add("4e-7")
        try sum.add("-0.0000021")
        #expect(sum.micros == MicroDollars(-1))  // −0.5 µ$: halves away from zero
        var big = DecimalSum()
        try big.add("12345678901.0000005")
        try big.add("1.0000000000000000000001")
        #expect(big.micros == MicroDollars(12_345_678_902_000_001))
    }

    @Test func aSumBeyondMicroDollarsIsRefused() throws {
        var sum = DecimalSum()
        try sum.add("9000000000000")
        #expect(throws: DecimalAmount.ParseError.self) { try sum.add("300000000000") }
        #expect(sum.micros == MicroDollars(9_000_000_000_000_000_000))
        #expect(throws: DecimalAmount.ParseError.self) { try sum.add("1e40") }
        #expect(throws: DecimalAmount.ParseError.self) { try sum.add("0.5 dollars") }
    }

    @Test func dollarsAreWrittenWithSixDecimals() {
        #expect(DecimalAmount.dollars(MicroDollars(1_500_000_000)) == "1500.000000")
        #expect(DecimalAmount.dollars(MicroDollars(-1)) == "-0.000001")
        #expect(DecimalAmount.dollars(MicroDollars(0)) == "0.000000")
    }
}
