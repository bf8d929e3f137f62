import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

@Suite struct CallJournalTests {
    static let base = Date(timeIntervalSince1970: 1_795_608_000)

    static func call(_ n: Int, ledger: Bool = true, target: String? = "databricks/llama", detail: [String: String]? = nil) -> RecordedCall {
        let time = base.addingTimeInterval(Double(n))
        return RecordedCall(
            time: time,
            ledger: ledger
                ? LedgerEntry(
                    requestID: "req_\(n)", time: time, project: "fraud", keyID: "scorer", vendor: "databricks",
                    model: "databricks/llama", upstream: "https://example/serving-endpoints/llama/invocations",
                    promptTokens: 12 + n, completionTokens: 7, cost: MicroDollars(Int64(1_000 + n)),
                    latencyMicroseconds: 420, status: "ok", estimated: n % 2 == 0) : nil,
            audit: AuditEntry(
                actor: "key:scorer", action: "gateway.invoke", target: target, outcome: "allowed",
                detail: detail ?? ["request_id": "req_\(n)", "policies": "allow-invoke"]))
    }

    static func frames(_ calls: [RecordedCall]) -> [UInt8] {
        var bytes: [UInt8] = []
        for call in calls { JournalCodec.appendFrame(for: call, to: &bytes) }
        return bytes
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(Array("123456789".utf8).withUnsafeBufferPointer(CRC32.checksum) == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBufferPointer(CRC32.checksum) == 0)
    }

    @Test(arguments: [
        call(1),
        call(2, ledger: false),
        call(3, target: nil),
        call(4, detail: [:]),
        call(5, detail: ["reason": "naïve café ☕️ 中文", "": "empty key", "line\nbreak": "\"quoted\""]),
    ])
    func aRecordReadsBackAsWritten(_ call: RecordedCall) {
        let bytes = Self.frames([call])
        #expect(JournalCodec.readFrame(bytes, at: 0) == .record(call, next: bytes.count))
    }

    @Test func consecutiveRecordsReadBackInOrder() {
        let calls = (0..<5).map { Self.call($0) }
        let bytes = Self.frames(calls)
        var offset = 0
        var read: [RecordedCall] = []
        while offset < bytes.count, case .record(let call, let next) = JournalCodec.readFrame(bytes, at: offset) {
            read.append(call)
            offset = next
        }
        #expect(read == calls && offset == bytes.count)
    }

    /// A cut anywhere inside the last frame reads as torn; a flipped bit as a checksum mismatch,
    /// torn only when nothing follows it.
    @Test func damagedFramesAreTellApartFromTornOnes() {
        let bytes = Self.frames([Self.call(1), Self.call(2)])
        guard case .record(_, let second) = JournalCodec.readFrame(bytes, at: 0) else {
            Issue.record("first frame unreadable")
            return
        }
        for cut in [second + 1, second + 7, second + 8, bytes.count - 1] {
            guard case .bad(_, let torn) = JournalCodec.readFrame(Array(bytes[..<cut]), at: second) else {
                Issue.record("cut at \(cut) read")
                continue
            }
            #expect(torn, "cut at \(cut)")
        }
        var flipped = bytes
        flipped[20] ^= 0x01
        #expect(JournalCodec.readFrame(flipped, at: 0) == .bad(reason: "a frame's checksum does not match", torn: false))
        var flippedLast = bytes
        flippedLast[bytes.count - 3] ^= 0x40
        #expect(JournalCodec.readFrame(flippedLast, at: second) == .bad(reason: "a frame's checksum does not match", torn: true))
        var huge = bytes
        huge.replaceSubrange(0..<4, with: [0xFF, 0xFF, 0xFF, 0x7F])
        guard case .bad(_, false) = JournalCodec.readFrame(huge, at: 0) else {
            Issue.record("a huge length was accepted")
            return
        }
    }

