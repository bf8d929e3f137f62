import ArgumentParser
import AsgardController
import AsgardCore
import Foundation

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a desired-state directory: every error at once, each with file:line:column.",
        discussion: "Reads nothing but the directory and writes nothing. Exit 0 when valid, 1 when not."
    )

    @Argument(help: "The desired-state directory.")
    var directory = "desired"

    @Flag(
        help: """
            Also check, in a git work tree, that every requested_by is the author of the last commit that changed its \
            document (for CI: a committer cannot name someone else as the requester).
            """)
    var git = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        var result = DesiredStateLoader().load(directory: directory)
        if git, result.isValid {
            let authors = try GitAuthors(directory: directory)
            result.diagnostics += RequesterAuthorship.check(result) { authors.author(of: $0) }
        }
        if output.json {
            print(Rendering.json(JSONOutput.Validation(result, directory: directory)))
        } else if result.isValid {
            print("\(directory): valid (\(result.state.count) objects in \(result.files) files)")
        } else {
            printError(Rendering.diagnostics(result.diagnostics, files: result.files))
        }
        if !result.isValid { throw ExitCode.failure }
    }
}

/// Who last changed each file of a directory in a git work tree, from `git` itself.
struct GitAuthors {
    let directory: String

    /// - Throws: `ValidationError` when `directory` is not in a git work tree (or git is missing).
    init(directory: String) throws {
        self.directory = directory
        guard (try? Self.git(["rev-parse", "--is-inside-work-tree"], in: directory))?.status == 0 else {
            throw ValidationError("--git: \(directory) is not in a git work tree (or git is not installed)")
        }
    }

    func author(of relative: String) -> RequesterAuthorship.Author {
        guard let status = try? Self.git(["status", "--porcelain", "--", relative], in: directory), status.status == 0 else { return .untracked }
        if !status.output.isEmpty { return status.output.hasPrefix("??") ? .untracked : .uncommitted }
        guard let log = try? Self.git(["log", "-1", "--format=%ae", "--", relative], in: directory), log.status == 0, !log.output.isEmpty else {
            return .untracked
        }
        return .committed(log.output)
    }

    /// Runs `git -C directory arguments`; its exit status and trimmed standard output.
    static func git(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
