import Foundation

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
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    try output.close()
    return (status, try String(contentsOfFile: outputPath, encoding: .utf8))
}
