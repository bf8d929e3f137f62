// Cedar's `ipaddr` extension type (cedar-spec `Spec/Ext/IPAddr.lean`).

extension IPAddress {
    /// Parses Cedar's address syntax: an IPv4 dotted quad (each group 0–255, no leading zeros)
    /// or an IPv6 address of eight hex groups of one to four digits with at most one `::`
    /// (no embedded IPv4), either followed by an optional `/prefix` (decimal, no leading zeros,
    /// at most 32 or 128). Host bits below the prefix are kept as written: they matter for
    /// `==` but not for range tests. Returns nil for anything else.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        if let v4 = IPAddress.parseV4(bytes) {
            self = v4
        } else if let v6 = IPAddress.parseV6(bytes) {
            self = v6
        } else {
            return nil
        }
    }

    /// The bit width of the family: 32 or 128.
    public var width: Int { family == .v4 ? 32 : 128 }

    /// The lowest and highest address of the network this value denotes (host bits cleared / set).
    public var range: (low: UInt128, high: UInt128) {
        let hostBits = width - Int(prefixLength)
        let hostMask: UInt128 = hostBits >= 128 ? UInt128.max : (UInt128(1) << UInt128(hostBits)) &- 1
        let familyMask: UInt128 = family == .v4 ? UInt128(UInt32.max) : UInt128.max
        let low = address & ~hostMask & familyMask
        return (low, (low | hostMask) & familyMask)
    }

    /// `isInRange`: same family and this network lies within `other`'s.
    public func isInRange(_ other: IPAddress) -> Bool {
        guard family == other.family else { return false }
        let mine = range
        let theirs = other.range
        return theirs.high >= mine.high && mine.low >= theirs.low
    }

    /// `isLoopback`: within 127.0.0.0/8, or within ::1/128.
    public var isLoopback: Bool {
        switch family {
        case .v4: isInRange(IPAddress(family: .v4, address: 0x7F00_0000, prefixLength: 8))
        case .v6: isInRange(IPAddress(family: .v6, address: 1, prefixLength: 128))
        }
    }

    /// `isMulticast`: within 224.0.0.0/4, or within ff00::/8.
    public var isMulticast: Bool {
        switch family {
        case .v4: isInRange(IPAddress(family: .v4, address: 0xE000_0000, prefixLength: 4))
        case .v6: isInRange(IPAddress(family: .v6, address: UInt128(0xFF00) << 112, prefixLength: 8))
        }
    }

    // MARK: Parsing

    private static func split(_ bytes: ArraySlice<UInt8>, on separator: UInt8) -> [ArraySlice<UInt8>] {
        bytes.split(separator: separator, omittingEmptySubsequences: false)
    }

    /// Splits `text` at `/`: the address part and an optional validated prefix (nil prefix = full width).
    private static func splitPrefix(_ bytes: [UInt8], maxDigits: Int, maxValue: Int) -> (ArraySlice<UInt8>, Int?)? {
        let parts = split(bytes[...], on: UInt8(ascii: "/"))
        switch parts.count {
        case 1:
            return (parts[0], nil)
        case 2:
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
            guard digits.first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
            var value = 0
            for byte in digits {
                guard let d = asciiDigit(byte) else { return nil }
                value = value * 10 + Int(d)
            }
            guard value <= maxValue else { return nil }
            return (parts[0], value)
        default:
            return nil
        }
    }

    private static func parseV4(_ bytes: [UInt8]) -> IPAddress? {
        guard let (addressPart, prefix) = splitPrefix(bytes, maxDigits: 2, maxValue: 32) else { return nil }
        let groups = split(addressPart, on: UInt8(ascii: "."))
        guard groups.count == 4 else { return nil }
        var address: UInt128 = 0
        for group in groups {
            guard !group.isEmpty, group.count <= 3 else { return nil }
            guard group.first != UInt8(ascii: "0") || group.count == 1 else { return nil }
            var value: UInt128 = 0
            for byte in group {
                guard let d = asciiDigit(byte) else { return nil }
                value = value * 10 + UInt128(d)
            }
            guard value <= 255 else { return nil }
            address = address << 8 | value
        }
        return IPAddress(family: .v4, address: address, prefixLength: UInt8(prefix ?? 32))
    }

    private static func hexDigit(_ byte: UInt8) -> UInt128? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt128(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt128(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt128(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Colon-separated groups of one to four hex digits; the empty text is no groups.
    private static func parseGroupsV6(_ bytes: ArraySlice<UInt8>) -> [UInt128]? {
        if bytes.isEmpty { return [] }
        var groups: [UInt128] = []
        for group in split(bytes, on: UInt8(ascii: ":")) {
            guard !group.isEmpty, group.count <= 4 else { return nil }
            var value: UInt128 = 0
            for byte in group {
                guard let d = hexDigit(byte) else { return nil }
                value = value << 4 | d
            }
            groups.append(value)
        }
        return groups
    }

    private static func parseV6(_ bytes: [UInt8]) -> IPAddress? {
        guard let (addressPart, prefix) = splitPrefix(bytes, maxDigits: 3, maxValue: 128) else { return nil }
        // Split at non-overlapping occurrences of "::", left to right.
        var pieces: [ArraySlice<UInt8>] = []
        var start = addressPart.startIndex
        var i = addressPart.startIndex
        while i < addressPart.endIndex {
            if addressPart[i] == UInt8(ascii: ":"), i + 1 < addressPart.endIndex, addressPart[i + 1] == UInt8(ascii: ":") {
                pieces.append(addressPart[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(addressPart[start..<addressPart.endIndex])
        var groups: [UInt128]
        switch pieces.count {
        case 1:
            guard let all = parseGroupsV6(pieces[0]) else { return nil }
            groups = all
        case 2:
            guard let head = parseGroupsV6(pieces[0]), let tail = parseGroupsV6(pieces[1]) else { return nil }
            guard head.count + tail.count < 8 else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
        guard groups.count == 8 else { return nil }
        var address: UInt128 = 0
        for group in groups { address = address << 16 | group }
        return IPAddress(family: .v6, address: address, prefixLength: UInt8(prefix ?? 128))
    }
}
