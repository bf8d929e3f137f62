import ArgumentParser
import AsgardController
import AsgardCore
import AsgardStore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read, anchor and verify the keyed, hash-chained audit log.",
        subcommands: [Verify.self, Anchor.self, Tail.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every audit entry's MAC under the audit key, and the log against anchors; exit 1 naming the first bad entry."
        )

        @Option(
            name: .customLong("anchor"),
            help: ArgumentHelp(
                "A file of anchors (`asgard audit anchor --append FILE`, ASGARD_AUDIT_ANCHOR_FILE): each anchored entry must still have its MAC. "
                    + "Repeatable.", valueName: "file"))
        var anchorFiles: [String] = []
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let anchors: [AuditAnchor]
            do {
                anchors = try anchorFiles.flatMap { try AuditAnchorFile.read($0) }
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            let verification: AuditVerification
            do {
                verification = try await openExisting(store).verifyAudit(anchors: anchors)
            } catch let error as AuditKeyError {
                // Without the right key nothing can be verified: say so as a verdict.
                print(
                    output.json
                        ? Rendering.json(JSONOutput.AuditVerification(intact: false, reason: error.description))
                        : "audit log cannot be verified: \(error)")
                throw ExitCode.failure
            }
            switch verification {
            case .intact(let count, let head):
                let against = anchors.isEmpty ? "" : ", consistent with \(anchors.count) anchor\(anchors.count == 1 ? "" : "s")"
                let checked = anchorFiles.isEmpty ? nil : anchors.count
                print(
                    output.json
                        ? Rendering.json(JSONOutput.AuditVerification(intact: true, entries: count, head: head, anchors: checked))
                        : "audit log intact: \(count) entries, head \(head)\(against)")
            case .broken(let sequence, let reason):
                print(
                    output.json
                        ? Rendering.json(JSONOutput.AuditVerification(intact: false, firstBadEntry: sequence, reason: reason))
                        : "audit log BROKEN at entry \(sequence): \(reason)")
                throw ExitCode.failure
            }
        }
    }

    struct Anchor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the audit log's head as an anchor line (sequence, MAC, time) to ship where the store's editor cannot reach.",
            discussion: """
                The line holds no secret. `asgard audit verify --anchor FILE` later checks that the anchored entry still has that MAC \
                and that the log still reaches it, which catches the newest entries deleted and the head rewound. Anchoring reads \
                only the head; `audit verify` checks the chain.
                """
        )

        @Option(name: .customLong("append"), help: ArgumentHelp("Also append the line to this file (created 0600 if missing).", valueName: "file"))
        var file: String?
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let head = try await openExisting(store).auditTail(limit: 1).first
            let anchor = AuditAnchor(head: head, at: Date())
            if let file {
                do {
                    try AuditAnchorFile.append(anchor, to: file)
                } catch {
                    printError("error: \(error)")
                    throw ExitCode.failure
                }
            }
            print(
                output.json
                    ? Rendering.json(
                        JSONOutput.AuditAnchor(sequence: anchor.sequence, mac: anchor.mac, time: anchor.time, line: anchor.line, appendedTo: file))
                    : anchor.line)
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
        print(output.json ? Rendering.json(summary) : Rendering.summary(summary, path: store.location))
    }
}

/// Opens the store only if it exists: reading commands never create one, nor an audit key
/// (`creatingKey`: a command that writes the store, such as an approval, may create the key).
func openExisting(_ options: StoreOptions, creatingKey: Bool = false) throws -> any Store {
    guard options.databaseURL != nil || FileManager.default.fileExists(atPath: options.storePath) else {
        printError("no store at \(options.storePath): run `asgard reconcile --once` first, or set --data-dir / ASGARD_DATA_DIR")
        throw ExitCode.failure
    }
    return try StoreOptions.open(path: options.storePath, createKey: creatingKey)
}
