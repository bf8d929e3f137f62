import ArgumentParser
import AsgardController
import AsgardCore
import Foundation

struct Approvals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, approve and reject human-tier provisioning requests.",
        discussion: """
            An approval is bound to one terraform plan by its digest. Only an approver of the \
            project may decide (Cedar `approve`), never the person who requested it. The next \
            reconcile pass (`asgard serve`'s loop, or `asgard reconcile --once`) applies exactly \
            the approved plan, or voids the approval if the plan has changed.
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
            for a in approvals {
                print("\(a.id)  \(a.status.rawValue)  \(a.ref)  project \(a.project)  $\(a.monthlyEstimate)/month  requested by \(a.requestedBy)")
                print("    plan \(a.planDigest ?? "-"): \(a.summary)")
                if let by = a.decidedBy { print("    decided by \(by)\(a.reason.map { ": \($0)" } ?? "")") }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve the plan of a pending request.")

        @Argument(help: "The approval id (apr_…).") var id: String
        @Option(help: "Who approves (an email; must be an approver of the project).") var by: String
        @Option(help: "The Cedar policy directory.") var policies = "policies"
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await decide(id: id, approve: true, by: by, reason: nil, policies: policies, store: store, json: output.json)
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject the plan of a pending request; nothing is applied.")

        @Argument(help: "The approval id (apr_…).") var id: String
        @Option(help: "Who rejects (an email; must be an approver of the project).") var by: String
        @Option(help: "Why.") var reason: String
        @Option(help: "The Cedar policy directory.") var policies = "policies"
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await decide(id: id, approve: false, by: by, reason: reason, policies: policies, store: store, json: output.json)
        }
    }

    static func decide(id: String, approve: Bool, by: String, reason: String?, policies: String, store: StoreOptions, json: Bool) async throws {
        let desk = ApprovalDesk(store: try openExisting(store, creatingKey: true), policies: enforcedPolicies(directory: policies))
        do {
            let approval = try await desk.decide(id: id, approve: approve, by: by, reason: reason)
            print(
                json
                    ? Rendering.json(approval)
                    : "\(approval.id) \(approval.status.rawValue) by \(by): \(approval.ref), plan \(approval.planDigest ?? "-"). "
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
