import AsgardCore
import AsgardStore
import Foundation

/// The audit chain's verification for the dashboard: a whole-log check is linear in the log's
/// length (every gateway call is an entry), so it runs at most once per `maxAge` however many
/// pages ask, and pages that ask while it runs wait for that one run.
actor AuditVerifier {
    struct Checked: Sendable {
        var verification: AuditVerification
        var at: Date
        /// The anchor file's anchors it was checked against.
        var anchors: Int
    }

    let store: any Store
    /// `ASGARD_AUDIT_ANCHOR_FILE`, when anchors are exported.
    let anchorFile: String?
    let maxAge: TimeInterval
    private var last: Checked?
    private var running: Task<Checked, any Error>?

    init(store: any Store, anchorFile: String?, maxAge: TimeInterval = 60) {
        self.store = store
        self.anchorFile = anchorFile
        self.maxAge = maxAge
    }

    /// The newest check, run now when there is none younger than `maxAge`.
    /// - Throws: `AuditAnchorFileError` for an unreadable anchor file; the store's errors.
    func checked(now: Date = Date()) async throws -> Checked {
        if let last, now.timeIntervalSince(last.at) < maxAge { return last }
        if let running { return try await running.value }
        let (store, file) = (store, anchorFile)
        let task = Task<Checked, any Error> {
            let anchors = try file.map { try AuditAnchorFile.read($0) } ?? []
            // Timed by the caller's clock, the one `maxAge` is measured on.
            return Checked(verification: try await store.verifyAudit(anchors: anchors), at: now, anchors: anchors.count)
        }
        running = task
        defer { running = nil }
        let result = try await task.value
        last = result
        return result
    }
}
