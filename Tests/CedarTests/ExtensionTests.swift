import Testing

@testable import Cedar

@Suite("Extensions: decimal")
struct ExtensionDecimalTests {
    @Test(arguments: [
        ("0.0", Int64(0)), ("0.0000", 0), ("12.34", 123_400), ("1.2345", 12_345), ("-1.0", -10_000),
        ("-4.2", -42_000), ("-9.876", -98_760), ("-0.5", -5000), ("-0.0", 0), ("007.5", 75_000),
        ("3.14", 31_400), ("11.003", 110_030),
        ("-922337203685477.5808", Int64.min), ("922337203685477.5807", Int64.max),
    ])
    func valid(text: String, expected: Int64) {
        #expect(CedarDecimal.parse(text) == expected)
        #expect(call("decimal", [.string(text)]) == .extensionValue(.decimal(expected)))
    }

    @Test(arguments: [
        "1.x", "1.-2", "12", ".12", "-.12", "12.", "1.23456", "922337203685477.5808", "-922337203685477.5809",
        "", ".", "-", "-1", "+1.0", "1.0.0", "1_0.0", "1.0_", " 1.0", "1.0 ", "1e3.0", "--1.0", "99999999999999999999.0",
        "١.٠",
    ])
    func invalid(text: String) {
        #expect(CedarDecimal.parse(text) == nil)
        #expect(callKind("decimal", [.string(text)]) == .extensionError)
    }

    @Test func format() {
        #expect(CedarDecimal.format(31_400) == "3.1400")
        #expect(CedarDecimal.format(-110_003) == "-11.0003")
        #expect(CedarDecimal.format(Int64.min) == "-922337203685477.5808")
    }

    @Test(arguments: [
        ("lessThan", "0.23", "-0.23", false), ("lessThan", "-0.0023", "-0.23", false),
        ("lessThan", "-0.23", "-0.0023", true), ("lessThan", "-0.0001", "0.0", true),
        ("lessThan", "-1.0000", "-0.9999", true), ("lessThan", "1.0", "1.0", false),
        ("lessThanOrEqual", "1.0", "1.0000", true), ("lessThanOrEqual", "1.0001", "1.0", false),
        ("greaterThan", "1.0001", "1.0", true), ("greaterThan", "1.0", "1.0", false),
        ("greaterThanOrEqual", "1.0", "1.0", true), ("greaterThanOrEqual", "-1.0", "1.0", false),
    ])
    func comparisons(name: String, a: String, b: String, expected: Bool) {
        let x = call("decimal", [.string(a)])!
        let y = call("decimal", [.string(b)])!
        #expect(call(name, [x, y]) == .bool(expected))
    }

    @Test func methodTypeErrors() {
        let d = call("decimal", [.string("1.0")])!
        #expect(callKind("lessThan", [d, .long(1)]) == .type)
        #expect(callKind("lessThan", [.long(1), d]) == .type)
        #expect(callKind("lessThan", [d]) == .type)
        #expect(callKind("lessThan", [d, d, d]) == .type)
        #expect(callKind("greaterThan", [d, call("ip", [.string("::1")])!]) == .type)
        #expect(callKind("decimal", []) == .type)
        #expect(callKind("decimal", [.string("1.0"), .string("1.0")]) == .type)
        #expect(callKind("decimal", [.long(1)]) == .type)
        #expect(callKind("frobnicate", [.string("1.0")]) == .extensionError)
    }
}

@Suite("Extensions: ipaddr")
struct ExtensionIPAddrTests {
    static func v4(_ a: UInt128, _ b: UInt128, _ c: UInt128, _ d: UInt128, _ prefix: UInt8) -> IPAddress {
        IPAddress(family: .v4, address: a << 24 | b << 16 | c << 8 | d, prefixLength: prefix)
    }

    static func v6(_ groups: [UInt128], _ prefix: UInt8) -> IPAddress {
        IPAddress(family: .v6, address: groups.reduce(0) { $0 << 16 | $1 }, prefixLength: prefix)
    }

