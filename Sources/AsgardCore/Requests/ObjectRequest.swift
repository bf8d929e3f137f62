import AsgardJSON
public import Foundation

/// Who asked for an object through MCP or the API: a person (their credential said so) or a
/// key, an agent acting for its project. Never taken from a field of the request.
public enum Requester: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A person, by normalized email.
    case person(String)
    /// A key, by id.
    case key(String)

    /// `User/<email>` or `Key/<id>`: how the store and the audit log name the requester.
    public var description: String {
        switch self {
        case .person(let email): "User/\(email)"
        case .key(let id): "Key/\(id)"
        }
    }

    /// Reads `description`'s form back.
    public init?(stored: String) {
        if stored.hasPrefix("User/") {
            self = .person(normalizedEmail(String(stored.dropFirst(5))))
        } else if stored.hasPrefix("Key/") {
            self = .key(String(stored.dropFirst(4)))
        } else {
            return nil
        }
    }

    /// The requester as an approval names it (`Approval.requestedBy`): a person's email, or
    /// `Key/<id>` for a key (a normalized email is lower-case, so it never reads as a key).
    public var approvalName: String {
        switch self {
        case .person(let email): email
        case .key: description
        }
    }
}

/// An object asked for through MCP or the API rather than committed to `desired/`: it lives in
/// the store with its origin and requester, and each controller pass adds it to the desired
/// state after checking it with the same loader rules (`RequestedState.merge`), so the same
/// gate, tiers and controller make it real. Once `desired/` has an object with the same
/// reference, Git owns it and the request is `committed`.
public struct ObjectRequest: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// In force: added to desired state on every pass (a project proposal once approved).
        case open
        /// Withdrawn by its requester: its object leaves desired state like a deleted file.
        case cancelled
        /// `desired/` now declares the same object: Git owns it.
        case committed
        /// A project proposal whose approval was rejected.
        case rejected
    }

    /// Where the request came from.
    public enum Origin: String, Sendable, Hashable, Codable, CaseIterable {
        case mcp
        case api
    }

    /// `req_` and 16 hex digits.
    public var id: String
    public var ref: ObjectRef
    /// The object's YAML document, exactly as `asgard requests export` writes it and the
    /// loader reads it.
    public var document: String
    public var origin: Origin
    public var requester: Requester
    public var status: Status
    /// Why the status changed (a cancellation's reason, say).
    public var reason: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, ref: ObjectRef, document: String, origin: Origin, requester: Requester, status: Status = .open, reason: String? = nil,
        createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.ref = ref
        self.document = document
        self.origin = origin
        self.requester = requester
        self.status = status
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// A new request id: `req_` and 64 random bits in hex.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() as UInt64
        let hex = String(bits, radix: 16)
        return "req_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// SHA-256 of the document: what a project proposal's approval is for.
    public var documentDigest: String { SHA256.hex(document) }

    /// The document as the loader reads it, named `requests/<id>.yaml`.
    public var source: SourceFile {
        SourceFile(name: "request \(id)", relative: "requests/\(id).yaml", bytes: Array(document.utf8))
    }
}

/// Writes request documents: every value as a JSON scalar (YAML 1.2 reads JSON), so no text a
/// requester gives can break out of its field.
public enum RequestDocument {
    /// A resource request.
    public static func resource(id: String, project: String, service: String, parameters: [String: ParameterValue], requestedBy: String?) -> String {
        var lines = ["kind: Resource", "id: \(quoted(id))", "project: \(quoted(project))", "service: \(quoted(service))"]
        if let requestedBy { lines.append("requested_by: \(quoted(requestedBy))") }
        if !parameters.isEmpty { lines.append("parameters: \(flow(.map(parameters)))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A project proposal.
    public static func project(
        id: String, name: String, owner: String, classification: DataClass, monthlyBudgetUSD: String, approvers: [String]
    ) -> String {
        [
            "kind: Project", "id: \(quoted(id))", "name: \(quoted(name))", "owner: \(quoted(owner))",
            "classification: \(classification.name)", "monthly_budget_usd: \(quoted(monthlyBudgetUSD))",
            "approvers: [\(approvers.map(quoted).joined(separator: ", "))]",
        ].joined(separator: "\n") + "\n"
    }

    /// A JSON string literal (`JSONValue.writeString`), with what YAML reads as a line break or
    /// a byte-order mark, or refuses as a control character, escaped too: the value reads back
    /// exactly, and nothing in it can end its scalar.
    public static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONValue.writeString(text, to: &bytes)
        var out = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            if scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) || [0x2028, 0x2029, 0xFEFF].contains(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func flow(_ value: ParameterValue) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .list(let items): "[" + items.map(flow).joined(separator: ", ") + "]"
        case .map(let members): "{" + members.sorted { $0.key < $1.key }.map { "\(quoted($0.key)): \(flow($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}
