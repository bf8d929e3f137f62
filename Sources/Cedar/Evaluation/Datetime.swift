// Cedar's `datetime` and `duration` extension types (cedar-spec `Spec/Ext/Datetime.lean`).

/// Parsing and arithmetic of Cedar datetimes (milliseconds since the Unix epoch, UTC).
public enum CedarDatetime {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// Parses one of `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssZ`, `YYYY-MM-DDThh:mm:ss.SSSZ`,
    /// `YYYY-MM-DDThh:mm:ss(+|-)hhmm`, `YYYY-MM-DDThh:mm:ss.SSS(+|-)hhmm`, with every field
    /// exactly that many ASCII digits, a real calendar date, hours 0–23, minutes and seconds
    /// 0–59 (no leap second), and an offset below 24 hours with minutes below 60. The offset is
    /// normalised away. Returns nil otherwise.
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var value: Int64 = 0
            for i in from..<(from + count) {
                guard let d = asciiDigit(b[i]) else { return nil }
                value = value * 10 + Int64(d)
            }
            return value
        }
        func byte(_ i: Int, is char: Unicode.Scalar) -> Bool { i < b.count && b[i] == UInt8(ascii: char) }

        guard let year = number(0, 4), byte(4, is: "-"), let month = number(5, 2), byte(7, is: "-"),
            let day = number(8, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if b.count == 10 { return days * millisecondsPerDay }

        guard byte(10, is: "T"), let hour = number(11, 2), byte(13, is: ":"), let minute = number(14, 2),
            byte(16, is: ":"), let second = number(17, 2)
        else { return nil }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var millis: Int64 = 0
        if byte(i, is: ".") {
            guard let m = number(i + 1, 3) else { return nil }
            millis = m
            i += 4
        }
        var offsetMillis: Int64 = 0
        if byte(i, is: "Z") {
            i += 1
        } else if byte(i, is: "+") || byte(i, is: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let offsetHours = number(i + 1, 2), let offsetMinutes = number(i + 3, 2) else { return nil }
            guard offsetMinutes < 60, offsetHours < 24 else { return nil }
            offsetMillis = sign * (offsetHours * 3_600_000 + offsetMinutes * 60_000)
            i += 5
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let local = days * millisecondsPerDay + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
        return local - offsetMillis
    }

    static func isLeapYear(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (the standard era/day-of-era computation).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// `offset`: the datetime moved by a duration; nil on 64-bit overflow.
    public static func offset(_ datetime: Int64, by duration: Int64) -> Int64? {
        let (result, overflow) = datetime.addingReportingOverflow(duration)
        return overflow ? nil : result
    }

    /// `durationSince`: `datetime - other` in milliseconds; nil on 64-bit overflow.
    public static func durationSince(_ datetime: Int64, _ other: Int64) -> Int64? {
        let (result, overflow) = datetime.subtractingReportingOverflow(other)
        return overflow ? nil : result
    }

    /// `toDate`: midnight (UTC) at or before the datetime; nil if that is below the `Int64` range.
    public static func toDate(_ datetime: Int64) -> Int64? {
        if datetime >= 0 { return (datetime / millisecondsPerDay) * millisecondsPerDay }
        if datetime % millisecondsPerDay == 0 { return datetime }
        let (product, overflow) = (datetime / millisecondsPerDay - 1).multipliedReportingOverflow(by: millisecondsPerDay)
        return overflow ? nil : product
    }

    /// `toTime`: milliseconds since the preceding midnight (UTC), always in 0..<86,400,000.
    public static func toTime(_ datetime: Int64) -> Int64 {
        let remainder = datetime % millisecondsPerDay
        return remainder < 0 ? remainder + millisecondsPerDay : remainder
    }
}

/// Parsing of Cedar durations (milliseconds).
public enum CedarDuration {
    /// Parses an optional `-` followed by quantity-unit pairs in the order `d`, `h`, `m`, `s`,
    /// `ms` (each at most once, each quantity one or more ASCII digits, at least one pair); a
    /// leading `-` negates every quantity. Each quantity must fit in `Int64` and so must the total.
    public static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return nil }
        var total: Int128 = 0
        // Units are stripped from the end, smallest first, as the specification does.
        let units: [(suffix: [UInt8], factor: Int128)] = [
            (Array("ms".utf8), 1), (Array("s".utf8), 1000), (Array("m".utf8), 60_000),
            (Array("h".utf8), 3_600_000), (Array("d".utf8), 86_400_000),
        ]
        for unit in units {
            guard bytes.count >= unit.suffix.count, bytes.suffix(unit.suffix.count).elementsEqual(unit.suffix) else { continue }
            bytes = bytes.dropLast(unit.suffix.count)
            var digitStart = bytes.endIndex
            while digitStart > bytes.startIndex, asciiDigit(bytes[digitStart - 1]) != nil { digitStart -= 1 }
            guard digitStart < bytes.endIndex else { return nil }
            var quantity: Int128 = 0
            for byte in bytes[digitStart...] {
                quantity = quantity * 10 + Int128(byte - UInt8(ascii: "0"))
                // Beyond the Int64 range (negated quantities may reach 2^63).
                if quantity > Int128(Int64.max) + 1 { return nil }
            }
            if negative { quantity = -quantity }
            guard quantity >= Int128(Int64.min), quantity <= Int128(Int64.max) else { return nil }
            total += quantity * unit.factor
            bytes = bytes[..<digitStart]
        }
        guard bytes.isEmpty, total >= Int128(Int64.min), total <= Int128(Int64.max) else { return nil }
        return Int64(total)
    }

    /// Cedar's conversions truncate toward zero at each step.
    public static func toSeconds(_ duration: Int64) -> Int64 { duration / 1000 }
    public static func toMinutes(_ duration: Int64) -> Int64 { toSeconds(duration) / 60 }
    public static func toHours(_ duration: Int64) -> Int64 { toMinutes(duration) / 60 }
    public static func toDays(_ duration: Int64) -> Int64 { toHours(duration) / 24 }
}
