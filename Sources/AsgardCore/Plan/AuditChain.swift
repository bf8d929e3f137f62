/// The audit log's hash chain: each entry's hash covers the previous hash and a canonical,
/// unambiguous encoding of the entry, so editing, deleting or reordering any row is detectable.
///
/// Pure, so every store implementation shares it and it is tested with plain values.
public enum AuditChain {
    /// The `previous` hash of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// The hash of an entry given its predecessor's hash.
    public static func hash(previous: String, entry: AuditRecord.Content) -> String {
        var hasher = SHA256()
        hasher.update(previous.utf8)
        for field in [String(entry.sequence), entry.time, entry.actor, entry.action, entry.target ?? "\u{0}", entry.outcome, entry.detail] {
            // Length-prefixed, so no two different entries encode to the same bytes.
            hasher.update("\(field.utf8.count):".utf8)
            hasher.update(field.utf8)
        }
        return hexString(hasher.finalize())
    }

    /// Checks records in sequence order against each other and against the recorded head.
    ///
    /// - Parameter head: the last sequence number and hash the store recorded beside the log
    ///   (so deleting the newest rows is caught too), or nil if none was recorded.
    public static func verify(_ records: [AuditRecord], head: (sequence: Int64, hash: String)?) -> AuditVerification {
        var previous = genesis
        var expectedSequence: Int64 = 1
        for record in records {
            if record.content.sequence != expectedSequence {
                return .broken(
                    sequence: record.content.sequence, reason: "expected entry \(expectedSequence) here: an entry was deleted, inserted or reordered")
            }
            if record.previousHash != previous {
                return .broken(
                    sequence: record.content.sequence,
                    reason: "its previous-hash does not match entry \(expectedSequence - 1): the chain was cut or reordered")
            }
            if hash(previous: previous, entry: record.content) != record.hash {
                return .broken(sequence: record.content.sequence, reason: "its content does not match its hash: the entry was edited")
            }
            previous = record.hash
            expectedSequence += 1
        }
        let last = expectedSequence - 1
        switch head {
        case nil where last > 0:
            return .broken(sequence: last, reason: "the log has entries but no recorded head")
        case let head? where head.sequence != last || head.hash != previous:
            return .broken(
                sequence: min(head.sequence, last + 1),
                reason: "the recorded head is entry \(head.sequence) but the log ends at entry \(last): entries were deleted or the head was edited")
        default:
            return .intact(count: Int(last), head: previous)
        }
    }
}

/// One audit log entry as stored.
public struct AuditRecord: Sendable, Hashable, Codable {
    /// The hashed fields.
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
    public var previousHash: String
    public var hash: String

    public init(content: Content, previousHash: String, hash: String) {
        self.content = content
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// The outcome of checking the audit chain.
public enum AuditVerification: Sendable, Hashable {
    case intact(count: Int, head: String)
    /// The first bad entry and why.
    case broken(sequence: Int64, reason: String)
}
