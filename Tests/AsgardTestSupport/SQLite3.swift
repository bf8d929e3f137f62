public import Foundation

// MARK: - The sqlite3 command-line tool

public struct SQLite3Failure: Error, CustomStringConvertible {
    public var description: String
}

/// Runs `sql` against the database file with the `sqlite3` command-line tool, in a separate
/// process, as an operator (or an attacker) with file access would.
/// - Returns: standard output, trailing newline removed.
@discardableResult
public func sqlite3(_ path: String, _ sql: String) throws -> String {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // Waits up to 5 s for a writer in another process (the server under test) instead of
    // failing at once with "database is locked".
    process.arguments = ["sqlite3", "-batch", "-cmd", ".timeout 5000", path, sql]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do {
        try process.run()
    } catch {
        throw SQLite3Failure(description: "cannot run sqlite3 (apt-get install -y sqlite3): \(error)")
    }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SQLite3Failure(description: "sqlite3 exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
    }
    var text = String(decoding: out, as: UTF8.self)
    while text.hasSuffix("\n") { text.removeLast() }
    return text
}

/// The lines of `sqlite3` output.
public func sqlite3Lines(_ path: String, _ sql: String) throws -> [String] {
    let text = try sqlite3(path, sql)
    return text.isEmpty ? [] : text.components(separatedBy: "\n")
}
