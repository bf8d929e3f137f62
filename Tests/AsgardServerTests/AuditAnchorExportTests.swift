import AsgardCore
import AsgardServer
import AsgardStore
import AsgardTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// The server's periodic export of the audit head (`ASGARD_AUDIT_ANCHOR_FILE`).
@Suite struct AuditAnchorExportTests {
    private static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func configuredFromTheEnvironment() throws {
        let store = try SQLiteStore(path: try makeTemporaryDirectory("anchorconfig") + "/asgard.sqlite", auditKey: testAuditKey)
        #expect(try AuditAnchorExport.configured(store: store, environment: [:]) == nil)
        #expect(try AuditAnchorExport.configured(store: store, environment: ["ASGARD_AUDIT_ANCHOR_FILE": ""]) == nil)
        let plain = try #require(try AuditAnchorExport.configured(store: store, environment: ["ASGARD_AUDIT_ANCHOR_FILE": "/a"]))
        #expect(plain.file == "/a" && plain.interval == .seconds(300))
        let every = try #require(
            try AuditAnchorExport.configured(store: store, environment: ["ASGARD_AUDIT_ANCHOR_FILE": "/a", "ASGARD_AUDIT_ANCHOR_INTERVAL": "60"]))
        #expect(every.interval == .seconds(60))
        for bad in ["0", "-5", "1.5", "soon", "86401"] {
            #expect(throws: AuditAnchorExportError.self, "\(bad)") {
                try AuditAnchorExport.configured(store: store, environment: ["ASGARD_AUDIT_ANCHOR_FILE": "/a", "ASGARD_AUDIT_ANCHOR_INTERVAL": bad])
            }
        }
    }

    @Test func appendsTheHeadOnlyWhenItMoved() async throws {
        let root = try makeTemporaryDirectory("anchorexport")
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        let export = AuditAnchorExport(store: store, file: root + "/anchors")
        // An empty log has nothing to anchor.
        #expect(try await export.export() == nil)
        #expect(!FileManager.default.fileExists(atPath: root + "/anchors"))
        var heads: [AuditRecord] = []
        for round in 1...3 {
            for n in 1...round {
                heads.append(try await store.appendAudit(AuditEntry(actor: "t", action: "tick", target: nil, outcome: "ok", detail: ["n": "\(n)"])))
            }
            let anchor = try #require(try await export.export())
            #expect(anchor.sequence == heads.last?.content.sequence && anchor.mac == heads.last?.hash)
            #expect(try await export.export() == nil)
        }
        let anchors = try AuditAnchorFile.read(root + "/anchors")
        #expect(anchors.map(\.sequence) == [1, 3, 6])
        #expect(permissions(of: root + "/anchors") == 0o600)
        #expect(try await store.verifyAudit(anchors: anchors) == .intact(count: 6, head: heads[5].hash))
    }

    @Test func runsAtStartEveryIntervalAndAtGracefulShutdown() async throws {
        let root = try makeTemporaryDirectory("anchorservice")
        let file = root + "/anchors"
        let store = try SQLiteStore(path: root + "/asgard.sqlite", auditKey: testAuditKey)
        try await store.appendAudit(AuditEntry(actor: "t", action: "start", target: nil, outcome: "ok", detail: [:]))
        let export = AuditAnchorExport(store: store, file: file, interval: .milliseconds(200))
        let group = ServiceGroup(configuration: .init(services: [export], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        func waitFor(lines count: Int) async throws {
            for _ in 0..<100 where Self.lines(file).count < count { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await waitFor(lines: 1)
        #expect(try Self.lines(file).map { try AuditAnchor(line: $0).sequence } == [1])
        try await store.appendAudit(AuditEntry(actor: "t", action: "tick", target: nil, outcome: "ok", detail: [:]))
        try await waitFor(lines: 2)
        #expect(Self.lines(file).count == 2)
        let last = try await store.appendAudit(AuditEntry(actor: "t", action: "stop", target: nil, outcome: "ok", detail: [:]))
        await group.triggerGracefulShutdown()
        try await running.value
        let anchors = try AuditAnchorFile.read(file)
        #expect(anchors.last?.sequence == 3 && anchors.last?.mac == last.hash)
        #expect(try await store.verifyAudit(anchors: anchors) == .intact(count: 3, head: last.hash))
    }
}
