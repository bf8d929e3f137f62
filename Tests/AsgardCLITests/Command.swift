import AsgardTestSupport
import Foundation

/// What a run of the `asgard` binary did.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }
}

/// The built `asgard` binary, beside the test bundle.
let asgardBinary: String = {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("asgard").path
    if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
    return packageRoot + "/.build/debug/asgard"
}()

/// Runs `asgard` with `arguments` in `directory`, with the test's environment minus
/// ASGARD_DATA_DIR, plus the tests' audit key (`testAuditEnvironment`), plus `environment`. Output goes to temporary files, so no pipe can fill.
func asgard(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:]) throws -> CommandResult {
    let scratch = try makeTemporaryDirectory("command")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    _ = FileManager.default.createFile(atPath: scratch + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + "/err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/err"))
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: asgardBinary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var env = ProcessInfo.processInfo.environment
    // Only what a test gives: no data directory or terraform CLI config from outside, and no
    // terraform unless the test brings one (a machine may have one on PATH).
    for name in ["ASGARD_DATA_DIR", "TF_CLI_CONFIG_FILE"] { env[name] = nil }
    env["ASGARD_TERRAFORM_BIN"] = "/nonexistent/terraform"
    env.merge(testAuditEnvironment) { _, new in new }
    env.merge(environment) { _, new in new }
    process.environment = env
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CommandResult(
        status: process.terminationStatus,
        stdout: try String(contentsOfFile: scratch + "/out", encoding: .utf8),
        stderr: try String(contentsOfFile: scratch + "/err", encoding: .utf8))
}

/// `asgard(...)` on a thread of its own: a test that runs long commands must not hold one of
/// the few threads that every other test (and the servers some of them run) share.
func asgardDetached(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:]) async throws -> CommandResult {
    try await detached { try asgard(arguments, in: directory, environment: environment) }
}

/// Runs blocking `work` on a new thread and awaits its result.
func detached<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