    @Test(arguments: [
        ("127.0.0.1", v4(127, 0, 0, 1, 32)), ("127.3.4.1/2", v4(127, 3, 4, 1, 2)),
        ("192.168.0.1/32", v4(192, 168, 0, 1, 32)), ("0.0.0.0/0", v4(0, 0, 0, 0, 0)),
        ("255.255.255.255", v4(255, 255, 255, 255, 32)), ("8.8.8.8/24", v4(8, 8, 8, 8, 24)),
        ("::", v6([0, 0, 0, 0, 0, 0, 0, 0], 128)), ("::/5", v6([0, 0, 0, 0, 0, 0, 0, 0], 5)),
        ("a::", v6([0xa, 0, 0, 0, 0, 0, 0, 0], 128)), ("::f", v6([0, 0, 0, 0, 0, 0, 0, 0xf], 128)),
        ("F:AE::F:5:F:F:0", v6([0xf, 0xae, 0, 0xf, 5, 0xf, 0xf, 0], 128)),
        ("a::f/120", v6([0xa, 0, 0, 0, 0, 0, 0, 0xf], 120)),
        ("1:22:333:4444:a:bb:ccc:dddd/128", v6([1, 0x22, 0x333, 0x4444, 0xa, 0xbb, 0xccc, 0xdddd], 128)),
        ("7:70:700:7000::a00", v6([7, 0x70, 0x700, 0x7000, 0, 0, 0, 0xa00], 128)),
        ("ffff::/4", v6([0xffff, 0, 0, 0, 0, 0, 0, 0], 4)),
        ("0000:0000:0000:0000:0000:0000:0000:0001", v6([0, 0, 0, 0, 0, 0, 0, 1], 128)),
        ("::/0", v6([0, 0, 0, 0, 0, 0, 0, 0], 0)),
    ])
    func valid(text: String, expected: IPAddress) {
        #expect(IPAddress(parsing: text) == expected)
        #expect(call("ip", [.string(text)]) == .extensionValue(.ipaddr(expected)))
    }

    @Test(arguments: [
        "127.0.0.1.", ".127.0.0.1", "127.0..0.1", "256.0.0.1", "127.0.a.1", "127.3.4.1/33", "::::", "::f::",
        "F:AE::F:5:F:F:0:0", "F:A:F:5:F:F:0:0:1", "F:A", "::ffff1", "F:AE::F:5:F:F:0/129", "::ffff:127.0.0.1",
        "::/00", "::/01", "::/001", "127.0.0.1/01", "F:AE::F:5:F:F:0/01", "01.2.3.4", "1.2.3.04", "1.2.3",
        "1.2.3.4/", "1.2.3.4/32/1", "", "/8", ":::", ":1::", "1::2:", "1:2:3:4:5:6:7::8", "12345::",
        " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/-1", "g::", "1.2.3.4/+8", "::1/1280", "1.2.3.1000",
    ])
    func invalid(text: String) {
        #expect(IPAddress(parsing: text) == nil)
        #expect(callKind("ip", [.string(text)]) == .extensionError)
    }

    static func ip(_ s: String) -> Value { call("ip", [.string(s)])! }

    @Test(arguments: [
        ("238.238.238.238", "238.238.238.41/12", true), ("238.238.238.238", "238.238.238.238", true),
        ("F:AE::F:5:F:F:0", "F:AE::F:5:F:F:0", true), ("F:AE::F:5:F:F:1", "F:AE::F:5:F:F:0/127", true),
        ("F:AE::F:5:F:F:2", "F:AE::F:5:F:F:0/127", false), ("0.0.0.0", "::", false), ("::", "0.0.0.0", false),
        ("10.0.0.0", "10.0.0.0/24", true), ("10.0.0.0", "10.0.0.0/32", true), ("10.0.0.0", "10.0.0.1/24", true),
        ("10.0.0.0", "10.0.0.1/32", false), ("10.0.0.1", "10.0.0.0/24", true), ("10.0.0.1", "10.0.0.1/24", true),
        ("10.0.0.0/24", "10.0.0.0/32", false), ("10.0.0.0/32", "10.0.0.0/24", true),
        ("10.0.0.1/24", "10.0.0.0/24", true), ("10.0.0.1/24", "10.0.0.1/24", true),
        ("10.0.0.0/24", "10.0.0.1/24", true), ("10.0.0.0/24", "10.0.0.0/29", false),
        ("10.0.0.0/29", "10.0.0.0/24", true), ("10.0.0.0/24", "10.0.0.1/29", false),
        ("10.0.0.0/29", "10.0.0.1/24", true), ("10.0.0.1/24", "10.0.0.0/29", false),
        ("10.0.0.1/29", "10.0.0.0/24", true), ("10.0.0.0/32", "10.0.0.0/32", true),
        ("10.0.0.0/32", "10.0.0.0", true), ("0.0.0.0/31", "0.0.0.1/31", true), ("0.0.0.1/31", "0.0.0.0/31", true),
        ("1.2.3.4", "0.0.0.0/0", true), ("0.0.0.0/0", "1.2.3.4/0", true), ("::1", "::/0", true),
        ("::/0", "ffff::/0", true), ("::/0", "::/1", false), ("255.255.255.255", "255.0.0.0/8", true),
    ])
    func isInRange(a: String, b: String, expected: Bool) {
        #expect(call("isInRange", [Self.ip(a), Self.ip(b)]) == .bool(expected))
    }

