/// A newly minted virtual key or personal credential: the secret (shown once) and the digest
/// that is stored.
public struct VirtualKey: Sendable {
    /// The prefix of a key's secret.
    public static let keyPrefix = "asg_"
    /// The prefix of a person's credential, so one is never mistaken for the other.
    public static let personPrefix = "asgp_"

    /// The prefix + 43 base64url characters (32 random bytes, 256 bits).
    public var secret: String
    /// `sha256:<hex>` of the secret, as written in `desired/keys/`.
    public var digest: String

    /// Mints a key from the system's cryptographically secure generator
    /// (`SystemRandomNumberGenerator`: getrandom(2) on Linux).
    public static func generate(prefix: String = keyPrefix) -> VirtualKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = prefix + base64URL(bytes)
        return VirtualKey(secret: secret, digest: "sha256:" + SHA256.hex(secret))
    }

    /// Unpadded base64url (RFC 4648 §5).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for byte in chunk { value = value << 8 | Int(byte) }
            value <<= 8 * (3 - chunk.count)
            for position in 0..<(chunk.count + 1) { out.append(alphabet[(value >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
