import AsgardJSON

/// The audit log's chain: each entry's MAC is HMAC-SHA256, under the audit key, of the previous
/// entry's MAC and a canonical, unambiguous encoding of the entry, so editing, deleting,
/// inserting or reordering any row is detectable, and someone without the key cannot recompute
/// the chain after doing so.
///
/// Logs written before the chain was keyed keep their entries: entries 1…L are an unkeyed
/// *legacy segment* (each hash plain SHA-256 of the same bytes), sealed when the store was first
/// opened with a key (`AuditKeying`: L, entry L's hash, and a MAC of both), and the keyed chain
/// continues from entry L's hash. A fresh store has L = 0.
///
/// Deleting the newest entries and rewinding the recorded head is caught against an *anchor*
/// (`AuditAnchor`): a sequence number and MAC exported to somewhere the store's editor cannot reach.
///
/// Pure, so every store implementation shares it and it is tested with plain values.
public enum AuditChain {
    /// The `previous` hash of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// The unkeyed hash of a legacy entry given its predecessor's hash: SHA-256 of `message`.
    public static func hash(previous: String, entry: AuditRecord.Content) -> String {
        hexString(SHA256.hash(message(previous: previous, entry: entry)))
    }

    /// The MAC of an entry given its predecessor's MAC (or the legacy head): HMAC-SHA256 of
    /// `message` under `key`.
    public static func mac(previous: String, entry: AuditRecord.Content, key: AuditKey) -> String {
        key.mac(message(previous: previous, entry: entry))
    }

    /// The records that follow the entry `head` (its sequence number and MAC) for `entries`,
    /// each at its time (RFC 3339 text) with its detail as canonical JSON, each MAC'd under
    /// `key`: what a store appends, whatever the database.
    public static func records(
        after head: (sequence: Int64, hash: String), appending entries: [AuditEntry], times: [String], key: AuditKey
    ) -> [AuditRecord] {
        var (sequence, previous) = head
        var records: [AuditRecord] = []
        records.reserveCapacity(entries.count)
        for (entry, time) in zip(entries, times) {
            sequence += 1
            let content = AuditRecord.Content(
                sequence: sequence, time: time, actor: entry.actor, action: entry.action,
                target: entry.target, outcome: entry.outcome, detail: CanonicalJSON.encodeStrings(entry.detail))
            let record = AuditRecord(content: content, previousHash: previous, hash: mac(previous: previous, entry: content, key: key))
            records.append(record)
            previous = record.hash
        }
        return records
    }

    /// The bytes an entry's hash or MAC covers: the previous hash as text, then each field
    /// length-prefixed (`<byte count>:<bytes>`), so no two different entries encode alike. It
    /// starts with 64 hex digits, which no other message under the key (`AuditKeying.seal`,
    /// the key id) does.
    static func message(previous: String, entry: AuditRecord.Content) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            previous.utf8.count + 64 + entry.time.utf8.count + entry.actor.utf8.count + entry.action.utf8.count
                + (entry.target?.utf8.count ?? 1) + entry.outcome.utf8.count + entry.detail.utf8.count)
        bytes.append(contentsOf: previous.utf8)
        appendField(String(entry.sequence), to: &bytes)
        appendField(entry.time, to: &bytes)
        appendField(entry.actor, to: &bytes)
        appendField(entry.action, to: &bytes)
        appendField(entry.target ?? "\u{0}", to: &bytes)
        appendField(entry.outcome, to: &bytes)
        appendField(entry.detail, to: &bytes)
        return bytes
    }

    /// `<byte count>:<bytes>`, the count in decimal ASCII: appended piece by piece, not
    /// interpolated (a decimal this short is a small string, no allocation).
    static func appendField(_ field: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(field.utf8.count).utf8)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: field.utf8)
    }

    /// Checks records in sequence order against each other, the recorded head, the seal of the
    /// legacy segment and `anchors` (see `AuditChainCheck`).
    ///
    /// - Parameters:
    ///   - head: the last sequence number and hash the store recorded beside the log (so deleting
    ///     the newest rows is caught while the head is not rewound too), or nil if none was recorded.
    ///   - keying: the store's seal of where the keyed chain starts; nil if it has none (which,
    ///     once a store is keyed, means it was deleted).
    public static func verify(
        _ records: [AuditRecord], head: (sequence: Int64, hash: String)?, keying: AuditKeying?, key: AuditKey, anchors: [AuditAnchor] = []
    ) -> AuditVerification {
        var check = AuditChainCheck(keying: keying, key: key, anchors: anchors)
        for record in records {
            if let broken = check.next(record) { return broken }
        }
        return check.end(head: head)
    }
}

