public import AsgardCore
import Foundation
import Synchronization

public enum JournalError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    /// A write failed and the segment could not be cut back to its last whole record: the
    /// journal refuses further appends rather than write after a torn record.
    case broken(path: String)
    /// A record that is not the last thing in the journal does not read back: not a torn write
    /// from a crash, but damage. Nothing is ingested past it.
    case corrupt(path: String, offset: Int64, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let errno): "cannot open the call journal \(path): \(String(cString: strerror(errno)))"
        case .writeFailed(let path, let errno): "cannot write the call journal \(path): \(String(cString: strerror(errno)))"
        case .broken(let path): "the call journal \(path) could not be repaired after a failed write; restart the server to recover it"
        case .corrupt(let path, let offset, let reason): "the call journal \(path) is damaged at byte \(offset): \(reason)"
        }
    }
}

/// The gateway's write-ahead journal of finished calls: an append-only file of checksummed
/// records, written with one `write` per group commit, from which the calls are copied into
/// the store in the background (`SQLiteStore.ingest`).
///
/// **Durability.** A record is durable once `append` returns: it is in the kernel's page cache,
/// so a crash of the process (even SIGKILL) loses nothing, the same promise as the store's own
/// commits (SQLite in WAL mode with `synchronous = NORMAL`). Neither survives a power loss that
/// precedes the next disk sync.
///
/// **Layout.** A directory of segments, `<number>.journal` with a 16-hex-digit number, each an
/// 8-byte magic followed by frames: a little-endian `UInt32` payload length, the payload's
/// CRC-32, and the payload (`JournalCodec`). `append` starts a new segment once the current one
/// passes `segmentBytes`; a segment is removed (`removeSegments(before:)`) once the store holds
/// everything in it. The store keeps, in the same transaction as the rows, the position it has
/// ingested through, so after a crash `recover` hands back exactly the records it lacks.
///
/// **Torn tails.** The last segment's last record may be cut short by a crash, or end in zeros:
/// `recover` drops it (no caller saw it succeed) and cuts the file there. A bad record anywhere
/// else is damage, reported as `JournalError.corrupt`.
public final class CallJournal: Sendable {
    public static let magic: [UInt8] = Array("ASGJRNL1".utf8)
    public let directory: String
    public let segmentBytes: Int64

    private struct Writer {
        var segment: UInt64
        var descriptor: Int32
        var size: Int64
        var broken = false
    }

    private let writer: Mutex<Writer>
    /// Segments on disk that may still hold records the store lacks, oldest first.
    private let retained: Mutex<[UInt64]>

    /// Opens the journal in `directory` (created 0700 if missing; segments are 0600). Appends go to a new segment, after
    /// any found: call `recover` before appending to learn what the old ones hold.
    /// - Parameter after: a segment number the new one must exceed (the store's position), so
    ///   numbers never go back even if the directory was emptied.
    public init(directory: String, segmentBytes: Int64 = 16 << 20, after: UInt64 = 0) throws {
        self.directory = directory
        self.segmentBytes = segmentBytes
        try PrivateFiles.makeDirectory(directory)
        let existing = try Self.segments(in: directory)
        let next = max(existing.last ?? 0, after) + 1
        writer = Mutex(try Self.create(segment: next, in: directory))
        retained = Mutex(existing + [next])
    }

    deinit {
        writer.withLock { _ = close($0.descriptor) }
    }

    public func path(of segment: UInt64) -> String {
        Self.path(of: segment, in: directory)
    }

    // MARK: Appending

    /// Writes `calls` as consecutive records with one system call, and returns the position after
    /// the last. Callers serialize their own appends (the gateway's group commit does); a lock
    /// makes overlapping calls safe regardless.
    /// - Throws: `JournalError.writeFailed` (nothing of `calls` is kept), `JournalError.broken`.
    @discardableResult
    public func append(_ calls: [RecordedCall]) throws -> JournalPosition {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(calls.count * 640)
        for call in calls { JournalCodec.appendFrame(for: call, to: &bytes) }
        return try writer.withLock { writer in
            if writer.broken { throw JournalError.broken(path: path(of: writer.segment)) }
            if writer.size > Int64(Self.magic.count), writer.size + Int64(bytes.count) > segmentBytes {
                let next = try Self.create(segment: writer.segment + 1, in: directory)
                _ = close(writer.descriptor)
                writer = next
                retained.withLock { $0.append(next.segment) }
            }
            if let failure = Self.writeAll(bytes, to: writer.descriptor) {
                // Cut back to the last whole record, so the next append does not follow a torn one.
                if ftruncate(writer.descriptor, off_t(writer.size)) != 0 { writer.broken = true }
                throw JournalError.writeFailed(path: path(of: writer.segment), errno: failure)
            }
            writer.size += Int64(bytes.count)
            return JournalPosition(segment: writer.segment, offset: writer.size)
        }
    }

