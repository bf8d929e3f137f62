import AsgardTestSupport
import Foundation
import Testing

@testable import AsgardProvisioning

struct LockJudgementTests {
    static let record = LockRecord(pid: 4242, processStart: 1000, acquiredAt: "2025-01-01T00:00:00Z")

    @Test(arguments: [
        (ProcessProbe.running(start: 1000), LockJudgement.held(pid: 4242)),
        (.running(start: nil), .held(pid: 4242)),
        (
            .running(start: 2000),
            .stale(reason: "process id 4242 now belongs to another process (the holder, which took the lock at 2025-01-01T00:00:00Z, is gone)")
        ),
        (.gone, .stale(reason: "process 4242, which took the lock at 2025-01-01T00:00:00Z, no longer exists")),
    ])
    func judgedByItsHolder(probe: ProcessProbe, expected: LockJudgement) {
        #expect(LockJudgement.judge(record: Self.record, age: .seconds(1), probe: probe) == expected)
    }

    @Test func withoutARecordedStartTimeALivePidHolds() {
        let record = LockRecord(pid: 7, processStart: nil, acquiredAt: "t")
        #expect(LockJudgement.judge(record: record, age: .seconds(3600), probe: .running(start: 99)) == .held(pid: 7))
    }

    @Test(arguments: [(Duration.seconds(1), true), (.seconds(9), true), (.seconds(10), false), (.seconds(600), false)])
    func unreadableLockIsPresumedMidWriteOnlyBriefly(age: Duration, held: Bool) {
        let judgement = LockJudgement.judge(record: nil, age: age, probe: nil)
        #expect((judgement == .held(pid: 0)) == held)
    }

    @Test func recordsRoundTripThroughTheirText() {
        #expect(LockRecord(parsing: Self.record.text) == Self.record)
        let withoutStart = LockRecord(pid: 5, processStart: nil, acquiredAt: "x")
        #expect(LockRecord(parsing: withoutStart.text) == withoutStart)
        #expect(Self.record.text == #"{"acquired_at":"2025-01-01T00:00:00Z","pid":4242,"process_start":1000}"# + "\n")
    }

    @Test(arguments: ["", "{", "42", #"{"pid":0}"#, #"{"pid":-1}"#, #"{"pid":"12"}"#, #"{"pid":99999999999}"#])
    func unreadableRecords(text: String) {
        #expect(LockRecord(parsing: text) == nil)
    }

    @Test func startTimeFromProcStat() {
        let line = "1234 (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200"
        #expect(ProcessInspector.startTime(fromStat: line) == 987654)
        #expect(ProcessInspector.startTime(fromStat: "1 (x) S 1 2") == nil)
        #expect(ProcessInspector.startTime(fromStat: "garbage") == nil)
        #expect(ProcessInspector.startTime(of: getpid()) != nil)
        #expect(ProcessInspector.probe(getpid()) == .running(start: ProcessInspector.startTime(of: getpid())))
    }
}

struct WorkspaceLockTests {
    @Test func takenOnceReleasedThenTakenAgain() throws {
        let path = try makeTemporaryDirectory() + "/.asgard.lock"
        let lock = try WorkspaceLock.acquire(at: path)
        #expect(lock.recoveredStale == nil)
        #expect(LockRecord(parsing: try String(contentsOfFile: path, encoding: .utf8)) == lock.record)
        #expect(throws: TerraformError.workspaceBusy(pid: getpid())) { try WorkspaceLock.acquire(at: path) }
        lock.release()
        #expect(!FileManager.default.fileExists(atPath: path))
        let again = try WorkspaceLock.acquire(at: path)
        again.release()
        lock.release()  // releasing twice, or after the workspace is gone, is harmless
    }

    @Test func aDeadHoldersLockIsTakenOver() throws {
        let path = try makeTemporaryDirectory() + "/.asgard.lock"
        let finished = ChildProcess()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = LockRecord(pid: finished.processIdentifier, processStart: nil, acquiredAt: "then")
        try dead.text.write(toFile: path, atomically: true, encoding: .utf8)
        let lock = try WorkspaceLock.acquire(at: path)
        #expect(lock.recoveredStale?.record == dead)
        #expect(lock.record.pid == getpid())
        lock.release()
        // Neither the lock nor the stale one moved aside is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).isEmpty)
    }

    @Test func aRecycledPidIsStale() throws {
        let path = try makeTemporaryDirectory() + "/.asgard.lock"
        // This process's pid, but a start time it never had: the pid was recycled.
        let recycled = LockRecord(pid: getpid(), processStart: 1, acquiredAt: "long ago")
        try recycled.text.write(toFile: path, atomically: true, encoding: .utf8)
        let lock = try WorkspaceLock.acquire(at: path)
        #expect(lock.recoveredStale?.reason.contains("now belongs to another process") == true)
        lock.release()
    }

    @Test func aFreshUnreadableLockIsBusyAnOldOneStale() throws {
        let path = try makeTemporaryDirectory() + "/.asgard.lock"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        #expect(throws: TerraformError.workspaceBusy(pid: 0)) { try WorkspaceLock.acquire(at: path) }
        let old = Date().addingTimeInterval(-60)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        let lock = try WorkspaceLock.acquire(at: path)
        #expect(lock.recoveredStale?.record == nil)
        lock.release()
    }

    @Test func releaseLeavesSomeoneElsesLockAlone() throws {
        let path = try makeTemporaryDirectory() + "/.asgard.lock"
        let lock = try WorkspaceLock.acquire(at: path)
        let other = LockRecord(pid: 1, processStart: nil, acquiredAt: "later")
        try other.text.write(toFile: path, atomically: true, encoding: .utf8)
        lock.release()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == other.text)
    }
}
