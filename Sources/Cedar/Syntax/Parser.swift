// STUB: replaced by the parser. Declares the API the other parts build against.

/// A syntax error: where, and what was expected.
public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var position: SourcePosition
    public var message: String

    public init(position: SourcePosition, message: String) {
        self.position = position
        self.message = message
    }

    public var description: String { "\(position): \(message)" }
}

/// Parses a policy set; ids are `policy0`, `policy1`, ... in file order.
public func parsePolicies(_ text: String) throws(ParseError) -> [Policy] {
    throw ParseError(position: SourcePosition(line: 1, column: 1, offset: 0), message: "the Cedar parser is not built yet")
}

/// Parses an entity reference such as `User::"alice"` or `A::B::"x"`.
public func parseEntityUID(_ text: String) throws(ParseError) -> EntityUID {
    throw ParseError(position: SourcePosition(line: 1, column: 1, offset: 0), message: "the Cedar parser is not built yet")
}
