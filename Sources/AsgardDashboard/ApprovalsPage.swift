public import AsgardCore
import AsgardJSON
public import Foundation

/// `/approvals`: the pending queue, each with what its plan changes (attribute values as
/// terraform planned them, sensitive ones masked by the store), the estimate and the
/// requester, with approve and reject; then the decided ones with who, when and the plan digest.
public struct ApprovalsPage: Sendable {
    public var pending: [Approval]
    public var decided: [Approval]

    public init(pending: [Approval], decided: [Approval]) {
        self.pending = pending
        self.decided = decided
    }

    public func render(viewer: Viewer, message: Message? = nil) -> String {
        Layout.page(title: "Approvals", viewer: viewer, section: .approvals, message: message) {
            h("section", ["id": "pending", "aria-labelledby": "pending-title"]) {
                h("h2", ["id": "pending-title"], text: "Waiting for a decision (\(pending.count))")
                if pending.isEmpty { h("p", text: "Nothing is waiting for you.") }
                for approval in pending { article(approval, viewer: viewer) }
            }
            h("section", ["aria-labelledby": "decided-title"]) {
                h("h2", ["id": "decided-title"], text: "Decided")
                decidedTable
            }
        }
    }

    func article(_ approval: Approval, viewer: Viewer) -> Node {
        h(
            "article",
            ["class": "approval", "data-approval": approval.id, "data-ref": approval.ref.description, "aria-labelledby": "a-\(approval.id)"]
        ) {
            h("h3", ["id": "a-\(approval.id)"], text: "\(approval.operation == .destroy ? "Destroy" : "Provision") \(approval.ref.description)")
            h("dl", ["class": "facts"]) {
                h("div") {
                    h("dt", text: "Project")
                    h("dd") { h("a", ["href": "/projects/\(approval.project)"], text: approval.project) }
                }
                h("div") {
                    h("dt", text: "Requested by")
                    h("dd", ["class": "requester"], text: approval.requestedBy)
                }
                h("div") {
                    h("dt", text: "Asked")
                    h("dd", text: Format.time(approval.createdAt))
                }
                h("div") {
                    h("dt", text: approval.operation == .destroy ? "Stops spending" : "Estimate")
                    h(
                        "dd", ["class": "estimate"],
                        text: (approval.estimate.monthly.map { Format.dollars($0) + " a month" } ?? "unknown") + " (\(approval.estimate.detail))")
                }
                h("div") {
                    h("dt", text: "Plan digest")
                    h("dd") { h("code", text: approval.planDigest ?? "none (no plan)") }
                }
            }
            h("p", text: approval.summary)
            Self.changes(approval.changes)
            h("div", ["class": "decide"]) {
                Layout.postForm(
                    "/approvals/\(approval.id)/approve", viewer: viewer, attributes: ["class": "approve"],
                    confirm: "Approve \(approval.ref.description)? Its plan will be applied."
                ) {
                    h("button", ["type": "submit", "class": "primary"], text: "Approve")
                }
                Layout.postForm("/approvals/\(approval.id)/reject", viewer: viewer, attributes: ["class": "reject"]) {
                    Layout.field("Reason", id: "reason-\(approval.id)") {
                        h("input", ["id": "reason-\(approval.id)", "name": "reason", "type": "text", "maxlength": "500", "required": ""])
                    }
                    h("button", ["type": "submit"], text: "Reject")
                }
            }
        }
    }

    /// The plan's resource changes, one row per attribute that is set or changes.
    static func changes(_ changes: [PlannedChange]) -> Node {
        Layout.table(
            ["class": "changes"], caption: "What the plan changes", columns: ["Resource", "Action", "Attribute", "Now", "After"],
            empty: "No resource changes are recorded for this plan."
        ) {
            for change in changes {
                let attributes = Self.attributes(change)
                if attributes.isEmpty {
                    h("tr") {
                        h("td", text: change.address)
                        h("td", text: change.action)
                        h("td", ["colspan": "3"], text: "")
                    }
                }
                for (name, before, after) in attributes {
                    h("tr") {
                        h("td", text: change.address)
                        h("td", text: change.action)
                        h("td") { h("code", text: name) }
                        h("td") { h("code", text: before) }
                        h("td") { h("code", text: after) }
                    }
                }
            }
        }
    }

    /// Each attribute of the change's values that is set before or after, with both values as JSON text.
    static func attributes(_ change: PlannedChange) -> [(String, String, String)] {
        func members(_ value: JSONValue?) -> [String: JSONValue] {
            guard case .object(let members)? = value else { return [:] }
            return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        let (before, after) = (members(change.before), members(change.after))
        return Set(before.keys).union(after.keys).sorted().compactMap { name in
            let (old, new) = (before[name], after[name])
            guard old != nil && old != .null || new != nil && new != .null else { return nil }
            return (name, old.map(\.jsonText) ?? "—", new.map(\.jsonText) ?? (change.action == "destroy" ? "—" : "(known after apply)"))
        }
    }

    var decidedTable: Node {
        Layout.table(
            ["id": "decided"], caption: "Approvals decided, newest first",
            columns: ["Object", "Status", "Decided by", "When", "Reason", "Plan digest"],
            empty: "None yet."
        ) {
            for approval in decided {
                h("tr", ["data-approval": approval.id, "data-ref": approval.ref.description]) {
                    h("th", ["scope": "row"], text: approval.ref.description)
                    h("td", ["class": "status"], text: approval.status.rawValue)
                    h("td", ["class": "decided-by"], text: approval.decidedBy ?? "—")
                    h("td", ["class": "decided-at"], text: approval.decidedAt.map(Format.time) ?? "—")
                    h("td", text: approval.reason ?? "")
                    h("td", ["class": "plan-digest"]) { h("code", text: approval.planDigest ?? "none") }
                }
            }
        }
    }
}
