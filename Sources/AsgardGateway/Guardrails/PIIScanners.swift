/// The personal-data scanners. Each makes one left-to-right pass over the UTF-8 bytes and
/// returns candidates sorted by start, at most one per start offset.
///
/// Linear time by construction: a scanner either parses a bounded number of bytes from a
/// start position (phone ≤ 15 digits, card ≤ 19 digits, SSN 11 bytes, IBAN ≤ 34 characters,
/// each with a bounded number of separators), or, for email, walks the domain after each `@`
/// at most `Email.maxDomainRun` bytes and never past the next `@`, and keeps the local-part
/// length as a running count. No scanner ever backtracks further than those bounds.
///
/// Only ASCII bytes are ever part of a PII match, so matches never split a UTF-8 scalar.
struct PIIScanner {
    let b: [UInt8]
    var n: Int { b.count }

    init(_ bytes: [UInt8]) { b = bytes }

    // MARK: Byte classes

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
    static func isLower(_ c: UInt8) -> Bool { c >= 97 && c <= 122 }
    static func isLetter(_ c: UInt8) -> Bool { isUpper(c) || isLower(c) }
    static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isLetter(c) }
    /// Characters allowed in an email local part: `A-Z a-z 0-9 . _ % + -`.
    static func isLocal(_ c: UInt8) -> Bool { isAlnum(c) || c == 46 || c == 95 || c == 37 || c == 43 || c == 45 }
    /// Characters allowed in a domain: `A-Z a-z 0-9 . -`.
    static func isDomain(_ c: UInt8) -> Bool { isAlnum(c) || c == 46 || c == 45 }
    /// Letters, digits and `_`: what may not touch the edge of a numeric match.
    static func isWord(_ c: UInt8) -> Bool { isAlnum(c) || c == 95 }

    func at(_ i: Int) -> UInt8 { i >= 0 && i < n ? b[i] : 0 }

    /// How many bytes from `i` on satisfy `test`, counting at most `limit`.
    func run(from i: Int, limit: Int, _ test: (UInt8) -> Bool) -> Int {
        var j = i
        let end = min(n, i + limit)
        while j < end, test(b[j]) { j += 1 }
        return j - i
    }

    // MARK: Email

    enum Email {
        /// RFC 5321: at most 64 bytes before the `@`.
        static let maxLocal = 64
        /// The domain run after `@` (including any trailing `.`/`-` that is trimmed) must be
        /// shorter than this; longer runs are not emails. Keeps every email decision within
        /// 64 + 1 + 189 + 1 = 255 bytes, which the stream window relies on.
        static let maxDomainRun = 189
    }

    /// Emails: `local@domain`.
    ///
    /// - local part: the maximal run of `A-Z a-z 0-9 . _ % + -` before the `@`, 1–64 bytes,
    ///   not ending with `.`; leading dots are not part of the match.
    /// - domain: the run of `A-Z a-z 0-9 . -` after the `@` (shorter than 189 bytes), with
    ///   trailing `.` and `-` trimmed (sentence punctuation); then at least two labels
    ///   separated by single dots, each 1–63 bytes, not starting or ending with `-`; the last
    ///   label (TLD) is 2–63 letters.
    /// Lowercase and uppercase both count. `user@localhost`, `user@host.c`, `user@.com`,
    /// `user@a..com` and `@example.com` are not emails.
    func emails() -> [GuardrailFinding] {
        var out: [GuardrailFinding] = []
        var localRun = 0
        for i in 0..<n {
            let c = b[i]
            if c == 64 {
                if let range = email(at: i, localRun: localRun) { out.append(GuardrailFinding(detector: .email, range: range)) }
                localRun = 0
            } else {
                localRun = Self.isLocal(c) ? localRun + 1 : 0
            }
        }
        return out
    }

    private func email(at sign: Int, localRun: Int) -> Range<Int>? {
        guard localRun >= 1, localRun <= Email.maxLocal, b[sign - 1] != 46 else { return nil }
        var start = sign - localRun
        while start < sign, b[start] == 46 { start += 1 }
        guard start < sign else { return nil }
        let domainRun = run(from: sign + 1, limit: Email.maxDomainRun, Self.isDomain)
        guard domainRun < Email.maxDomainRun else { return nil }
        var end = sign + 1 + domainRun
        while end > sign + 1, b[end - 1] == 46 || b[end - 1] == 45 { end -= 1 }
        guard end > sign + 1 else { return nil }
        // Labels.
        var labels = 0
        var labelStart = sign + 1
        var j = sign + 1
        while j <= end {
            if j == end || b[j] == 46 {
                let length = j - labelStart
                guard length >= 1, length <= 63, b[labelStart] != 45, b[j - 1] != 45 else { return nil }
                labels += 1
                if j == end {
                    guard labels >= 2, length >= 2, (labelStart..<j).allSatisfy({ Self.isLetter(b[$0]) }) else { return nil }
                }
                labelStart = j + 1
            }
            j += 1
        }
        return start..<end
    }

    // MARK: Phone

    /// A parsed digit group of a phone number.
    private struct Group {
        var digits: Int
        var firstDigit: UInt8
        var parenthesized: Bool
        /// The separator before this group (0 for the first group or `)` directly followed by digits).
        var separator: UInt8
        /// Offset just past the group (past `)` when parenthesized).
        var end: Int
    }

    /// Phone numbers, two families:
    ///
    /// - **International** (E.164 style): `+`, a country code starting with 1–9, then digit
    ///   groups; 8–15 digits in all. Groups may be separated by one space, `-` or `.`, and may
    ///   be parenthesized: `+14155550132`, `+1 (415) 555-0132`, `+44 20 7946 0958`,
    ///   `+44 (0)20 7946 0958`.
    /// - **National**, 10–15 digits with separators, one of:
    ///   - North American: `[1 ]AAA EEE NNNN` with area and exchange starting with 2–9 and
    ///     any single separators (` `, `-`, `.`), area optionally in parentheses:
    ///     `415-555-0132`, `(415) 555-0132`, `(415)555-0132`, `1 415.555.0132`;
    ///   - trunk-prefixed: first group starts with `0` (optionally parenthesized), at least two
    ///     groups of 2–8 digits, all separated by the same separator, space or `-` (never
    ///     `.`, so versions like `0.10.20230115` are not phones): `020 7946 0958`.
    ///
    /// Groups are read greedily while single separators are followed by digits; if that run
    /// of groups holds more than 15 digits, nothing in it is a phone (card numbers, ids,
    /// long digit runs). Otherwise the longest prefix ending at a group boundary that fits a
    /// form above is the match. A bare digit run without `+` is never a phone (timestamps,
    /// ids), nor are dates (`2024-01-15`, 8 digits), plain years, or dotted versions. The match
    /// may not start right after a letter, digit, `_`, `.`, `-`, `/`, `+` or `@`, nor after a
    /// space that follows a digit (the tail of a longer grouped number), and the run of groups
    /// may not be followed by a letter, digit or `_`.
    func phones() -> [GuardrailFinding] {
        var out: [GuardrailFinding] = []
        var groups: [Group] = []
        groups.reserveCapacity(16)
        for s in 0..<n {
            let c = b[s]
            guard c == 43 || c == 40 || Self.isDigit(c) else { continue }
            let p = at(s - 1)
            if Self.isWord(p) || p == 46 || p == 45 || p == 47 || p == 43 || p == 64 { continue }
            if p == 32, Self.isDigit(at(s - 2)) { continue }
            if let end = phone(at: s, groups: &groups) { out.append(GuardrailFinding(detector: .phone, range: s..<end)) }
        }
        return out
    }

    private func phone(at s: Int, groups: inout [Group]) -> Int? {
        groups.removeAll(keepingCapacity: true)
        var j = s
        let plus = b[s] == 43
        if plus {
            j += 1
            guard Self.isDigit(at(j)), at(j) != 48 else { return nil }
        }
        var total = 0
        var separator: UInt8 = 0
        while true {
            // One group: digits, or `(` digits `)`.
            var group: Group
            if at(j) == 40 {
                let d = run(from: j + 1, limit: 6, Self.isDigit)
                guard d >= 1, d <= 5, at(j + 1 + d) == 41 else { break }
                group = Group(digits: d, firstDigit: b[j + 1], parenthesized: true, separator: separator, end: j + d + 2)
            } else if Self.isDigit(at(j)) {
                let d = run(from: j, limit: 16, Self.isDigit)
                group = Group(digits: d, firstDigit: b[j], parenthesized: false, separator: separator, end: j + d)
            } else {
                break
            }
            total += group.digits
            if total > 15 { return nil }
            groups.append(group)
            j = group.end
            // What follows: a single separator before another group, or `)` directly followed by digits.
            let next = at(j)
            if next == 32 || next == 45 || next == 46, Self.isDigit(at(j + 1)) || at(j + 1) == 40 {
                separator = next
                j += 1
            } else if group.parenthesized, Self.isDigit(next) {
                separator = 0
            } else {
                break
            }
        }
        guard let last = groups.last, !Self.isWord(at(last.end)) else { return nil }
        // The longest valid prefix at a group boundary.
        var count = groups.count
        var digits = total
        while count >= 1 {
            if isPhone(groups[0..<count], digits: digits, plus: plus) { return groups[count - 1].end }
            digits -= groups[count - 1].digits
            count -= 1
        }
        return nil
    }

    private func isPhone(_ groups: ArraySlice<Group>, digits: Int, plus: Bool) -> Bool {
        if plus { return digits >= 8 && digits <= 15 }
        guard digits >= 10, digits <= 15 else { return false }
        // North American: [1] AAA EEE NNNN.
        var g = Array(groups)
        if g.count == 4, g[0].digits == 1, g[0].firstDigit == 49, !g[0].parenthesized { g.removeFirst() }
        if g.count == 3, g[0].digits == 3, g[1].digits == 3, g[2].digits == 4,
            !g[1].parenthesized, !g[2].parenthesized,
            g[0].firstDigit >= 50, g[1].firstDigit >= 50
        {
            return true
        }
        // Trunk-prefixed national numbers.
        let all = Array(groups)
        guard all.count >= 2, all[0].firstDigit == 48 else { return false }
        guard all.allSatisfy({ $0.digits >= 2 && $0.digits <= 8 }), all.dropFirst().allSatisfy({ !$0.parenthesized }) else { return false }
        let separators = all.dropFirst().map(\.separator)
        if all[0].parenthesized {
            // `(020) 7946 0958`: after `)` a space or nothing, then one separator throughout.
            let rest = separators.dropFirst()
            guard separators[0] == 32 || separators[0] == 0, rest.allSatisfy({ $0 == 32 || $0 == 45 }), Set(rest).count <= 1 else { return false }
            return true
        }
        guard let first = separators.first, first == 32 || first == 45 else { return false }
        return separators.allSatisfy { $0 == first }
    }

    // MARK: Credit card

    /// Payment card numbers: 13–19 digits, not starting with `0`, passing the Luhn check.
    ///
    /// Either one run of 13–19 digits, or groups of 3–6 digits separated by single spaces or
    /// single dashes (the same separator throughout): `4111 1111 1111 1111`,
    /// `3782-822463-10005`. For grouped numbers the longest prefix ending at a group boundary
    /// with 13–19 digits that passes Luhn is the match. A run of more than 19 digits is
    /// never a card. The match may not start right after a letter, digit, `_`, `.`, `,` or `/`
    /// (decimals, paths), and may not be followed by a letter, digit or `_`.
    func creditCards() -> [GuardrailFinding] {
        var out: [GuardrailFinding] = []
        var ends: [(end: Int, digits: Int)] = []
        for s in 0..<n {
            let c = b[s]
            guard c >= 49, c <= 57 else { continue }
            let p = at(s - 1)
            if s > 0, Self.isWord(p) || p == 46 || p == 44 || p == 47 { continue }
            if let end = creditCard(at: s, ends: &ends) { out.append(GuardrailFinding(detector: .creditCard, range: s..<end)) }
        }
        return out
    }

    private func creditCard(at s: Int, ends: inout [(end: Int, digits: Int)]) -> Int? {
        let first = run(from: s, limit: 20, Self.isDigit)
        if first >= 13 {
            guard first <= 19, !Self.isWord(at(s + first)), luhn(from: s, to: s + first) else { return nil }
            return s + first
        }
        guard first >= 3, first <= 6 else { return nil }
        let separator = at(s + first)
        guard separator == 32 || separator == 45 else { return nil }
        ends.removeAll(keepingCapacity: true)
        var j = s + first
        var digits = first
        while at(j) == separator {
            let d = run(from: j + 1, limit: 7, Self.isDigit)
            guard d >= 3, d <= 6, digits + d <= 19, !Self.isWord(at(j + 1 + d)) else { break }
            digits += d
            j += 1 + d
            ends.append((j, digits))
        }
        for candidate in ends.reversed() where candidate.digits >= 13 {
            if luhn(from: s, to: candidate.end) { return candidate.end }
        }
        return nil
    }

    /// The Luhn check over the digits in `b[from..<to]` (separators skipped).
    func luhn(from: Int, to: Int) -> Bool {
        var sum = 0
        var double = false
        var j = to - 1
        while j >= from {
            let c = b[j]
            if Self.isDigit(c) {
                var d = Int(c - 48)
                if double {
                    d *= 2
                    if d > 9 { d -= 9 }
                }
                sum += d
                double.toggle()
            }
            j -= 1
        }
        return sum % 10 == 0
    }

    // MARK: US SSN

    /// US Social Security numbers, `AAA-GG-SSSS` with the dashes required (a bare 9-digit
    /// run is far too ambiguous: zip+4, order numbers, ids). SSA rules: area not `000`, `666`
    /// or `900`–`999`; group not `00`; serial not `0000`. The match may not start right after
    /// a letter, digit, `_` or `-`, and may not be followed by a letter, digit, `_`, or by `-`
    /// and a digit.
    func ssns() -> [GuardrailFinding] {
        var out: [GuardrailFinding] = []
        var s = 0
        while s + 11 <= n {
            if Self.isDigit(b[s]), s == 0 || !(Self.isWord(b[s - 1]) || b[s - 1] == 45), isSSN(at: s) {
                out.append(GuardrailFinding(detector: .usSSN, range: s..<(s + 11)))
            }
            s += 1
        }
        return out
    }

    private func isSSN(at s: Int) -> Bool {
        for k in 0..<11 {
            let c = b[s + k]
            if k == 3 || k == 6 { if c != 45 { return false } } else if !Self.isDigit(c) { return false }
        }
        let after = at(s + 11)
        if Self.isWord(after) || (after == 45 && Self.isDigit(at(s + 12))) { return false }
        func number(_ from: Int, _ count: Int) -> Int { (0..<count).reduce(0) { $0 * 10 + Int(b[from + $1] - 48) } }
        let area = number(s, 3)
        let group = number(s + 4, 2)
        let serial = number(s + 7, 4)
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
    }

    // MARK: IBAN

    /// International bank account numbers (ISO 13616): two uppercase letters (country), two
    /// digits (check), then 11–30 uppercase letters or digits, 15–34 characters in all, and
    /// the mod-97 checksum must be 1. Written either compact (`GB82WEST12345698765432`, then
    /// the whole run of `A-Z0-9` must be the IBAN) or in the print form, groups of four
    /// separated by single spaces with a last group of 1–4 (`GB82 WEST 1234 5698 7654 32`),
    /// where the longest prefix at a group boundary that passes the checksum is the match.
    /// Lowercase is not accepted; the per-country length table is not checked (the checksum
    /// already rejects 96 in 97 random strings). The match may not start right after a
    /// letter, digit or `_`, nor be followed by one.
    func ibans() -> [GuardrailFinding] {
        var out: [GuardrailFinding] = []
        var ends: [(end: Int, chars: Int)] = []
        var s = 0
        while s + 15 <= n {
            if Self.isUpper(b[s]), Self.isUpper(b[s + 1]), Self.isDigit(b[s + 2]), Self.isDigit(b[s + 3]),
                s == 0 || !Self.isWord(b[s - 1]), let end = iban(at: s, ends: &ends)
            {
                out.append(GuardrailFinding(detector: .iban, range: s..<end))
            }
            s += 1
        }
        return out
    }

    private static func isIBANChar(_ c: UInt8) -> Bool { isUpper(c) || isDigit(c) }

    private func iban(at s: Int, ends: inout [(end: Int, chars: Int)]) -> Int? {
        let compact = run(from: s, limit: 35, Self.isIBANChar)
        if compact > 4 {
            guard compact >= 15, compact <= 34, !Self.isWord(at(s + compact)), ibanChecksum(from: s, to: s + compact) else { return nil }
            return s + compact
        }
        guard !Self.isWord(at(s + 4)) else { return nil }
        ends.removeAll(keepingCapacity: true)
        var j = s + 4
        var chars = 4
        while at(j) == 32 {
            let d = run(from: j + 1, limit: 5, Self.isIBANChar)
            guard d >= 1, d <= 4, chars + d <= 34, !Self.isWord(at(j + 1 + d)) else { break }
            chars += d
            j += 1 + d
            ends.append((j, chars))
            if d < 4 { break }
        }
        for candidate in ends.reversed() where candidate.chars >= 15 {
            if ibanChecksum(from: s, to: candidate.end) { return candidate.end }
        }
        return nil
    }

    /// ISO 13616 / ISO 7064 mod 97-10: the first four characters moved to the end, letters
    /// as 10–35, the number mod 97 must be 1. Spaces are skipped.
    func ibanChecksum(from: Int, to: Int) -> Bool {
        var remainder = 0
        func feed(_ c: UInt8) {
            if Self.isDigit(c) {
                remainder = (remainder * 10 + Int(c - 48)) % 97
            } else if Self.isUpper(c) {
                remainder = (remainder * 100 + Int(c - 65) + 10) % 97
            }
        }
        for j in (from + 4)..<to { feed(b[j]) }
        for j in from..<(from + 4) { feed(b[j]) }
        return remainder == 1
    }
}
