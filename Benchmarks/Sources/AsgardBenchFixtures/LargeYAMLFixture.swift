import AsgardCore

/// One YAML text of about 1 MiB, valid and within `LoadLimits()`, of the shapes that a reader
/// copying each open collection on every node took minutes to read (issue 13). The same bytes on
/// every run.
public struct LargeYAMLFixture: Sendable {
    /// The text, at most `LoadLimits().maxFileBytes` bytes.
    public let text: String
    /// How many items or pairs its one top-level collection holds.
    public let entries: Int

    /// `[item-000000, item-000001, ...]`: 80,000 items on one line (1,040,001 bytes).
    public static let flowSequence = LargeYAMLFixture(
        text: "[" + (0..<80_000).map(item).joined(separator: ", ") + "]\n", entries: 80_000)

    /// `k000000: item-000000`, one pair a line: 48,000 pairs (1,008,000 bytes).
    public static let blockMapping = LargeYAMLFixture(
        text: (0..<48_000).map { "k\(pad($0, 6)): \(item($0))\n" }.joined(), entries: 48_000)

    /// `item-000000`, `item-000001`, ...
    static func item(_ index: Int) -> String { "item-\(pad(index, 6))" }

    /// Reads the text once and stops the process unless it fits the size limit and gives one
    /// document whose top-level collection holds `entries` entries, so a benchmark never
    /// measures a read that fails or stops early.
    public func checked() -> Self {
        guard text.utf8.count <= LoadLimits().maxFileBytes else {
            fatalError("large YAML fixture has \(text.utf8.count) bytes, over the \(LoadLimits().maxFileBytes) limit")
        }
        let documents: [YAMLNode]
        do {
            documents = try YAMLReader().documents(text)
        } catch {
            fatalError("large YAML fixture does not read: \(error.line):\(error.column): \(error.message)")
        }
        let count: Int? =
            switch documents.first?.value {
            case .sequence(let items)?: items.count
            case .mapping(let pairs)?: pairs.count
            default: nil
            }
        guard documents.count == 1, count == entries else {
            fatalError("large YAML fixture read as \(documents.count) documents of \(count ?? 0) entries, expected 1 of \(entries)")
        }
        return self
    }

    /// A desired state of three files: the service manifest of `DesiredStateFixture`, one
    /// project, and a Resource file of exactly `LoadLimits().maxFileBytes` bytes whose parameter
    /// `names` is the 80,000-item flow list of `flowSequence` (padded with a comment). Checked
    /// once: stops the process unless it loads with no diagnostic and all 80,000 names.
    public static func checkedResourceSources() -> [SourceFile] {
        let limit = LoadLimits().maxFileBytes
        var resource = """
            kind: Resource
            id: large-volume
            project: \(DesiredStateFixture.projectID(0))
            service: databricks-uc-volume
            parameters:
            """
        resource += "\n  names: " + flowSequence.text
        resource += "#" + String(repeating: "-", count: limit - resource.utf8.count - 2) + "\n"
        let files = [
            ("services/databricks/service.yaml", DesiredStateFixture.service),
            ("projects/project.yaml", DesiredStateFixture.tenThousand.project(0)),
            ("resources/large-volume.yaml", resource),
        ]
        let sources = files.map { SourceFile(name: "desired/\($0.0)", relative: $0.0, bytes: Array($0.1.utf8)) }
        let result = DesiredStateLoader().load(sources)
        guard result.diagnostics.isEmpty else {
            fatalError("large resource fixture does not load cleanly:\n\(result.diagnostics.prefix(20).map { "  \($0)" }.joined(separator: "\n"))")
        }
        guard resource.utf8.count == limit, case .list(let names)? = result.state.resources["large-volume"]?.parameters["names"],
            names.count == flowSequence.entries
        else {
            fatalError("large resource fixture is not \(limit) bytes or did not load its \(flowSequence.entries) names")
        }
        return sources
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
