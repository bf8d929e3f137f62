import AsgardTestSupport
import AsgardCore
import Foundation
import Testing

@Suite struct SHA256Tests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let input: String
        let digest: String
        var testDescription: String { "\(input.prefix(20))… (\(input.utf8.count) bytes)" }
    }

    /// FIPS 180-4 example vectors.
    @Test(arguments: [
        Vector(input: "", digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Vector(input: "abc", digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        Vector(
            input: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        Vector(
            input: "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        Vector(input: String(repeating: "a", count: 1_000_000), digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ])
    func nistVectors(vector: Vector) {
        #expect(SHA256.hex(vector.input) == vector.digest)
    }

    /// Every length around the 55/56/64-byte padding boundaries, checked against coreutils.
    @Test("hex is two lower-case digits per byte, every byte value, contiguous or not")
    func hexOfEveryByte() {
        let bytes = (0...255).map { UInt8($0) }
        let expected = bytes.map { String(format: "%02x", $0) }.joined()
        #expect(hexString(bytes) == expected)
        #expect(hexString(bytes.lazy.map { $0 }) == expected)
        #expect(bytes.withUnsafeBytes { hexString($0) } == expected)
        #expect(hexString([UInt8]()) == "")
    }

    @Test(arguments: [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000])
    func matchesSystemSha256sum(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = String(text.prefix(64))
        #expect(hexString(SHA256.hash(bytes)) == expected)
    }

    @Test func incrementalEqualsOneShot() {
        let text = Array(String(repeating: "asgard-", count: 50).utf8)
        var hasher = SHA256()
        hasher.update(text[..<13])
        hasher.update(text[13..<200])
        hasher.update(text[200...].lazy.map { $0 })  // not contiguous: the copying path
        #expect(hasher.finalize() == SHA256.hash(text))
        var byteWise = SHA256()
        for byte in text { byteWise.update(CollectionOfOne(byte)) }
        #expect(byteWise.finalize() == SHA256.hash(text))
    }
}
