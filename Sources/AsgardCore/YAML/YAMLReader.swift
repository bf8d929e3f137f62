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

    private enum Frame {
        case mapping(line: Int, column: Int, pairs: [YAMLPair], pendingKey: (String, Int, Int)?, seen: Set<String>)
        case sequence(line: Int, column: Int, items: [YAMLNode])
    }

    private func run(_ parser: inout yaml_parser_t) throws(Problem) -> [YAMLNode] {
        var documents: [YAMLNode] = []
        var stack: [Frame] = []
        var root: YAMLNode?
        var nodes = 0

        func attach(_ node: YAMLNode) throws(Problem) {
            guard let top = stack.popLast() else {
                root = node
                return
            }
            switch top {
            case .sequence(let line, let column, var items):
                items.append(node)
                stack.append(.sequence(line: line, column: column, items: items))
            case .mapping(let line, let column, var pairs, let pendingKey, var seen):
                if let (key, keyLine, keyColumn) = pendingKey {
                    pairs.append(YAMLPair(key: key, keyLine: keyLine, keyColumn: keyColumn, value: node))
                    stack.append(.mapping(line: line, column: column, pairs: pairs, pendingKey: nil, seen: seen))
                } else {
                    guard case .scalar(let scalar) = node.value else {
                        throw Problem(
                            line: node.line, column: node.column, message: "a mapping key must be a plain string, not \(node.kindDescription)")
                    }
                    guard seen.insert(scalar.text).inserted else {
                        throw Problem(line: node.line, column: node.column, message: "duplicate key \(quoted(scalar.text)) in this mapping")
                    }
                    stack.append(.mapping(line: line, column: column, pairs: pairs, pendingKey: (scalar.text, node.line, node.column), seen: seen))
                }
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
                stack.append(.sequence(line: line, column: column, items: []))
            case YAML_MAPPING_START_EVENT:
                try refuse(
                    anchor: event.data.mapping_start.anchor, tag: event.data.mapping_start.tag, line: line, column: column, allowStringTag: false)
                nodes += 1
                try checkNodes(nodes, line: line, column: column)
                try checkDepth(stack.count + 1, line: line, column: column)
                try checkKeyPosition(stack, line: line, column: column)
                stack.append(.mapping(line: line, column: column, pairs: [], pendingKey: nil, seen: []))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { continue }
                switch frame {
                case .sequence(let l, let c, let items):
                    try attach(YAMLNode(.sequence(items), line: l, column: c))
                case .mapping(let l, let c, let pairs, _, _):
                    try attach(YAMLNode(.mapping(pairs), line: l, column: c))
                }
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
        if case .mapping(_, _, _, nil, _) = stack.last {
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
