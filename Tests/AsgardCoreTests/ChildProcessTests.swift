import AsgardTestSupport
import Foundation
import Testing

/// The tests' own process launcher (Foundation's crashes in a process with many descriptors open).
@Suite struct ChildProcessTests {
    static func shell(_ script: String, output: Any? = nil, directory: String? = nil, environment: [String: String]? = nil) throws -> ChildProcess {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", script]
        child.standardOutput = output
        child.standardInput = FileHandle.nullDevice
        child.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) }
        child.environment = environment
        try child.run()
        return child
    }

    @Test func exitStatusOutputDirectoryAndEnvironmentAreTheChildsOwn() async throws {
        let directory = try makeTemporaryDirectory("childprocess")
        let pipe = Pipe()
        let child = try Self.shell(#"pwd; echo "$GREETING"; exit 3"#, output: pipe, directory: directory, environment: ["GREETING": "hello"])
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        await child.exited()
        #expect(child.terminationReason == .exit && child.terminationStatus == 3)
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        #expect(text == "\(resolved)\nhello\n")
    }

    @Test func aSignalledChildReportsTheSignal() async throws {
        let child = try Self.shell("sleep 30")
        #expect(child.isRunning)
        child.send(signal: SIGKILL)
        await child.exited()
        #expect(!child.isRunning && child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGKILL)
    }

    /// A descriptor this process has open without close-on-exec (as a journal lock might be)
    /// does not reach the child: only 0, 1 and 2 do.
    @Test func onlyTheStandardStreamsReachTheChild() async throws {
        let directory = try makeTemporaryDirectory("childprocess-fds")
        let opened = open(directory + "/held", O_RDWR | O_CREAT, 0o600)
        // Above the 3 that `ls` itself opens to list the directory.
        let held = fcntl(opened, F_DUPFD, 100)
        close(opened)
        #expect(held >= 100)
        defer { close(held) }
        let pipe = Pipe()
        let child = try Self.shell("ls /proc/self/fd", output: pipe)
        let listed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        await child.exited()
        #expect(listed.filter { $0 > 3 }.isEmpty && listed.contains(1), "\(listed)")
    }
}
