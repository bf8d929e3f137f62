import AsgardCore
import AsgardPostgres
import AsgardTestSupport
import Foundation
import Synchronization
import Testing

/// What only the PostgreSQL store has to promise: reading `ASGARD_DATABASE_URL`, several
/// replicas on one database (one migration, one audit chain, a journal position each, one
/// decision per approval), and failing plainly.
struct PostgresStoreTests {
    static func open(_ url: String, replica: String = "a", key: AuditKey = testAuditKey) throws -> PostgresStore {
        try PostgresStore(url: try DatabaseURL(url + "?sslmode=disable&pool_size=4"), auditKey: key, replica: replica)
    }

    // MARK: The URL

    @Test func aURLIsReadWithItsOptionsAndPrintedWithoutItsPassword() throws {
        let url = try DatabaseURL("postgres://asgard:s%40cret@db.internal:6432/prod?sslmode=verify-full&sslrootcert=/etc/ca.pem&pool_size=25")
        #expect(url.host == "db.internal" && url.port == 6432 && url.user == "asgard" && url.password == "s@cret" && url.database == "prod")
        #expect(url.tls == .verifyFull && url.rootCertificatePath == "/etc/ca.pem" && url.poolSize == 25)
        #expect(!url.description.contains("s@cret") && !url.description.contains("s%40cret") && url.description.contains("asgard:***@"))
        let plain = try DatabaseURL("postgresql://asgard@localhost/asgard")
        #expect(plain.port == 5432 && plain.tls == .prefer && plain.poolSize == 10 && plain.password == nil)
        // terraform's pg backend gets no password (PGPASSWORD carries it), and lib/pq has no `prefer`.
        #expect(url.terraformConnection == "postgres://asgard@db.internal:6432/prod?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(plain.terraformConnection == "postgres://asgard@localhost:5432/asgard?sslmode=require")
    }

