import AsgardCore
import AsgardTestSupport
import Foundation

/// A fresh, empty temporary directory.
func temporaryDirectory(_ name: String = #function) throws -> String { try makeTemporaryDirectory(name) }

/// Writes `files` (relative path → text) under `root`.
func write(_ files: [String: String], under root: String) throws {
    for (relative, text) in files {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// The people `project(_:)` names (its owner and default approver), in `people/test.yaml`.
let testPeople = ["people/test.yaml": personDocument("ops@example.com") + "---\n" + personDocument("owner@example.com")]

/// Loads YAML texts given in memory as files named `test/<relative>`, with `testPeople`
/// unless `people` is false.
func load(_ files: [String: String], limits: LoadLimits = LoadLimits(), people: Bool = true) -> LoadResult {
    DesiredStateLoader(limits: limits).load(
        files.merging(people ? testPeople : [:]) { mine, _ in mine }.sorted { $0.key < $1.key }.map {
            SourceFile(name: "test/\($0.key)", relative: $0.key, bytes: Array($0.value.utf8))
        })
}

/// A small valid vendor manifest, for tests that need something to refer to.
let acmeService = """
    kind: Service
    id: acme
    inference:
      kind: openai-compatible
      base_url_env: ACME_BASE_URL
      token_env: ACME_TOKEN
      models:
        - id: acme/small
          upstream: small-v1
          price_per_1m_input_usd: 0.10
          price_per_1m_output_usd: 0.40
          max_data_class: confidential
    provisionable:
      - name: acme-warehouse
        module: modules/acme/warehouse
        tier: human
        classification_floor: internal
        monthly_estimate_usd: 900
        tags:
          - resource_type: acme_warehouse
            path: tags
            format: map
      - name: acme-bucket
        module: modules/acme/bucket
        tier: auto
        classification_floor: public
        monthly_estimate_usd: 1.25
        tags:
          - resource_type: acme_bucket
            path: labels
            format: map
    """

func project(_ id: String, classification: String = "internal", budget: String = "100", approvers: String = "[ops@example.com]") -> String {
    """
    kind: Project
    id: \(id)
    name: Project \(id)
    owner: owner@example.com
    classification: \(classification)
    monthly_budget_usd: \(budget)
    approvers: \(approvers)
    """
}

/// The messages of a result's diagnostics.
extension LoadResult {
    var messages: [String] { diagnostics.map(\.description) }
}
