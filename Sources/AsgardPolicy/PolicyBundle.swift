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
        let display = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return (PolicyBundle(policies: []), [Diagnostic(SourceLocation(file: display, line: 1, column: 1), "cannot read the policy directory")])
        }
        let files = names.filter { $0.hasSuffix(".cedar") }.sorted().map { name in
            (name: "\(display)/\(name)", text: (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)))
        }
        return load(files: files)
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
