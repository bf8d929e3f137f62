internal import CYaml
import Foundation

/// Bounds that keep a hostile or broken file from exhausting memory, stack or time.
public struct LoadLimits: Sendable, Hashable {
    /// Largest file read, in bytes.
    public var maxFileBytes = 1 << 20
    /// Most YAML nodes (scalars, mappings, lists) in one file.
    public var maxNodesPerFile = 200_000
    /// Deepest nesting of mappings and lists.
    public var maxDepth = 32
    /// Most desired-state objects across the whole directory.
    public var maxObjects = 200_000
    /// Most files under the directory.
    public var maxFiles = 100_000

    public init() {}
}

/// Turns YAML text into positioned `YAMLNode` documents, driving libyaml's event parser
/// directly: no recursion (so nesting cannot overflow the stack), limits checked as events
/// arrive, and anchors, aliases, custom tags and duplicate keys refused with their position.
public struct YAMLReader: Sendable {
    public var limits: LoadLimits

    public init(limits: LoadLimits = LoadLimits()) { self.limits = limits }

    /// A problem in the YAML itself, with its 1-based position.
    public struct Problem: Error, Sendable, Hashable {
        public var line: Int
        public var column: Int
        public var message: String
    }

    /// Parses every document of `text`. Documents that are empty are left out.
    ///
    /// - Throws: `Problem` for the first syntax error or refused construct.
    public func documents(_ text: String) throws(Problem) -> [YAMLNode] {
        var bytes = Array(text.utf8)
        let count = bytes.count
        return try bytes.withUnsafeMutableBufferPointer { buffer throws(Problem) in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                throw Problem(line: 1, column: 1, message: "the YAML parser could not start")
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, count)
            return try run(&parser)
        }
    }

    /// A mapping or list still open, with what it holds so far.
    ///
    /// Frames are changed in place on the stack (`stack[top].items.append(...)`), never taken
    /// out, changed and pushed back: a frame taken out shares its arrays with the copy it came
    /// from, so each append copied the whole collection, and reading n items took O(n²) time.
    private struct Frame {
        /// Position of the collection's first character.
        let line: Int
        let column: Int
        let isMapping: Bool
        /// A list's items.
        var items: [YAMLNode] = []
        /// A mapping's pairs, and the key read whose value has not come yet.
        var pairs: [YAMLPair] = []
        var pendingKey: (text: String, line: Int, column: Int)?
        /// A mapping's keys so far, to refuse duplicates.
        var seen: Set<String> = []

        /// Whether the next node is a mapping key.
        var expectsKey: Bool { isMapping && pendingKey == nil }
    }

    private func run(_ parser: inout yaml_parser_t) throws(Problem) -> [YAMLNode] {
        var documents: [YAMLNode] = []
        var stack: [Frame] = []
        var root: YAMLNode?
        var nodes = 0

        func attach(_ node: YAMLNode) throws(Problem) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            if !stack[top].isMapping {
                stack[top].items.append(node)
            } else if let key = stack[top].pendingKey {
                stack[top].pairs.append(YAMLPair(key: key.text, keyLine: key.line, keyColumn: key.column, value: node))
                stack[top].pendingKey = nil
            } else {
                guard case .scalar(let scalar) = node.value else {
                    throw Problem(line: node.line, column: node.column, message: "a mapping key must be a plain string, not \(node.kindDescription)")
                }
                guard stack[top].seen.insert(scalar.text).inserted else {
                    throw Problem(line: node.line, column: node.column, message: "duplicate key \(quoted(scalar.text)) in this mapping")
                }
                stack[top].pendingKey = (scalar.text, node.line, node.column)
            }
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw syntaxProblem(parser)
            }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            let column = Int(event.start_mark.column) + 1

            switch event.type {
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT, YAML_NO_EVENT:
                continue
            case YAML_DOCUMENT_END_EVENT:
                if let node = root, !Self.isEmptyDocument(node) { documents.append(node) }
                root = nil
            case YAML_ALIAS_EVENT:
                throw Problem(line: line, column: column, message: "YAML aliases (*name) are not allowed in desired state: write the value out")
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                try refuse(anchor: scalar.anchor, tag: scalar.tag, line: line, column: column, allowStringTag: true)
                nodes += 1
                try checkNodes(nodes, line: line, column: column)
                let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
                let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.tag == nil
                try attach(YAMLNode(.scalar(YAMLScalar(text: text, isPlain: plain)), line: line, column: column))
            case YAML_SEQUENCE_START_EVENT:
                try refuse(
                    anchor: event.data.sequence_start.anchor, tag: event.data.sequence_start.tag, line: line, column: column, allowStringTag: false)
                nodes += 1
                try checkNodes(nodes, line: line, column: column)
                try checkDepth(stack.count + 1, line: line, column: column)
                try checkKeyPosition(stack, line: line, column: column)
                stack.append(Frame(line: line, column: column, isMapping: false))
            case YAML_MAPPING_START_EVENT:
                try refuse(
                    anchor: event.data.mapping_start.anchor, tag: event.data.mapping_start.tag, line: line, column: column, allowStringTag: false)
                nodes += 1
                try checkNodes(nodes, line: line, column: column)
                try checkDepth(stack.count + 1, line: line, column: column)
                try checkKeyPosition(stack, line: line, column: column)
                stack.append(Frame(line: line, column: column, isMapping: true))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { continue }
                try attach(YAMLNode(frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items), line: frame.line, column: frame.column))
            default:
                continue
            }
        }
    }

    private static func isEmptyDocument(_ node: YAMLNode) -> Bool {
        if case .scalar(let scalar) = node.value, scalar.resolved == .null { return true }
        return false
    }

    private func checkNodes(_ nodes: Int, line: Int, column: Int) throws(Problem) {
        if nodes > limits.maxNodesPerFile {
            throw Problem(line: line, column: column, message: "more than \(limits.maxNodesPerFile) YAML nodes in one file")
        }
    }

    private func checkDepth(_ depth: Int, line: Int, column: Int) throws(Problem) {
        if depth > limits.maxDepth {
            throw Problem(line: line, column: column, message: "nested deeper than \(limits.maxDepth) levels")
        }
    }

    /// Mapping keys must be scalars: refuse a collection that starts where a key is expected.
    private func checkKeyPosition(_ stack: [Frame], line: Int, column: Int) throws(Problem) {
        if stack.last?.expectsKey == true {
            throw Problem(line: line, column: column, message: "a mapping key must be a plain string, not a collection")
        }
    }

    private func refuse(
        anchor: UnsafeMutablePointer<yaml_char_t>?, tag: UnsafeMutablePointer<yaml_char_t>?, line: Int, column: Int, allowStringTag: Bool
    ) throws(Problem) {
        if anchor != nil {
            throw Problem(line: line, column: column, message: "YAML anchors (&name) are not allowed in desired state: write the value out")
        }
        if let tag {
            let name = String(cString: tag)
            if allowStringTag, name == "tag:yaml.org,2002:str" { return }
            throw Problem(line: line, column: column, message: "YAML tags are not allowed in desired state (only !!str)")
        }
    }

    private func syntaxProblem(_ parser: yaml_parser_t) -> Problem {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        let context = parser.context.map { String(cString: $0) }
        let mark = parser.problem_mark
        var message = "YAML syntax error: \(problem)"
        if let context { message += " (\(context))" }
        return Problem(line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: message)
    }
}
