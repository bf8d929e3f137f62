import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

@Suite struct ValidateCommandTests {
    @Test func shippedDesiredStateIsValid() async throws {
        let result = try await asgardDetached(["validate", "desired"])
        #expect(result.status == 0)
        #expect(result.stdout == "desired: valid (16 objects in 14 files)\n")
    }

    /// Each broken example fails with exactly its golden diagnostics, all in one run.
    @Test(arguments: brokenExamples)
    func brokenExampleExitsOneWithGoldenErrors(name: String) async throws {
        let result = try await asgardDetached(["validate", "examples/broken/\(name)"])
        #expect(result.status == 1)
        let golden = try String(contentsOfFile: packageRoot + "/Tests/AsgardCoreTests/Fixtures/golden/\(name).txt", encoding: .utf8)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        let count = golden.split(separator: "\n").count
        #expect(lines.prefix(count).joined(separator: "\n") + "\n" == golden)
        #expect(lines[count].hasPrefix("\(count) error\(count == 1 ? "" : "s") in "))
        #expect(result.stdout.isEmpty)
    }

    @Test func jsonNamesFileLineColumnFieldAndMessage() async throws {
        let result = try await asgardDetached(["validate", "--json", "examples/broken/bad-money"])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["valid"] as? Bool == false)
        let errors = try #require(json["errors"] as? [[String: Any]])
        #expect(errors.count == 5)
        #expect(errors[0]["file"] as? String == "examples/broken/bad-money/project.yaml")
        #expect(errors[0]["line"] as? Int == 6 && errors[0]["column"] as? Int == 21)
        #expect(errors[0]["field"] as? String == "monthly_budget_usd" && errors[0]["object"] as? String == "Project/payments")
    }
}

@Suite struct ExitCodeTests {
    @Test(arguments: [
        ["frobnicate"], ["reconcile"], ["reconcile", "--once", "--dry-run"], ["reconcile", "--once", "--retry-after", "0"], ["validate", "--bogus"],
        ["audit", "tail", "-n", "0"],
        ["audit", "verify", "extra"],
    ])
    func usageErrorsExitTwo(arguments: [String]) async throws {
        let result = try await asgardDetached(arguments)
        #expect(result.status == 2, "\(arguments): \(result.output)")
        #expect(result.stderr.contains("Usage") || result.stderr.contains("Error"))
    }

    @Test(arguments: [["--help"], ["reconcile", "--help"], ["audit", "verify", "--help"]])
    func helpExitsZero(arguments: [String]) async throws {
        let result = try await asgardDetached(arguments)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE"))
    }
}

@Suite struct ReconcileCommandTests {
    let root: String

    init() throws {
        root = try makeTemporaryDirectory("cli")
        _ = try copyShippedDesired(into: root)
        try FileManager.default.copyItem(atPath: packageRoot + "/policies", toPath: root + "/policies")
    }

