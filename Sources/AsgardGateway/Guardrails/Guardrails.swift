public import AsgardCore

/// Linear-time, regex-free scanning and redaction of secrets and personal data.
///
/// ## How a scan works
/// 1. Every enabled scanner makes one pass over the UTF-8 bytes and proposes *candidates*,
///    left to right, at most one per start offset. Secrets come from `AsgardCore.SecretDetector`
///    (already non-overlapping); the PII scanners are in `PIIScanners.swift`. Each scanner does
///    a constant amount of work per position (parses are capped at a fixed number of bytes),
///    or walks a run only once (email domains stop at the next `@`), so each is O(n).
/// 2. The candidate lists are merged (a k-way merge of already sorted lists, O(n)) and the
///    overlap rule keeps a non-overlapping subset.
///
/// ## Overlap rule
/// Candidates are ordered by start offset, then by length (longer first), then by detector
/// declaration order (secrets before PII). Walking that order, a candidate is kept when it
/// starts at or after the end of the last kept one. So when two overlap, **the one that starts
/// earlier wins; at the same start, the longer one wins**; e.g. in `+4111 1111 1111 1111` there
/// is no phone (16 digits) and the card is kept, in an IBAN the digit groups inside it are never
/// reported as a card or phone.
public enum Guardrails {
    /// Every non-overlapping finding in `text`, left to right (see the overlap rule above).
    public static func scan(_ text: String, detectors: Set<GuardrailDetector> = GuardrailDetector.all) -> [GuardrailFinding] {
        guard mayMatch(text) else { return [] }
        return resolve(candidates(in: Array(text.utf8), text: text, detectors: detectors))
    }

