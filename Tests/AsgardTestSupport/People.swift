public import AsgardCore
public import Foundation

/// The personal credential tests use for the person with `email` (normalized): deterministic,
/// so any test can act as any shipped person. `copyShippedDesired` commits its digest.
public func personSecret(_ email: String) -> String {
    "asgp_test_" + normalizedEmail(email)
}

/// A `Person` document for `email`, its credential `personSecret(email)`.
public func personDocument(_ email: String, id: String? = nil, roles: [String] = []) -> String {
    let email = normalizedEmail(email)
    let id = id ?? email.split(separator: "@")[0].map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
    return "kind: Person\nid: \(id)\nemail: \(email)\ncredential: sha256:\(SHA256.hex(personSecret(email)))\n"
        + (roles.isEmpty ? "" : "roles: [\(roles.joined(separator: ", "))]\n")
}

/// Gives every Person under `desired/people` the credential `personSecret(email)` instead of
/// the shipped one (whose secret no one has).
func useTestCredentials(in desired: String) throws {
    let directory = desired + "/people"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".yaml") {
        let path = directory + "/" + name
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("email: ") }) else { continue }
        let email = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        try text.replacingOccurrences(
            of: #"credential: sha256:[0-9a-f]{64}"#, with: "credential: sha256:\(SHA256.hex(personSecret(email)))", options: .regularExpression
        ).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
