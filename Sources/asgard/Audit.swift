import ArgumentParser
import AsgardController
import AsgardCore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and verify the hash-chained audit log.",
        subcommands: [Verify.self, Tail.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every audit entry against the chain; exit 1 naming the first bad entry."
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let sqlite = try openExisting(store)
            let verification = try await sqlite.verifyAudit()
            switch verification {
            case .intact(let count, let head):
                print(
                    output.json
                        ? Rendering.json(JSONOutput.AuditVerification(intact: true, entries: count, head: head))
                        : "audit log intact: \(count) entries, head \(head)")
            case .broken(let sequence, let reason):
                print(
                    output.json
                        ? Rendering.json(JSONOutput.AuditVerification(intact: false, firstBadEntry: sequence, reason: reason))
                        : "audit log BROKEN at entry \(sequence): \(reason)")
                throw ExitCode.failure
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the newest audit entries, oldest first.")

        @Option(name: [.customShort("n"), .long], help: "How many entries.")
        var count = 20

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard count > 0 else { throw ValidationError("--count must be at least 1") }
        }

        func run() async throws {
            let records = try await openExisting(store).auditTail(limit: count)
            if output.json {
                print(Rendering.json(records.map(JSONOutput.AuditRow.init)))
                return
            }
            for record in records {
                let c = record.content
                print("\(c.sequence)  \(c.time)  \(c.actor)  \(c.action)  \(c.target ?? "-")  \(c.outcome)  \(c.detail)")
            }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise the store: objects by kind and status, routes, keys, approvals, ledger, audit.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let summary = try await openExisting(store).summary()
        print(output.json ? Rendering.json(summary) : Rendering.summary(summary, path: store.storePath))
    }
}

/// Opens the store only if it exists: reading commands never create one.
func openExisting(_ options: StoreOptions) throws -> any Store {
    guard FileManager.default.fileExists(atPath: options.storePath) else {
        printError("no store at \(options.storePath): run `asgard reconcile --once` first, or set --data-dir / ASGARD_DATA_DIR")
        throw ExitCode.failure
    }
    return try options.open()
}
