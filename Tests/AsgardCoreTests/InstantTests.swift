import AsgardCore
import Foundation
import Testing

@Suite struct InstantTests {
    /// Agrees with Foundation's ISO 8601 parser wherever that one accepts the text.
    @Test(arguments: [
        "2027-06-30T00:00:00Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2026-11-25T21:42:34+02:00",
        "2026-11-25T21:42:34-07:30", "1999-12-31T23:59:59z", "2400-02-29T12:00:00Z", "1900-03-01T00:00:00Z",
    ])
    func agreesWithFoundation(text: String) throws {
        let foundation = ISO8601DateFormatter()
        let expected = try #require(foundation.date(from: text.replacingOccurrences(of: "z", with: "Z")))
        #expect(parseInstant(text) == expected)
    }

    @Test func readsDatesAsMidnightUTCAndFractions() {
        #expect(parseInstant("2027-06-30") == Date(timeIntervalSince1970: 1_814_313_600))
        #expect(parseInstant("1970-01-01T00:00:01.250Z") == Date(timeIntervalSince1970: 1.25))
    }

    @Test(arguments: [
        "", "2027", "2027-6-30", "2027-02-29", "1900-02-29", "2027-13-01", "2027-00-10", "2027-04-31", "2027-06-30T", "2027-06-30 00:00:00Z",
        "2027-06-30T24:00:00Z", "2027-06-30T00:60:00Z", "2027-06-30T00:00:00", "2027-06-30T00:00:00.Z", "2027-06-30T00:00:00+0200",
        "2027-06-30T00:00:00Zjunk", "2027-06-30x", "tomorrow",
    ])
    func refusesWhatIsNotAnInstant(text: String) {
        #expect(parseInstant(text) == nil)
    }
}