    @Test(arguments: [
        ("mysql://a@h/db", "scheme"),
        ("postgres://h/db", "no user"),
        ("postgres://a@h/", "no database"),
        ("postgres://a@h/db?sslmode=sometimes", "sslmode"),
        ("postgres://a@h/db?pool_size=0", "pool_size"),
        ("postgres://a@h/db?pool_size=many", "pool_size"),
        ("postgres://a@h/db?sslrootcert=/ca.pem", "verify-ca or verify-full"),
        ("postgres://a@h/db?application=x", "unknown parameter"),
        ("postgres://a:hunter2@h/db?pool_size=0", "pool_size"),
    ])
    func aBadURLIsRefusedSayingWhy(text: String, reason: String) {
        #expect {
            try DatabaseURL(text)
        } throws: { error in
            let message = String(describing: error)
            return message.contains(reason) && !message.contains("hunter2")
        }
    }

    // MARK: Replicas

    /// Four replicas starting together on a new database migrate it once and seal one chain.
    @Test func replicasStartingTogetherMigrateOnce() throws {
        let url = try TestPostgres.freshDatabase()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            do { _ = try Self.open(url, replica: "r\(index)") } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try TestPostgres.scalar("SELECT string_agg(id, ',' ORDER BY id) FROM asgard_migrations", on: url) == "pg1-schema,pg2-budget-grants,pg3-rate-shares")
        #expect(try TestPostgres.scalar("SELECT count(*)::text FROM audit_keying", on: url) == "1")
    }

    /// Two replicas appending at once write one chain: every entry once, in one sequence, each
    /// MAC over the one before, whoever wrote it.
    @Test func twoReplicasWriteOneAuditChain() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, store) in [("a", a), ("b", b)] {
                for index in 0..<20 {
                    group.addTask {
                        try await store.appendAudit(
                            AuditEntry(actor: name, action: "test.append", target: nil, outcome: "ok", detail: ["i": "\(index)"]))
                    }
                }
            }
            // The call ingester's path too, from a thread of its own on each replica.
            for (name, store) in [("a", a), ("b", b)] {
                group.addTask {
                    try store.ingest(
                        (0..<10).map { index in
                            RecordedCall(
                                time: Date(), ledger: nil,
                                audit: AuditEntry(actor: "Key/\(name)", action: "gateway.invoke", target: nil, outcome: "allowed"))
                        }, through: JournalPosition(segment: 1, offset: 10))
                }
            }
            try await group.waitForAll()
        }
        guard case .intact(let count, _) = try await b.verifyAudit() else {
            Issue.record("the chain written by two replicas does not verify")
            return
        }
        #expect(count == 60)
        let sequences = try await a.auditTail(limit: 100).map(\.content.sequence)
        #expect(sequences == Array(1...60))
    }

    /// Each replica copies its own journal: its position is its own.
    @Test func eachReplicaHasItsOwnJournalPosition() throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        try a.ingest([], through: JournalPosition(segment: 3, offset: 120))
        #expect(try a.journalPosition() == JournalPosition(segment: 3, offset: 120))
        #expect(try b.journalPosition() == nil)
        try b.ingest([], through: JournalPosition(segment: 1, offset: 7))
        #expect(try a.journalPosition() == JournalPosition(segment: 3, offset: 120))
        #expect(try b.journalPosition() == JournalPosition(segment: 1, offset: 7))
    }

    /// Two replicas deciding one approval at once: exactly one decision stands.
    @Test func anApprovalIsDecidedOnceAcrossReplicas() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        let approval = try await a.requestApproval(
            ApprovalRequest(
                ref: ObjectRef(.resource, "w"), project: "p", actionDigest: "d", planDigest: nil, summary: "s",
                estimate: CostEstimate(basis: .unknown, monthly: nil, detail: "x"), requestedBy: "ana"))
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (store, status) in [(a, Approval.Status.approved), (b, .rejected), (a, .rejected), (b, .approved)] {
                group.addTask {
                    do {
                        _ = try await store.decideApproval(id: approval.id, status: status, by: "ben", reason: nil, audit: nil)
                        return true
                    } catch StoreError.approvalNotPending {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
    }

    /// A kill switch engaged on one replica is announced to the others as it commits.
    @Test(.timeLimit(.minutes(1))) func aKillSwitchIsAnnouncedToTheOtherReplicas() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        var changes = b.changes().makeAsyncIterator()
        // The feed says when it listens; only then can nothing be missed.
        #expect(await changes.next() == .resynchronize)
        try await a.engageKillSwitch(
            StoredKillSwitch(scope: .project, target: "p", reason: "drill", engagedBy: "ops", since: Date()),
            audit: AuditEntry(actor: "ops", action: "kill.engage", target: "project/p", outcome: "engaged"))
        #expect(await changes.next() == .killSwitches)
        try await a.announce(.budgetWanted(project: "p", replica: "a"))
        #expect(await changes.next() == .budgetWanted(project: "p", replica: "a"))
        // The feed lives as long as its store.
        withExtendedLifetime(b) {}
    }

    /// Grants of one budget, grown by two replicas at once, never add up to more than the
    /// budget less vendor spend; a shrink gives back; a reset sets a grant to the replica's spend.
    @Test func budgetGrantsNeverExceedTheBudget() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try Self.open(url, replica: "a")
        let b = try Self.open(url, replica: "b")
        let vendor = MicroDollars(100_000)
        // The budget is the applied project's: a project the store does not hold gets nothing.
        let none = try await a.growBudgetGrant(project: "p", month: "2026-12", vendorSpent: .zero, want: MicroDollars(1))
        #expect(none.granted == .zero && none.budget == .zero)
        var project = Fixture.project("p")
        project.monthlyBudget = MicroDollars(1_000_000)
        try await a.commit(Fixture.put(.project(project)), audit: Fixture.audit())
        let grants = try await withThrowingTaskGroup(of: BudgetGrant.self) { group in
            for index in 0..<40 {
                let store = index % 2 == 0 ? a : b
                group.addTask {
                    try await store.growBudgetGrant(project: "p", month: "2026-12", vendorSpent: vendor, want: MicroDollars(70_000))
                }
            }
            return try await group.reduce(into: [BudgetGrant]()) { $0.append($1) }
        }
        let last = try await a.growBudgetGrant(project: "p", month: "2026-12", vendorSpent: vendor, want: .zero)
        #expect(last.granted.value + last.others.value == 900_000 && last.budget == MicroDollars(1_000_000))
        #expect(grants.allSatisfy { $0.granted.value + $0.others.value <= 900_000 })
        let shrunk = try await a.shrinkBudgetGrant(project: "p", month: "2026-12", to: MicroDollars(10_000))
        #expect(shrunk.granted == MicroDollars(10_000))
        let regrown = try await b.growBudgetGrant(project: "p", month: "2026-12", vendorSpent: vendor, want: MicroDollars(5_000_000))
        #expect(regrown.granted.value + regrown.others.value == 900_000 && regrown.others == MicroDollars(10_000))
        // A's own calls this month cost 42 micro-dollars: a reset sets its grant to exactly that.
        let time = Date(timeIntervalSince1970: 1_796_083_200 + 60)
        try a.ingest(
            [
                RecordedCall(
                    time: time,
                    ledger: LedgerEntry(
                        requestID: "r1", time: time, project: "p", keyID: "k", vendor: "databricks", model: "m", upstream: "u", promptTokens: 1,
                        completionTokens: 1, cost: MicroDollars(42), latencyMicroseconds: 1, status: "ok", estimated: false),
                    audit: AuditEntry(actor: "Key/k", action: "gateway.invoke", target: "m", outcome: "allowed"))
            ], through: JournalPosition(segment: 1, offset: 1))
        let spent = try await a.resetBudgetGrants(
            projects: nil, month: "2026-12", from: Date(timeIntervalSince1970: 1_796_083_200), to: Date(timeIntervalSince1970: 1_798_761_600))
        #expect(spent == ["p": MicroDollars(42)])
        let after = try await a.shrinkBudgetGrant(project: "p", month: "2026-12", to: MicroDollars(1_000_000))
        #expect(after.granted == MicroDollars(42))
    }

    // MARK: Failing plainly

    @Test func aDatabaseMigratedByANewerAsgardIsRefused() throws {
        let url = try TestPostgres.freshDatabase()
        _ = try Self.open(url)
        try TestPostgres.execute("INSERT INTO asgard_migrations (id, applied_at) VALUES ('pg9-future', 0)", on: url)
        #expect(throws: StoreError.unknownSchemaVersion("pg9-future")) { try Self.open(url) }
    }

    @Test func anotherAuditKeyIsRefused() throws {
        let url = try TestPostgres.freshDatabase()
        _ = try Self.open(url)
        let other = try AuditKey(hex: AuditKey.generateHex(), source: "test")
        #expect {
            try Self.open(url, key: other)
        } throws: { error in
            if case AuditKeyError.wrongKey = error { true } else { false }
        }
    }

    @Test func anUnreachableServerIsAPlainError() throws {
        #expect {
            try Self.open("postgres://asgard@127.0.0.1:1/asgard")
        } throws: { error in
            String(describing: error).contains("PostgreSQL connection failed")
        }
    }

    @Test func aMissingDatabaseIsNamedByTheServer() throws {
        let base = try TestPostgres.serverURL()
        #expect {
            try Self.open(base.replacingOccurrences(of: "/asgard", with: "/nowhere", options: [.backwards, .anchored]))
        } throws: { error in
            String(describing: error).contains("\"nowhere\" does not exist")
        }
    }
}
