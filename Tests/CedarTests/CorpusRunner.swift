import AsgardTestSupport
import AsgardJSON
import Cedar
import Foundation
import Synchronization

// Runs Cedar integration-test files (the generated corpus and the hand-written tests of
// cedar-integration-tests, in `<package root>/../shared/cedar/`) against this package's parser,
// data layer and authorizer. Schemas are not supported: `schema`, `shouldValidate` and
// `validateRequest` are read past and reported as ignored; they do not affect decisions.

/// Where things are, found from this file's path.
enum CorpusLocations {
    /// `<package root>`: this file is `<root>/Tests/CedarTests/CorpusRunner.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `<package root>/../shared/cedar`: the integration-test data, unpacked except the corpus.
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/cedar")
    static let tarball = shared.appendingPathComponent("corpus-tests.tar.gz")
    /// `<package root>/.build/cedar-corpus`: the unpacked corpus (ignored by git with `.build`).
    static let unpacked = packageRoot.appendingPathComponent(".build/cedar-corpus")
    static let baseline = packageRoot.appendingPathComponent("Tests/CedarTests/Fixtures/corpus-baseline.txt")
}

struct CorpusSetupError: Error, CustomStringConvertible {
    var description: String
}

/// Serialises unpacking: suites run in parallel and several of them need the corpus.
private let unpacking = Mutex(())

/// Unpacks the corpus tarball into `.build/cedar-corpus` unless a previous run already did
/// (it leaves a marker file); returns the directory the test files' paths are relative to.
func unpackCorpusIfNeeded() throws -> URL {
    try unpacking.withLock { _ throws -> URL in try unpackCorpusNow() }
}

private func unpackCorpusNow() throws -> URL {
    let fileManager = FileManager.default
    let target = CorpusLocations.unpacked
    let marker = target.appendingPathComponent(".unpacked")
    if fileManager.fileExists(atPath: marker.path) { return target }
    guard fileManager.fileExists(atPath: CorpusLocations.tarball.path) else {
        throw CorpusSetupError(description: "the corpus tarball is missing: \(CorpusLocations.tarball.path)")
    }
    // Unpack beside the target, then move it into place, so an interrupted run leaves no
    // half-unpacked corpus behind a marker.
    let partial = target.deletingLastPathComponent()
        .appendingPathComponent("cedar-corpus.partial-\(ProcessInfo.processInfo.processIdentifier)")
    try? fileManager.removeItem(at: partial)
    try fileManager.createDirectory(at: partial, withIntermediateDirectories: true)
    let tar = ChildProcess()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
    tar.arguments = ["xzf", CorpusLocations.tarball.path, "-C", partial.path]
    try tar.run()
    tar.waitUntilExit()
    guard tar.terminationReason == .exit, tar.terminationStatus == 0 else {
        try? fileManager.removeItem(at: partial)
        throw CorpusSetupError(description: "/usr/bin/tar xzf \(CorpusLocations.tarball.path) failed (status \(tar.terminationStatus))")
    }
    try? fileManager.removeItem(at: target)
    try fileManager.moveItem(at: partial, to: target)
    try Data("unpacked from \(CorpusLocations.tarball.path)\n".utf8).write(to: marker)
    return target
}

/// The test files (`*.json` objects with `requests`) under `directory`, sorted by path.
func testFiles(under directory: URL, excludingSuffix excluded: String? = nil) -> [URL] {
    guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
    var files: [URL] = []
    for case let url as URL in walker where url.pathExtension == "json" {
        if let excluded, url.lastPathComponent.hasSuffix(excluded) { continue }
        files.append(url)
    }
    return files.sorted { $0.path < $1.path }
}

/// Why a test file failed, in the order the runner meets them.
enum FailureCategory: String, CaseIterable, Sendable {
    case testFile = "test file error"
    case entityJSON = "entity JSON error"
    case requestJSON = "request JSON error"
    case parse = "parse error"
    case decision = "decision mismatch"
    case reason = "reason mismatch"
    case errorSet = "error-set mismatch"
}

/// One test file's result.
struct FileOutcome: Sendable {
    var name: String
    /// Nil when every request matched.
    var failure: FailureCategory?
    /// What went wrong first, for the examples.
    var detail: String = ""
    var requestsPassed = 0
    var requestsTotal = 0
    /// The entity document parsed (independently of the policies).
    var entitiesParsed = false
    /// Request contexts that parsed.
    var contextsParsed = 0
    /// Schema features present in the file (counted, not used).
    var ignored: [String: Int] = [:]
    /// For hand-written files: data that a schema-less reading takes differently.
    var schemaHints: [String] = []

    var passed: Bool { failure == nil }
}

private func readJSON(_ url: URL) throws -> JSONValue {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw CorpusSetupError(description: "cannot read \(url.path)")
    }
    return try JSONValue.parse([UInt8](data))
}

private func readText(_ url: URL) throws -> String {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw CorpusSetupError(description: "cannot read \(url.path)")
    }
    return String(decoding: data, as: UTF8.self)
}

