public import AsgardCore
import Foundation

/// Human-readable and JSON renderings of validation, plans and reconcile passes, shared by
/// the CLI and (later) the HTTP API, so both say the same thing.
public enum Rendering {
    /// `file:line:column: error: ...` lines and a closing count.
    public static func diagnostics(_ diagnostics: [Diagnostic], files: Int) -> String {
        var lines = diagnostics.map(\.description)
        lines.append("\(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }

    /// The plan as people read it: one line per action (for provisioning, the gate's decision
    /// and what runs next), then the counts.
    public static func plan(_ actions: [PreviewedAction], objects: Int, files: Int) -> String {
        guard !actions.isEmpty else {
            return "No changes: \(objects) objects in \(files) files match the store."
        }
        let width = actions.map { $0.action.ref.description.count }.max() ?? 0
        var lines = actions.map { previewed in
            let action = previewed.action
            let sign = switch action.verb { case .create: "+"; case .update: "~"; case .delete: "-"; case .converge: "=" }
            let padded = action.ref.description.padding(toLength: width, withPad: " ", startingAt: 0)
            var line = "  \(sign) \(action.verb.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(padded)  \(action.tier.rawValue)"
            if let note = action.note { line += "  (\(note))" }
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
    public static func progress(_ event: ReconcileEvent, elapsed: Duration) -> String? {
        let clock = String(format: "[%6.1fs]", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        switch event {
        case .started(let action):
            return "\(clock) \(action.ref) \(action.verb.rawValue) [\(action.tier.rawValue)]" + (action.note.map { " (\($0))" } ?? "")
        case .gate(let action, let gate):
            return "\(clock) \(action.ref) gate \(gate.verdict): \(gate.reason)"
        case .step(let action, let step):
            return "\(clock) \(action.ref) terraform \(step)"
        case .finished(let outcome):
            return "\(clock) \(outcome.action.ref) \(outcome.result.rawValue) in \(outcome.elapsedMilliseconds) ms" + (outcome.reason.map { ": \($0)" } ?? "")
        case .problem(let message):
            return "\(clock) problem: \(message)"
        }
    }

    /// One line per action outcome, then the counts.
    public static func pass(_ report: ReconcileReport) -> String {
        guard !report.outcomes.isEmpty else {
            return (["Converged: \(report.objects) objects in \(report.files) files, nothing to do."] + report.notes.map { "  note: \($0)" })
                .joined(separator: "\n")
        }
        let width = report.outcomes.map { $0.action.ref.description.count }.max() ?? 0
        var lines = report.outcomes.map { outcome in
            let padded = outcome.action.ref.description.padding(toLength: width, withPad: " ", startingAt: 0)
            var line = "  \(outcome.action.verb.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(padded)  \(outcome.action.tier.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0))  \(outcome.result.rawValue)  \(outcome.elapsedMilliseconds) ms"
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
    public static func summary(_ summary: StoreSummary, path: String) -> String {
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
    public static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// JSON shapes of the CLI's `--json` output.
public enum JSONOutput {
    public struct Problem: Codable, Sendable {
        public var file: String
        public var line: Int
        public var column: Int
        public var object: String?
        public var field: String?
        public var message: String

        public init(_ d: Diagnostic) {
            file = d.location.file
            line = d.location.line
            column = d.location.column
            object = d.object
            field = d.field
            message = d.message
        }
    }

    public struct PlannedAction: Codable, Sendable {
        public var verb: String
        public var object: String
        public var kind: String
        public var id: String
        public var tier: String
        public var project: String?
        public var provisioning: Bool
        public var digest: String
        public var specDigest: String?
        public var note: String?

        public init(_ a: Action) {
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

    public struct Validation: Codable, Sendable {
        public var valid: Bool
        public var directory: String
        public var files: Int
        public var objects: Int
        public var errors: [Problem]

        public init(_ result: LoadResult, directory: String) {
            valid = result.isValid
            self.directory = directory
            files = result.files
            objects = result.state.count
            errors = result.diagnostics.map(Problem.init)
        }
    }

    public struct Plan: Codable, Sendable {
        public var valid: Bool
        public var directory: String
        public var errors: [Problem]
        public var actions: [Previewed]
        /// Read-only vendor calls made to observe drift, and what could not be observed.
        public var notes: [String]

        public init(_ result: LoadResult, actions: [PreviewedAction], directory: String, notes: [String] = []) {
            valid = result.isValid
            self.directory = directory
            errors = result.diagnostics.map(Problem.init)
            self.actions = actions.map { Previewed(action: PlannedAction($0.action), gate: $0.gate, next: $0.next) }
            self.notes = notes
        }
    }

    public struct Previewed: Codable, Sendable {
        public var action: PlannedAction
        public var gate: GateOutcome?
        public var next: String?
    }

    public struct Outcome: Codable, Sendable {
        public var action: PlannedAction
        public var result: String
        public var reason: String?
        public var gate: GateOutcome?
        public var planDigest: String?
        public var elapsedMs: Int
    }

    public struct Pass: Codable, Sendable {
        public var valid: Bool
        public var succeeded: Bool
        public var directory: String
        public var errors: [Problem]
        public var outcomes: [Outcome]
        public var notes: [String]

        public init(_ report: ReconcileReport) {
            notes = report.notes
            valid = report.isValid
            succeeded = report.succeeded
            directory = report.directory
            errors = report.diagnostics.map(Problem.init)
            outcomes = report.outcomes.map {
                Outcome(action: PlannedAction($0.action), result: $0.result.rawValue, reason: $0.reason, gate: $0.gate, planDigest: $0.planDigest,
                        elapsedMs: $0.elapsedMilliseconds)
            }
        }
    }

    public struct AuditRow: Codable, Sendable {
        public var sequence: Int64
        public var time: String
        public var actor: String
        public var action: String
        public var target: String?
        public var outcome: String
        public var detail: String
        public var hash: String

        public init(_ r: AuditRecord) {
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
