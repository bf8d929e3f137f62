import AsgardCore
import Testing

@Suite struct YAMLReaderTests {
    let reader = YAMLReader()

    @Test func keepsPositionsOfKeysAndValues() throws {
        let documents = try reader.documents("a: 1\nb:\n  - x\n  - 'y'\n")
        let root = try #require(documents.first)
        guard case .mapping(let pairs) = root.value else {
            Issue.record("not a mapping")
            return
        }
        #expect(pairs.map(\.key) == ["a", "b"])
        #expect((pairs[1].keyLine, pairs[1].keyColumn) == (2, 1))
        guard case .sequence(let items) = pairs[1].value.value else {
            Issue.record("not a list")
            return
        }
        #expect(items.map { ($0.line, $0.column) }.elementsEqual([(3, 5), (4, 5)], by: ==))
        #expect(items[1].value == .scalar(YAMLScalar(text: "y", isPlain: false)))
    }

    @Test func readsEveryDocumentAndSkipsEmptyOnes() throws {
        let documents = try reader.documents("---\na: 1\n---\n---\nb: 2\n...\n")
        #expect(documents.count == 2)
        #expect(documents.map(\.line) == [2, 5])
    }

    @Test(
        arguments: [
            ("a: &x 1\nb: 2\n", 1, 4, "anchors"),
            ("a: [1]\nb: *x\n", 2, 4, "aliases"),
            ("a: !custom 1\n", 1, 4, "tags"),
            ("a: 1\na: 2\n", 2, 1, "duplicate key \"a\""),
            ("a: 1\n  b: 2\n", 2, 4, "YAML syntax error"),
            ("? [a, b]\n: 1\n", 1, 3, "mapping key"),
            ("a: \"unterminated\n", 2, 1, "YAML syntax error"),
        ] as [(String, Int, Int, String)])
    func refusesWithPosition(text: String, line: Int, column: Int, message: String) {
        #expect {
            try reader.documents(text)
        } throws: { error in
            guard let problem = error as? YAMLReader.Problem else { return false }
            return problem.line == line && problem.column == column && problem.message.contains(message)
        }
    }

    @Test func aliasOfAnAnchorIsRefusedAtTheAnchor() {
        #expect(throws: YAMLReader.Problem.self) { try reader.documents("a: &x [1, 2]\nb: *x\n") }
    }

    @Test func allowsTheStringTag() throws {
        let root = try #require(try reader.documents("a: !!str 123\n").first)
        guard case .mapping(let pairs) = root.value, case .scalar(let scalar) = pairs[0].value.value else {
            Issue.record("shape")
            return
        }
        #expect(scalar.text == "123" && scalar.resolved == .string)
    }

    @Test func boundsDepthWithoutRecursing() {
        // 100,000 nested lists would overflow a recursive composer's stack.
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect { try reader.documents(text) } throws: { error in
            // Either bound may trip first: ours (32) or libyaml's own scanner limit.
            guard let message = (error as? YAMLReader.Problem)?.message else { return false }
            return message.contains("deeper than 32") || message.contains("nesting level")
        }
        #expect { try reader.documents(String(repeating: "[", count: 33)) } throws: {
            ($0 as? YAMLReader.Problem)?.message.contains("deeper than 32") == true
        }
    }

    @Test func boundsNodeCount() {
        var limits = LoadLimits()
        limits.maxNodesPerFile = 100
        let text = "[" + Array(repeating: "1", count: 200).joined(separator: ",") + "]"
        #expect { try YAMLReader(limits: limits).documents(text) } throws: {
            ($0 as? YAMLReader.Problem)?.message.contains("more than 100 YAML nodes") == true
        }
    }

    // MARK: - Large documents within the limits (issue 13: these once took minutes to read)

    @Test func readsAOneMebibyteFlowSequence() throws {
        let text = LargeYAML.flowSequence(80_000)
        #expect(text.utf8.count > 1_000_000 && text.utf8.count <= LoadLimits().maxFileBytes)
        let items = try #require(try reader.documents(text).first).items
        #expect(items.count == 80_000)
        #expect(items.map(\.scalarText) == (0..<80_000).map(LargeYAML.item))
        // `[` then items of 11 characters separated by ", ": item i starts at column 2 + 13 i.
        #expect((items[79_999].line, items[79_999].column) == (1, 2 + 13 * 79_999))
    }

    @Test func readsAOneMebibyteFlowMapping() throws {
        let text = LargeYAML.flowMapping(80_000)
        #expect(text.utf8.count > 900_000 && text.utf8.count <= LoadLimits().maxFileBytes)
        let pairs = try #require(try reader.documents(text).first).pairs
        #expect(pairs.count == 80_000)
        #expect(pairs.map(\.key) == (0..<80_000).map(LargeYAML.key))
        #expect(pairs.allSatisfy { $0.value.scalarText == "1" })
        // `{` then pairs of 10 characters separated by ", ": key i starts at column 2 + 12 i.
        #expect((pairs[79_999].keyLine, pairs[79_999].keyColumn) == (1, 2 + 12 * 79_999))
    }

    @Test func readsLargeBlockCollections() throws {
        let sequence = LargeYAML.blockSequence(70_000)
        #expect(sequence.utf8.count > 900_000 && sequence.utf8.count <= LoadLimits().maxFileBytes)
        let items = try #require(try reader.documents(sequence).first).items
        #expect(items.map(\.scalarText) == (0..<70_000).map(LargeYAML.item))
        #expect((items[69_999].line, items[69_999].column) == (70_000, 3))

        let mapping = LargeYAML.blockMapping(48_000)
        #expect(mapping.utf8.count > 1_000_000 && mapping.utf8.count <= LoadLimits().maxFileBytes)
        let pairs = try #require(try reader.documents(mapping).first).pairs
        #expect(pairs.map(\.key) == (0..<48_000).map(LargeYAML.key))
        #expect(pairs.map { $0.value.scalarText } == (0..<48_000).map(LargeYAML.item))
        #expect((pairs[47_999].keyLine, pairs[47_999].keyColumn, pairs[47_999].value.column) == (48_000, 1, 10))
    }

    @Test func readsManyCollectionsNestedToTheDepthLimit() throws {
        // 6,000 lists each nested 31 deep inside the top list: depth 32 (the limit), 192,001 nodes.
        let nest = String(repeating: "[", count: 31) + "x" + String(repeating: "]", count: 31)
        let text = "[" + Array(repeating: nest, count: 6_000).joined(separator: ",") + "]\n"
        let items = try #require(try reader.documents(text).first).items
        #expect(items.count == 6_000)
        var node = items[5_999]
        for _ in 1..<31 { node = try #require(node.items.first) }
        #expect(node.items.map(\.scalarText) == ["x"])

        // A list nested one level deeper, added at the end, is refused where its 33rd level starts.
        let deeper = String(text.dropLast(2)) + ",[" + nest + "]]\n"
        #expect { try reader.documents(deeper) } throws: { error in
            guard let problem = error as? YAMLReader.Problem else { return false }
            return problem.message.contains("deeper than 32") && problem.line == 1 && problem.column == text.utf8.count - 2 + 33
        }
    }

    @Test func refusesADuplicateKeyAtTheEndOfALargeMapping() {
        let text = LargeYAML.blockMapping(48_000) + "\(LargeYAML.key(0)): again\n"
        #expect { try reader.documents(text) } throws: { error in
            guard let problem = error as? YAMLReader.Problem else { return false }
            return (problem.line, problem.column) == (48_001, 1) && problem.message == "duplicate key \"k000000\" in this mapping"
        }
    }

    @Test func boundsNodeCountOfALargeFlowSequenceAtTheLimit() throws {
        // A list and 199,999 items is 200,000 nodes: read. One more item is refused where it starts.
        func numbers(_ count: Int) -> String { "[" + Array(repeating: "1", count: count).joined(separator: ",") + "]\n" }
        #expect(try reader.documents(numbers(199_999)).first?.items.count == 199_999)
        #expect { try reader.documents(numbers(200_000)) } throws: { error in
            guard let problem = error as? YAMLReader.Problem else { return false }
            return problem.message == "more than 200000 YAML nodes in one file" && (problem.line, problem.column) == (1, 2 + 2 * 199_999)
        }
    }

    @Test(arguments: [
        ("hello", YAMLScalar.Resolved.string), ("", .null), ("~", .null), ("null", .null), ("true", .bool(true)), ("False", .bool(false)),
        ("12", .integer), ("-3", .integer), ("0x1F", .integer), ("1.5", .float), (".5", .float), ("1e3", .float), ("1.2.3", .string),
        ("2027-06-30", .string), ("yes", .string), ("-", .string),
    ])
    func resolvesPlainScalarsByTheCoreSchema(text: String, resolved: YAMLScalar.Resolved) {
        #expect(YAMLScalar(text: text, isPlain: true).resolved == resolved)
        #expect(YAMLScalar(text: text, isPlain: false).resolved == .string)
    }
}

