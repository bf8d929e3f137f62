import ArgumentParser
import AsgardController
import AsgardCore

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint a virtual key, or with --person a personal credential: prints the secret once and its sha256 digest.",
        discussion: """
            The secret is 32 bytes from the system's cryptographic generator, base64url-encoded after the asg_ \
            prefix (asgp_ for a person). Asgard stores and commits only the digest: a key's in desired/keys/, a \
            person's as the `credential:` of their Person in desired/people/.
            """
    )

    @Option(
        help: ArgumentHelp(
            "Mint a personal credential for the person with this email, and print their Person document.", valueName: "email"))
    var person: String?
    @Option(help: "The Person's id (default: the email's local part, as an id).") var id: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let person, !Rules.isEmail(normalizedEmail(person)) { throw ValidationError("--person must be an email address (name@domain), not \(person)") }
        if id != nil, person == nil { throw ValidationError("--id names a Person: use it with --person") }
        if let id, !Rules.isID(id) { throw ValidationError("--id must be a valid id (lower-case letters, digits and -, at most 63)") }
    }

    func run() throws {
        guard let person else {
            let key = VirtualKey.generate()
            if output.json {
                print(Rendering.json(["key": key.secret, "digest": key.digest]))
            } else {
                print("key:    \(key.secret)")
                print("digest: \(key.digest)")
                print("The key is shown only this once. Give it to the project's agent; commit only the digest,")
                print("as `digest:` of a Key in desired/keys/.")
            }
            return
        }
        let credential = VirtualKey.generate(prefix: VirtualKey.personPrefix)
        let email = normalizedEmail(person)
        let document = "kind: Person\nid: \(id ?? Self.id(for: email))\nemail: \(email)\ncredential: \(credential.digest)\n"
        if output.json {
            print(Rendering.json(["credential": credential.secret, "digest": credential.digest, "document": document]))
        } else {
            print("credential: \(credential.secret)")
            print("digest:     \(credential.digest)")
            print("The credential is shown only this once, to \(email). Commit only the document below, in desired/people/;")
            print("they call the admin API with it as a bearer token, and set it as ASGARD_PERSON_KEY for `asgard approve`.")
            print("---")
            print(document, terminator: "")
        }
    }

    /// An id from an email's local part: lower-cased, every other character a `-`, at most 63.
    static func id(for email: String) -> String {
        let local = email.split(separator: "@").first.map(String.init) ?? email
        let mapped = String(local.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(63))
        let trimmed = mapped.drop { $0 == "-" }
        return trimmed.isEmpty ? "person" : String(trimmed)
    }
}
