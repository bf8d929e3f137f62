import ArgumentParser
import AsgardController
import AsgardCore
import AsgardJSON
import Foundation

struct Approvals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, approve and reject human-tier provisioning and destroy requests.",
        discussion: """
            An approval is bound to one terraform plan by its digest: a plan to provision an \
            object, or to destroy one removed from desired state. Each shows the plan's resource \
            changes with their attribute values (sensitive ones masked) and a monthly estimate \
            saying how it was reached. Only an approver of the project may decide (Cedar \
            `approve`), never the person who requested it. The next reconcile pass (`asgard \
            serve`'s loop, or `asgard reconcile --once`) applies exactly the approved plan, or \
            voids the approval if the plan has changed.
            """,
        subcommands: [List.self, Approve.self, Reject.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List approvals, newest first.")

        @Option(help: "Only this status: \(Approval.Status.allCases.map(\.rawValue).joined(separator: ", ")).")
        var status: String?

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let status, Approval.Status(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(Approval.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let approvals = try await openExisting(store).approvals(status: status.flatMap(Approval.Status.init(rawValue:)))
            if output.json {
                print(Rendering.json(approvals))
                return
            }
            guard !approvals.isEmpty else {
                print("No approvals\(status.map { " with status \($0)" } ?? "").")
                return
            }
            for approval in approvals { print(Rendering.approval(approval)) }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve the plan of a pending request, as the holder of ASGARD_PERSON_KEY.",
            discussion: Approvals.decider)

        @Argument(help: "The approval id (apr_…).") var id: String
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await decide(id: id, approve: true, reason: nil, store: store, json: output.json)
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reject the plan of a pending request, as the holder of ASGARD_PERSON_KEY; nothing is applied.",
            discussion: Approvals.decider)

        @Argument(help: "The approval id (apr_…).") var id: String
        @Option(help: "Why.") var reason: String
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await decide(id: id, approve: false, reason: reason, store: store, json: output.json)
        }
    }

    static let decider = """
        Who decides is the Person whose personal credential (`asgard keygen --person`) is in \
        ASGARD_PERSON_KEY; Cedar decides `approve` under the policy set the controller enforces, \
        as recorded in the store.
        """

    static func decide(id: String, approve: Bool, reason: String?, store options: StoreOptions, json: Bool) async throws {
        let store = try openExisting(options, creatingKey: true)
        let person = try await credentialedPerson(store)
        let desk = ApprovalDesk(store: store, policies: try await storedPolicies(store))
        do {
            let approval = try await desk.decide(id: id, approve: approve, by: person.email, reason: reason)
            print(
                json
                    ? Rendering.json(approval)
                    : "\(approval.id) \(approval.status.rawValue) by \(person.email): \(approval.ref), plan \(approval.planDigest ?? "-"). "
                        + (approve ? "The next reconcile pass applies exactly this plan." : "Nothing will be applied."))
        } catch let refusal as ApprovalDesk.Refusal {
            printError("refused: \(refusal)")
            throw ExitCode.failure
        } catch let error as StoreError {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

extension Rendering {
    /// One approval as people read it: what it is for, the estimate and how it was reached,
    /// the plan, and each resource change with its attribute values (sensitive ones arrive
    /// masked), then the decision if there is one.
    static func approval(_ a: Approval) -> String {
        let cost = a.operation == .destroy ? "saves" : "estimate"
        var lines = [
            "\(a.id)  \(a.status.rawValue)  \(a.operation.rawValue) \(a.ref)  project \(a.project)  requested by \(a.requestedBy)",
            "    \(cost): \(a.estimate)",
            "    plan \(a.planDigest ?? "-"): \(a.summary)",
        ]
        for change in a.changes {
            lines.append("      \(sign(of: change.action)) \(change.action) \(change.address)")
            lines += attributeLines(change).map { "          " + $0 }
        }
        if let by = a.decidedBy { lines.append("    decided by \(by)\(a.reason.map { ": \($0)" } ?? "")") }
        return lines.joined(separator: "\n")
    }

    private static func sign(of action: String) -> String {
        switch action {
        case "create": "+"
        case "destroy": "-"
        case "replace": "-/+"
        default: "~"
        }
    }

    /// `name = value` per attribute (values as compact JSON): what a create makes, what a destroy
    /// removes, and for an update or replacement each attribute that changes, `old → new`.
    static func attributeLines(_ change: PlannedChange) -> [String] {
        let before = Dictionary(change.before?.members?.map { ($0.key, $0.value) } ?? [], uniquingKeysWith: { first, _ in first })
        let after = Dictionary(change.after?.members?.map { ($0.key, $0.value) } ?? [], uniquingKeysWith: { first, _ in first })
        switch (change.before, change.after) {
        case (nil, let values?), (let values?, nil):
            return (values.members ?? []).map { "\($0.key) = \($0.value.jsonText)" }
        case (_?, _?):
            return Set(before.keys).union(after.keys).sorted().compactMap { name in
                let (old, new) = (before[name], after[name])
                guard old != new else { return nil }
                return "\(name) = \(old?.jsonText ?? "(none)") → \(new?.jsonText ?? "(known after apply)")"
            }
        case (nil, nil):
            return []
        }
    }
}
