import ArgumentParser
import AsgardController
import AsgardCore

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint a virtual key: prints the secret once and its sha256 digest for desired/keys/.",
        discussion:
            "The secret is 32 bytes from the system's cryptographic generator, base64url-encoded after the asg_ prefix. Asgard stores and commits only the digest."
    )

    @OptionGroup var output: OutputOptions

    func run() throws {
        let key = VirtualKey.generate()
        if output.json {
            print(Rendering.json(["key": key.secret, "digest": key.digest]))
        } else {
            print("key:    \(key.secret)")
            print("digest: \(key.digest)")
            print("The key is shown only this once. Give it to the project's agent; commit only the digest,")
            print("as `digest:` of a Key in desired/keys/.")
        }
    }
}
