public import AsgardCore
import AsgardStore
public import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// Exports the audit log's head while the server runs: appends an anchor line
/// (`AuditAnchor`) to `file` at start, then every `interval` when the log has grown, and once
/// more at graceful shutdown, after the other services (the call ingester with what it held, the
/// controller) have stopped. An operator
/// ships the file elsewhere; `asgard audit verify --anchor FILE` checks the log against it.
///
/// Configured by `ASGARD_AUDIT_ANCHOR_FILE` (unset: no export) and
/// `ASGARD_AUDIT_ANCHOR_INTERVAL` (seconds, default 300). A failed export is logged and
/// tried again at the next interval; it never stops the server.
public final class AuditAnchorExport: ServiceLifecycle.Service, Sendable {
    public let store: any Store
    public let file: String
    public let interval: Duration
    /// The sequence number last appended by this process.
    private let exported = Mutex<Int64?>(nil)
    private let logger = Logger(label: "asgard.audit")

    /// The default `ASGARD_AUDIT_ANCHOR_INTERVAL`.
    public static let defaultInterval: Duration = .seconds(300)

    public init(store: any Store, file: String, interval: Duration = defaultInterval) {
        self.store = store
        self.file = file
        self.interval = interval
    }

    /// The export `environment` asks for, or nil when `ASGARD_AUDIT_ANCHOR_FILE` is unset or empty.
    /// - Throws: `AuditAnchorExportError` when `ASGARD_AUDIT_ANCHOR_INTERVAL` is not a whole
    ///   number of seconds from 1 to 86,400.
    public static func configured(store: any Store, environment: [String: String]) throws -> AuditAnchorExport? {
        guard let file = environment["ASGARD_AUDIT_ANCHOR_FILE"], !file.isEmpty else { return nil }
        guard let text = environment["ASGARD_AUDIT_ANCHOR_INTERVAL"], !text.isEmpty else { return AuditAnchorExport(store: store, file: file) }
        guard let seconds = Int(text), (1...86_400).contains(seconds) else {
            throw AuditAnchorExportError(description: "ASGARD_AUDIT_ANCHOR_INTERVAL must be a whole number of seconds from 1 to 86400, not \(text)")
        }
        return AuditAnchorExport(store: store, file: file, interval: .seconds(seconds))
    }

    /// Appends the anchor of the log's newest entry, unless this process already appended that
    /// entry's (or the log is empty).
    /// - Returns: the anchor appended, nil when there was nothing new.
    /// - Throws: the store's errors reading the head; `AuditAnchorFileError` writing the file.
    @discardableResult
    public func export(at now: Date = Date()) async throws -> AuditAnchor? {
        guard let head = try await store.auditTail(limit: 1).first, exported.withLock({ $0 }) != head.content.sequence else { return nil }
        let anchor = AuditAnchor(head: head, at: now)
        try AuditAnchorFile.append(anchor, to: file)
        exported.withLock { $0 = anchor.sequence }
        return anchor
    }

    public func run() async throws {
        repeat {
            await exportLogged()
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        } while !Task.isCancelledOrShuttingDown
        await exportLogged()
    }

    private func exportLogged() async {
        do {
            try await export()
        } catch {
            logger.error("the audit head could not be exported to \(file); trying again in \(interval)", metadata: ["error": "\(error)"])
        }
    }
}

/// A bad anchor export setting.
public struct AuditAnchorExportError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
