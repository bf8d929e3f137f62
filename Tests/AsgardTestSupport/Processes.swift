public import Foundation

/// Runs `executable` with `arguments`, output to temporary files, waiting without blocking a thread.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    let scratch = try makeTemporaryDirectory("process")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let outputPath = scratch + "/out"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
        do { try launch(process) } catch { continuation.resume(throwing: error) }
    }
    try output.close()
    return (status, try String(contentsOfFile: outputPath, encoding: .utf8))
}

/// Serializes every test's process launch: a fresh-clone run once crashed inside Foundation's
/// `Process.run()` (a bad pointer in `memmove`) while tests launched processes on many threads
/// at once. Only the launch is serialized, never the wait.
private let launches = NSLock()

/// Launches `process` (`Process.run()`) while no other test launches one.
public func launch(_ process: Process) throws {
    launches.lock()
    defer { launches.unlock() }
    try process.run()
}
