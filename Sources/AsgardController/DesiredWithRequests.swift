public import AsgardCore

/// `desired/` and the store's open requests, merged as every pass, `reconcile --once` and
/// `--dry-run` see them (`RequestedState.merge`).
public struct DesiredWithRequests: Sendable {
    /// `desired/` as loaded, with its state replaced by the merged one when it is valid.
    public var loaded: LoadResult
    /// The merge, when `desired/` is valid.
    public var requests: RequestedState?
    /// The files of `desired/`, as read.
    public var sources: [SourceFile]
    /// The open requests, as read (empty when `desired/` is invalid or there is no store).
    public var open: [ObjectRequest] = []

    /// Loads `directory` and adds the open requests in `store` (when there is a store).
    /// - Throws: the store's errors reading requests and approvals.
    public static func load(directory: String, store: (any Store)?, loader: DesiredStateLoader = DesiredStateLoader()) async throws
        -> DesiredWithRequests
    {
        let (sources, files, problems) = loader.read(directory: directory)
        var loaded =
            files < 0
            ? LoadResult(state: DesiredState(), files: 0, diagnostics: problems)
            : {
                var result = loader.load(sources)
                result.files = files
                result.diagnostics = (problems + result.diagnostics).sorted(by: Diagnostic.inFileOrder)
                return result
            }()
        guard loaded.isValid, let store else { return DesiredWithRequests(loaded: loaded, requests: nil, sources: sources) }
        let open = try await store.objectRequests(status: .open)
        guard !open.isEmpty else {
            return DesiredWithRequests(
                loaded: loaded, requests: .unchanged(loaded.state),
                sources: sources, open: open)
        }
        let merged = RequestedState.merge(
            sources: sources, loaded: loaded, requests: open, approvals: try await store.approvals(status: nil), loader: loader)
        loaded.state = merged.state
        return DesiredWithRequests(loaded: loaded, requests: merged, sources: sources, open: open)
    }

    /// Closes the requests Git now owns (`committed`) and the project proposals whose approval
    /// was rejected, each with its audit entry. A request another process closed first is skipped.
    public func closeSettled(in store: any Store, actor: String) async throws {
        guard let requests else { return }
        for (ids, status, why) in [
            (requests.committed, ObjectRequest.Status.committed, "desired/ now declares the same object: Git owns it"),
            (requests.rejected, .rejected, "the proposal's approval was rejected"),
        ] {
            for id in ids {
                do {
                    let closed = try await store.closeRequest(
                        id: id, status: status, reason: why,
                        audit: AuditEntry(actor: actor, action: "request.\(status.rawValue)", target: nil, outcome: status.rawValue, detail: ["request": id, "reason": why]))
                    _ = closed
                } catch StoreError.requestNotOpen {
                    continue
                }
            }
        }
    }
}