    /// Whether any detector could match in `text` at all. Most strings of a chat body or answer
    /// are short (roles, ids, model names, field names), and no match fits in them: a secret is
    /// at least 16 bytes (`SecretDetector`), an IBAN 15, an email needs an `@`, and a phone, a
    /// card and an SSN need at least 8 digits. So a string of under 15 bytes with no `@` and
    /// fewer than 8 digits is skipped without building a scanner (one pass, no allocation);
    /// `GuardrailPrefilterTests` checks that no such string ever has a finding.
    static func mayMatch(_ text: String) -> Bool {
        let utf8 = text.utf8
        if utf8.count >= minimumUnmarkedLength { return true }
        var digits = 0
        for byte in utf8 {
            if byte == UInt8(ascii: "@") { return true }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digits += 1 }
        }
        return digits >= minimumDigits
    }

    /// The shortest match without an `@` that is not all digits: an IBAN (15 characters).
    static let minimumUnmarkedLength = 15
    /// The fewest digits of a phone (8), card (13) or SSN (9).
    static let minimumDigits = 8

    /// `text` with each finding's bytes replaced by `[REDACTED:<detector>]`.
    ///
    /// Findings must be non-overlapping and sorted (as `scan` returns them); ranges are UTF-8
    /// offsets. A finding that does not fit the text is ignored.
    public static func redact(_ text: String, findings: [GuardrailFinding]) -> String {
        redact(bytes: Array(text.utf8), from: 0, to: text.utf8.count, findings: findings, offset: 0)
    }

    /// Scans and redacts in one go.
    public static func redact(_ text: String, detectors: Set<GuardrailDetector> = GuardrailDetector.all) -> String {
        redact(text, findings: scan(text, detectors: detectors))
    }

    /// What a project's `settings` do with `text` for a request or response of class
    /// `dataClass`, scanning with `detectors` (all of them unless narrowed).
    ///
    /// - `block`: `.blocked(detector:)` naming the detector of the first finding (never the
    ///   matched text), or `.pass` unchanged when nothing is found.
    /// - `redact`: `.pass` with every finding replaced by `[REDACTED:<detector>]`.
    /// - `log`: `.pass` with the text unchanged and the findings, for the caller to log
    ///   (by detector and offsets only).
    public static func apply(
        _ settings: GuardrailSettings, dataClass: DataClass, to text: String,
        detectors: Set<GuardrailDetector> = GuardrailDetector.all
    ) -> GuardrailOutcome {
        let findings = scan(text, detectors: detectors)
        switch settings.action(for: dataClass) {
        case .block:
            if let first = findings.first { return .blocked(detector: first.detector) }
            return .pass(text: text, findings: [])
        case .redact:
            return .pass(text: redact(text, findings: findings), findings: findings)
        case .log:
            return .pass(text: text, findings: findings)
        }
    }

    // MARK: - Internals shared with StreamGuardrail

    /// Every candidate of every enabled scanner, sorted by start, then longer first, then
    /// detector order. Not yet made non-overlapping.
    static func candidates(in bytes: [UInt8], text: String, detectors: Set<GuardrailDetector>) -> [GuardrailFinding] {
        // Every detector is the usual case; a set of them all is known by its size, without
        // hashing each detector's name for each scanner.
        let every = detectors.count == GuardrailDetector.allCases.count
        func wants(_ detector: GuardrailDetector) -> Bool { every || detectors.contains(detector) }
        var lists: [[GuardrailFinding]] = []
        lists.reserveCapacity(6)
        if every || !detectors.isDisjoint(with: GuardrailDetector.secrets) {
            let secrets = SecretDetector.matches(in: text).compactMap { match -> GuardrailFinding? in
                let detector = GuardrailDetector(match.kind)
                return wants(detector) ? GuardrailFinding(detector: detector, range: match.range) : nil
            }
            lists.append(secrets)
        }
        let scanner = PIIScanner(bytes)
        if wants(.email) { lists.append(scanner.emails()) }
        if wants(.phone) { lists.append(scanner.phones()) }
        if wants(.creditCard) { lists.append(scanner.creditCards()) }
        if wants(.usSSN) { lists.append(scanner.ssns()) }
        if wants(.iban) { lists.append(scanner.ibans()) }
        return merge(lists)
    }

    /// The overlap rule: walk candidates in order, keep each that starts at or after the end
    /// of the last one kept.
    static func resolve(_ sorted: [GuardrailFinding]) -> [GuardrailFinding] {
        var kept: [GuardrailFinding] = []
        var end = Int.min
        for candidate in sorted where candidate.range.lowerBound >= end {
            kept.append(candidate)
            end = candidate.range.upperBound
        }
        return kept
    }

    /// Whether `a` comes before `b` in candidate order.
    static func precedes(_ a: GuardrailFinding, _ b: GuardrailFinding) -> Bool {
        if a.range.lowerBound != b.range.lowerBound { return a.range.lowerBound < b.range.lowerBound }
        if a.range.count != b.range.count { return a.range.count > b.range.count }
        return a.detector < b.detector
    }

    /// A k-way merge of lists each already sorted by start (k is at most 6).
    static func merge(_ lists: [[GuardrailFinding]]) -> [GuardrailFinding] {
        // Text with nothing found (nearly every string) or one kind found: nothing to merge.
        let found = lists.filter { !$0.isEmpty }
        if found.count <= 1 { return found.first ?? [] }
        return mergeSorted(found)
    }

    private static func mergeSorted(_ lists: [[GuardrailFinding]]) -> [GuardrailFinding] {
        var heads = [Int](repeating: 0, count: lists.count)
        var out: [GuardrailFinding] = []
        out.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        while true {
            var best: Int?
            for list in lists.indices where heads[list] < lists[list].count {
                if let current = best {
                    if precedes(lists[list][heads[list]], lists[current][heads[current]]) { best = list }
                } else {
                    best = list
                }
            }
            guard let chosen = best else { return out }
            out.append(lists[chosen][heads[chosen]])
            heads[chosen] += 1
        }
    }

    /// `bytes[from..<to]` with the findings in that span redacted; finding ranges are
    /// `offset` plus an index into `bytes`.
    static func redact(bytes: [UInt8], from: Int, to: Int, findings: [GuardrailFinding], offset: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        var position = from
        for finding in findings {
            let start = finding.range.lowerBound - offset
            let end = finding.range.upperBound - offset
            guard start >= position, end <= to else { continue }
            out.append(contentsOf: bytes[position..<start])
            out.append(contentsOf: finding.detector.redactionMarker.utf8)
            position = end
        }
        if position < to { out.append(contentsOf: bytes[position..<to]) }
        return String(decoding: out, as: UTF8.self)
    }
}

extension GuardrailDetector {
    /// The guardrail detector for a `SecretDetector` kind (raw values are the same).
    public init(_ kind: SecretDetector.Kind) {
        switch kind {
        case .databricksToken: self = .databricksToken
        case .openAIKey: self = .openAIKey
        case .awsAccessKeyID: self = .awsAccessKeyID
        case .privateKey: self = .privateKey
        case .jwt: self = .jwt
        }
    }
}
