import Foundation

/// Runs `executable` with `arguments`, output to temporary files, waiting without blocking a thread.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    let scratch = try makeTemporaryDirectory("process")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let outputPath = scratch + "/out"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    await process.exited()
    let status = process.terminationStatus
    try output.close()
    return (status, try String(contentsOfFile: outputPath, encoding: .utf8))
}
