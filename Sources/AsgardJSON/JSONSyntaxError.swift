/// Why a text is not one valid JSON document: where the reader stopped and what it expected.
///
/// The description reads `invalid JSON at line L, column C: message`.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset from the start of the input (a byte-order mark counts) where the problem is.
    public var offset: Int
    /// The 1-based line of `offset`.
    public var line: Int
    /// The 1-based column of `offset`, counted in bytes.
    public var column: Int
    /// What is wrong there, e.g. `expected ',' or ']' in an array, found 'x'`.
    public var message: String

    /// The error at `offset` of `bytes`, with its line and column worked out.
    init(at offset: Int, in bytes: [UInt8], message: String) {
        let end = min(offset, bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        self.offset = end
        self.line = line
        self.column = end - lineStart + 1
        self.message = message
    }

    /// `invalid JSON at line L, column C: message`.
    public var description: String { "invalid JSON at line \(line), column \(column): \(message)" }
}
