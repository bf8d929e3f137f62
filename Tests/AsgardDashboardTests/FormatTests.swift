import AsgardCore
import AsgardCost
import AsgardDashboard
import Foundation
import Testing

struct FormatTests {
    @Test(arguments: [
        (Int64(0), "$0.00"),
        (1, "<$0.01"),
        (4_999, "<$0.01"),
        (5_000, "$0.01"),
        (9_999, "$0.01"),
        (14_999, "$0.01"),
        (15_000, "$0.02"),
        (1_000_000, "$1.00"),
        (12_500_000, "$12.50"),
        (999_994_999, "$999.99"),
        (999_995_000, "$1,000.00"),
        (1_234_567_890, "$1,234.57"),
        (100_000_000_000, "$100,000.00"),
        (1_000_000_000_000, "$1,000,000.00"),
        (123_456_789_012_345, "$123,456,789.01"),
        (Int64.max, "$9,223,372,036,854.78"),
        (-1, ">-$0.01"),
        (-4_999, ">-$0.01"),
        (-5_000, "-$0.01"),
        (-999_995_000, "-$1,000.00"),
        (-1_234_567_890, "-$1,234.57"),
        (Int64.min, "-$9,223,372,036,854.78"),
    ])
    func dollars(_ micros: Int64, _ expected: String) {
        #expect(Format.dollars(MicroDollars(micros)) == expected)
    }

    @Test(arguments: [
        (Int64(0), "0.000000"),
        (1, "0.000001"),
        (12_500_000, "12.500000"),
        (1_234_567_890, "1234.567890"),
        (100_000, "0.100000"),
        (-1, "-0.000001"),
        (-12_500_000, "-12.500000"),
        (Int64.max, "9223372036854.775807"),
        (Int64.min, "-9223372036854.775808"),
    ])
    func exact(_ micros: Int64, _ expected: String) {
        // The pages' exact figures (a cell's title) are the cost plane's own decimal text.
        #expect(DecimalAmount.dollars(MicroDollars(micros)) == expected)
    }

    @Test(arguments: [
        (Int64(125_000), Int64(1_000_000), "12.5%"),
        (0, 1_000_000, "0.0%"),
        (1_000_000, 1_000_000, "100.0%"),
        (1_500_000, 1_000_000, "150.0%"),
        (333_333, 1_000_000, "33.3%"),
        (666_667, 1_000_000, "66.7%"),
        (12_345, 100_000, "12.3%"),
        (12_350, 100_000, "12.4%"),  // half up
        (1, 1_000_000, "0.0%"),
        (500, 1_000_000, "0.1%"),
        (Int64.max, Int64.max, "100.0%"),
        (Int64.max, 1, "922337203685477580700.0%"),
        (5_000_000, 0, "—"),
        (0, 0, "—"),
        (1, -1_000_000, "—"),
    ])
    func percent(_ part: Int64, _ whole: Int64, _ expected: String) {
        #expect(Format.percent(MicroDollars(part), of: MicroDollars(whole)) == expected)
    }

    /// A negative part (a month netted negative by a credit or a retraction: the Databricks
    /// retractions carry negative amounts) keeps its sign and rounds half away from zero.
    @Test(
        arguments: [
            (Int64(-5_000), Int64(1_000_000), "-0.5%"),
            (-1_000, 1_000_000, "-0.1%"),
            (-15_000, 1_000_000, "-1.5%"),
            (-125_000, 1_000_000, "-12.5%"),
        ])
    func percentOfANegativePart(_ part: Int64, _ whole: Int64, _ expected: String) {
        #expect(Format.percent(MicroDollars(part), of: MicroDollars(whole)) == expected)
    }

    @Test(arguments: [
        ("2026-12-03T18:20:29.123Z", "2026-12-03 18:20:29 UTC"),
        ("2026-01-09T00:00:00.000Z", "2026-01-09 00:00:00 UTC"),
        ("2026-12-03T18:20:29Z", "2026-12-03 18:20:29 UTC"),
        ("2026-12-03", "2026-12-03"),
        ("", ""),
    ])
    func auditTime(_ text: String, _ expected: String) {
        #expect(Format.auditTime(text) == expected)
    }

    @Test func time() {
        #expect(Format.time(Fixture.instant) == "2026-12-03 18:20 UTC")
        #expect(Format.time(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00 UTC")
        #expect(Format.time(Fixture.instant.addingTimeInterval(30.999)) == "2026-12-03 18:20 UTC")
    }
}
