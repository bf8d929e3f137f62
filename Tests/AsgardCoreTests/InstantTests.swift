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

    /// The audit log's stamp (`StoreCoding.rfc3339Milliseconds`, written byte by byte) says what
    /// Foundation's Gregorian calendar says of the instant, milliseconds truncated, before 1970
    /// too: 20,000 instants from a fixed seed between 1600 and 9999, and the edges.
    @Test func auditStampsAgreeWithFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let (first, last): (Int64, Int64) = (-11_676_096_000_000_000, 253_402_300_799_999_999)  // 1600-01-01, 9999-12-31T23:59:59.999999
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var samples: [Int64] = [0, -1, -999, -1_000, -1_001, 999, 1_000, 999_999, 1_000_000, 951_868_799_999_000, first, last]
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            samples.append(first + Int64(state >> 1 % UInt64(last - first)))
        }
        for sample in samples {
            // A Date holds a Double: far from 1970 it cannot hold every microsecond, so the stamp
            // is checked against the instant the Date holds.
            let date = StoreCoding.date(micros: sample)
            let micros = StoreCoding.micros(date)
            let seconds = micros >= 0 ? micros / 1_000_000 : -((-micros + 999_999) / 1_000_000)
            let milliseconds = (micros - seconds * 1_000_000) / 1_000
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!,
                Int(milliseconds))
            #expect(StoreCoding.rfc3339Milliseconds(date) == expected, "\(micros)")
        }
        // Past year 9999 the year takes the digits it needs.
        #expect(StoreCoding.rfc3339Milliseconds(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000Z")
    }
}
