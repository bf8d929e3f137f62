import AsgardJSON

/// What a workspace lock file (`<workspace>/.asgard.lock`) holds: who took it and when.
struct LockRecord: Sendable, Hashable {
    var pid: Int32
    /// The holder's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), so a
    /// recycled PID is not mistaken for the holder; nil where the platform does not tell.
    var processStart: UInt64?
    /// When the lock was taken (ISO 8601, UTC), for people reading a stuck workspace.
    var acquiredAt: String

    /// The lock file's text: one JSON object.
    var text: String {
        var members = [JSONMember(key: "acquired_at", value: .string(acquiredAt)), JSONMember(key: "pid", value: .integer(Int64(pid)))]
        if let processStart, let start = Int64(exactly: processStart) {
            members.append(JSONMember(key: "process_start", value: .integer(start)))
        }
        return CanonicalJSON.text(.object(members)) + "\n"
    }

    init(pid: Int32, processStart: UInt64?, acquiredAt: String) {
        self.pid = pid
        self.processStart = processStart
        self.acquiredAt = acquiredAt
    }

    /// The record in a lock file's text; nil when it is empty or not one (a writer that has
    /// created the file but not yet written it, or a damaged file).
    init?(parsing text: String) {
        guard let document = try? JSONValue.parse(text),
            case .integer(let pid)? = document["pid"], let pid32 = Int32(exactly: pid), pid32 > 0
        else { return nil }
        self.pid = pid32
        if case .integer(let start)? = document["process_start"], let start = UInt64(exactly: start) {
            processStart = start
        } else {
            processStart = nil
        }
        if case .string(let acquired)? = document["acquired_at"] { acquiredAt = acquired } else { acquiredAt = "unknown" }
    }
}

/// What the system says about the process a lock record names.
enum ProcessProbe: Sendable, Hashable {
    /// It exists (`kill(pid, 0)` succeeded or failed with EPERM); its start time if known.
    case running(start: UInt64?)
    /// `kill(pid, 0)` failed with ESRCH: no such process.
    case gone
}

/// Whether an existing lock still holds.
enum LockJudgement: Sendable, Hashable {
    /// A live process holds it: the workspace is busy.
    case held(pid: Int32)
    /// Nobody holds it any more: it may be removed and taken.
    case stale(reason: String)

    /// How long an unreadable lock file is presumed to be mid-write rather than abandoned.
    static let unreadableGrace: Duration = .seconds(10)

    /// Judges a lock file from its record (nil: unreadable), its age, and a probe of its holder.
    static func judge(record: LockRecord?, age: Duration, probe: ProcessProbe?) -> LockJudgement {
        guard let record else {
            return age < unreadableGrace
                ? .held(pid: 0)
                : .stale(reason: "the lock file has held no readable record for \(age)")
        }
        switch probe {
        case .gone?, nil:
            return .stale(reason: "process \(record.pid), which took the lock at \(record.acquiredAt), no longer exists")
        case .running(let start)?:
            if let recorded = record.processStart, let start, recorded != start {
                return .stale(
                    reason:
                        "process id \(record.pid) now belongs to another process (the holder, which took the lock at \(record.acquiredAt), is gone)")
            }
            return .held(pid: record.pid)
        }
    }
}
