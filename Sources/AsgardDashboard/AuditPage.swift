public import AsgardCore
public import Foundation

/// `/audit`: the trail, filtered by project, actor, action and outcome, newest first, a page at
/// a time; the chain's verification and its last anchor.
public struct AuditPage: Sendable {
    public struct Filters: Sendable, Hashable {
        public var project = ""
        public var actor = ""
        public var action = ""
        public var outcome = ""
        public init() {}
    }

    /// The last exported anchor, or the head now when no export is configured.
    public struct Anchor: Sendable, Hashable {
        public var anchor: AuditAnchor
        /// Where it was read: the anchor file's path, or nil for the head read now.
        public var file: String?

        public init(anchor: AuditAnchor, file: String?) {
            self.anchor = anchor
            self.file = file
        }
    }

    public var filters: Filters
    public var records: [AuditRecord]
    /// The sequence number to page back from; nil on the last page.
    public var older: Int64?
    public var verification: AuditVerification
    /// When the verification ran (it runs at most once a minute); nil when it could not run.
    public var verifiedAt: Date?
    public var anchor: Anchor?
    /// Why there is no anchor to show (an unreadable file, say).
    public var anchorProblem: String?
    /// Whether the viewer sees every entry, or only those about their projects.
    public var seesEverything: Bool

    public init(
        filters: Filters, records: [AuditRecord], older: Int64?, verification: AuditVerification, verifiedAt: Date? = nil, anchor: Anchor?,
        anchorProblem: String?, seesEverything: Bool
    ) {
        self.verifiedAt = verifiedAt
        self.filters = filters
        self.records = records
        self.older = older
        self.verification = verification
        self.anchor = anchor
        self.anchorProblem = anchorProblem
        self.seesEverything = seesEverything
    }

    public static let outcomes = [
        "allowed", "denied", "ok", "applied", "pending", "awaiting_approval", "approved", "rejected", "failed", "refused", "engaged", "released",
    ]

    public func render(viewer: Viewer) -> String {
        Layout.page(title: "Audit trail", viewer: viewer, section: .audit) {
            chain
            h(
                "p", ["class": "muted"],
                text: seesEverything
                    ? "You see every entry."
                    : "You see the entries about your projects (those naming the project, or a Project/<id> target).")
            h("form", ["id": "filters", "method": "get", "action": "/audit", "class": "toolbar"]) {
                Layout.field("Project", id: "f-project") {
                    h("input", ["id": "f-project", "name": "project", "type": "text", "value": filters.project])
                }
                Layout.field("Actor", id: "f-actor") {
                    h("input", ["id": "f-actor", "name": "actor", "type": "text", "value": filters.actor, "placeholder": "User/lars@example.com"])
                }
                Layout.field("Action", id: "f-action") {
                    h("input", ["id": "f-action", "name": "action", "type": "text", "value": filters.action, "placeholder": "kill.engage"])
                }
                Layout.field("Outcome", id: "f-outcome") {
                    h("select", ["id": "f-outcome", "name": "outcome"]) {
                        h("option", ["value": "", "selected": filters.outcome.isEmpty ? "" : nil], text: "any")
                        for outcome in Self.outcomes + (Self.outcomes.contains(filters.outcome) || filters.outcome.isEmpty ? [] : [filters.outcome]) {
                            h("option", ["value": outcome, "selected": filters.outcome == outcome ? "" : nil], text: outcome)
                        }
                    }
                }
                h("button", ["type": "submit"], text: "Filter")
            }
            Self.table(records, caption: "Audit entries, newest first")
            if let older {
                h("p") { h("a", ["rel": "next", "href": link(before: older)], text: "Older entries") }
            }
        }
    }

    var chain: Node {
        h("section", ["class": "chain", "aria-labelledby": "chain-title"]) {
            h("h2", ["id": "chain-title"], text: "Integrity")
            switch verification {
            case .intact(let count, let head):
                h(
                    "p", ["id": "chain-status", "class": "ok"],
                    text: "verified: all \(count) entries chain and check out under the audit key; head \(head.prefix(16))…"
                        + (verifiedAt.map { " (checked \(Format.time($0)); the check runs at most once a minute)" } ?? ""))
            case .broken(let sequence, let reason):
                h("p", ["id": "chain-status", "class": "error", "role": "alert"], text: "broken at entry \(sequence): \(reason)")
            }
            if let anchor {
                h(
                    "p", ["id": "last-anchor"],
                    text: "Last anchor: entry \(anchor.anchor.sequence), \(anchor.anchor.time), MAC \(anchor.anchor.mac.prefix(16))… "
                        + (anchor.file.map { "(exported to \($0); the check covers every anchor in it)" }
                            ?? "(the head now: set ASGARD_AUDIT_ANCHOR_FILE to export anchors)"))
            } else {
                h("p", ["id": "last-anchor"], text: anchorProblem ?? "No anchor: the log is empty.")
            }
        }
    }

    /// The link to the page ending before `sequence`, with the same filters.
    func link(before sequence: Int64) -> String {
        var parts: [String] = []
        for (name, value) in [("project", filters.project), ("actor", filters.actor), ("action", filters.action), ("outcome", filters.outcome)]
        where !value.isEmpty {
            parts.append(name + "=" + Format.queryEscape(value))
        }
        parts.append("before=\(sequence)")
        return "/audit?" + parts.joined(separator: "&")
    }

    /// Audit records as a table (also the project page's refusals).
    static func table(_ records: [AuditRecord], caption: String) -> Node {
        Layout.table(
            ["id": "audit", "class": "audit"], caption: caption, columns: ["#", "Time", "Actor", "Action", "Target", "Outcome", "Detail"],
            empty: "No entries."
        ) {
            for record in records {
                let content = record.content
                h("tr", ["data-seq": String(content.sequence)]) {
                    h("td", ["class": "number"], text: String(content.sequence))
                    h("td", ["class": "time"], text: Format.auditTime(content.time))
                    h("td", ["class": "actor"], text: content.actor)
                    h("td", ["class": "action"], text: content.action)
                    h("td", ["class": "target"], text: content.target ?? "")
                    h("td", ["class": "outcome"], text: content.outcome)
                    h("td", ["class": "details"]) { h("code", text: content.detail) }
                }
            }
        }
    }
}