    @Test(arguments: [
        ("127.0.0.1", true, false), ("127.255.255.255", true, false), ("127.0.0.0/8", true, false),
        ("127.0.0.0/7", false, false), ("128.0.0.1", false, false), ("::1", true, false), ("::B", false, false),
        ("::1/127", false, false), ("::ffff:ff00:0001", false, false), ("224.0.0.1", false, true),
        ("239.255.255.255", false, true), ("240.0.0.0", false, false), ("224.0.0.0/3", false, false),
        ("ff02::1", false, true), ("ff00::/8", false, true), ("fe00::", false, false), ("ff00::/7", false, false),
    ])
    func loopbackAndMulticast(text: String, loopback: Bool, multicast: Bool) {
        #expect(call("isLoopback", [Self.ip(text)]) == .bool(loopback))
        #expect(call("isMulticast", [Self.ip(text)]) == .bool(multicast))
    }

    @Test func families() {
        #expect(call("isIpv4", [Self.ip("1.2.3.4")]) == .bool(true))
        #expect(call("isIpv6", [Self.ip("1.2.3.4")]) == .bool(false))
        #expect(call("isIpv4", [Self.ip("::")]) == .bool(false))
        #expect(call("isIpv6", [Self.ip("::")]) == .bool(true))
    }

    @Test(arguments: [
        ("10.0.0.0", "10.0.0.0", true), ("10.0.0.0", "10.0.0.1", false), ("10.0.0.0/32", "10.0.0.0", true),
        ("10.0.0.0/24", "10.0.0.0", false), ("10.0.0.0/24", "10.0.0.0/24", true), ("10.0.0.0/24", "10.0.0.0/29", false),
        ("10.0.0.1/24", "10.0.0.0/24", false), ("::1", "0:0:0:0:0:0:0:1/128", true), ("0.0.0.0", "::", false),
    ])
    func equality(a: String, b: String, expected: Bool) {
        #expect((Self.ip(a) == Self.ip(b)) == expected)
    }

    @Test func typeErrors() {
        let a = Self.ip("1.2.3.4")
        #expect(callKind("isIpv4", [.string("1.2.3.4")]) == .type)
        #expect(callKind("isLoopback", []) == .type)
        #expect(callKind("isInRange", [a]) == .type)
        #expect(callKind("isInRange", [a, .string("1.2.3.0/24")]) == .type)
        #expect(callKind("isMulticast", [a, a]) == .type)
        #expect(callKind("ip", [.long(1)]) == .type)
    }
}

@Suite("Extensions: datetime and duration")
struct ExtensionDatetimeTests {
    @Test(arguments: [
        ("2022-10-10", Int64(1_665_360_000_000)), ("1969-12-31", -86_400_000), ("1969-12-31T23:59:59Z", -1000),
        ("1969-12-31T23:59:59.001Z", -999), ("1969-12-31T23:59:59.999Z", -1), ("2024-10-15", 1_728_950_400_000),
        ("2024-10-15T11:38:02Z", 1_728_992_282_000), ("2024-10-15T11:38:02.101Z", 1_728_992_282_101),
        ("2024-10-15T11:38:02.101-1134", 1_729_033_922_101), ("2024-10-15T11:38:02.101+1134", 1_728_950_642_101),
        ("2024-10-15T11:38:02+1134", 1_728_950_642_000), ("2024-10-15T11:38:02-1134", 1_729_033_922_000),
        ("1970-01-01", 0), ("1970-01-01T00:00:00+2359", -86_340_000), ("2024-02-29", 1_709_164_800_000),
        ("2000-02-29T12:00:00Z", 951_825_600_000), ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("0001-01-01", -62_135_596_800_000), ("2024-01-01T00:00:00-0000", 1_704_067_200_000),
    ])
    func validDatetime(text: String, expected: Int64) {
        #expect(CedarDatetime.parse(text) == expected)
        #expect(call("datetime", [.string(text)]) == .extensionValue(.datetime(expected)))
    }

