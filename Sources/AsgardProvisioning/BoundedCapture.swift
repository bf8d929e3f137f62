/// A child process's output, kept up to `limit` bytes: when it prints more, the oldest bytes
/// are dropped (the end, where terraform prints its errors, is what matters) and the drop is
/// remembered, so a reader that needs all of it (JSON) can refuse a partial document.
struct BoundedCapture: Sendable {
    let limit: Int
    private var buffer: [UInt8] = []
    /// How many bytes were dropped from the front.
    private(set) var dropped = 0

    init(limit: Int) { self.limit = max(1, limit) }

    /// Whether bytes were dropped.
    var isTruncated: Bool { dropped > 0 || buffer.count > limit }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: chunk)
        // Trim in amortised batches rather than on every chunk.
        if buffer.count > 2 * limit { trim() }
    }

    mutating func append(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { append($0) }
    }

    private mutating func trim() {
        let excess = buffer.count - limit
        guard excess > 0 else { return }
        buffer.removeFirst(excess)
        dropped += excess
    }

    /// The kept bytes (at most `limit`).
    var bytes: [UInt8] { trimmed().buffer }

    private func trimmed() -> BoundedCapture {
        var copy = self
        copy.trim()
        return copy
    }

    /// The kept text. When bytes were dropped, the partial first line is dropped too, so a
    /// credential cut in half at the boundary (which the scrubber could no longer recognise)
    /// never survives, and the text starts on a character boundary.
    var text: String {
        let kept = trimmed()
        guard kept.dropped > 0 else { return String(decoding: kept.buffer, as: UTF8.self) }
        guard let newline = kept.buffer.firstIndex(of: UInt8(ascii: "\n")) else { return "" }
        return "[… \(kept.dropped + newline + 1) earlier bytes not kept …]\n"
            + String(decoding: kept.buffer[(newline + 1)...], as: UTF8.self)
    }
}