    @Test func dryRunLeavesNoTraceWithoutAStore() async throws {
        let before = try snapshot(root)
        let result = try await asgardDetached(["reconcile", "--dry-run", "desired"], in: root)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("Plan: 16 to create, 0 to update, 0 to delete."))
        // Each provisioning action with its tier, the gate's decision and what would run next.
        #expect(
            result.stdout.contains(
                """
                  + create   Resource/fraud-warehouse      human
                      gate: allowed: allowed by project-provisions-registered-service
                      next: terraform plan, project tag check on the plan, then ask a project approver to approve that plan
                """))
        #expect(
            result.stdout.contains(
                """
                  + create   Resource/fraud-features       auto
                      gate: allowed: allowed by project-provisions-registered-service
                      next: terraform plan, project tag check on the plan, apply
                """))
        #expect(try snapshot(root) == before)
        #expect(!FileManager.default.fileExists(atPath: root + "/.asgard"))
        // Nor under an explicit data directory.
        let elsewhere = root + "/elsewhere"
        #expect(try await asgardDetached(["reconcile", "--dry-run", "--data-dir", elsewhere, "desired"], in: root).status == 0)
        #expect(try await asgardDetached(["reconcile", "--dry-run", "desired"], in: root, environment: ["ASGARD_DATA_DIR": elsewhere]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
    }

    @Test func dryRunReadsAnExistingStoreWithoutTouchingIt() async throws {
        // The failed provisioning waits an hour, so the next command sees it deferred however slow the machine.
        #expect(try await asgardDetached(["reconcile", "--once", "--retry-after", "3600", "desired"], in: root).status == 0)
        let before = try snapshot(root)
        let unchanged = try await asgardDetached(["reconcile", "--dry-run", "desired"], in: root)
        // Only the provisioning that could not start (no terraform here) is left, waiting out its backoff.
        #expect(unchanged.status == 0 && unchanged.stdout.hasPrefix("Plan: 0 to create, 0 to update, 0 to delete, 3 to converge.\n"))
        #expect(unchanged.stdout.contains("= converge Resource/fraud-features       auto  (pending)\n      next: deferred: retrying after "))
        // A changed desired state is planned against the store, still without touching it.
        let file = root + "/desired/projects/marketing-copy.yaml"
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "classification: internal", with: "classification: confidential")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let afterEdit = try snapshot(root)
        #expect(afterEdit != before)
        let changed = try await asgardDetached(["reconcile", "--dry-run", "--json", "desired"], in: root)
        #expect(changed.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(changed.stdout.utf8)) as? [String: Any])
        let actions = try #require(json["actions"] as? [[String: Any]])
        let planned = actions.compactMap { $0["action"] as? [String: Any] }
        #expect(
            planned.map { "\($0["verb"] ?? "-") \($0["object"] ?? "-")" } == [
                "update Project/marketing-copy", "converge ServingEndpoint/fraud-triage", "converge Resource/fraud-features",
                "converge Resource/fraud-warehouse",
            ])
        #expect(try snapshot(root) == afterEdit)
    }

    @Test func onceTwicePlansNothingTheSecondTime() async throws {
        let first = try await asgardDetached(["reconcile", "--once", "--retry-after", "3600", "--json", "desired"], in: root)
        #expect(first.status == 0)
        let firstJSON = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect((firstJSON["outcomes"] as? [Any])?.count == 16)
        let second = try await asgardDetached(["reconcile", "--once", "desired"], in: root)
        #expect(second.status == 0 && second.stdout.contains("\nReconciled 3 actions: 3 deferred.\n"), "\(second.stdout)")
        // Progress, per action, as it happens: object, action, tier, then what it came to.
        #expect(second.stdout.contains("s] Resource/fraud-features converge [auto] (pending)\n"))
        #expect(second.stdout.contains("s] Resource/fraud-features deferred in "))
        let status = try await asgardDetached(["status", "--json"], in: root)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        // One entry per action, and the policy set the pass enforced.
        #expect(summary["audit_entries"] as? Int == 17 && summary["routes"] as? Int == 3 && summary["keys"] as? Int == 3)
    }

    @Test func anInvalidOnceAppliesNothingAndAuditsTheRejection() async throws {
        let result = try await asgardDetached(["reconcile", "--once", packageRoot + "/examples/broken/dangling-references"], in: root)
        #expect(result.status == 1)
        #expect(result.stderr.contains("Nothing was applied; the rejection is in the audit log."))
        let tail = try await asgardDetached(["audit", "tail", "--json"], in: root)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(tail.stdout.utf8)) as? [[String: Any]])
        // The rejection, and the policy set the pass enforces (recorded whatever desired state says).
        #expect(Set(rows.compactMap { $0["action"] as? String }) == ["validate.rejected", "policy.enforce"] && rows.count == 2, "\(rows)")
    }

    @Test func readingCommandsNeverCreateAStore() async throws {
        for command in [["status"], ["audit", "verify"], ["audit", "tail"]] {
            let result = try await asgardDetached(command, in: root)
            #expect(result.status == 1 && result.stderr.contains("no store at .asgard/asgard.sqlite"))
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/.asgard"))
    }
}

@Suite struct AuditCommandTests {
    let root: String
    let database: String

    init() throws {
        root = try makeTemporaryDirectory("audit")
        _ = try copyShippedDesired(into: root)
        database = root + "/.asgard/asgard.sqlite"
    }

    private func verify() async throws -> CommandResult { try await asgardDetached(["audit", "verify"], in: root) }

    @Test func intactLogVerifies() async throws {
        #expect(try await asgardDetached(["reconcile", "--once", "desired"], in: root).status == 0)
        let result = try await verify()
        #expect(result.status == 0 && result.stdout.hasPrefix("audit log intact: 16 entries, head "), "\(result.output)")
    }

    /// `--json` answers with JSON types: a boolean and numbers, not their spellings as strings.
    @Test func verificationAsJSONUsesBooleansAndNumbers() async throws {
        #expect(try await asgardDetached(["reconcile", "--once", "desired"], in: root).status == 0)
        let intact = try await asgardDetached(["audit", "verify", "--json"], in: root)
        let good = try #require(try JSONSerialization.jsonObject(with: Data(intact.stdout.utf8)) as? [String: Any])
        #expect(good["intact"] as? Bool == true && good["entries"] as? Int == 16 && (good["head"] as? String)?.count == 64, "\(intact.stdout)")
        try sqlite3(database, "UPDATE audit SET outcome = 'tampered' WHERE seq = 9")
        let broken = try await asgardDetached(["audit", "verify", "--json"], in: root)
        let bad = try #require(try JSONSerialization.jsonObject(with: Data(broken.stdout.utf8)) as? [String: Any])
        #expect(broken.status == 1 && bad["intact"] as? Bool == false && bad["first_bad_entry"] as? Int == 9, "\(broken.stdout)")
    }

