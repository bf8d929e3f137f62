public import AsgardCore
public import AsgardCost
public import Foundation

/// `/projects/<id>`: the project's keys (never their secrets or digests), its resources and
/// endpoints with status and drift, its spend, its recent calls and refusals.
public struct ProjectPage: Sendable {
    public struct Object: Sendable, Hashable {
        public var ref: ObjectRef
        public var service: String?
        public var status: String
        public var tier: String
        public var reason: String?
        public var drift: String?

        public init(ref: ObjectRef, service: String?, status: String, tier: String, reason: String?, drift: String?) {
            self.ref = ref
            self.service = service
            self.status = status
            self.tier = tier
            self.reason = reason
            self.drift = drift
        }
    }

    public var project: Project
    public var keys: [Key]
    /// Keys with an engaged kill switch (the key's own).
    public var killedKeys: Set<String>
    public var objects: [Object]
    /// When drift was last observed; nil when no provisioning round has run.
    public var driftObservedAt: Date?
    public var spend: OverviewPage.ProjectSpend?
    public var period: CostPeriod
    public var calls: [LedgerEntry]
    public var refusals: [AuditRecord]
    public var now: Date

    public init(
        project: Project, keys: [Key], killedKeys: Set<String>, objects: [Object], driftObservedAt: Date?, spend: OverviewPage.ProjectSpend?,
        period: CostPeriod, calls: [LedgerEntry], refusals: [AuditRecord], now: Date
    ) {
        self.project = project
        self.keys = keys
        self.killedKeys = killedKeys
        self.objects = objects
        self.driftObservedAt = driftObservedAt
        self.spend = spend
        self.period = period
        self.calls = calls
        self.refusals = refusals
        self.now = now
    }

    public func render(viewer: Viewer) -> String {
        Layout.page(title: "\(project.name) (\(project.id))", viewer: viewer, section: nil) {
            h("dl", ["class": "facts"]) {
                h("div") {
                    h("dt", text: "Owner")
                    h("dd", text: project.owner)
                }
                h("div") {
                    h("dt", text: "Approvers")
                    h("dd", text: project.approvers.isEmpty ? "none" : project.approvers.joined(separator: ", "))
                }
                h("div") {
                    h("dt", text: "Data class")
                    h("dd", text: project.classification.name)
                }
                h("div") {
                    h("dt", text: "Monthly budget")
                    h("dd", text: Format.dollars(project.monthlyBudget))
                }
            }
            keysSection
            objectsSection
            h("section", ["id": "spend", "aria-labelledby": "spend-title"]) {
                h("h2", ["id": "spend-title"], text: "Spend, \(period.from) to \(period.to)")
                if let spend {
                    spend.chart.svg(title: "Spend of \(project.name) per day, by vendor", id: "chart-project")
                    spend.chart.legend(id: "project")
                    OverviewPage.spendTable(spend.rows, caption: "Spend of \(project.name) by vendor and source")
                } else {
                    h("p", text: "The cost plane is off: this store has no cost tables.")
                }
            }
            callsSection
            refusalsSection
        }
    }

    var keysSection: Node {
        h("section", ["id": "keys", "aria-labelledby": "keys-title"]) {
            h("h2", ["id": "keys-title"], text: "Keys")
            Layout.table(
                caption: "Virtual keys of \(project.id) (their secrets are never shown or stored)",
                columns: ["Key", "Models", "Max data class", "Requests per minute", "Expires", "State"], empty: "No keys."
            ) {
                for key in keys {
                    h("tr", ["data-key": key.id]) {
                        h("th", ["scope": "row"], text: key.id)
                        h("td", text: key.allowedModels.joined(separator: ", "))
                        h("td", text: key.maxDataClass.name)
                        h("td", text: key.requestsPerMinute.map(String.init) ?? "unlimited")
                        h("td", text: key.expires.map(Format.time) ?? "never")
                        h("td", text: state(of: key))
                    }
                }
            }
        }
    }

    func state(of key: Key) -> String {
        if killedKeys.contains(key.id) { return "killed" }
        if let expires = key.expires, expires <= now { return "expired" }
        return "active"
    }

    var objectsSection: Node {
        h("section", ["id": "objects", "aria-labelledby": "objects-title"]) {
            h("h2", ["id": "objects-title"], text: "Resources and endpoints")
            h(
                "p", ["class": "muted"],
                text: driftObservedAt.map { "Drift as observed by the last provisioning round, \(Format.time($0))." }
                    ?? "Drift has not been observed yet: no provisioning round has run.")
            Layout.table(
                caption: "Resources and serving endpoints of \(project.id)", columns: ["Object", "Service", "Status", "Tier", "Drift", "Why"],
                empty: "No resources or endpoints."
            ) {
                for object in objects {
                    h("tr", ["data-ref": object.ref.description]) {
                        h("th", ["scope": "row"], text: object.ref.description)
                        h("td", text: object.service ?? "—")
                        h("td") { h("span", ["class": "badge status-\(object.status)"], text: object.status) }
                        h("td", text: object.tier)
                        h("td", ["class": object.drift == nil ? nil : "drift"], text: object.drift ?? "none")
                        h("td", ["title": (object.reason?.count ?? 0) > 240 ? object.reason : nil], text: Self.shortened(object.reason ?? ""))
                    }
                }
            }
        }
    }

    /// At most 240 characters of `text`, with an ellipsis when cut (the whole text is the cell's title).
    static func shortened(_ text: String) -> String {
        text.count > 240 ? String(text.prefix(240)) + "…" : text
    }

    var callsSection: Node {
        h("section", ["id": "calls", "aria-labelledby": "calls-title"]) {
            h("h2", ["id": "calls-title"], text: "Recent calls")
            Layout.table(
                caption: "The newest model calls of \(project.id), from the gateway's ledger",
                columns: ["Time", "Key", "Model", "Status", "Tokens in / out", "Cost"], empty: "No calls in the last 7 days."
            ) {
                for call in calls {
                    h("tr", ["data-request": call.requestID]) {
                        h("td", text: Format.time(call.time))
                        h("td", text: call.keyID)
                        h("td", text: call.model)
                        h("td", text: call.status)
                        h("td", ["class": "number"], text: "\(call.promptTokens) / \(call.completionTokens)")
                        h(
                            "td", ["class": "number", "title": "$" + DecimalAmount.dollars(call.cost)],
                            text: Format.dollars(call.cost) + (call.estimated ? " (estimate)" : ""))
                    }
                }
            }
        }
    }

    var refusalsSection: Node {
        h("section", ["id": "refusals", "aria-labelledby": "refusals-title"]) {
            h("h2", ["id": "refusals-title"], text: "Recent refusals")
            AuditPage.table(refusals, caption: "The newest denied or refused entries about \(project.id)")
            h("p") { h("a", ["href": "/audit?project=\(project.id)"], text: "Everything about \(project.id) in the audit trail") }
        }
    }
}
