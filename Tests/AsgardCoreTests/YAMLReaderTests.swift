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