private func stringSet(_ json: JSONValue?) -> Set<String>? {
    guard case .array(let elements)? = json else { return nil }
    var result = Set<String>()
    for element in elements {
        guard case .string(let text) = element else { return nil }
        result.insert(text)
    }
    return result
}

/// Runs one test file whose `policies`/`entities` paths are relative to `root`.
func runTestFile(_ url: URL, root: URL, displayName: String, collectSchemaHints: Bool = false) -> FileOutcome {
    var outcome = FileOutcome(name: displayName)
    func fail(_ category: FailureCategory, _ detail: String) -> FileOutcome {
        if outcome.failure == nil {
            outcome.failure = category
            outcome.detail = detail
        }
        return outcome
    }

    // The test file itself.
    let test: JSONValue
    do { test = try readJSON(url) } catch { return fail(.testFile, "\(error)") }
    guard case .string(let policiesPath)? = test["policies"], case .string(let entitiesPath)? = test["entities"],
        case .array(let requests)? = test["requests"]
    else { return fail(.testFile, "missing policies, entities or requests") }
    outcome.requestsTotal = requests.count
    if test["schema"] != nil { outcome.ignored["schema", default: 0] += 1 }
    if test["shouldValidate"] != nil { outcome.ignored["shouldValidate", default: 0] += 1 }

    // Entities are parsed before the policies, so a data-layer failure is reported as such;
    // the store is built only once the policies parse.
    var entityList: [Entity]?
    var entityJSON: JSONValue?
    do {
        let json = try readJSON(root.appendingPathComponent(entitiesPath))
        entityJSON = json
        entityList = try parseEntityList(json: json)
        outcome.entitiesParsed = true
    } catch let error as DataError {
        _ = fail(.entityJSON, "\(entitiesPath): \(error)")
    } catch {
        _ = fail(.entityJSON, "\(error)")
    }

    // Requests.
    var parsedRequests: [(index: Int, request: Request, json: JSONValue)] = []
    for (index, requestJSON) in requests.enumerated() {
        if requestJSON["validateRequest"] != nil { outcome.ignored["validateRequest", default: 0] += 1 }
        do throws(DataError) {
            guard let principal = requestJSON["principal"], let action = requestJSON["action"],
                let resource = requestJSON["resource"], let context = requestJSON["context"]
            else { throw DataError(path: "requests[\(index)]", message: "missing principal, action, resource or context") }
            let path = "requests[\(index)]"
            let request = Request(
                principal: try parseEntityUIDJSON(json: principal, path: path + ".principal"),
                action: try parseEntityUIDJSON(json: action, path: path + ".action"),
                resource: try parseEntityUIDJSON(json: resource, path: path + ".resource"),
                context: try parseContext(json: context, path: path + ".context"))
            outcome.contextsParsed += 1
            parsedRequests.append((index, request, requestJSON))
        } catch {
            _ = fail(.requestJSON, "\(error)")
        }
    }

    if collectSchemaHints {
        if let entityJSON { outcome.schemaHints += schemaDependentData(in: entityJSON, path: "entities") }
        for (index, requestJSON) in requests.enumerated() {
            if let context = requestJSON["context"] {
                outcome.schemaHints += schemaDependentData(in: context, path: "requests[\(index)].context")
            }
        }
    }

    // Policies.
    let policies: [Policy]
    do {
        policies = try parsePolicies(try readText(root.appendingPathComponent(policiesPath)))
    } catch let error as ParseError {
        return fail(.parse, "\(policiesPath): \(error)")
    } catch {
        return fail(.testFile, "\(error)")
    }
    guard let entityList, outcome.failure == nil else { return outcome }

    // Decisions.
    let entities = Entities(closingParentsOf: entityList)
    let authorizer = Authorizer(policies: policies)
    for (index, request, json) in parsedRequests {
        guard case .string(let decisionText)? = json["decision"], let expectedDecision = Response.Decision(rawValue: decisionText),
            let expectedReasons = stringSet(json["reason"]), let expectedErrors = stringSet(json["errors"])
        else { return fail(.testFile, "requests[\(index)]: missing or malformed decision, reason or errors") }
        let response = authorizer.authorize(request, entities: entities)
        if response.decision != expectedDecision {
            _ = fail(.decision, "request \(index): expected \(expectedDecision.rawValue), got \(response.decision.rawValue)")
        } else if response.reasons != expectedReasons {
            _ = fail(.reason, "request \(index): expected reasons \(expectedReasons.sorted()), got \(response.reasons.sorted())")
        } else if response.errors != expectedErrors {
            let messages = response.errorMessages.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            _ = fail(.errorSet, "request \(index): expected errors \(expectedErrors.sorted()), got \(response.errors.sorted()) \(messages)")
        } else {
            outcome.requestsPassed += 1
        }
    }
    return outcome
}

