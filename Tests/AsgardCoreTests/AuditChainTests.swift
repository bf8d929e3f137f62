import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

/// The pure parts of the keyed audit chain: the key, the MAC, anchors and their lines.
@Suite("Audit chain, key and anchors")
struct AuditChainTests {
    static let entry = AuditRecord.Content(
        sequence: 1, time: "2026-12-03T10:00:00.000Z", actor: "cli", action: "kill.engage", target: "Project/fraud", outcome: "applied",
        detail: "{}")

    @Test("the MAC is HMAC-SHA256 under the key of the previous MAC and the length-prefixed fields")
    func macKnownAnswer() throws {
        // Checked against Python's hmac module, an implementation independent of swift-crypto.
        let key = try AuditKey(hex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", source: "test")
        let message =
            AuditChain.genesis + "1:1" + "24:2026-12-03T10:00:00.000Z" + "3:cli" + "11:kill.engage" + "13:Project/fraud" + "7:applied" + "2:{}"
        #expect(
            AuditChain.mac(previous: AuditChain.genesis, entry: Self.entry, key: key)
                == (try python3HMAC(key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", message: message)))
        #expect(AuditChain.hash(previous: AuditChain.genesis, entry: Self.entry) == SHA256.hex(message))
    }

    @Test(
        "the length prefixes count UTF-8 bytes and the sequence is written in decimal, whatever its size",
        arguments: [
            AuditRecord.Content(
                sequence: 9, time: "t", actor: "", action: "a", target: nil, outcome: "o", detail: "{}"),
            AuditRecord.Content(
                sequence: 10, time: "2026-12-03T10:00:00.000Z", actor: "clé", action: "gateway.invoke", target: "Route/ü→x",
                outcome: "allowed", detail: #"{"policies":"policy0,policy1","request_id":"req_0123"}"#),
            AuditRecord.Content(
                sequence: 1_234_567_890_123, time: "2026-12-03T10:00:00.000Z", actor: "k_1", action: "b", target: "",
                outcome: "denied", detail: String(repeating: "x", count: 1000)),
            AuditRecord.Content(
                sequence: Int64.max, time: "", actor: "🦀", action: "", target: "\u{0}", outcome: "", detail: ""),
        ])
    func macKnownAnswerForAnyField(entry: AuditRecord.Content) throws {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        let key = try AuditKey(hex: hex, source: "test")
        let previous = String(repeating: "ab", count: 32)
        let fields = [String(entry.sequence), entry.time, entry.actor, entry.action, entry.target ?? "\u{0}", entry.outcome, entry.detail]
        let message = previous + fields.map { "\($0.utf8.count):\($0)" }.joined()
        #expect(AuditChain.mac(previous: previous, entry: entry, key: key) == (try python3HMAC(key: hex, message: message)))
        #expect(AuditChain.hash(previous: previous, entry: entry) == SHA256.hex(message))
    }

    @Test("the MAC depends on the key, the previous MAC and every field")
    func macCoversEverything() {
        let base = AuditChain.mac(previous: AuditChain.genesis, entry: Self.entry, key: testAuditKey)
        var variants: [String] = [
            AuditChain.mac(previous: AuditChain.genesis, entry: Self.entry, key: otherAuditKey),
            AuditChain.mac(previous: String(repeating: "1", count: 64), entry: Self.entry, key: testAuditKey),
        ]
        for edit in [
            { (c: inout AuditRecord.Content) in c.sequence = 2 }, { $0.time = "2026-12-03T10:00:00.001Z" }, { $0.actor = "cl" },
            { $0.action = "kill.release" }, { $0.target = nil }, { $0.target = "" }, { $0.outcome = "denied" }, { $0.detail = #"{"a":"b"}"# },
        ] {
            var content = Self.entry
            edit(&content)
            variants.append(AuditChain.mac(previous: AuditChain.genesis, entry: content, key: testAuditKey))
        }
        #expect(Set(variants + [base]).count == variants.count + 1)
    }

    @Test("a key describes itself by id only")
    func keyNeverPrinted() throws {
        let key = try AuditKey(hex: testAuditKeyHex, source: "test")
        #expect(key.id.count == 16)
        #expect(key.id == testAuditKey.id)
        #expect(key.id != otherAuditKey.id)
        for text in [
            "\(key)", String(reflecting: key),
            {
                var out = ""
                dump(key, to: &out)
                return out
            }(),
        ] {
            #expect(!text.contains(testAuditKeyHex), "\(text)")
            #expect(text.contains(key.id))
        }
        #expect(AuditKey.generateHex().count == 64)
        #expect(AuditKey.generateHex() != AuditKey.generateHex())
    }

    @Test("an anchor line round-trips")
    func anchorLine() throws {
        let anchor = AuditAnchor(sequence: 1042, mac: String(repeating: "ab", count: 32), time: "2026-12-03T10:00:00Z")
        #expect(anchor.line == "asgard-audit-anchor v1 seq=1042 mac=\(String(repeating: "ab", count: 32)) time=2026-12-03T10:00:00Z")
        #expect(try AuditAnchor(line: anchor.line) == anchor)
        #expect(try AuditAnchor(line: "  " + anchor.line + "\r") == anchor)
        let empty = AuditAnchor(head: nil, at: Date(timeIntervalSince1970: 0))
        #expect(empty.line == "asgard-audit-anchor v1 seq=0 mac=\(AuditChain.genesis) time=1970-01-01T00:00:00Z")
        let file = "# shipped hourly\n\n\(anchor.line)\n\(empty.line)\n"
        #expect(try AuditAnchor.anchors(in: file) == [anchor, empty])
    }

    @Test(
        "a line that is not an anchor is refused, naming its line",
        arguments: [
            ("hello", "expected"),
            ("asgard-audit-anchor v2 seq=1 mac=\(String(repeating: "0", count: 64)) time=t", "version v2"),
            ("asgard-audit-anchor v1 seq=-1 mac=\(String(repeating: "0", count: 64)) time=t", "seq="),
            ("asgard-audit-anchor v1 seq=x mac=\(String(repeating: "0", count: 64)) time=t", "seq="),
            ("asgard-audit-anchor v1 seq=1 mac=\(String(repeating: "A", count: 64)) time=t", "mac="),
            ("asgard-audit-anchor v1 seq=1 mac=abc time=t", "mac="),
            ("asgard-audit-anchor v1 seq=1 seq=2 mac=\(String(repeating: "0", count: 64))", "once each"),
            ("asgard-audit-anchor v1 seq=1 mac=\(String(repeating: "0", count: 64)) when=t", "time="),
        ])
    func badAnchor(line: String, reason: String) {
        #expect(throws: AuditAnchorError.self) { try AuditAnchor(line: line) }
        do {
            _ = try AuditAnchor.anchors(in: "# comment\n\(line)\n")
            Issue.record("accepted \(line)")
        } catch {
            #expect(error.line == 2)
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test("anchors past the end, or with another MAC, break the chain; anchors that match do not")
    func anchorsInTheWalk() {
        var records: [AuditRecord] = []
        var previous = AuditChain.genesis
        for sequence in Int64(1)...4 {
            var content = Self.entry
            content.sequence = sequence
            let record = AuditRecord(
                content: content, previousHash: previous, hash: AuditChain.mac(previous: previous, entry: content, key: testAuditKey))
            records.append(record)
            previous = record.hash
        }
        let keying = AuditKeying(legacyCount: 0, legacyHead: AuditChain.genesis, key: testAuditKey)
        func verify(_ anchors: [AuditAnchor], count: Int = 4) -> AuditVerification {
            let kept = Array(records.prefix(count))
            return AuditChain.verify(
                kept, head: kept.last.map { ($0.content.sequence, $0.hash) }, keying: keying, key: testAuditKey, anchors: anchors)
        }
        let atTwo = AuditAnchor(sequence: 2, mac: records[1].hash, time: "t2")
        let atFour = AuditAnchor(sequence: 4, mac: records[3].hash, time: "t4")
        let zero = AuditAnchor(sequence: 0, mac: AuditChain.genesis, time: "t0")
        #expect(verify([zero, atTwo, atFour]) == .intact(count: 4, head: records[3].hash))
        #expect(verify([atTwo], count: 3) == .intact(count: 3, head: records[2].hash))
        guard case .broken(3, let reason) = verify([atTwo, atFour], count: 2) else {
            Issue.record("a log cut back before an anchor is not broken at the first missing entry")
            return
        }
        #expect(reason.contains("entry 4 was anchored at t4"))
        guard case .broken(2, _) = verify([AuditAnchor(sequence: 2, mac: records[2].hash, time: "t")]) else {
            Issue.record("an anchor with another MAC is not reported at its entry")
            return
        }
        // Without a keying record, nothing verifies, not even an empty log.
        guard case .broken(1, _) = AuditChain.verify([], head: nil, keying: nil, key: testAuditKey) else {
            Issue.record("a missing keying record is not reported")
            return
        }
    }
}

/// HMAC-SHA256 by Python's standard library, an implementation independent of swift-crypto.
private func python3HMAC(key: String, message: String) throws -> String {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "python3", "-c",
        "import hmac, hashlib, sys; print(hmac.new(bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), hashlib.sha256).hexdigest())",
        // As hex: a message may hold a NUL (a missing target), which no argument can carry.
        key, message.utf8.map { String(format: "%02x", $0) }.joined(),
    ]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