    @Test(arguments: [
        "", "a", "-", "-1", " 2022-10-10", "2022-10-10 ", "2022-10- 10", "11-12-13", "011-12-13", "00011-12-13",
        "0001-2-13", "0001-012-13", "0001-02-3", "0001-02-003", "0001-01-01T1:01:01Z", "0001-01-01T001:01:01Z",
        "0001-01-01T01:1:01Z", "0001-01-01T01:001:01Z", "0001-01-01T01:01:1Z", "0001-01-01T01:01:001Z",
        "0001-01-01T01:01:01.01Z", "0001-01-01T01:01:01.0001Z", "0001-01-01T01:01:01.001+01",
        "0001-01-01T01:01:01.001+001", "0001-01-01T01:01:01.001+00001", "0001-01-01T01:01:01.001+00:01",
        "0001-01-01T01:01:01.001+00:00:01", "-0001-01-01", "1111-1x-20", "1111-Jul-20", "1111-July-20", "1111-J-20",
        "2024-10-15Z", "2024-10-15T11:38:02ZZ", "2024-01-01T", "2024-01-01Ta", "2024-01-01T01:", "2024-01-01T01:02",
        "2024-01-01T01:02:0b", "2024-01-01T01::02:03", "2024-01-01T01::02::03", "2024-01-01T31:02:03Z",
        "2024-01-01T01:60:03Z", "2016-12-31T23:59:60Z", "2016-12-31T23:59:61Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00T", "2024-01-01T00:00:00ZZ", "2024-01-01T00:00:00x001Z", "2024-01-01T00:00:00.001ZZ",
        "2016-12-31T23:59:60.000Z", "2016-12-31T23:59:60.000+0200", "2024-01-01T00:00:00➕0000",
        "2024-01-01T00:00:00➖0000", "2024-01-01T00:00:00.0001Z", "2024-01-01T00:00:00.001➖0000",
        "2024-01-01T00:00:00.001➕0000", "2024-01-01T00:00:00.001+00000", "2024-01-01T00:00:00.001-00000",
        "2016-01-01T00:00:00+2400", "2016-01-01T00:00:00+0060", "2016-01-01T00:00:00+9999",
        "2023-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-01t00:00:00Z",
        "2024-01-01T00:00:00z", "2024-01-01T24:00:00Z", "2024-01-01 00:00:00Z",
    ])
    func invalidDatetime(text: String) {
        #expect(CedarDatetime.parse(text) == nil)
        #expect(callKind("datetime", [.string(text)]) == .extensionError)
    }

    @Test(arguments: [
        ("0ms", Int64(0)), ("0d0s", 0), ("1ms", 1), ("1s", 1000), ("1m", 60000), ("1h", 3_600_000), ("1d", 86_400_000),
        ("12s340ms", 12340), ("1s234ms", 1234), ("-1ms", -1), ("-1s", -1000), ("-4s200ms", -4200), ("-9s876ms", -9876),
        ("106751d23h47m16s854ms", 9_223_372_036_854), ("-106751d23h47m16s854ms", -9_223_372_036_854),
        ("-9223372036854775808ms", Int64.min), ("9223372036854775807ms", Int64.max), ("1d2h3m4s5ms", 93_784_005),
        ("2d12h", 216_000_000), ("3m30s", 210_000), ("1h30m45s", 5_445_000), ("2d5h20m", 192_000_000),
        ("-1d12h", -129_600_000), ("-3h45m", -13_500_000), ("1d1ms", 86_400_001), ("59m59s999ms", 3_599_999),
        ("23h59m59s999ms", 86_399_999), ("0d0h0m0s0ms", 0), ("-0ms", 0), ("007s", 7000), ("100000h", 360_000_000_000),
    ])
    func validDuration(text: String, expected: Int64) {
        #expect(CedarDuration.parse(text) == expected)
        #expect(call("duration", [.string(text)]) == .extensionValue(.duration(expected)))
    }

    @Test(arguments: [
        "", "d", "1d-1s", "1d2h3m4s5ms6", "1x2m3s", "1.23s", "1s1d", "1s1s", "1d2h3m4s5ms ", " 1d2h3m4s5ms",
        "1d9223372036854775807ms", "1d92233720368547758071ms", "9223372036854776s1ms", "-12142442932071h", "-",
        "--1s", "+1s", "1", "ms", "1hms", "1D", "1ms1s", "1m1h", "9223372036854775808ms", "1 d", "1y",
    ])
    func invalidDuration(text: String) {
        #expect(CedarDuration.parse(text) == nil)
        #expect(callKind("duration", [.string(text)]) == .extensionError)
    }

    static func dt(_ s: String) -> Value { call("datetime", [.string(s)])! }
    static func dur(_ s: String) -> Value { call("duration", [.string(s)])! }

