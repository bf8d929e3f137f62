public import Foundation

/// The audit log's head at one moment, exported to somewhere whoever edits the store cannot
/// reach: `asgard audit anchor` prints one (or appends it to a file), `asgard serve` appends one
/// periodically when `ASGARD_AUDIT_ANCHOR_FILE` is set, and `asgard audit verify --anchor FILE`
/// checks that the entry still has that MAC and that the log still reaches it.
///
/// One line of text, holding no secret:
///
///     asgard-audit-anchor v1 seq=1042 mac=<64 hex digits> time=2026-12-03T10:00:00Z
///
/// `time` is when the anchor was taken (the entry's own time is covered by its MAC).
public struct AuditAnchor: Sendable, Hashable {
    /// The entry anchored: the log's newest entry then (0 for an empty log).
    public var sequence: Int64
    /// That entry's MAC (`AuditChain.genesis` for an empty log).
    public var mac: String
    /// When the anchor was taken, RFC 3339.
    public var time: String

    public init(sequence: Int64, mac: String, time: String) {
        self.sequence = sequence
        self.mac = mac
        self.time = time
    }

    /// The anchor of the log whose newest entry is `head` (nil for an empty log), taken `now`.
    public init(head: AuditRecord?, at now: Date) {
        self.init(sequence: head?.content.sequence ?? 0, mac: head?.hash ?? AuditChain.genesis, time: formatInstant(now))
    }

    /// The first word of every anchor line.
    public static let tag = "asgard-audit-anchor"

    /// The anchor as one line, without a line break.
    public var line: String { "\(Self.tag) v1 seq=\(sequence) mac=\(mac) time=\(time)" }

    /// Reads one anchor line (surrounding white space ignored).
    /// - Throws: `AuditAnchorError` naming what is wrong with the line.
    public init(line text: String) throws(AuditAnchorError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard words.count == 5, words[0] == Self.tag else {
            throw AuditAnchorError(reason: "expected `\(Self.tag) v1 seq=N mac=HEX time=RFC3339`")
        }
        guard words[1] == "v1" else { throw AuditAnchorError(reason: "unknown anchor version \(words[1]) (this Asgard reads v1)") }
        var fields: [String: String] = [:]
        for word in words[2...] {
            guard let equals = word.firstIndex(of: "="),
                fields.updateValue(String(word[word.index(after: equals)...]), forKey: String(word[..<equals])) == nil
            else {
                throw AuditAnchorError(reason: "expected seq=, mac= and time= once each")
            }
        }
        guard let sequenceText = fields["seq"], let sequence = Int64(sequenceText), sequence >= 0 else {
            throw AuditAnchorError(reason: "seq= must be an entry number (0 or more)")
        }
        guard let mac = fields["mac"], mac.utf8.count == 64, mac.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw AuditAnchorError(reason: "mac= must be 64 lower-case hex digits")
        }
        guard let time = fields["time"], !time.isEmpty else { throw AuditAnchorError(reason: "time= is missing") }
        self.init(sequence: sequence, mac: mac, time: time)
    }

    /// Every anchor in `text`, one per line; blank lines and lines starting with `#` are skipped.
    /// - Throws: `AuditAnchorError` with the 1-based number of the first line that is not an anchor.
    public static func anchors(in text: String) throws(AuditAnchorError) -> [AuditAnchor] {
        var anchors: [AuditAnchor] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                anchors.append(try AuditAnchor(line: trimmed))
            } catch {
                throw AuditAnchorError(line: index + 1, reason: error.reason)
            }
        }
        return anchors
    }
}

/// A line that is not an audit anchor.
public struct AuditAnchorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line number in the file, when read from one.
    public var line: Int?
    public var reason: String

    public init(line: Int? = nil, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { line.map { "line \($0): not an audit anchor: \(reason)" } ?? "not an audit anchor: \(reason)" }
}
