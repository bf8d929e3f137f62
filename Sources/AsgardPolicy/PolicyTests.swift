public import AsgardCore
public import Cedar
import Foundation

/// Policy tests: YAML files of entities and cases (request → expected decision and
/// determining policies), run against a `PolicyBundle`. See `policies/tests/`.
public struct PolicyTestSuite: Sendable {
    /// One expectation.
    public struct Case: Sendable {
        public var file: String
        public var line: Int
        public var name: String
        public var request: Request
        public var decision: Response.Decision
        /// Expected determining policy ids; nil when the case does not say.
        public var reasons: Set<String>?
        public var entities: Entities
    }

    /// What running one case showed.
    public struct Result: Sendable {
        public var testCase: Case
        public var response: Response
        /// Empty when the case passed; else what differed.
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public var cases: [Case]

    /// Loads every `*.yaml` file of `directory`; problems come back as diagnostics.
    public static func load(directory: String) -> (PolicyTestSuite, [Diagnostic]) {
        let display = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var cases: [Case] = []
        var diagnostics: [Diagnostic] = []
        for name in names {
            let file = "\(display)/\(name)"
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                diagnostics.append(Diagnostic(SourceLocation(file: file, line: 1, column: 1), "cannot read the file as UTF-8"))
                continue
            }
            let (loaded, problems) = loadFile(text, file: file)
            cases += loaded
            diagnostics += problems
        }
        if names.isEmpty {
            diagnostics.append(Diagnostic(SourceLocation(file: display, line: 1, column: 1), "no policy test files (*.yaml)"))
        }
        return (PolicyTestSuite(cases: cases), diagnostics)
    }

    static func loadFile(_ text: String, file: String) -> ([Case], [Diagnostic]) {
        func problem(_ line: Int, _ column: Int, _ message: String) -> Diagnostic {
            Diagnostic(SourceLocation(file: file, line: line, column: column), message)
        }
        let root: YAMLNode
        do {
            guard let document = try YAMLReader().documents(text).first else { return ([], [problem(1, 1, "empty test file")]) }
            root = document
        } catch {
            return ([], [problem(error.line, error.column, error.message)])
        }
        guard case .mapping(let pairs) = root.value,
            let entitiesNode = pairs.first(where: { $0.key == "entities" })?.value,
            let casesNode = pairs.first(where: { $0.key == "cases" })?.value,
            case .sequence(let caseNodes) = casesNode.value
        else { return ([], [problem(root.line, root.column, "a policy test file has `entities:` (a list) and `cases:` (a list)")]) }
        for pair in pairs where pair.key != "entities" && pair.key != "cases" {
            return ([], [problem(pair.keyLine, pair.keyColumn, "unknown field \"\(pair.key)\"")])
        }
        let entities: Entities
        do {
            entities = try parseEntities(json: entitiesNode.jsonText)
        } catch {
            return ([], [problem(entitiesNode.line, entitiesNode.column, "entities: \(error)")])
        }
        var cases: [Case] = []
        var diagnostics: [Diagnostic] = []
        for node in caseNodes {
            guard case .mapping(let fields) = node.value else {
                diagnostics.append(problem(node.line, node.column, "a case is a mapping"))
                continue
            }
            let field = { (name: String) in fields.first { $0.key == name }?.value }
            let text = { (name: String) -> String? in
                if case .scalar(let scalar)? = field(name)?.value { return scalar.text }
                return nil
            }
            let known: Set<String> = ["name", "principal", "action", "resource", "context", "decision", "reasons"]
            if let unknown = fields.first(where: { !known.contains($0.key) }) {
                diagnostics.append(problem(unknown.keyLine, unknown.keyColumn, "unknown field \"\(unknown.key)\""))
                continue
            }
            do {
                guard let name = text("name"), let principal = text("principal"), let action = text("action"),
                    let resource = text("resource"), let decisionText = text("decision"),
                    let decision = Response.Decision(rawValue: decisionText)
                else {
                    diagnostics.append(problem(node.line, node.column, "a case needs name, principal, action, resource and decision (allow or deny)"))
                    continue
                }
                let context = try field("context").map { try parseContext(json: $0.jsonText) } ?? [:]
                var reasons: Set<String>?
                if let list = field("reasons") {
                    guard case .sequence(let items) = list.value else {
                        diagnostics.append(problem(list.line, list.column, "reasons is a list of policy ids"))
                        continue
                    }
                    reasons = Set(items.compactMap { if case .scalar(let s) = $0.value { s.text } else { nil } })
                }
                let request = Request(
                    principal: try parseEntityUID(principal), action: try parseEntityUID(action),
                    resource: try parseEntityUID(resource), context: context)
                cases.append(
                    Case(file: file, line: node.line, name: name, request: request, decision: decision, reasons: reasons, entities: entities))
            } catch {
                diagnostics.append(problem(node.line, node.column, "\(error)"))
            }
        }
        return (cases, diagnostics)
    }

    /// Runs every case against `bundle` (fail-closed, as Asgard enforces).
    public func run(against bundle: PolicyBundle) -> [Result] {
        let engine = PolicyEngine(enforced: bundle)
        return cases.map { testCase in
            let decision = engine.decide(testCase.request, entities: testCase.entities)
            var failures: [String] = []
            let actual: Response.Decision = decision.allowed ? .allow : .deny
            if actual != testCase.decision { failures.append("expected \(testCase.decision.rawValue), got \(actual.rawValue)") }
            if let reasons = testCase.reasons, reasons != decision.response.reasons {
                failures.append("expected reasons \(reasons.sorted()), got \(decision.response.reasons.sorted())")
            }
            if !decision.response.errors.isEmpty {
                failures.append(
                    "policies erred: "
                        + decision.response.errors.sorted().map { "\($0): \(decision.response.errorMessages[$0] ?? "")" }.joined(separator: "; "))
            }
            return Result(testCase: testCase, response: decision.response, failures: failures)
        }
    }
}