    /// The position after the last record appended (the start of the current segment when none has been).
    public var end: JournalPosition {
        writer.withLock { JournalPosition(segment: $0.segment, offset: $0.size) }
    }

    // MARK: Recovery and clean-up

    /// Every record after `position` (all of them when nil), oldest first, each with the position
    /// after it; removes the segments wholly before `position` and cuts a torn last record.
    /// Reads only the segments that existed when the journal was opened.
    public func recover(after position: JournalPosition?) throws -> [(call: RecordedCall, through: JournalPosition)] {
        let current = writer.withLock { $0.segment }
        let old = retained.withLock { $0.filter { $0 < current } }
        var found: [(call: RecordedCall, through: JournalPosition)] = []
        for (index, segment) in old.enumerated() {
            if let position, segment < position.segment { continue }
            let start = position.map { $0.segment == segment ? $0.offset : Int64(Self.magic.count) } ?? Int64(Self.magic.count)
            let isLast = index == old.count - 1
            found += try read(segment: segment, from: start, cutTornTail: isLast)
        }
        if let position { removeSegments(before: position.segment) }
        return found
    }

    /// Deletes every segment numbered below `segment` (the store holds all their records).
    public func removeSegments(before segment: UInt64) {
        let doomed = retained.withLock { retained in
            defer { retained.removeAll { $0 < segment } }
            return retained.filter { $0 < segment }
        }
        for old in doomed { _ = unlink(path(of: old)) }
    }

    /// Segments on disk that may still hold records the store lacks, oldest first.
    public var retainedSegments: [UInt64] { retained.withLock { $0 } }

    private func read(segment: UInt64, from start: Int64, cutTornTail: Bool) throws -> [(call: RecordedCall, through: JournalPosition)] {
        let path = path(of: segment)
        guard let data = FileManager.default.contents(atPath: path) else { throw JournalError.cannotOpen(path: path, errno: errno) }
        let bytes = [UInt8](data)
        guard bytes.count >= Self.magic.count, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            // A segment cut before its magic was complete can only be the newest, and empty.
            if cutTornTail, Self.magic.starts(with: bytes) { return [] }
            throw JournalError.corrupt(path: path, offset: 0, reason: "not a call journal segment")
        }
        var found: [(call: RecordedCall, through: JournalPosition)] = []
        var offset = Int(start)
        while offset < bytes.count {
            switch JournalCodec.readFrame(bytes, at: offset) {
            case .record(let call, let next):
                offset = next
                found.append((call, JournalPosition(segment: segment, offset: Int64(next))))
            case .bad(let reason, let torn):
                // A file system may leave a crashed append's tail as zeros rather than cut short.
                let zeros = bytes[offset...].allSatisfy { $0 == 0 }
                guard cutTornTail, torn || zeros else { throw JournalError.corrupt(path: path, offset: Int64(offset), reason: reason) }
                guard truncate(path, off_t(offset)) == 0 else { throw JournalError.writeFailed(path: path, errno: errno) }
                return found
            }
        }
        return found
    }

    // MARK: Files

    private static func path(of segment: UInt64, in directory: String) -> String {
        let digits = String(segment, radix: 16)
        return directory + "/" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".journal"
    }

    /// Segment numbers in `directory`, ascending.
    static func segments(in directory: String) throws -> [UInt64] {
        try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name -> UInt64? in
            guard name.hasSuffix(".journal") else { return nil }
            let stem = name.dropLast(".journal".count)
            guard stem.count == 16 else { return nil }
            return UInt64(stem, radix: 16)
        }.sorted()
    }

    private static func create(segment: UInt64, in directory: String) throws -> Writer {
        let path = path(of: segment, in: directory)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw JournalError.cannotOpen(path: path, errno: errno) }
        if let failure = writeAll(magic, to: descriptor) {
            _ = close(descriptor)
            _ = unlink(path)
            throw JournalError.writeFailed(path: path, errno: failure)
        }
        return Writer(segment: segment, descriptor: descriptor, size: Int64(magic.count))
    }

    /// Writes all of `bytes`, retrying short writes and interruptions. Returns the errno of a failure.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
        bytes.withUnsafeBytes { buffer -> Int32? in
            var done = 0
            while done < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return nil
        }
    }
}