/// Data that a schema would read differently from the schema-less formats: plain
/// `{"type", "id"}` objects (implicit entity references), `{"fn", "arg"}` objects (implicit
/// extension calls), and strings that look like IP addresses or decimals (implicit `ip`/
/// `decimal`). Only a heuristic, for explaining hand-written failures.
func schemaDependentData(in json: JSONValue, path: String) -> [String] {
    var hints: [String] = []
    func visit(_ json: JSONValue, _ path: String, inValue: Bool) {
        switch json {
        case .object(let members):
            let keys = Set(members.map(\.key))
            if inValue, keys == ["type", "id"] {
                hints.append("implicit entity reference at \(path)")
                return
            }
            if inValue, keys == ["fn", "arg"] || keys == ["fn", "args"] {
                hints.append("implicit extension call at \(path)")
                return
            }
            if keys.contains("__entity") || keys.contains("__extn") { return }
            for member in members {
                // In an entities document, only attrs/tags (and deeper) hold values.
                let entering = inValue || member.key == "attrs" || member.key == "tags" || path.hasSuffix(".context")
                visit(member.value, "\(path).\(member.key)", inValue: entering)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() { visit(element, "\(path)[\(index)]", inValue: inValue) }
        case .string(let text) where inValue:
            if looksLikeIPAddress(text) {
                hints.append("bare string \(cedarQuoted(text)) (an ip?) at \(path)")
            } else if looksLikeDecimal(text) {
                hints.append("bare string \(cedarQuoted(text)) (a decimal?) at \(path)")
            }
        default:
            break
        }
    }
    visit(json, path, inValue: path.hasSuffix(".context"))
    return hints
}

private func looksLikeIPAddress(_ text: String) -> Bool {
    let parts = text.split(separator: "/", maxSplits: 1)
    guard let address = parts.first else { return false }
    let octets = address.split(separator: ".", omittingEmptySubsequences: false)
    if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return true }
    return address.contains(":") && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
}

private func looksLikeDecimal(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 2, let whole = parts.first, let fraction = parts.last else { return false }
    let digits = whole.hasPrefix("-") ? whole.dropFirst() : whole[...]
    return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
        && (1...4).contains(fraction.count) && fraction.allSatisfy { $0.isASCII && $0.isNumber }
}

/// Totals over many files, and the printed report.
struct CorpusSummary {
    var label: String
    var outcomes: [FileOutcome]

    var passed: Int { outcomes.count(where: \.passed) }
    var failed: Int { outcomes.count - passed }

    /// The lines to print: `label: N passed, M failed (files)` first. The file count keeps the
    /// line from reading as the whole run's closing summary.
    func report(examples: Int = 5, schemaNotes: Bool = false) -> [String] {
        var lines = ["\(label): \(passed) passed, \(failed) failed (files)"]
        let requestsTotal = outcomes.reduce(0) { $0 + $1.requestsTotal }
        let requestsPassed = outcomes.reduce(0) { $0 + $1.requestsPassed }
        lines.append("  requests: \(requestsPassed) of \(requestsTotal) matched")
        let entityOK = outcomes.count(where: \.entitiesParsed)
        let contextsOK = outcomes.reduce(0) { $0 + $1.contextsParsed }
        lines.append("  data layer: entity files parsed \(entityOK) of \(outcomes.count); request contexts parsed \(contextsOK) of \(requestsTotal)")
        var ignored: [String: Int] = [:]
        for outcome in outcomes { ignored.merge(outcome.ignored, uniquingKeysWith: +) }
        if !ignored.isEmpty {
            let names = ignored.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value)×)" }.joined(separator: ", ")
            lines.append("  unsupported and ignored (no schema support; they do not affect decisions): \(names)")
        }
        for category in FailureCategory.allCases {
            let failures = outcomes.filter { $0.failure == category }
            guard !failures.isEmpty else { continue }
            lines.append("  \(category.rawValue): \(failures.count)")
            for outcome in failures.prefix(examples) {
                var line = "    \(outcome.name): \(outcome.detail)"
                if schemaNotes, let hint = outcome.schemaHints.first {
                    line += " [needs schema-based parsing: \(hint)\(outcome.schemaHints.count > 1 ? ", +\(outcome.schemaHints.count - 1) more" : "")]"
                }
                lines.append(line)
            }
            if failures.count > examples { lines.append("    ... and \(failures.count - examples) more") }
        }
        return lines
    }
}

/// Runs `files` on all cores; results in the order of `files`.
func runConcurrently(_ files: [URL], root: URL, name: @escaping @Sendable (URL) -> String) async -> [FileOutcome] {
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let chunkSize = max(1, (files.count + workers * 8 - 1) / (workers * 8))
    let chunks = stride(from: 0, to: files.count, by: chunkSize).map { Array(files[$0..<min($0 + chunkSize, files.count)]) }
    return await withTaskGroup(of: (Int, [FileOutcome]).self) { group in
        var next = 0
        var results = [[FileOutcome]](repeating: [], count: chunks.count)
        func submit() {
            guard next < chunks.count else { return }
            let index = next
            let chunk = chunks[index]
            next += 1
            group.addTask { (index, chunk.map { runTestFile($0, root: root, displayName: name($0)) }) }
        }
        for _ in 0..<workers { submit() }
        for await (index, outcomes) in group {
            results[index] = outcomes
            submit()
        }
        return results.flatMap { $0 }
    }
}
