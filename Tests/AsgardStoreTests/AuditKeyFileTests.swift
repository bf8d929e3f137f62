import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// Where the audit key comes from: `ASGARD_AUDIT_KEY`, or the key file created at first start.
/// Every test uses a key directory of its own (`ASGARD_KEY_DIR`), never the real home.
@Suite("Audit key file")
struct AuditKeyFileTests {
    /// A fresh key directory (not yet created) and a data directory apart from it.
    private static func locations(_ name: String = #function) throws -> (keys: String, data: String, environment: [String: String]) {
        let root = try makeTemporaryDirectory(name)
        return (root + "/config/asgard", root + "/data", ["ASGARD_KEY_DIR": root + "/config/asgard"])
    }

    @Test("the first start creates a 0600 key file in a 0700 directory; later loads read the same key")
    func createdPrivately() throws {
        let (keys, data, environment) = try Self.locations()
        #expect(throws: AuditKeyError.missing(path: keys + "/audit.key")) {
            try AuditKeyFile.load(environment: environment, dataDirectory: data, create: false)
        }
        let created = try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
        #expect(created.created)
        #expect(created.source == keys + "/audit.key")
        #expect(permissions(of: keys + "/audit.key") == 0o600, "\(octal(permissions(of: keys + "/audit.key")))")
        #expect(permissions(of: keys) == 0o700, "\(octal(permissions(of: keys)))")
        let text = try String(contentsOfFile: keys + "/audit.key", encoding: .utf8)
        #expect(text.count == 65 && text.hasSuffix("\n"))
        #expect(try AuditKey(hex: text, source: "file").id == created.key.id)
        // Nothing else is left in the directory (the temporary file was removed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys) == ["audit.key"])

        let again = try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
        #expect(!again.created)
        #expect(again.key.id == created.key.id)
        #expect(try AuditKeyFile.load(environment: environment, dataDirectory: data, create: false).key.id == created.key.id)
    }

    @Test("processes starting together agree on one key")
    func concurrentFirstStart() async throws {
        let (_, data, environment) = try Self.locations()
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true).key.id }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
    }

    @Test("a key file group or others may read is refused, like ssh does, without printing the key", arguments: [0o644, 0o640, 0o604, 0o660])
    func exposedFileRefused(mode: Int) throws {
        let (keys, data, environment) = try Self.locations()
        let key = try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
        let text = try String(contentsOfFile: keys + "/audit.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: keys + "/audit.key")
        #expect(throws: AuditKeyError.exposed(path: keys + "/audit.key", mode: UInt16(mode))) {
            try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
        }
        let message = AuditKeyError.exposed(path: keys + "/audit.key", mode: UInt16(mode)).description
        #expect(message.contains("chmod 600"))
        #expect(message.contains("0" + String(mode, radix: 8)))
        #expect(!message.contains(text))
        // Restored, it is the same key.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys + "/audit.key")
        #expect(try AuditKeyFile.load(environment: environment, dataDirectory: data, create: false).key.id == key.key.id)
    }

    @Test("a key directory others may write is refused")
    func writableDirectoryRefused() throws {
        let (keys, data, environment) = try Self.locations()
        _ = try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: keys)
        #expect(throws: AuditKeyError.writableDirectory(path: keys, mode: 0o777)) {
            try AuditKeyFile.load(environment: environment, dataDirectory: data, create: false)
        }
    }

    @Test("the key directory may not be the data directory or inside it")
    func notInsideTheDataDirectory() throws {
        let root = try makeTemporaryDirectory()
        for keys in [root + "/data", root + "/data/keys", root + "/data/./keys/.."] {
            #expect(throws: AuditKeyError.insideDataDirectory(keyDirectory: keys, dataDirectory: root + "/data")) {
                try AuditKeyFile.load(environment: ["ASGARD_KEY_DIR": keys], dataDirectory: root + "/data", create: true)
            }
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/data"))
        // A sibling whose name starts like it is fine.
        _ = try AuditKeyFile.load(environment: ["ASGARD_KEY_DIR": root + "/data-keys"], dataDirectory: root + "/data", create: true)
    }

    @Test("the default directory is $XDG_CONFIG_HOME/asgard, else ~/.config/asgard")
    func defaultDirectory() throws {
        #expect(try AuditKeyFile.directory(environment: ["ASGARD_KEY_DIR": "/k", "XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/k")
        #expect(try AuditKeyFile.directory(environment: ["ASGARD_KEY_DIR": "", "XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/asgard")
        #expect(try AuditKeyFile.directory(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/h"]) == "/h/.config/asgard")
        #expect(throws: AuditKeyError.noLocation) { try AuditKeyFile.directory(environment: [:]) }
    }

    @Test("ASGARD_AUDIT_KEY wins over the key file, and creates nothing")
    func environmentKey() throws {
        let (keys, data, environment) = try Self.locations()
        let loaded = try AuditKeyFile.load(
            environment: environment.merging(["ASGARD_AUDIT_KEY": testAuditKeyHex]) { $1 }, dataDirectory: data, create: true)
        #expect(loaded.key.id == testAuditKey.id)
        #expect(loaded.source == "ASGARD_AUDIT_KEY")
        #expect(!loaded.created)
        #expect(!FileManager.default.fileExists(atPath: keys))
        // Upper case and surrounding white space are fine.
        let padded = try AuditKeyFile.load(
            environment: ["ASGARD_AUDIT_KEY": "  \(testAuditKeyHex.uppercased())\n"], dataDirectory: data, create: false)
        #expect(padded.key.id == testAuditKey.id)
    }

    /// Unusable keys, each refused with its reason and never echoed.
    static let badKeys: [(text: String, reason: String)] = [
        (String(testAuditKeyHex.prefix(62)), "at least 64 hexadecimal digits"),
        (String(testAuditKeyHex.prefix(63)), "odd number"),
        (String(testAuditKeyHex.dropLast()) + "g", "hexadecimal digits only"),
        ("sk-" + String(testAuditKeyHex.dropFirst(3)), "hexadecimal digits only"),
        (String(repeating: "0", count: 64), "not random"),
        (String(repeating: "0123456789abcdef", count: 4), "not random"),
        (String(repeating: "de", count: 40), "not random"),
    ]

    @Test("a short, malformed or plainly non-random ASGARD_AUDIT_KEY is refused without printing it", arguments: badKeys)
    func badEnvironmentKey(_ bad: (text: String, reason: String)) throws {
        let (_, data, environment) = try Self.locations()
        do {
            _ = try AuditKeyFile.load(environment: environment.merging(["ASGARD_AUDIT_KEY": bad.text]) { $1 }, dataDirectory: data, create: true)
            Issue.record("accepted \(bad.reason)")
        } catch {
            #expect(error.description.contains(bad.reason), "\(error)")
            #expect(error.description.contains("ASGARD_AUDIT_KEY"))
            #expect(!error.description.contains(bad.text))
            #expect(!error.description.contains(String(bad.text.prefix(16))))
        }
    }

    @Test("a key file that does not hold a key is refused by path, without its content")
    func badFile() throws {
        let (keys, data, environment) = try Self.locations()
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: keys + "/audit.key", contents: Data("not-a-key-but-a-secret\n".utf8), attributes: [.posixPermissions: 0o600])
        do {
            _ = try AuditKeyFile.load(environment: environment, dataDirectory: data, create: true)
            Issue.record("accepted a malformed key file")
        } catch {
            #expect(error == .malformed(source: keys + "/audit.key", reason: "it must be hexadecimal digits only"))
            #expect(!error.description.contains("secret"))
        }
    }
}
