import ArgumentParser
import AsgardCore
import Foundation

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List objects requested through MCP or the API, and export them as YAML to commit.",
        discussion: """
            A request (a resource, a project proposal) lives in the store with its origin and \
            requester and is reconciled like a file in desired/. Exported and committed, the same \
            object is then declared by desired/: Git owns it, and the next pass marks the request \
            committed.
            """,
        subcommands: [List.self, Export.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List requests, oldest first.")

        @Option(help: "Only this status: \(ObjectRequest.Status.allCases.map(\.rawValue).joined(separator: ", ")).")
        var status: String?

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let status, ObjectRequest.Status(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(ObjectRequest.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let requests = try await openExisting(store).objectRequests(status: status.flatMap(ObjectRequest.Status.init(rawValue:)))
            if output.json {
                print(Rendering.json(requests))
                return
            }
            guard !requests.isEmpty else {
                print("No requests\(status.map { " with status \($0)" } ?? "").")
                return
            }
            for request in requests {
                print(
                    "\(request.id)  \(request.ref)  \(request.status.rawValue)  via \(request.origin.rawValue) by \(request.requester)  \(formatInstant(request.createdAt))"
                        + (request.reason.map { "\n    \($0)" } ?? ""))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the open requests in force as desired-state YAML, ready to commit.",
            discussion: """
                Without --into, the documents go to standard output, separated by `---`. With \
                --into DIR (your desired/ checkout), each is written to DIR/resources/<id>.yaml or \
                DIR/projects/<id>.yaml; an existing file is never overwritten. A project proposal \
                is exported only once approved.
                """)

        @Option(help: "A desired-state directory to write the files into.") var into: String?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let sqlite = try openExisting(store)
            let approvals = try await sqlite.approvals(status: nil)
            var documents: [(ObjectRequest, String)] = []
            for request in try await sqlite.objectRequests(status: .open) {
                if request.ref.kind == .project,
                    !approvals.contains(where: {
                        $0.ref == request.ref && $0.actionDigest == request.documentDigest && ($0.status == .approved || $0.status == .applied)
                    })
                {
                    printError("skipped \(request.id) (\(request.ref)): the proposal is not approved")
                    continue
                }
                let header =
                    "# Requested via \(request.origin.rawValue) by \(request.requester) on \(formatInstant(request.createdAt)) (request \(request.id)).\n"
                documents.append((request, header + request.document))
            }
            guard let into else {
                print(documents.map(\.1).joined(separator: "---\n"), terminator: "")
                return
            }
            var failed = false
            for (request, text) in documents {
                let folder = request.ref.kind == .project ? "projects" : "resources"
                let path = "\(into)/\(folder)/\(request.ref.id).yaml"
                guard !FileManager.default.fileExists(atPath: path) else {
                    printError("\(path) exists: not overwritten (request \(request.id))")
                    failed = true
                    continue
                }
                try FileManager.default.createDirectory(atPath: "\(into)/\(folder)", withIntermediateDirectories: true)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                print("wrote \(path) (request \(request.id))")
            }
            if failed { throw ExitCode.failure }
        }
    }
}