    @Test(arguments: [
        ("UPDATE audit SET outcome = 'tampered' WHERE seq = 9", "audit log BROKEN at entry 9: its content does not match its MAC"),
        ("DELETE FROM audit WHERE seq = 4", "audit log BROKEN at entry 5: expected entry 4 here"),
        ("DELETE FROM audit WHERE seq = 16", "audit log BROKEN at entry 16: the recorded head is entry 16 but the log ends at entry 15"),
        (
            """
            UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1;
            """, "audit log BROKEN at entry 3: its previous-hash does not match entry 2"
        ),
    ])
    func tamperingIsCaughtAndNamed(sql: String, message: String) async throws {
        #expect(try await asgardDetached(["reconcile", "--once", "desired"], in: root).status == 0)
        try sqlite3(database, sql)
        let result = try await verify()
        #expect(result.status == 1)
        #expect(result.stdout.hasPrefix(message), "\(result.stdout)")
    }

    @Test func swappedContentsAreCaught() async throws {
        #expect(try await asgardDetached(["reconcile", "--once", "desired"], in: root).status == 0)
        // Exchange every hashed column of entries 5 and 6, keeping their positions and hashes.
        let columns = ["time", "actor", "action", "target", "outcome", "detail"]
        let assignments = columns.map { "\($0) = (SELECT \($0) FROM saved WHERE saved.seq = 11 - audit.seq)" }.joined(separator: ", ")
        try sqlite3(
            database,
            """
            CREATE TEMP TABLE saved AS SELECT * FROM audit WHERE seq IN (5, 6);
            UPDATE audit SET \(assignments) WHERE seq IN (5, 6);
            """)
        let result = try await verify()
        #expect(result.status == 1 && result.stdout.hasPrefix("audit log BROKEN at entry 5: its content does not match its MAC"))
    }
}

@Suite struct KeygenTests {
    @Test func printsAFreshKeyOnceWithItsDigest() async throws {
        let first = try await asgardDetached(["keygen", "--json"])
        let second = try await asgardDetached(["keygen", "--json"])
        #expect(first.status == 0 && second.status == 0)
        let a = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: String])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: String])
        let key = try #require(a["key"])
        #expect(key.hasPrefix("asg_") && key.count == 47 && key != b["key"])
        #expect(a["digest"] == "sha256:" + SHA256.hex(key))
        let text = try await asgardDetached(["keygen"])
        #expect(text.stdout.hasPrefix("key:    asg_") && text.stdout.contains("\ndigest: sha256:"))
    }

    /// `keygen --person` mints a personal credential and the Person document to commit, which
    /// loads as that person (email normalized) and authenticates with the printed secret only.
    @Test func mintsAPersonalCredentialAndItsDocument() async throws {
        let minted = try await asgardDetached(["keygen", "--person", "Ana.Lima@Example.com", "--json"])
        #expect(minted.status == 0, "\(minted.output)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(minted.stdout.utf8)) as? [String: String])
        let secret = try #require(answer["credential"])
        #expect(secret.hasPrefix("asgp_") && secret.count == 48 && answer["digest"] == "sha256:" + SHA256.hex(secret))
        let root = try makeTemporaryDirectory("keygen-person")
        try (answer["document"] ?? "").write(toFile: root + "/ana.yaml", atomically: true, encoding: .utf8)
        let loaded = DesiredStateLoader().load(directory: root)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        let person = try #require(loaded.state.people["ana-lima"])
        #expect(person.email == "ana.lima@example.com" && person.credential == SHA256.hex(secret))
        let text = try await asgardDetached(["keygen", "--person", "ana@example.com", "--id", "ana"])
        #expect(text.stdout.hasPrefix("credential: asgp_") && text.stdout.contains("kind: Person\nid: ana\nemail: ana@example.com\ncredential: sha256:"))
        for bad in [["--person", "ana"], ["--id", "ana"], ["--person", "ana@example.com", "--id", "Ana"]] {
            let refused = try await asgardDetached(["keygen"] + bad)
            #expect(refused.status == 2 && refused.stdout.isEmpty, "\(bad): \(refused.output)")
        }
    }
}

@Suite struct SecretHandlingTests {
    static let fragments = ["0123456789abcdef0123456789abcdef", "EXAMPLEexampleEXAMPLEexample0000", "AKIAIOSFODNN7EXAMPLE", "MIIEFAKEFAKE"]

