import AsgardCore

/// A large, valid desired state generated in memory as YAML texts, the same on every run.
///
/// The mix: one databricks-like Service manifest (six models, four provisionable services),
/// then projects, keys and resources spread over files of `objectsPerFile` documents each,
/// separated by `---`. Every generated object is valid and every reference resolves, so
/// loading it must give no diagnostic at all.
public struct DesiredStateFixture: Sendable {
    public var projects: Int
    public var keysPerProject: Int
    public var resources: Int
    public var objectsPerFile: Int

    /// 1 service + 1,000 projects + 4,000 keys + 4,999 resources = 10,000 objects.
    public static let tenThousand = DesiredStateFixture(projects: 1_000, keysPerProject: 4, resources: 4_999, objectsPerFile: 50)

    public init(projects: Int, keysPerProject: Int, resources: Int, objectsPerFile: Int) {
        precondition(projects > 0 && keysPerProject >= 0 && resources >= 0 && objectsPerFile > 0)
        self.projects = projects
        self.keysPerProject = keysPerProject
        self.resources = resources
        self.objectsPerFile = objectsPerFile
    }

    /// How many objects `sources()` declares.
    public var objectCount: Int { 1 + projects + projects * keysPerProject + resources }

    /// The desired-state files, as `DesiredStateLoader.load(_:)` takes them.
    public func sources() -> [SourceFile] {
        var files = [file("services/databricks/service.yaml", Self.service)]
        files += chunked("projects/projects", (0..<projects).map(project))
        files += chunked("keys/keys", (0..<projects * keysPerProject).map(key))
        files += chunked("resources/resources", (0..<resources).map(resource))
        return files
    }

    /// Total size of the generated YAML, in bytes.
    public static func byteCount(_ sources: [SourceFile]) -> Int { sources.reduce(0) { $0 + $1.bytes.count } }

    // MARK: - The objects

    static let models = ["llama-3-3-70b", "llama-3-1-8b", "dbrx-instruct", "mixtral-8x7b", "gte-large-en", "bge-large-en"]
    static let classes = ["public", "internal", "confidential", "restricted"]

    static let service: String = {
        var text = """
            kind: Service
            id: databricks
            inference:
              kind: openai-compatible
              base_url_env: DATABRICKS_HOST
              token_env: DATABRICKS_TOKEN
              chat_path: /serving-endpoints/{model}/invocations
              timeout_seconds: 60
              usage_context: true
              default_max_tokens: 4096
              models:

            """
        for (index, model) in models.enumerated() {
            text += """
                    - id: databricks/\(model)
                      upstream: databricks-\(model)
                      price_per_1m_input_usd: \(index + 1).25
                      price_per_1m_output_usd: \(index + 2).50
                      max_data_class: \(classes[index % 3 + 1])

                """
        }
        text += """
            provisionable:
              - name: databricks-sql-warehouse
                module: modules/databricks/sql-warehouse
                tier: human
                classification_floor: internal
                monthly_estimate_usd: 1500
                tags:
                  - resource_type: databricks_sql_endpoint
                    path: tags.custom_tags
                    format: key-value-list
              - name: databricks-job
                module: modules/databricks/job
                tier: human
                classification_floor: internal
                monthly_estimate_usd: 400
                tags:
                  - resource_type: databricks_job
                    path: tags
                    format: map
              - name: databricks-model-serving
                module: modules/databricks/model-serving
                tier: human
                classification_floor: internal
                monthly_estimate_usd: 2000
                tags:
                  - resource_type: databricks_model_serving
                    path: tags
                    format: key-value-list
              - name: databricks-uc-volume
                module: modules/databricks/uc-volume
                tier: auto
                classification_floor: public
                monthly_estimate_usd: 5
                tags:
                  - resource_type: databricks_schema
                    path: properties
                    format: map
                  - resource_type: databricks_volume
                    format: inherited
            cost_source:
              type: databricks-billing
              env:
                host: DATABRICKS_HOST
                token: DATABRICKS_TOKEN
                warehouse_id: DATABRICKS_WAREHOUSE_ID

            """
        return text
    }()

    static func projectID(_ index: Int) -> String { "project-\(pad(index, 4))" }

    /// public, internal, confidential, restricted in turn.
    static func classification(ofProject index: Int) -> Int { index % 4 }

    /// Projects with approvers may ask for human-tier services; every fifth internal-or-above
    /// project has none, so it gets auto-tier resources only.
    static func hasApprovers(_ index: Int) -> Bool { classification(ofProject: index) > 0 && index % 5 != 0 }

    func project(_ index: Int) -> String {
        var text = """
            kind: Project
            id: \(Self.projectID(index))
            name: Generated Project \(index)
            owner: owner-\(index)@example.com
            classification: \(Self.classes[Self.classification(ofProject: index)])
            monthly_budget_usd: \(100 + (index % 50) * 25).\(pad(index % 100, 2))

            """
        if Self.hasApprovers(index) {
            text += "approvers:\n  - approver-\(index % 37)@example.com\n"
            if index % 3 == 0 { text += "  - approver-\(index % 41 + 100)@example.com\n" }
        }
        return text
    }

