import NIOCore

/// An HTTP/1.1 response to a `POST`, read from the bytes a connection delivers, in whatever
/// pieces they arrive: the upstream client's own parser (issue 18: NIO's HTTP/1 codec built a
/// header dictionary of `String`s and three pipeline events per answer, about a third of the
/// client's instructions, for the two headers the gateway reads).
///
/// It follows RFC 9112 and refuses what it cannot read unambiguously:
/// - framing (§6.3): `Transfer-Encoding` whose last coding is `chunked` wins over any
///   `Content-Length`, and the connection is not reused; another transfer coding, or neither
///   header, is a body read to the connection's close; `Content-Length` must be digits, and
///   several must agree; 1xx answers (but 101) are skipped; 204 and 304 have no body;
/// - lines end in CRLF; a bare CR or LF or a NUL in the head, a header line that starts with
///   whitespace (obsolete folding), a space before a header's colon, or a name that is not a
///   token is refused;
/// - the head is at most `maxHeadBytes`, a chunk-size line at most 1 KiB, trailers are read and
///   dropped;
/// - `keepAlive` is HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `keep-alive`.
struct HTTP1ResponseParser {
    struct Head: Equatable {
        var status: Int
        var contentType: String?
        var keepAlive: Bool
    }

    enum ParseError: Error, Equatable {
        case malformed(String)
        case tooLarge
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    let maxHeadBytes: Int
    private var state = State.head
    private(set) var head: Head?

    init(maxHeadBytes: Int = 64 << 10) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Reads what it can of `input` (consuming it), appending body bytes to `body`; true once
    /// the response is whole. Bytes after the response stay in `input`. A head, chunk-size
    /// line or trailer cut between two reads is kept until the rest arrives.
    mutating func parse(_ input: inout ByteBuffer, into body: inout ByteBuffer) throws(ParseError) -> Bool {
        if pending.readableBytes > 0 {
            pending.writeBuffer(&input)
            swap(&input, &pending)
            pending.clear()
        }
        let whole = try parseWhole(&input, into: &body)
        if !whole, input.readableBytes > 0 {
            // Part of a head or line: kept for the next read.
            pending.writeBuffer(&input)
        }
        return whole
    }

    /// Bytes of an unfinished head or line from an earlier read.
    private var pending = ByteBuffer()

    private mutating func parseWhole(_ input: inout ByteBuffer, into body: inout ByteBuffer) throws(ParseError) -> Bool {
        while true {
            switch state {
            case .done:
                return true
            case .head:
                guard let end = Self.find(Self.headEnd, in: input) else {
                    if input.readableBytes > maxHeadBytes { throw .tooLarge }
                    return false
                }
                guard end <= maxHeadBytes else { throw .tooLarge }
                let bytes = input.readBytes(length: end + 4)!
                try readHead(bytes[..<end])
            case .fixed(let remaining):
                let count = min(remaining, input.readableBytes)
                var slice = input.readSlice(length: count)!
                body.writeBuffer(&slice)
                if count == remaining {
                    state = .done
                } else {
                    state = .fixed(remaining: remaining - count)
                    return false
                }
            case .untilClose:
                body.writeBuffer(&input)
                return false
            case .chunkSize:
                guard let line = try readLine(&input, limit: 1_024) else { return false }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(remaining, input.readableBytes)
                var slice = input.readSlice(length: count)!
                body.writeBuffer(&slice)
                if count < remaining {
                    state = .chunkData(remaining: remaining - count)
                    return false
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard input.readableBytes >= 2 else { return false }
                guard input.readBytes(length: 2)! == [13, 10] else { throw .malformed("a chunk does not end in CRLF") }
                state = .chunkSize
            case .trailers:
                guard let line = try readLine(&input, limit: maxHeadBytes) else { return false }
                if line.isEmpty { state = .done }
            }
        }
    }

    /// The connection closed: a body read until the close is whole now; anything else is cut
    /// short.
    mutating func finishAtClose() -> Bool {
        switch state {
        case .untilClose, .done:
            state = .done
            return true
        default:
            return false
        }
    }

    // MARK: The head

    private static let headEnd: [UInt8] = [13, 10, 13, 10]

    private mutating func readHead(_ bytes: ArraySlice<UInt8>) throws(ParseError) {
        var lines = try Self.lines(bytes)
        guard let statusLine = lines.first else { throw .malformed("no status line") }
        lines.removeFirst()
        // "HTTP/1.x SSS reason"
        guard statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8), statusLine[statusLine.startIndex + 8] == UInt8(ascii: " ")
        else { throw .malformed("not an HTTP/1 status line") }
        let minor = statusLine[statusLine.startIndex + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1") else { throw .malformed("not HTTP/1.0 or 1.1") }
        var status = 0
        for byte in statusLine[(statusLine.startIndex + 9)..<(statusLine.startIndex + 12)] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw .malformed("the status is not three digits") }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard statusLine.count == 12 || statusLine[statusLine.startIndex + 12] == UInt8(ascii: " "), status >= 100
        else { throw .malformed("the status is not three digits") }

        var contentType: String?
        var contentLength: Int?
        var chunked = false
        var otherCoding = false
        var close = false
        var keepAliveToken = false
        for line in lines {
            guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
                throw .malformed("a header line is folded or empty")
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a header line has no colon") }
            let name = line[..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.isToken) else { throw .malformed("a header name is not a token") }
            let value = Self.trimmed(line[(colon + 1)...])
            if Self.same(name, "content-length") {
                guard let length = Self.contentLength(value) else { throw .malformed("Content-Length is not a number") }
                guard contentLength == nil || contentLength == length else { throw .malformed("two Content-Length values disagree") }
                contentLength = length
            } else if Self.same(name, "transfer-encoding") {
                // Codings accumulate over repeated headers; only the last one decides framing.
                for coding in Self.tokens(value) {
                    chunked = Self.same(coding, "chunked")
                    otherCoding = !chunked
                }
            } else if Self.same(name, "connection") {
                for token in Self.tokens(value) {
                    if Self.same(token, "close") { close = true }
                    if Self.same(token, "keep-alive") { keepAliveToken = true }
                }
            } else if Self.same(name, "content-type") {
                contentType = String(decoding: value, as: UTF8.self)
            }
        }
        if (100..<200).contains(status) {
            guard status != 101 else { throw .malformed("101 Switching Protocols to a request that asked for no upgrade") }
            return  // informational: the real answer follows
        }
        var keepAlive = minor == UInt8(ascii: "1") ? !close : keepAliveToken && !close
        if status == 204 || status == 304 {
            state = .done
        } else if chunked {
            state = .chunkSize
            if contentLength != nil { keepAlive = false }
        } else if otherCoding {
            state = .untilClose
            keepAlive = false
        } else if let contentLength {
            state = contentLength == 0 ? .done : .fixed(remaining: contentLength)
        } else {
            state = .untilClose
            keepAlive = false
        }
        head = Head(status: status, contentType: contentType, keepAlive: keepAlive)
    }

