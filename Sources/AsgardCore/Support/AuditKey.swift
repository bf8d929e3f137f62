internal import Crypto
import Foundation

/// The secret that keys the audit chain: every entry's MAC is HMAC-SHA256 under it, so someone
/// who can edit the store but not read this key cannot rewrite the log and recompute the chain.
///
/// Written as hexadecimal (at least 64 digits, 32 bytes), in `ASGARD_AUDIT_KEY` or in the key
/// file (`AuditKeyFile` in `AsgardStore`). The bytes never leave this value: its description,
/// debug description and mirror show only `id`, a fingerprint that reveals nothing of the key.
public struct AuditKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// HMAC-SHA256 already keyed (the inner and outer pads hashed once); each MAC copies it.
    private let keyed: HMAC<Crypto.SHA256>
    /// 16 hex digits identifying the key without revealing it: the start of its MAC of a fixed
    /// text. Stored beside the chain, so a wrong key is named as such.
    public let id: String

    /// The fewest bytes a key may have.
    public static let minimumBytes = 32

    /// The key written as `text`: hexadecimal digits (either case), surrounding white space
    /// ignored, at least `minimumBytes` bytes.
    ///
    /// - Parameter source: where `text` came from (`ASGARD_AUDIT_KEY`, a file path), for errors.
    /// - Throws: `AuditKeyError.malformed` when `text` is not hexadecimal, is odd-length or too
    ///   short, or is plainly not random (fewer than 16 distinct byte values, as in
    ///   `0000…` or a short pattern repeated). The error never contains `text`.
    public init(hex text: String, source: String) throws(AuditKeyError) {
        let digits = Array(text.utf8.drop { Self.isSpace($0) }.reversed().drop { Self.isSpace($0) }.reversed())
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var high: UInt8?
        for digit in digits {
            guard let value = Self.hexValue(digit) else {
                throw .malformed(source: source, reason: "it must be hexadecimal digits only")
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        guard high == nil else { throw .malformed(source: source, reason: "it has an odd number of hexadecimal digits") }
        guard bytes.count >= Self.minimumBytes else {
            throw .malformed(source: source, reason: "it must be at least \(Self.minimumBytes * 2) hexadecimal digits (\(Self.minimumBytes) bytes)")
        }
        guard Set(bytes).count >= 16 else {
            throw .malformed(source: source, reason: "it is not random (too few distinct bytes): make one with `openssl rand -hex 32`")
        }
        keyed = HMAC(key: SymmetricKey(data: bytes))
        id = String(Self.mac(keyed, Array("asgard audit key id".utf8)).prefix(16))
    }

    /// A new key from the system's cryptographically secure generator, as the text a key file
    /// holds (64 lower-case hex digits).
    public static func generateHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return hexString((0..<minimumBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Lower-case hex of HMAC-SHA256 of `message` under this key.
    func mac(_ message: [UInt8]) -> String { Self.mac(keyed, message) }

    private static func mac(_ keyed: HMAC<Crypto.SHA256>, _ message: [UInt8]) -> String {
        var hmac = keyed
        hmac.update(data: message)
        return hmac.finalize().withUnsafeBytes { hexString($0) }
    }

    public var description: String { "AuditKey(id: \(id))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["id": id]) }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }
}

/// Why there is no usable audit key. No case ever holds the key or any part of it.
public enum AuditKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `ASGARD_AUDIT_KEY` or a key file does not hold a usable key.
    case malformed(source: String, reason: String)
    /// A reading command found neither `ASGARD_AUDIT_KEY` nor the key file.
    case missing(path: String)
    /// Neither `ASGARD_AUDIT_KEY`, `ASGARD_KEY_DIR`, `XDG_CONFIG_HOME` nor `HOME` says where the key is.
    case noLocation
    /// The key file can be read or written by group or others (like ssh, Asgard refuses it).
    case exposed(path: String, mode: UInt16)
    /// The key file or its directory belongs to another user.
    case notOwned(path: String, owner: UInt32)
    /// The key directory is writable by group or others, who could replace the key.
    case writableDirectory(path: String, mode: UInt16)
    /// The key would live in the data directory, which whoever can edit the store can read.
    case insideDataDirectory(keyDirectory: String, dataDirectory: String)
    /// Reading or creating the key file failed.
    case fileSystem(operation: String, path: String, reason: String)
    /// The store's audit log is keyed with another key.
    case wrongKey(store: String, storeKeyID: String, keyID: String)

    public var description: String {
        switch self {
        case .malformed(let source, let reason):
            "the audit key in \(source) is unusable: \(reason)"
        case .missing(let path):
            "no audit key: ASGARD_AUDIT_KEY is unset and \(path) does not exist (the first `asgard serve`, `demo` or "
                + "`reconcile --once` creates it; for an existing store, restore the key it was written with)"
        case .noLocation:
            "no place for the audit key: set ASGARD_AUDIT_KEY, or ASGARD_KEY_DIR (or HOME) for the key file"
        case .exposed(let path, let mode):
            "the audit key file \(path) is accessible by group or others (mode \(Self.octal(mode))): chmod 600 \(path)"
        case .notOwned(let path, let owner):
            "the audit key \(path) belongs to user \(owner), not to the user running asgard"
        case .writableDirectory(let path, let mode):
            "the audit key directory \(path) is writable by group or others (mode \(Self.octal(mode))): chmod 700 \(path)"
        case .insideDataDirectory(let keyDirectory, let dataDirectory):
            "the audit key directory \(keyDirectory) is inside the data directory \(dataDirectory): whoever can edit the store "
                + "could read the key; set ASGARD_KEY_DIR elsewhere"
        case .fileSystem(let operation, let path, let reason):
            "cannot \(operation) the audit key file \(path): \(reason)"
        case .wrongKey(let store, let storeKeyID, let keyID):
            "the audit log of \(store) is keyed with key \(storeKeyID), but the audit key given (ASGARD_AUDIT_KEY or the key file) is "
                + "key \(keyID): restore the store's key"
        }
    }

    private static func octal(_ mode: UInt16) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