/// Where a store's keyed chain starts, sealed with the key when the store was first opened with
/// one: entries 1…`legacyCount` are unkeyed, and entry `legacyCount` has hash `legacyHead`.
/// The seal stops an editor from declaring keyed entries unkeyed (and recomputing them with
/// plain SHA-256).
public struct AuditKeying: Sendable, Hashable {
    /// How many entries precede the keyed chain (0 for a store keyed from its start).
    public var legacyCount: Int64
    /// The hash of entry `legacyCount`, `AuditChain.genesis` when there is none.
    public var legacyHead: String
    /// The `AuditKey.id` of the key that keys the chain.
    public var keyID: String
    /// HMAC-SHA256 under the key of `legacyCount` and `legacyHead`.
    public var seal: String

    public init(legacyCount: Int64, legacyHead: String, keyID: String, seal: String) {
        self.legacyCount = legacyCount
        self.legacyHead = legacyHead
        self.keyID = keyID
        self.seal = seal
    }

    /// The sealed record for a log whose last unkeyed entry is `legacyCount` with hash `legacyHead`.
    public init(legacyCount: Int64, legacyHead: String, key: AuditKey) {
        self.init(
            legacyCount: legacyCount, legacyHead: legacyHead, keyID: key.id,
            seal: Self.seal(legacyCount: legacyCount, legacyHead: legacyHead, key: key))
    }

    /// Whether `seal` is the MAC of this record under `key`.
    public func isSealed(by key: AuditKey) -> Bool {
        constantTimeEqual(seal, Self.seal(legacyCount: legacyCount, legacyHead: legacyHead, key: key))
    }

    private static func seal(legacyCount: Int64, legacyHead: String, key: AuditKey) -> String {
        var bytes = Array("asgard audit keying\n".utf8)
        AuditChain.appendField(String(legacyCount), to: &bytes)
        AuditChain.appendField(legacyHead, to: &bytes)
        return key.mac(bytes)
    }
}

/// A walk along the audit log, one record at a time in sequence order, so a store can check a
/// log of any length without holding it in memory. Finds the first of:
///
/// - a missing or unsealed `AuditKeying`, or one of another key (reported at entry 1);
/// - a gap, an insertion or a reordering (a sequence number out of place);
/// - a previous-hash that is not the previous entry's hash;
/// - a legacy entry whose SHA-256 or a keyed entry whose MAC does not match its content;
/// - an entry whose MAC differs from the one an anchor recorded for it;
/// - and, at the end, a head that is not the last entry, a log shorter than its sealed legacy
///   segment, or shorter than an anchor says it was.
public struct AuditChainCheck: Sendable {
    private let key: AuditKey
    private let keying: AuditKeying?
    private let problem: String?
    private let anchors: [Int64: [AuditAnchor]]
    private var previous = AuditChain.genesis
    private var expected: Int64 = 1

    public init(keying: AuditKeying?, key: AuditKey, anchors: [AuditAnchor] = []) {
        self.key = key
        self.keying = keying
        self.anchors = Dictionary(grouping: anchors.filter { $0.sequence > 0 }, by: \.sequence)
        problem =
            if let keying {
                if keying.keyID != key.id {
                    "the log is keyed with key \(keying.keyID), not with this key (\(key.id)): wrong ASGARD_AUDIT_KEY or key file, "
                        + "or the record of the key (audit_keying) was edited"
                } else if !keying.isSealed(by: key) {
                    "the record of where the keyed chain starts (after entry \(keying.legacyCount)) does not match its MAC: it was edited"
                } else {
                    nil
                }
            } else {
                "the record of where the keyed chain starts (audit_keying) is missing: it was deleted"
            }
    }

    /// The verdict when the keying itself is missing, of another key or not sealed; nil when it is sound.
    public var keyingFailure: AuditVerification? { problem.map { .broken(sequence: 1, reason: $0) } }

