public import AsgardCore
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file of audit anchors, one `AuditAnchor.line` per line, as `asgard audit anchor --append`
/// and `asgard serve` (`ASGARD_AUDIT_ANCHOR_FILE`) write it and `asgard audit verify --anchor`
/// reads it. It holds no secret; an operator ships it to where the store's editor cannot reach.
public enum AuditAnchorFile {
    /// Appends `anchor` as one line with one `write` (created 0600 if missing; an existing
    /// file keeps its mode), then syncs it to disk.
    /// - Throws: `AuditAnchorFileError` when the file cannot be opened, written or synced.
    public static func append(_ anchor: AuditAnchor, to path: String) throws(AuditAnchorFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, PrivateFiles.fileMode)
        guard descriptor >= 0 else { throw AuditAnchorFileError(path: path, reason: "cannot open it: \(String(cString: strerror(errno)))") }
        defer { _ = close(descriptor) }
        let bytes = Array((anchor.line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw AuditAnchorFileError(path: path, reason: "cannot append to it: \(written < 0 ? String(cString: strerror(errno)) : "short write")")
        }
        guard fsync(descriptor) == 0 else { throw AuditAnchorFileError(path: path, reason: "cannot sync it: \(String(cString: strerror(errno)))") }
    }

    /// Every anchor in the file at `path` (blank lines and `#` comments skipped).
    /// - Throws: `AuditAnchorFileError` when it cannot be read or a line is not an anchor.
    public static func read(_ path: String) throws(AuditAnchorFileError) -> [AuditAnchor] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditAnchorFileError(path: path, reason: "cannot read it")
        }
        do {
            return try AuditAnchor.anchors(in: String(decoding: data, as: UTF8.self))
        } catch {
            throw AuditAnchorFileError(path: path, reason: error.description)
        }
    }
}

/// An anchor file that cannot be written or read.
public struct AuditAnchorFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "audit anchor file \(path): \(reason)" }
}
