import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// `asgard audit anchor` and `audit verify --anchor`, the audit key as the binary finds it, and
/// the modes of the files it creates, all through the built binary.
@Suite struct AuditAnchorCommandTests {
    let root: String
    let database: String

    init() throws {
        root = try makeTemporaryDirectory("anchor")
        _ = try copyShippedDesired(into: root)
        database = root + "/.asgard/asgard.sqlite"
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await asgardDetached(arguments, in: root, environment: environment)
    }

    private func json(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.output)")
    }

    @Test func anAnchorCatchesTheNewestEntriesDeletedWithTheHeadRewound() async throws {
        #expect(try await run(["reconcile", "--once", "desired"]).status == 0)
        let anchored = try await run(["audit", "anchor", "--append", "anchors.log"])
        #expect(anchored.status == 0, "\(anchored.output)")
        let line = anchored.stdout.trimmingCharacters(in: .newlines)
        let anchor = try AuditAnchor(line: line)
        #expect(anchor.sequence == 16)
        #expect(try String(contentsOfFile: root + "/anchors.log", encoding: .utf8) == line + "\n")
        #expect(permissions(of: root + "/anchors.log") == 0o600)
        let asJSON = try json(try await run(["audit", "anchor", "--json"]))
        #expect(asJSON["sequence"] as? Int == 16 && asJSON["mac"] as? String == anchor.mac && asJSON["line"] is String, "\(asJSON)")

        let intact = try await run(["audit", "verify", "--anchor", "anchors.log"])
        #expect(
            intact.status == 0 && intact.stdout.hasPrefix("audit log intact: 16 entries, head \(anchor.mac), consistent with 1 anchor"),
            "\(intact.output)")
        let intactJSON = try json(try await run(["audit", "verify", "--anchor", "anchors.log", "--json"]))
        #expect(intactJSON["intact"] as? Bool == true && intactJSON["anchors"] as? Int == 1 && intactJSON["entries"] as? Int == 16)

        // Entries 10 to 16 deleted and the head rewound: consistent from inside the file.
        try sqlite3(database, "DELETE FROM audit WHERE seq > 9; UPDATE audit_head SET seq = 9, hash = (SELECT hash FROM audit WHERE seq = 9)")
        let fooled = try await run(["audit", "verify"])
        #expect(fooled.status == 0 && fooled.stdout.hasPrefix("audit log intact: 9 entries"), "\(fooled.output)")
        let caught = try await run(["audit", "verify", "--anchor", "anchors.log"])
        #expect(caught.status == 1)
        #expect(
            caught.stdout.hasPrefix("audit log BROKEN at entry 10: entry 16 was anchored at \(anchor.time), but the log ends at entry 9"),
            "\(caught.output)")
        let caughtJSON = try json(try await run(["audit", "verify", "--anchor", "anchors.log", "--json"]))
        #expect(caughtJSON["intact"] as? Bool == false && caughtJSON["first_bad_entry"] as? Int == 10, "\(caughtJSON)")
    }

    @Test func issue13AttackFailsVerification() async throws {
        #expect(try await run(["reconcile", "--once", "desired"]).status == 0)
        // Entry 5 edited, 7…9 deleted, the rest renumbered, the chain recomputed with the unkeyed
        // SHA-256 from entry 5 on, and the head rewritten: what passed `audit verify` before.
        try sqlite3(
            database,
            """
            UPDATE audit SET outcome = 'rejected' WHERE seq = 5;
            DELETE FROM audit WHERE seq IN (7, 8, 9);
            UPDATE audit SET seq = seq - 3 WHERE seq > 9;
            """)
        let rows = try sqlite3(
            database,
            "SELECT json_group_array(json_array(seq, time, actor, action, target, outcome, detail, hash)) FROM (SELECT * FROM audit ORDER BY seq)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(rows.utf8)) as? [[Any]])
        var previous = AuditChain.genesis
        var statements: [String] = []
        for entry in entries {
            let sequence = Int64(entry[0] as? Int ?? 0)
            guard sequence >= 5 else {
                previous = entry[7] as? String ?? ""
                continue
            }
            let content = AuditRecord.Content(
                sequence: sequence, time: entry[1] as? String ?? "", actor: entry[2] as? String ?? "", action: entry[3] as? String ?? "",
                target: entry[4] as? String, outcome: entry[5] as? String ?? "", detail: entry[6] as? String ?? "")
            let hash = AuditChain.hash(previous: previous, entry: content)
            statements.append("UPDATE audit SET prev_hash = '\(previous)', hash = '\(hash)' WHERE seq = \(sequence);")
            previous = hash
        }
        statements.append("UPDATE audit_head SET seq = \(entries.count), hash = '\(previous)';")
        try sqlite3(database, statements.joined(separator: "\n"))

        let result = try await run(["audit", "verify"])
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix("audit log BROKEN at entry 5: its content does not match its MAC under the audit key"), "\(result.output)")
    }

    @Test func theKeyFileIsCreatedAtFirstStartAndGuardedLikeSSH() async throws {
        let keys = root + "/keys"
        let environment = ["ASGARD_AUDIT_KEY": "", "ASGARD_KEY_DIR": keys]
        // A reading command creates neither a store nor a key.
        #expect(try await run(["audit", "verify"], environment: environment).status == 1)
        #expect(!FileManager.default.fileExists(atPath: keys))

        let first = try await run(["reconcile", "--once", "desired"], environment: environment)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stderr.contains("asgard: created the audit key \(keys)/audit.key (mode 0600)"))
        #expect(permissions(of: keys) == 0o700 && permissions(of: keys + "/audit.key") == 0o600)
        let key = try String(contentsOfFile: keys + "/audit.key", encoding: .utf8).trimmingCharacters(in: .newlines)
        #expect(try await run(["audit", "verify"], environment: environment).status == 0)
        // Only the key made at first start opens the store: not the tests' usual one.
        let wrong = try await run(["audit", "verify"])
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("audit log cannot be verified: the audit log of .asgard/asgard.sqlite is keyed with key "), "\(wrong.output)")
        let wrongJSON = try json(try await run(["audit", "verify", "--json"]))
        #expect(wrongJSON["intact"] as? Bool == false && (wrongJSON["reason"] as? String)?.contains("restore the store's key") == true)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keys + "/audit.key")
        for command in [["audit", "verify"], ["audit", "tail"], ["reconcile", "--once", "desired"]] {
            let refused = try await run(command, environment: environment)
            #expect(refused.status == 1, "\(command)")
            #expect(
                refused.output.contains("the audit key file \(keys)/audit.key is accessible by group or others (mode 0644): chmod 600"),
                "\(refused.output)")
        }
        // No output, file or store row anywhere holds the key.
        let outputs = [first, wrong].map(\.output).joined()
        #expect(!outputs.contains(key))
        #expect(try sqlite3(database, "SELECT count(*) FROM audit WHERE detail LIKE '%\(key)%'") == "0")
        let stored = try Data(contentsOf: URL(fileURLWithPath: database))
        #expect(stored.range(of: Data(key.utf8)) == nil)
    }

    @Test func aMalformedKeyIsRefusedWithoutBeingPrinted() async throws {
        let weak = String(repeating: "ab", count: 32)
        let result = try await run(["reconcile", "--once", "desired"], environment: ["ASGARD_AUDIT_KEY": weak])
        #expect(result.status == 1)
        #expect(result.output.contains("the audit key in ASGARD_AUDIT_KEY is unusable: it is not random"), "\(result.output)")
        #expect(!result.output.contains(weak))
        #expect(!FileManager.default.fileExists(atPath: database))
    }

    @Test func theStoreAndItsDirectoryArePrivate() async throws {
        #expect(try await run(["reconcile", "--once", "desired"]).status == 0)
        #expect(permissions(of: root + "/.asgard") == 0o700, "\(octal(permissions(of: root + "/.asgard")))")
        #expect(permissions(of: database) == 0o600, "\(octal(permissions(of: database)))")
    }
}