    @Test(arguments: [
        ("2024-10-15", "0ms", "2024-10-15"), ("2024-10-15", "1ms", "2024-10-15T00:00:00.001Z"),
        ("2024-10-15", "1s", "2024-10-15T00:00:01Z"), ("2024-10-15", "-1s", "2024-10-14T23:59:59Z"),
        ("2024-10-15", "1m", "2024-10-15T00:00:00-0001"),
    ])
    func offset(start: String, duration: String, end: String) {
        #expect(call("offset", [Self.dt(start), Self.dur(duration)]) == Self.dt(end))
        #expect(call("durationSince", [Self.dt(end), Self.dt(start)]) == Self.dur(duration))
    }

    @Test func overflow() {
        let max = Value.extensionValue(.datetime(Int64.max))
        let min = Value.extensionValue(.datetime(Int64.min))
        #expect(callKind("offset", [max, Self.dur("1ms")]) == .extensionError)
        #expect(callKind("offset", [min, Self.dur("-1ms")]) == .extensionError)
        #expect(callKind("durationSince", [min, Self.dt("1970-01-02")]) == .extensionError)
        #expect(callKind("durationSince", [max, Self.dt("1969-12-31")]) == .extensionError)
        // toDate of a negative datetime rounds down, which can leave the Int64 range.
        #expect(callKind("toDate", [min]) == .extensionError)
        #expect(call("toDate", [max]) == .extensionValue(.datetime(Int64.max - Int64.max % 86_400_000)))
    }

    @Test(arguments: [
        ("2024-10-15", "2024-10-15"), ("2024-10-15T00:00:01Z", "2024-10-15"), ("2024-10-15T23:59:59Z", "2024-10-15"),
        ("2024-10-15T23:59:00-0001", "2024-10-16"), ("1969-12-31", "1969-12-31"), ("1969-12-31T23:59:59Z", "1969-12-31"),
        ("1969-12-31T00:00:00.001Z", "1969-12-31"), ("1900-06-01T12:00:00Z", "1900-06-01"),
    ])
    func toDate(text: String, expected: String) {
        #expect(call("toDate", [Self.dt(text)]) == Self.dt(expected))
    }

    @Test(arguments: [
        ("2024-10-15", Int64(0)), ("2024-10-15T00:00:00.001Z", 1), ("2024-10-15T00:00:01Z", 1000),
        ("2024-10-15T23:59:59Z", 86_399_000), ("2024-10-15T23:59:00-0001", 0), ("1969-12-31", 0),
        ("1969-12-31T23:59:59Z", 86_399_000), ("1969-12-31T12:00:00Z", 43_200_000),
    ])
    func toTime(text: String, expected: Int64) {
        #expect(call("toTime", [Self.dt(text)]) == .extensionValue(.duration(expected)))
    }

    @Test(arguments: [
        ("toMilliseconds", "0ms", Int64(0)), ("toMilliseconds", "-1ms", -1), ("toMilliseconds", "1d", 86_400_000),
        ("toMilliseconds", "-9223372036854775808ms", Int64.min),
        ("toSeconds", "999ms", 0), ("toSeconds", "1001ms", 1), ("toSeconds", "-999ms", 0), ("toSeconds", "-1000ms", -1),
        ("toSeconds", "1d", 86400),
        ("toMinutes", "59999ms", 0), ("toMinutes", "61s", 1), ("toMinutes", "-59999ms", 0), ("toMinutes", "-60000ms", -1),
        ("toMinutes", "1d", 1440),
        ("toHours", "3599999ms", 0), ("toHours", "61m", 1), ("toHours", "-3599999ms", 0), ("toHours", "-3600000ms", -1),
        ("toHours", "1d", 24),
        ("toDays", "86399999ms", 0), ("toDays", "25h", 1), ("toDays", "-86399999ms", 0), ("toDays", "-86400000ms", -1),
        ("toDays", "1d", 1), ("toDays", "-1d23h", -1),
    ])
    func conversions(name: String, text: String, expected: Int64) {
        #expect(call(name, [Self.dur(text)]) == .long(expected))
    }

    @Test func typeErrors() {
        let d = Self.dt("2024-01-01")
        let u = Self.dur("1d")
        #expect(callKind("offset", [d, d]) == .type)
        #expect(callKind("offset", [u, u]) == .type)
        #expect(callKind("offset", [d]) == .type)
        #expect(callKind("durationSince", [d, u]) == .type)
        #expect(callKind("toDate", [u]) == .type)
        #expect(callKind("toTime", [.string("2024-01-01")]) == .type)
        #expect(callKind("toDays", [d]) == .type)
        #expect(callKind("toMilliseconds", [.long(1)]) == .type)
        #expect(callKind("datetime", [.long(0)]) == .type)
        #expect(callKind("duration", []) == .type)
    }
}