    @Test func appendsReturnIncreasingPositionsAndRecoverHandsBackWhatFollowsAPosition() throws {
        let directory = try makeTemporaryDirectory("journal")
        let journal = try CallJournal(directory: directory)
        let first = try journal.append([Self.call(1), Self.call(2)])
        let second = try journal.append([Self.call(3)])
        #expect(first < second && second == journal.end)
        // A new process: its journal appends to a new segment, and recovers the old one.
        let reopened = try CallJournal(directory: directory)
        #expect(reopened.end.segment == second.segment + 1)
        let all = try reopened.recover(after: nil)
        #expect(all.map(\.call) == [Self.call(1), Self.call(2), Self.call(3)])
        #expect(all.map(\.through).last == second && all[1].through == first)
        let rest = try CallJournal(directory: directory).recover(after: first)
        #expect(rest.map(\.call) == [Self.call(3)])
        #expect(try CallJournal(directory: directory).recover(after: second).isEmpty)
    }

    /// A crash mid-write leaves part of a record at the end of the last segment: recovery drops
    /// it and cuts the file back, so the next recovery reads the same records.
    @Test func aTornTailIsDroppedAndCut() throws {
        let directory = try makeTemporaryDirectory("journal-torn")
        let journal = try CallJournal(directory: directory)
        let whole = try journal.append([Self.call(1)])
        try journal.append([Self.call(2)])
        let path = journal.path(of: whole.segment)
        #expect(truncate(path, off_t(whole.offset + 11)) == 0)
        let recovered = try CallJournal(directory: directory).recover(after: nil)
        #expect(recovered.map(\.call) == [Self.call(1)])
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == Int(whole.offset))
        #expect(try CallJournal(directory: directory).recover(after: nil).map(\.call) == [Self.call(1)])
    }

    /// Some file systems leave an interrupted append as zeros rather than cut short: cut as well.
    @Test func aTailOfZerosIsCut() throws {
        let directory = try makeTemporaryDirectory("journal-zeros")
        let journal = try CallJournal(directory: directory)
        let whole = try journal.append([Self.call(1)])
        let path = journal.path(of: whole.segment)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 300))
        try handle.close()
        #expect(try CallJournal(directory: directory).recover(after: nil).map(\.call) == [Self.call(1)])
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == Int(whole.offset))
    }

    /// Damage before the end is not a crash's doing: recovery refuses rather than skip records.
    @Test func damageInsideTheJournalIsReported() throws {
        let directory = try makeTemporaryDirectory("journal-damage")
        let journal = try CallJournal(directory: directory)
        let first = try journal.append([Self.call(1)])
        try journal.append([Self.call(2)])
        let path = journal.path(of: first.segment)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[CallJournal.magic.count + 12] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.corrupt(path: path, offset: Int64(CallJournal.magic.count), reason: "a frame's checksum does not match")) {
            try CallJournal(directory: directory).recover(after: nil)
        }
        try Data("not a journal".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.corrupt(path: path, offset: 0, reason: "not a call journal segment")) {
            try CallJournal(directory: directory).recover(after: nil)
        }
    }

    /// Appends move to a new segment once the current one is full; segments before a position
    /// are deleted by `removeSegments(before:)` and by a recovery from that position.
    @Test func segmentsRollOverAndAreRemoved() throws {
        let directory = try makeTemporaryDirectory("journal-segments")
        let journal = try CallJournal(directory: directory, segmentBytes: 1_024)
        var positions: [JournalPosition] = []
        for n in 0..<20 { positions.append(try journal.append([Self.call(n)])) }
        let segments = Set(positions.map(\.segment))
        #expect(segments.count > 3)
        #expect(journal.retainedSegments == segments.sorted())
        // Every segment holds whole records: all twenty read back, in order.
        #expect(try CallJournal(directory: directory).recover(after: nil).map(\.call) == (0..<20).map { Self.call($0) })
        journal.removeSegments(before: positions[10].segment)
        #expect(journal.retainedSegments.first == positions[10].segment)
        let reopened = try CallJournal(directory: directory)
        let rest = try reopened.recover(after: positions[12])
        #expect(rest.map(\.call) == (13..<20).map { Self.call($0) })
        #expect(!FileManager.default.fileExists(atPath: reopened.path(of: positions[0].segment)))
        #expect(reopened.retainedSegments.first == positions[12].segment)
    }
}
