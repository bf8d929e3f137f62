public import Foundation

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), strictly: impossible dates such as
/// `2027-02-30` and anything trailing are refused. Written out rather than through
/// `ISO8601DateFormatter`, whose per-call set-up dominated loading keys with an expiry.
public func parseInstant(_ text: String) -> Date? {
    let b = Array(text.utf8)
    func number(_ range: Range<Int>) -> Int? {
        guard range.upperBound <= b.count else { return nil }
        var value = 0
        for index in range {
            guard b[index] >= 48, b[index] <= 57 else { return nil }
            value = value * 10 + Int(b[index] - 48)
        }
        return value
    }
    guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
        let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
        (1...12).contains(month), (1...CivilCalendar.daysIn(month: month, year: year)).contains(day)
    else { return nil }
    let midnight = Double(CivilCalendar.days(year: year, month: month, day: day)) * 86_400
    if b.count == 10 { return Date(timeIntervalSince1970: midnight) }

    guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
        b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
        let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
        hour <= 23, minute <= 59, second <= 60
    else { return nil }
    var index = 19
    var fraction = 0.0
    if b[index] == UInt8(ascii: ".") {
        var scale = 0.1
        index += 1
        let start = index
        while index < b.count, b[index] >= 48, b[index] <= 57 {
            fraction += Double(b[index] - 48) * scale
            scale /= 10
            index += 1
        }
        guard index > start else { return nil }
    }
    guard index < b.count else { return nil }
    var offset = 0
    switch b[index] {
    case UInt8(ascii: "Z"), UInt8(ascii: "z"):
        index += 1
    case UInt8(ascii: "+"), UInt8(ascii: "-"):
        guard index + 6 == b.count, b[index + 3] == UInt8(ascii: ":"),
            let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)),
            hours <= 23, minutes <= 59
        else { return nil }
        offset = (hours * 60 + minutes) * 60 * (b[index] == UInt8(ascii: "-") ? -1 : 1)
        index += 6
    default:
        return nil
    }
    guard index == b.count else { return nil }
    // A leap second (:60) is read as the last second of its minute.
    let seconds = Double(hour * 3600 + minute * 60 + min(second, 59) - offset)
    return Date(timeIntervalSince1970: midnight + seconds + fraction)
}

/// `2026-11-26T10:00:00Z`: an instant in messages for people.
public func formatInstant(_ date: Date) -> String {
    date.formatted(.iso8601)
}