    /// The secret-looking values in examples/broken/secrets appear in no output of any
    /// command, in text or JSON, nor anywhere in the store.
    @Test func secretLookingValuesAreNeverPrintedOrStored() async throws {
        let root = try makeTemporaryDirectory("secrets")
        let example = packageRoot + "/examples/broken/secrets"
        let runs = [
            try await asgardDetached(["validate", example], in: root),
            try await asgardDetached(["validate", "--json", example], in: root),
            try await asgardDetached(["reconcile", "--dry-run", example], in: root),
            try await asgardDetached(["reconcile", "--dry-run", "--json", example], in: root),
            try await asgardDetached(["reconcile", "--once", example], in: root),
            try await asgardDetached(["reconcile", "--once", "--json", example], in: root),
            try await asgardDetached(["audit", "tail", "--json"], in: root),
            try await asgardDetached(["audit", "tail"], in: root),
        ]
        #expect(runs.prefix(6).allSatisfy { $0.status == 1 })
        #expect(runs[0].stderr.contains("inference.token_env: looks like a Databricks token (value not shown)"))
        var everything = runs.map(\.output).joined()
        for file in try FileManager.default.contentsOfDirectory(atPath: root + "/.asgard") {
            everything += String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/.asgard/" + file)), as: UTF8.self)
        }
        for fragment in Self.fragments {
            #expect(!everything.contains(fragment), "\(fragment.prefix(6))… leaked")
        }
    }
}

/// `asgard validate --git`: a request's `requested_by` must be the author of the last commit
/// that changed its document, so a committer cannot name someone else as the requester.
@Suite struct ValidateGitTests {
    /// Runs git in `directory` as `author`.
    static func git(_ arguments: [String], in directory: String, as author: String = "ana@example.com") throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging([
            "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": author, "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": author,
            "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
        ]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "git \(arguments)")
    }

    @Test func aRequesterMustBeTheCommitAuthor() async throws {
        let root = try makeTemporaryDirectory("validate-git")
        let desired = try copyShippedDesired(into: root)
        let resources = desired + "/resources/fraud-detection.yaml"
        func request(by requester: String) throws {
            try String(contentsOfFile: resources, encoding: .utf8)
                .replacingOccurrences(of: #"requested_by: [^\n]*\n"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: "service: databricks-sql-warehouse", with: "service: databricks-sql-warehouse\nrequested_by: \(requester)")
                .write(toFile: resources, atomically: true, encoding: .utf8)
        }
        try Self.git(["init", "-q"], in: root)
        try Self.git(["add", "."], in: root)
        // The owner committed the project's requests that name no requested_by: valid.
        try Self.git(["commit", "-qm", "the shipped state"], in: root, as: "maria.silva@example.com")
        #expect(try asgard(["validate", "--git", desired]).status == 0)
        try request(by: "Lars.Berg@Example.com")
        try Self.git(["commit", "-qam", "warehouse"], in: root, as: "lars.berg@example.com")
        // The author asked (in any letter case): valid.
        let valid = try asgard(["validate", "--git", desired])
        #expect(valid.status == 0, "\(valid.output)")
        // Uncommitted: cannot be checked.
        try request(by: "priya.natarajan@example.com")
        let dirty = try asgard(["validate", "--git", desired])
        #expect(dirty.status == 1 && dirty.stderr.contains("uncommitted changes"), "\(dirty.output)")
        // Committed by someone else in another's name: refused, naming both.
        try Self.git(["commit", "-qam", "in priya's name"], in: root, as: "lars.berg@example.com")
        let forged = try asgard(["validate", "--git", desired])
        #expect(
            forged.status == 1 && forged.stderr.contains("requested_by priya.natarajan@example.com is not the author")
                && forged.stderr.contains("(lars.berg@example.com)"), "\(forged.output)")
        // Leaving requested_by out makes the owner the requester: someone else's commit is refused too.
        try String(contentsOfFile: resources, encoding: .utf8)
            .replacingOccurrences(of: #"requested_by: [^\n]*\n"#, with: "", options: .regularExpression)
            .write(toFile: resources, atomically: true, encoding: .utf8)
        try Self.git(["commit", "-qam", "in nobody's name"], in: root, as: "lars.berg@example.com")
        let unnamed = try asgard(["validate", "--git", desired])
        #expect(
            unnamed.status == 1
                && unnamed.stderr.contains("the owner maria.silva@example.com (the requester, as no requested_by is named) is not the author")
                && unnamed.stderr.contains("(lars.berg@example.com)"), "\(unnamed.output)")
        // Without --git, the same directory is valid: the check is CI's, on a checkout.
        #expect(try asgard(["validate", desired]).status == 0)
        // Outside a work tree, --git says so.
        let elsewhere = try makeTemporaryDirectory("validate-nogit")
        let plain = try copyShippedDesired(into: elsewhere)
        let outside = try asgard(["validate", "--git", plain])
        #expect(outside.status != 0 && outside.output.contains("not in a git work tree"), "\(outside.output)")
    }
}