/// Large documents that are valid YAML and within `LoadLimits()`, built the same every time.
enum LargeYAML {
    /// `item-000000`, `item-000001`, ...: 11 characters.
    static func item(_ index: Int) -> String { "item-" + padded(index) }
    /// `k000000`, `k000001`, ...: 7 characters.
    static func key(_ index: Int) -> String { "k" + padded(index) }

    /// `[item-000000, item-000001, ...]` on one line.
    static func flowSequence(_ count: Int) -> String { "[" + (0..<count).map(item).joined(separator: ", ") + "]\n" }
    /// `{k000000: 1, k000001: 1, ...}` on one line.
    static func flowMapping(_ count: Int) -> String { "{" + (0..<count).map { key($0) + ": 1" }.joined(separator: ", ") + "}\n" }
    /// `- item-000000` and so on, one item a line.
    static func blockSequence(_ count: Int) -> String { (0..<count).map { "- " + item($0) + "\n" }.joined() }
    /// `k000000: item-000000` and so on, one pair a line.
    static func blockMapping(_ count: Int) -> String { (0..<count).map { key($0) + ": " + item($0) + "\n" }.joined() }

    private static func padded(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

extension YAMLNode {
    /// A list's items; empty for anything else.
    var items: [YAMLNode] {
        guard case .sequence(let items) = value else { return [] }
        return items
    }

    /// A mapping's pairs; empty for anything else.
    var pairs: [YAMLPair] {
        guard case .mapping(let pairs) = value else { return [] }
        return pairs
    }

    /// A scalar's text; nil for a collection.
    var scalarText: String? {
        guard case .scalar(let scalar) = value else { return nil }
        return scalar.text
    }
}
