import AsgardCore
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// The store and the call journal are private to their owner whatever the umask (tests run with
/// the usual 022): directories 0700, files 0600, stat'ed on the real files.
@Suite("File modes")
struct FileModeTests {
    @Test("a new store's directory is 0700 and its database, -wal and -shm files 0600")
    func newStore() async throws {
        try await withScratch { scratch in
            let store = try scratch.open()
            try await store.appendAudit(Fixture.audit())
            let directory = (scratch.path as NSString).deletingLastPathComponent
            #expect(permissions(of: directory) == 0o700, "\(octal(permissions(of: directory)))")
            for file in [scratch.path, scratch.path + "-wal", scratch.path + "-shm"] {
                #expect(permissions(of: file) == 0o600, "\(file): \(octal(permissions(of: file)))")
            }
        }
    }

    @Test("an existing world-readable store is made 0600 when opened; an existing directory keeps its mode")
    func existingStoreRestricted() async throws {
        try await withScratch { scratch in
            try await scratch.open().appendAudit(Fixture.audit())
            let directory = (scratch.path as NSString).deletingLastPathComponent
            for file in [scratch.path, scratch.path + "-wal", scratch.path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
            let store = try scratch.open()
            try await store.appendAudit(Fixture.audit())
            for file in [scratch.path, scratch.path + "-wal", scratch.path + "-shm"] {
                #expect(permissions(of: file) == 0o600, "\(file): \(octal(permissions(of: file)))")
            }
            #expect(permissions(of: directory) == 0o755)
        }
    }

    @Test("the call journal's directory is 0700 and its segments 0600")
    func journal() async throws {
        try await withScratch { scratch in
            let directory = scratch.directory.path + "/data/journal"
            let journal = try CallJournal(directory: directory, segmentBytes: 256)
            for index in 0..<4 {
                try journal.append([
                    RecordedCall(
                        time: Date(), ledger: nil,
                        audit: AuditEntry(actor: "k", action: "gateway.invoke", target: nil, outcome: "allowed", detail: ["n": "\(index)"]))
                ])
            }
            #expect(permissions(of: directory) == 0o700, "\(octal(permissions(of: directory)))")
            #expect(permissions(of: scratch.directory.path + "/data") == 0o700)
            let segments = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(segments.count > 1)
            for segment in segments {
                #expect(permissions(of: directory + "/" + segment) == 0o600, "\(segment)")
            }
        }
    }
}