    // MARK: Pieces

    /// The lines of a head (without its final CRLF CRLF), split at CRLF; a bare CR or LF, or a
    /// NUL, is refused.
    private static func lines(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch bytes[index] {
            case 13 where index + 1 < bytes.endIndex && bytes[index + 1] == 10:
                lines.append(bytes[start..<index])
                index += 2
                start = index
            // A bare CR or LF, or a NUL, would let two readers see different headers (RFC 9112 §2.2).
            case 13: throw .malformed("the head has a bare CR")
            case 10: throw .malformed("the head has a bare LF")
            case 0: throw .malformed("the head has a NUL")
            default: index += 1
            }
        }
        lines.append(bytes[start..<bytes.endIndex])
        return lines
    }

    /// A CRLF-ended line taken from `input`, without its CRLF; nil until one is whole.
    private func readLine(_ input: inout ByteBuffer, limit: Int) throws(ParseError) -> [UInt8]? {
        guard let end = Self.find([13, 10], in: input) else {
            if input.readableBytes > limit { throw .tooLarge }
            return nil
        }
        guard end <= limit else { throw .tooLarge }
        let line = input.readBytes(length: end)!
        input.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// The offset of `needle` in `buffer`'s readable bytes.
    private static func find(_ needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= needle.count else { return nil }
            var index = 0
            let last = bytes.count - needle.count
            while index <= last {
                if bytes[index] == needle[0] {
                    var matched = 1
                    while matched < needle.count, bytes[index + matched] == needle[matched] { matched += 1 }
                    if matched == needle.count { return index }
                }
                index += 1
            }
            return nil
        }
    }

    /// A chunk-size line: hex digits, then optionally `;` and extensions (ignored).
    private static func chunkSize(_ line: [UInt8]) throws(ParseError) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw .malformed("a chunk size is missing") }
                return size
            default:
                throw .malformed("a chunk size is not hexadecimal")
            }
            digits += 1
            guard digits <= 15 else { throw .tooLarge }
            size = size * 16 + value
        }
        guard digits > 0 else { throw .malformed("a chunk size is missing") }
        return size
    }

    /// Content-Length: digits, or a list of equal values ("5, 5"); nil otherwise.
    private static func contentLength(_ value: ArraySlice<UInt8>) -> Int? {
        var result: Int?
        for part in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let digits = trimmed(part)
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard result == nil || result == length else { return nil }
            result = length
        }
        return result
    }

    private static func tokens(_ value: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        value.split(separator: UInt8(ascii: ",")).map(trimmed).filter { !$0.isEmpty }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { slice.removeFirst() }
        while let last = slice.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { slice.removeLast() }
        return slice
    }

    /// Whether `bytes` are `lowercased` (ASCII, case-insensitively).
    private static func same(_ bytes: ArraySlice<UInt8>, _ lowercased: StaticString) -> Bool {
        guard bytes.count == lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { expected in
            var index = 0
            for byte in bytes {
                let lower = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                guard lower == expected[index] else { return false }
                index += 1
            }
            return true
        }
    }

    /// RFC 9110 `tchar`.
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }
}

/// An HTTP/1.1 `POST` as bytes: the request line, `Host`, the request's headers,
/// `Content-Length` and the body, in one buffer (one write, one flush).
enum HTTP1Request {
    enum InvalidHeader: Error, Equatable {
        /// A name that is not a token, or a value with a CR, LF or NUL (which would let it
        /// inject a header or a request): named, never its value.
        case invalid(name: String)
    }

    static func post(_ target: HTTPTarget, headers: [(String, String)], body: [UInt8], allocator: ByteBufferAllocator) throws(InvalidHeader)
        -> ByteBuffer
    {
        // The target comes from a manifest's URL: no control character or space may reach the request line.
        guard target.path.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw .invalid(name: "(the request target)") }
        var buffer = allocator.buffer(
            capacity: 128 + target.path.utf8.count + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 } + body.count)
        buffer.writeStaticString("POST ")
        buffer.writeString(target.path)
        buffer.writeStaticString(" HTTP/1.1\r\nHost: ")
        buffer.writeString(target.hostHeader)
        buffer.writeStaticString("\r\n")
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(HTTP1ResponseParser.isToken),
                !value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 })
            else { throw .invalid(name: name.utf8.allSatisfy(HTTP1ResponseParser.isToken) ? name : "(a name that is not a token)") }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(body.count))
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}
