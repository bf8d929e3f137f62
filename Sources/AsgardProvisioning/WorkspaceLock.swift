import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One pass at a time per workspace: `<workspace>/.asgard.lock`, created atomically with
/// `O_CREAT|O_EXCL` and holding the taker's PID and start time.
///
/// An existing lock whose process is alive refuses with `workspaceBusy`; one whose process is
/// gone (`kill(pid, 0)` fails with ESRCH, or the PID now belongs to a younger process) is stale:
/// it is moved aside, checked to be the very file judged, removed, and the lock taken.
struct WorkspaceLock: Sendable {
    let path: String
    let record: LockRecord
    /// The stale lock this acquisition removed, if any (for the caller to report).
    let recoveredStale: (record: LockRecord?, reason: String)?

    /// Takes the lock at `path`, or throws `workspaceBusy`.
    static func acquire(at path: String) throws(TerraformError) -> WorkspaceLock {
        let own = LockRecord(
            pid: getpid(), processStart: ProcessInspector.startTime(of: getpid()),
            acquiredAt: Date().formatted(.iso8601))
        var recovered: (record: LockRecord?, reason: String)?
        var unreadableSeen = 0
        for _ in 0..<8 {
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                let bytes = Array(own.text.utf8)
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                let failure = written == bytes.count ? nil : String(cString: strerror(errno))
                close(descriptor)
                if let failure {
                    unlink(path)
                    throw .fileSystem(operation: "write the lock", path: path, reason: failure)
                }
                return WorkspaceLock(path: path, record: own, recoveredStale: recovered)
            }
            guard errno == EEXIST else {
                throw .fileSystem(operation: "create the lock", path: path, reason: String(cString: strerror(errno)))
            }
            guard let existing = readLock(path) else { continue }  // removed meanwhile: try again
            let record = LockRecord(parsing: existing.text)
            let probe = record.map { ProcessInspector.probe($0.pid) }
            switch LockJudgement.judge(record: record, age: existing.age, probe: probe) {
            case .held(0) where unreadableSeen < 5:
                // Created but not yet written by its taker: give it a moment to name itself.
                unreadableSeen += 1
                usleep(20_000)
            case .held(let pid):
                throw .workspaceBusy(pid: pid)
            case .stale(let reason):
                try removeStale(path, expected: existing.text, holder: record?.pid ?? 0)
                recovered = (record, reason)
            }
        }
        throw .workspaceBusy(pid: 0)
    }

    /// Removes the lock if it is still this one's (a lock judged stale by someone else and
    /// replaced is left alone). Safe to call when the workspace is already gone.
    func release() {
        guard let current = Self.readLock(path), current.text == record.text else { return }
        unlink(path)
    }

    /// The lock file's text and age; nil when there is none.
    private static func readLock(_ path: String) -> (text: String, age: Duration)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        let seconds = modified.map { max(0, Date().timeIntervalSince($0)) } ?? 0
        let age = Duration.milliseconds(Int64(seconds * 1000))
        return (String(decoding: data, as: UTF8.self), age)
    }

    /// Moves the stale lock aside and deletes it, if it is still the file that was judged. If a
    /// live process replaced it meanwhile, that lock is put back and this pass is busy.
    private static func removeStale(_ path: String, expected: String, holder: Int32) throws(TerraformError) {
        let aside = "\(path).stale-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard rename(path, aside) == 0 else {
            if errno == ENOENT { return }  // someone else removed it first
            throw .fileSystem(operation: "move aside the stale lock", path: path, reason: String(cString: strerror(errno)))
        }
        let moved = FileManager.default.contents(atPath: aside).map { String(decoding: $0, as: UTF8.self) }
        if moved == expected {
            unlink(aside)
            return
        }
        // Not the file judged: another pass took the lock in between. Put it back (unless yet
        // another lock appeared) and give way.
        _ = link(aside, path)
        unlink(aside)
        throw .workspaceBusy(pid: moved.flatMap { LockRecord(parsing: $0)?.pid } ?? holder)
    }
}

/// Facts about other processes, from the kernel.
enum ProcessInspector {
    /// Whether `pid` exists, and its start time where the platform tells.
    static func probe(_ pid: Int32) -> ProcessProbe {
        if kill(pid, 0) == 0 || errno == EPERM { return .running(start: startTime(of: pid)) }
        return .gone
    }

    /// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot (Linux only).
    static func startTime(of pid: Int32) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        return startTime(fromStat: String(decoding: data, as: UTF8.self))
    }

    /// The start time in a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
    /// and may hold spaces and `)`, so fields are counted after its last `)`.
    static func startTime(fromStat line: String) -> UInt64? {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After `)`: field 3 (state) is index 0, so field 22 is index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}
