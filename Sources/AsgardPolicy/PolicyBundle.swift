public import AsgardCore
public import Cedar
import Foundation

/// Asgard's policy set: every `*.cedar` file of a directory, parsed, each policy named by its
/// `@id("...")` annotation so decisions and audit entries name policies people recognise.
public struct PolicyBundle: Sendable {
    public var policies: [Policy]

    public init(policies: [Policy]) { self.policies = policies }

    /// Loads `directory/*.cedar` in file-name order. Parse errors are reported as
    /// `file:line:column` diagnostics; so are policies without an `@id` and duplicate ids.
    public static func load(directory: String) -> (PolicyBundle, [Diagnostic]) {
        let loaded = loadWithSource(directory: directory)
        return (loaded.bundle, loaded.problems)
    }

    /// `load(directory:)`, with the files as they were read: what a controller records in the
    /// store as the policy set it enforces.
    public static func loadWithSource(directory: String) -> (source: PolicySource, bundle: PolicyBundle, problems: [Diagnostic]) {
        let (source, unreadable) = PolicySource.read(directory: directory)
        guard unreadable.isEmpty else { return (source, PolicyBundle(policies: []), unreadable) }
        let (bundle, problems) = load(source, in: PolicySource.display(directory))
        return (source, bundle, problems)
    }

    /// Loads the files of `source`, named `<prefix>/<file>` in diagnostics.
    public static func load(_ source: PolicySource, in prefix: String) -> (PolicyBundle, [Diagnostic]) {
        load(files: source.files.map { (name: "\(prefix)/\($0.name)", text: $0.text) })
    }

    /// Loads policy texts given as (file name, text); a nil text is an unreadable file.
    public static func load(files: [(name: String, text: String?)]) -> (PolicyBundle, [Diagnostic]) {
        var policies: [Policy] = []
        var diagnostics: [Diagnostic] = []
        var seen: [String: String] = [:]
        for (name, text) in files {
            guard let text else {
                diagnostics.append(Diagnostic(SourceLocation(file: name, line: 1, column: 1), "cannot read the file as UTF-8"))
                continue
            }
            do {
                for var policy in try parsePolicies(text) {
                    let location = SourceLocation(file: name, line: policy.position.line, column: policy.position.column)
                    guard let id = policy.annotations.first(where: { $0.name == "id" })?.value, !id.isEmpty else {
                        diagnostics.append(Diagnostic(location, "every Asgard policy needs an @id(\"...\") annotation naming it"))
                        continue
                    }
                    if let earlier = seen[id] {
                        diagnostics.append(Diagnostic(location, "duplicate policy id \"\(id)\" (also at \(earlier))"))
                        continue
                    }
                    seen[id] = location.description
                    policy.id = id
                    policies.append(policy)
                }
            } catch {
                diagnostics.append(Diagnostic(SourceLocation(file: name, line: error.position.line, column: error.position.column), error.message))
            }
        }
        return (PolicyBundle(policies: policies), diagnostics)
    }

    /// Whether the policy with `id` is a `forbid`.
    public func isForbid(_ id: String) -> Bool {
        policies.contains { $0.id == id && $0.effect == .forbid }
    }
}

extension PolicySource {
    /// The `*.cedar` files of `directory`, in file-name order, named by file name. A directory
    /// or a file that cannot be read is a diagnostic.
    public static func read(directory: String) -> (PolicySource, [Diagnostic]) {
        let display = display(directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return (PolicySource(files: []), [Diagnostic(SourceLocation(file: display, line: 1, column: 1), "cannot read the policy directory")])
        }
        var files: [File] = []
        var problems: [Diagnostic] = []
        for name in names.filter({ $0.hasSuffix(".cedar") }).sorted() {
            if let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) {
                files.append(File(name: name, text: text))
            } else {
                problems.append(Diagnostic(SourceLocation(file: "\(display)/\(name)", line: 1, column: 1), "cannot read the file as UTF-8"))
            }
        }
        return (PolicySource(files: files), problems)
    }

    /// `directory` as diagnostics name it: without a trailing slash.
    static func display(_ directory: String) -> String {
        directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
    }
}