    func key(_ index: Int) -> String {
        let owner = index / keysPerProject
        let projectClass = Self.classification(ofProject: owner)
        let maxClass = index % 2 == 0 ? projectClass : max(0, projectClass - 1)
        var text = """
            kind: Key
            id: key-\(pad(owner, 4))-\(index % keysPerProject)
            project: \(Self.projectID(owner))
            digest: sha256:\(Self.hex64(UInt64(index)))
            allowed_models:

            """
        if index % 7 == 0 {
            text += "  - databricks/*\n"
        } else {
            for offset in 0..<(1 + index % 3) {
                text += "  - databricks/\(Self.models[(index + offset * 2) % Self.models.count])\n"
            }
        }
        text += "max_data_class: \(Self.classes[maxClass])\n"
        if index % 3 == 0 { text += "default_data_class: public\n" }
        if index % 4 == 1 { text += "expires: 2027-\(pad(index % 12 + 1, 2))-\(pad(index % 28 + 1, 2))\n" }
        if index % 2 == 1 { text += "requests_per_minute: \(30 + index % 200)\n" }
        return text
    }

    /// About five resources per project (resource i belongs to project i mod the project
    /// count); human-tier services only where the project is classified at or above their
    /// internal floor and lists approvers.
    func resource(_ index: Int) -> String {
        let owner = index % projects
        let human = Self.hasApprovers(owner)
        switch human ? (index + index / projects) % 4 : 3 {
        case 0:
            return """
                kind: Resource
                id: warehouse-\(pad(index, 5))
                project: \(Self.projectID(owner))
                service: databricks-sql-warehouse
                parameters:
                  cluster_size: 2X-Small
                  auto_stop_mins: \(10 + index % 50)
                  max_num_clusters: \(1 + index % 3)
                  enable_serverless_compute: \(index % 2 == 0)

                """
        case 1:
            return """
                kind: Resource
                id: job-\(pad(index, 5))
                project: \(Self.projectID(owner))
                service: databricks-job
                parameters:
                  name: nightly-\(index)
                  schedule: "0 \(index % 60) \(index % 24) * * ?"
                  tasks:
                    - notebook: /Repos/team/etl-\(index % 20)
                      cluster: shared
                    - notebook: /Repos/team/report-\(index % 10)
                      cluster: shared

                """
        case 2:
            return """
                kind: Resource
                id: serving-\(pad(index, 5))
                project: \(Self.projectID(owner))
                service: databricks-model-serving
                parameters:
                  entity_name: main.models.model_\(index % 100)
                  entity_version: "\(1 + index % 9)"
                  workload_size: Small
                  scale_to_zero: true

                """
        default:
            return """
                kind: Resource
                id: volume-\(pad(index, 5))
                project: \(Self.projectID(owner))
                service: databricks-uc-volume
                parameters:
                  catalog: main
                  schema: schema_\(index % 300)
                  volume: volume_\(index)

                """
        }
    }

    // MARK: - Helpers

    private func chunked(_ stem: String, _ documents: [String]) -> [SourceFile] {
        stride(from: 0, to: documents.count, by: objectsPerFile).map { start in
            let part = documents[start..<min(start + objectsPerFile, documents.count)]
            return file("\(stem)-\(pad(start / objectsPerFile, 3)).yaml", part.joined(separator: "---\n"))
        }
    }

    private func file(_ relative: String, _ text: String) -> SourceFile {
        SourceFile(name: "desired/\(relative)", relative: relative, bytes: Array(text.utf8))
    }

    /// 64 lower-case hex digits, a fixed function of `seed`: four splitmix64 outputs, from
    /// positions of the sequence that no other seed uses.
    static func hex64(_ seed: UInt64) -> String {
        var state = (seed &* 4) &* 0x9E37_79B9_7F4A_7C15
        var out = ""
        for _ in 0..<4 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let digits = String(z, radix: 16)
            out += String(repeating: "0", count: 16 - digits.count) + digits
        }
        return out
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// The fixture, loaded once and checked: no diagnostic, exactly the expected object count.
/// Stops the process with the first problems printed otherwise, so a benchmark never
/// measures a load that fails or a state that shrank.
public struct CheckedFixture: Sendable {
    public var sources: [SourceFile]
    public var state: DesiredState
    public var objectCount: Int

    public init(_ fixture: DesiredStateFixture = .tenThousand) {
        let sources = fixture.sources()
        let result = DesiredStateLoader().load(sources)
        guard result.diagnostics.isEmpty else {
            let shown = result.diagnostics.prefix(20).map { "  \($0)" }.joined(separator: "\n")
            fatalError("benchmark fixture does not load cleanly: \(result.diagnostics.count) diagnostics, first ones:\n\(shown)")
        }
        guard result.state.count == fixture.objectCount else {
            fatalError("benchmark fixture loaded \(result.state.count) objects, expected \(fixture.objectCount)")
        }
        let actions = plan(desired: result.state, observed: ObservedState())
        guard actions.count == fixture.objectCount, actions.allSatisfy({ $0.verb == .create }) else {
            fatalError("planning the fixture against an empty observed state gave \(actions.count) actions, expected \(fixture.objectCount) creates")
        }
        let converged = ObservedState().applying(actions, from: result.state)
        let again = plan(desired: result.state, observed: converged)
        guard again.isEmpty else {
            fatalError("planning the fixture against its converged observed state gave \(again.count) actions, expected none")
        }
        self.sources = sources
        self.state = result.state
        self.objectCount = fixture.objectCount
    }
}
