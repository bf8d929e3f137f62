public import AsgardCore

/// `/kill`: the engaged kill switches with reason, who and since, each with release; and the
/// form to engage one. Cedar decides both (under the shipped policies, admins only).
public struct KillPage: Sendable {
    public var engaged: [StoredKillSwitch]

    public init(engaged: [StoredKillSwitch]) { self.engaged = engaged }

    public func render(viewer: Viewer, message: Message? = nil) -> String {
        Layout.page(title: "Kill switches", viewer: viewer, section: .kill, message: message) {
            h(
                "p",
                text:
                    "An engaged switch refuses every matching model call at once, on every server within a second. Cedar decides who may engage and release one."
            )
            Layout.table(
                ["id": "engaged"], caption: "Engaged kill switches", columns: ["Switch", "Reason", "By", "Since", ""],
                empty: "No kill switch is engaged."
            ) {
                for row in engaged {
                    h("tr", ["data-target": row.scope == .global ? "global" : "\(row.scope.rawValue):\(row.target)"]) {
                        h("th", ["scope": "row"], text: row.scope.target(row.target))
                        h("td", ["class": "reason"], text: row.reason)
                        h("td", ["class": "by"], text: row.engagedBy)
                        h("td", ["class": "since"], text: Format.time(row.since))
                        h("td") {
                            Layout.postForm(
                                "/kill/release", viewer: viewer, attributes: ["class": "release"],
                                confirm: "Release \(row.scope.target(row.target))? Calls flow again at once."
                            ) {
                                h("input", ["type": "hidden", "name": "scope", "value": row.scope.rawValue])
                                h("input", ["type": "hidden", "name": "id", "value": row.target])
                                h("button", ["type": "submit"], text: "Release")
                            }
                        }
                    }
                }
            }
            h("section", ["aria-labelledby": "engage-title"]) {
                h("h2", ["id": "engage-title"], text: "Engage a kill switch")
                Layout.postForm(
                    "/kill/engage", viewer: viewer, attributes: ["id": "engage"],
                    confirm: "Engage this kill switch? Matching calls are refused at once."
                ) {
                    Layout.field("Scope", id: "scope") {
                        h("select", ["id": "scope", "name": "scope"]) {
                            for scope in KillScope.allCases {
                                h("option", ["value": scope.rawValue, "selected": scope == .project ? "" : nil], text: scope.rawValue)
                            }
                        }
                    }
                    Layout.field("Target (vendor, model, project or key id; empty for global)", id: "target") {
                        h("input", ["id": "target", "name": "id", "type": "text", "maxlength": "200"])
                    }
                    Layout.field("Reason", id: "reason") {
                        h("input", ["id": "reason", "name": "reason", "type": "text", "maxlength": "500", "required": ""])
                    }
                    h("button", ["id": "engage-button", "type": "submit", "class": "danger"], text: "Engage")
                }
            }
        }
    }
}
