import AsgardController
import AsgardCore
import Foundation

/// The CLI's human-readable and JSON renderings of validation, plans, reconcile passes and the
/// store's summary.
enum Rendering {
    /// `file:line:column: error: ...` lines and a closing count.
    static func diagnostics(_ diagnostics: [Diagnostic], files: Int) -> String {
        var lines = diagnostics.map(\.description)
        lines.append("\(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }

    /// The plan as people read it: one line per action (for provisioning, the gate's decision
    /// and what runs next), then the counts.
    static func plan(_ actions: [PreviewedAction], objects: Int, files: Int, requested: [ObjectRef: ObjectRequest] = [:]) -> String {
        guard !actions.isEmpty else {
            return "No changes: \(objects) objects in \(files) files match the store."
        }
        let width = actions.map { $0.action.ref.description.count }.max() ?? 0
        var lines = actions.map { previewed in
            let action = previewed.action
            let sign =
                switch action.verb {
                case .create: "+"
                case .update: "~"
                case .delete: "-"
                case .converge: "="
                }
            let padded = action.ref.description.padding(toLength: width, withPad: " ", startingAt: 0)
            var line = "  \(sign) \(action.verb.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(padded)  \(action.tier.rawValue)"
            if let note = action.note { line += "  (\(note))" }
            if let request = requested[action.ref] {
                line += "\n      origin: requested via \(request.origin.rawValue) by \(request.requester) (request \(request.id)), not in desired/"
            }
            if let gate = previewed.gate { line += "\n      gate: \(gate.verdict): \(gate.reason)" }
            if let next = previewed.next { line += "\n      next: \(next)" }
            return line
        }
        let count = { (verb: Action.Verb) in actions.filter { $0.action.verb == verb }.count }
        var header = "Plan: \(count(.create)) to create, \(count(.update)) to update, \(count(.delete)) to delete"
        if count(.converge) > 0 { header += ", \(count(.converge)) to converge" }
        lines.insert(header + ".", at: 0)
        return lines.joined(separator: "\n")
    }

    /// One progress line of a pass, as it happens.
    static func progress(_ event: ReconcileEvent, elapsed: Duration) -> String? {
        let clock = String(format: "[%6.1fs]", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        switch event {
        case .started(let action):
            return "\(clock) \(action.ref) \(action.verb.rawValue) [\(action.tier.rawValue)]" + (action.note.map { " (\($0))" } ?? "")
        case .gate(let action, let gate):
            return "\(clock) \(action.ref) gate \(gate.verdict): \(gate.reason)"
        case .step(let action, let step):
            return "\(clock) \(action.ref) terraform \(step)"
        case .finished(let outcome):
            return "\(clock) \(outcome.action.ref) \(outcome.result.rawValue) in \(outcome.elapsedMilliseconds) ms"
                + (outcome.reason.map { ": \($0)" } ?? "")
        case .problem(let message):
            return "\(clock) problem: \(message)"
        }
    }

    /// One line per action outcome, then the counts.
    static func pass(_ report: ReconcileReport) -> String {
        guard !report.outcomes.isEmpty else {
            return (["Converged: \(report.objects) objects in \(report.files) files, nothing to do."] + report.notes.map { "  note: \($0)" })
                .joined(separator: "\n")
        }
        let width = report.outcomes.map { $0.action.ref.description.count }.max() ?? 0
        var lines = report.outcomes.map { outcome in
            let padded = outcome.action.ref.description.padding(toLength: width, withPad: " ", startingAt: 0)
            var line =
                "  \(outcome.action.verb.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(padded)  \(outcome.action.tier.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  \(outcome.result.rawValue)  \(outcome.elapsedMilliseconds) ms"
            if let gate = outcome.gate { line += "\n      gate: \(gate.verdict): \(gate.reason)" }
            if let reason = outcome.reason { line += "\n      reason: \(reason)" }
            if let plan = outcome.planDigest { line += "\n      plan: \(plan)" }
            return line
        }
        let counts = Dictionary(grouping: report.outcomes, by: \.result).mapValues(\.count)
        let summary = counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ")
        lines.insert("Reconciled \(report.outcomes.count) action\(report.outcomes.count == 1 ? "" : "s"): \(summary).", at: 0)
        lines += report.notes.map { "  note: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The store's counts for people.
    static func summary(_ summary: StoreSummary, path: String) -> String {
        var lines = ["Store: \(path)"]
        for kind in ObjectKind.allCases.sorted() {
            guard let statuses = summary.objects[kind.rawValue], !statuses.isEmpty else { continue }
            let text = statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            lines.append("  \(kind.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(text)")
        }
        lines.append("  gateway routes   \(summary.routes)")
        lines.append("  keys             \(summary.keys)")
        lines.append("  cost sources     \(summary.costSources)")
        lines.append("  approvals        \(summary.pendingApprovals) pending")
        lines.append("  ledger rows      \(summary.ledgerRows)")
        lines.append("  audit entries    \(summary.auditEntries)\(summary.auditHead.map { ", head \($0.prefix(16))…" } ?? "")")
        return lines.joined(separator: "\n")
    }

    /// Pretty, sorted-key JSON of an encodable value.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// JSON shapes of the CLI's `--json` output: real JSON types (booleans, numbers), snake_case keys.
enum JSONOutput {
    /// `asgard audit verify --json`.
    struct AuditVerification: Encodable, Sendable {
        var intact: Bool
        var entries: Int?
        var head: String?
        /// How many anchors the log was checked against (`--anchor`).
        var anchors: Int?
        var firstBadEntry: Int64?
        var reason: String?
    }

    /// `asgard audit anchor --json`.
    struct AuditAnchor: Encodable, Sendable {
        var sequence: Int64
        var mac: String
        var time: String
        var line: String
        var appendedTo: String?
    }

    /// `asgard policy check --json`.
    struct PolicyCheck: Encodable, Sendable {
        var valid: Bool
        var policies: Int
        var ids: [String]
        var errors: [String]
    }

    struct Problem: Codable, Sendable {
        var file: String
        var line: Int
        var column: Int
        var object: String?
        var field: String?
        var message: String

        init(_ d: Diagnostic) {
            file = d.location.file
            line = d.location.line
            column = d.location.column
            object = d.object
            field = d.field
            message = d.message
        }
    }

    struct PlannedAction: Codable, Sendable {
        var verb: String
        var object: String
        var kind: String
        var id: String
        var tier: String
        var project: String?
        var provisioning: Bool
        var digest: String
        var specDigest: String?
        var note: String?

        init(_ a: Action) {
            note = a.note
            verb = a.verb.rawValue
            object = a.ref.description
            kind = a.ref.kind.rawValue
            id = a.ref.id
            tier = a.tier.rawValue
            project = a.project
            provisioning = a.isProvisioning
            digest = a.digest
            specDigest = a.specDigest
        }
    }

    struct Validation: Codable, Sendable {
        var valid: Bool
        var directory: String
        var files: Int
        var objects: Int
        var errors: [Problem]

        init(_ result: LoadResult, directory: String) {
            valid = result.isValid
            self.directory = directory
            files = result.files
            objects = result.state.count
            errors = result.diagnostics.map(Problem.init)
        }
    }

    struct Plan: Codable, Sendable {
        var valid: Bool
        var directory: String
        var errors: [Problem]
        var actions: [Previewed]
        /// Read-only vendor calls made to observe drift, and what could not be observed.
        var notes: [String]
        /// The objects in force through requests made with MCP or the API, with their origin.
        var requested: [Requested]

        struct Requested: Codable, Sendable {
            var object: String
            var origin: Origin
        }

        init(_ result: LoadResult, actions: [PreviewedAction], directory: String, notes: [String] = [], requested: [ObjectRef: ObjectRequest] = [:]) {
            valid = result.isValid
            self.directory = directory
            errors = result.diagnostics.map(Problem.init)
            self.actions = actions.map {
                Previewed(
                    action: PlannedAction($0.action), gate: $0.gate, next: $0.next,
                    origin: requested[$0.action.ref].map { Origin(request: $0.id, via: $0.origin.rawValue, requester: $0.requester.description) })
            }
            self.notes = notes
            self.requested = requested.sorted { $0.key < $1.key }.map {
                Requested(object: $0.key.description, origin: Origin(request: $0.value.id, via: $0.value.origin.rawValue, requester: $0.value.requester.description))
            }
        }
    }

    struct Previewed: Codable, Sendable {
        var action: PlannedAction
        var gate: GateOutcome?
        var next: String?
        /// Where an object that is not in desired/ came from: its request.
        var origin: Origin?
    }

    struct Origin: Codable, Sendable {
        var request: String
        var via: String
        var requester: String
    }

    struct Outcome: Codable, Sendable {
        var action: PlannedAction
        var result: String
        var reason: String?
        var gate: GateOutcome?
        var planDigest: String?
        var elapsedMs: Int
    }

    struct Pass: Codable, Sendable {
        var valid: Bool
        var succeeded: Bool
        var directory: String
        var errors: [Problem]
        var outcomes: [Outcome]
        var notes: [String]

        init(_ report: ReconcileReport) {
            notes = report.notes
            valid = report.isValid
            succeeded = report.succeeded
            directory = report.directory
            errors = report.diagnostics.map(Problem.init)
            outcomes = report.outcomes.map {
                Outcome(
                    action: PlannedAction($0.action), result: $0.result.rawValue, reason: $0.reason, gate: $0.gate, planDigest: $0.planDigest,
                    elapsedMs: $0.elapsedMilliseconds)
            }
        }
    }

    struct AuditRow: Codable, Sendable {
        var sequence: Int64
        var time: String
        var actor: String
        var action: String
        var target: String?
        var outcome: String
        var detail: String
        var hash: String

        init(_ r: AuditRecord) {
            sequence = r.content.sequence
            time = r.content.time
            actor = r.content.actor
            action = r.content.action
            target = r.content.target
            outcome = r.content.outcome
            detail = r.content.detail
            hash = r.hash
        }
    }
}
