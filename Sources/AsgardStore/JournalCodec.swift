public import AsgardCore
import Foundation

/// The byte format of one call journal record (`CallJournal`).
///
/// A frame is a little-endian `UInt32` payload length, the payload's CRC-32 (IEEE 802.3, as
/// zlib computes it), and the payload. The payload is version 1: the record's time, the audit
/// entry, then the ledger row if any. Integers are little-endian, times are microseconds since
/// 1970, strings are a `UInt32` byte count and UTF-8, an optional is a presence byte first.
public enum JournalCodec {
    public static let version: UInt8 = 1
    /// A frame's header: payload length and checksum.
    public static let headerBytes = 8
    /// Refuses to read a frame claiming more than this (a damaged length, not a record).
    public static let maxPayloadBytes = 16 << 20

    public enum Frame: Equatable {
        case record(RecordedCall, next: Int)
        /// `torn`: the frame runs past the end of the bytes, or is the last one there, as a write cut
        /// short by a crash leaves it.
        case bad(reason: String, torn: Bool)
    }

    /// Appends the frame for `call` to `bytes`.
    public static func appendFrame(for call: RecordedCall, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: headerBytes))
        var writer = Writer(bytes: consume bytes)
        writer.payload(call)
        bytes = writer.bytes
        let payload = bytes.count - start - headerBytes
        let checksum = bytes.withUnsafeBufferPointer { CRC32.checksum(UnsafeBufferPointer(rebasing: $0[(start + headerBytes)...])) }
        withUnsafeBytes(of: UInt32(payload).littleEndian) { bytes.replaceSubrange(start..<(start + 4), with: $0) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange((start + 4)..<(start + 8), with: $0) }
    }

    /// Reads the frame that starts at `offset`.
    public static func readFrame(_ bytes: [UInt8], at offset: Int) -> Frame {
        guard bytes.count - offset >= headerBytes else { return .bad(reason: "a frame header is cut short", torn: true) }
        let length = Int(littleEndianUInt32(bytes, at: offset))
        let checksum = littleEndianUInt32(bytes, at: offset + 4)
        let start = offset + headerBytes
        guard length <= maxPayloadBytes else {
            return .bad(reason: "a frame claims \(length) bytes", torn: false)
        }
        guard bytes.count - start >= length else { return .bad(reason: "a frame is cut short", torn: true) }
        let end = start + length
        let isLast = end == bytes.count
        let actual = bytes.withUnsafeBufferPointer { CRC32.checksum(UnsafeBufferPointer(rebasing: $0[start..<end])) }
        guard actual == checksum else { return .bad(reason: "a frame's checksum does not match", torn: isLast) }
        var reader = Reader(bytes: bytes, offset: start, end: end)
        do {
            let call = try reader.payload()
            guard reader.offset == end else { return .bad(reason: "a frame has \(end - reader.offset) bytes left over", torn: false) }
            return .record(call, next: end)
        } catch {
            return .bad(reason: error.reason, torn: false)
        }
    }

    static func littleEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { value, index in value | UInt32(bytes[offset + index]) << (8 * index) }
    }

    private struct Writer {
        var bytes: [UInt8]

        mutating func payload(_ call: RecordedCall) {
            bytes.append(JournalCodec.version)
            time(call.time)
            string(call.audit.actor)
            string(call.audit.action)
            if let target = call.audit.target {
                bytes.append(1)
                string(target)
            } else {
                bytes.append(0)
            }
            string(call.audit.outcome)
            integer(Int64(call.audit.detail.count))
            for (key, value) in call.audit.detail.sorted(by: { $0.key < $1.key }) {
                string(key)
                string(value)
            }
            guard let ledger = call.ledger else { return bytes.append(0) }
            bytes.append(1)
            string(ledger.requestID)
            time(ledger.time)
            string(ledger.project)
            string(ledger.keyID)
            string(ledger.vendor)
            string(ledger.model)
            string(ledger.upstream)
            integer(Int64(ledger.promptTokens))
            integer(Int64(ledger.completionTokens))
            integer(ledger.cost.value)
            integer(ledger.latencyMicroseconds)
            string(ledger.status)
            // Flags: 1 estimated, 2 overrun (journals written before `overrun` have 0 or 1).
            bytes.append((ledger.estimated ? 1 : 0) | (ledger.overrun ? 2 : 0))
        }

        mutating func integer(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func time(_ date: Date) {
            integer(Encoding.micros(date))
        }

        mutating func string(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: utf8)
            }
        }
    }

    struct DecodingError: Error {
        var reason: String
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        let end: Int

        mutating func payload() throws(DecodingError) -> RecordedCall {
            let version = try byte()
            guard version == JournalCodec.version else { throw DecodingError(reason: "unknown record version \(version)") }
            let time = try time()
            let actor = try string()
            let action = try string()
            let target = try present() ? try string() : nil
            let outcome = try string()
            let count = try integer()
            guard count >= 0, count <= end - offset else { throw DecodingError(reason: "a detail count of \(count)") }
            var detail: [String: String] = [:]
            for _ in 0..<count {
                let key = try string()
                detail[key] = try string()
            }
            let audit = AuditEntry(actor: actor, action: action, target: target, outcome: outcome, detail: detail)
            guard try present() else { return RecordedCall(time: time, ledger: nil, audit: audit) }
            var ledger = LedgerEntry(
                requestID: try string(), time: try self.time(), project: try string(), keyID: try string(), vendor: try string(),
                model: try string(), upstream: try string(), promptTokens: Int(try integer()), completionTokens: Int(try integer()),
                cost: MicroDollars(try integer()), latencyMicroseconds: try integer(), status: try string(), estimated: false)
            let flags = try byte()
            guard flags < 4 else { throw DecodingError(reason: "ledger flags of \(flags)") }
            ledger.estimated = flags & 1 != 0
            ledger.overrun = flags & 2 != 0
            return RecordedCall(time: time, ledger: ledger, audit: audit)
        }

        mutating func take(_ count: Int) throws(DecodingError) -> Range<Int> {
            guard count >= 0, end - offset >= count else { throw DecodingError(reason: "a record ends early") }
            defer { offset += count }
            return offset..<(offset + count)
        }

        mutating func byte() throws(DecodingError) -> UInt8 { bytes[try take(1).lowerBound] }

        mutating func present() throws(DecodingError) -> Bool {
            switch try byte() {
            case 0: return false
            case 1: return true
            case let other: throw DecodingError(reason: "a flag byte of \(other)")
            }
        }

        mutating func integer() throws(DecodingError) -> Int64 {
            let range = try take(8)
            return Int64(bitPattern: range.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) })
        }

        mutating func time() throws(DecodingError) -> Date { Encoding.date(micros: try integer()) }

        mutating func string() throws(DecodingError) -> String {
            let count = Int(JournalCodec.littleEndianUInt32(bytes, at: try take(4).lowerBound))
            let range = try take(count)
            guard let text = String(validating: bytes[range], as: UTF8.self) else { throw DecodingError(reason: "a string is not UTF-8") }
            return text
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib and PNG compute it).
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