    /// Checks the next record; returns the verdict if it (or the keying) is the first bad one.
    public mutating func next(_ record: AuditRecord) -> AuditVerification? {
        if let keyingFailure { return keyingFailure }
        guard let keying else { return nil }
        let sequence = record.content.sequence
        if sequence != expected {
            return .broken(sequence: sequence, reason: "expected entry \(expected) here: an entry was deleted, inserted or reordered")
        }
        if record.previousHash != previous {
            return .broken(sequence: sequence, reason: "its previous-hash does not match entry \(expected - 1): the chain was cut or reordered")
        }
        if sequence <= keying.legacyCount {
            if AuditChain.hash(previous: previous, entry: record.content) != record.hash {
                return .broken(sequence: sequence, reason: "its content does not match its hash: the (unkeyed) entry was edited")
            }
            if sequence == keying.legacyCount, record.hash != keying.legacyHead {
                return .broken(
                    sequence: sequence,
                    reason:
                        "it is the last unkeyed entry, but its hash is not the one sealed when the log was keyed: the unkeyed entries were rewritten")
            }
        } else if !constantTimeEqual(AuditChain.mac(previous: previous, entry: record.content, key: key), record.hash) {
            return .broken(
                sequence: sequence,
                reason: "its content does not match its MAC under the audit key: the entry was edited, or its MAC was computed without the key")
        }
        if let anchor = anchors[sequence]?.first(where: { $0.mac != record.hash }) {
            return .broken(
                sequence: sequence,
                reason: "it was anchored at \(anchor.time) with MAC \(anchor.mac.prefix(16))…, but now has \(record.hash.prefix(16))…: "
                    + "the log was rewritten from this entry or before")
        }
        previous = record.hash
        expected += 1
        return nil
    }

    /// The verdict once every record has been given to `next`.
    /// - Parameter head: the recorded last sequence number and hash, nil if none was recorded.
    public func end(head: (sequence: Int64, hash: String)?) -> AuditVerification {
        if let keyingFailure { return keyingFailure }
        let last = expected - 1
        switch head {
        case nil where last > 0:
            return .broken(sequence: last, reason: "the log has entries but no recorded head")
        case let head? where head.sequence != last || head.hash != previous:
            return .broken(
                sequence: min(head.sequence, last + 1),
                reason: "the recorded head is entry \(head.sequence) but the log ends at entry \(last): entries were deleted or the head was edited")
        default:
            break
        }
        if let keying, last < keying.legacyCount {
            return .broken(
                sequence: last + 1,
                reason:
                    "the log ends at entry \(last), but its unkeyed entries were sealed as running to entry \(keying.legacyCount): entries were deleted"
            )
        }
        if let anchor = anchors.values.joined().filter({ $0.sequence > last }).min(by: { $0.sequence < $1.sequence }) {
            return .broken(
                sequence: last + 1,
                reason: "entry \(anchor.sequence) was anchored at \(anchor.time), but the log ends at entry \(last): "
                    + "the newest entries were deleted (the log was truncated)")
        }
        return .intact(count: Int(last), head: previous)
    }
}

/// One audit log entry as stored.
public struct AuditRecord: Sendable, Hashable, Codable {
    /// The fields the hash or MAC covers.
    public struct Content: Sendable, Hashable, Codable {
        /// 1, 2, 3, ... with no gaps.
        public var sequence: Int64
        /// RFC 3339 UTC with milliseconds.
        public var time: String
        /// Who acted: `reconciler`, `cli`, a key id, a person.
        public var actor: String
        /// What was done, e.g. `reconcile.create`, `validate.rejected`.
        public var action: String
        /// The object acted on, e.g. `Project/fraud`.
        public var target: String?
        /// `applied`, `pending`, `awaiting_approval`, `rejected`, `failed`, `allowed`, `denied`, ...
        public var outcome: String
        /// Canonical JSON with details (reasons, digests, policy ids). Never a secret.
        public var detail: String

        public init(sequence: Int64, time: String, actor: String, action: String, target: String?, outcome: String, detail: String) {
            self.sequence = sequence
            self.time = time
            self.actor = actor
            self.action = action
            self.target = target
            self.outcome = outcome
            self.detail = detail
        }
    }

    public var content: Content
    /// The previous entry's `hash` (`AuditChain.genesis` for the first).
    public var previousHash: String
    /// The entry's MAC (`AuditChain.mac`), or for an entry of the legacy segment its unkeyed hash.
    public var hash: String

    public init(content: Content, previousHash: String, hash: String) {
        self.content = content
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// The outcome of checking the audit chain.
public enum AuditVerification: Sendable, Hashable {
    /// Every entry checks out; `head` is the newest entry's MAC (`genesis` for an empty log).
    case intact(count: Int, head: String)
    /// The first bad entry and why.
    case broken(sequence: Int64, reason: String)
}
