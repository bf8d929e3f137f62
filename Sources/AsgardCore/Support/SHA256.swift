internal import Crypto

/// SHA-256, for digesting keys, specs, plans and the audit chain: swift-crypto's (BoringSSL on
/// Linux, CryptoKit on Apple platforms) behind the small interface the domain uses.
///
/// Checked in tests against the NIST vectors and the system `sha256sum`.
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    /// The digest of `bytes` in one call.
    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Lower-case hex of the digest of the UTF-8 bytes of `text`.
    public static func hex(_ text: String) -> String { hexString(hash(text.utf8)) }

    /// Feeds bytes.
    public mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        if handled == nil {
            Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
    }

    /// The digest of everything fed so far.
    public func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }
}

/// Lower-case hex of bytes.
public func hexString<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    if let text = bytes.withContiguousStorageIfAvailable({ hexString(UnsafeRawBufferPointer($0)) }) { return text }
    return Array(bytes).withUnsafeBytes { hexString($0) }
}

/// Lower-case hex of bytes in memory, written straight into the string's storage.
public func hexString(_ bytes: UnsafeRawBufferPointer) -> String {
    String(unsafeUninitializedCapacity: bytes.count * 2) { out in
        for (index, byte) in bytes.enumerated() {
            out[2 * index] = hexDigit(byte >> 4)
            out[2 * index + 1] = hexDigit(byte & 0x0f)
        }
        return bytes.count * 2
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
}

/// The lower-case hex SHA-256 of the token an `Authorization: Bearer <token>` header presents,
/// or nil for any other header: how keys, people's credentials, the admin and the metrics
/// credentials are all looked up, since only their digests are stored.
public func bearerDigest(_ authorization: String?) -> String? {
    guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
    return SHA256.hex(String(authorization.dropFirst(7)))
}

/// Equality of two strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}
