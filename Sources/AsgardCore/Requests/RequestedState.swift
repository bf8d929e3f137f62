/// Desired state as the controller reconciles it: `desired/` and the open requests that pass
/// the loader's rules beside it. Pure: sources, requests and approvals in, the merged state out.
public struct RequestedState: Sendable {
    /// `desired/` and every request added to it.
    public var state: DesiredState
    /// The requests whose objects are in `state`, by reference.
    public var requested: [ObjectRef: ObjectRequest]
    /// Open requests left out, and why (the loader's diagnostics, naming `request <id>`).
    public var problems: [String: [Diagnostic]]
    /// Open requests whose object `desired/` now declares: Git owns it.
    public var committed: [String]
    /// Project proposals still waiting for their approval.
    public var waiting: [String]
    /// Project proposals whose approval was rejected.
    public var rejected: [String]

    /// `state` with no request added.
    public static func unchanged(_ state: DesiredState) -> RequestedState {
        RequestedState(state: state, requested: [:], problems: [:], committed: [], waiting: [], rejected: [])
    }

    /// Adds `requests` (open ones, oldest first) to the valid desired state loaded from
    /// `sources`. A request whose object `desired/` declares is `committed`; a project proposal
    /// is added only while an approval of its document stands (`approved` or `applied`), and
    /// is `rejected` once that approval was; every other request is added when the loader
    /// accepts it beside `desired/` and the requests already added, and is a `problem` otherwise.
    /// - Parameters:
    ///   - loaded: `loader.load(sources)`, valid.
    ///   - approvals: every approval (a proposal's is found by its reference and document digest).
    public static func merge(
        sources: [SourceFile], loaded: LoadResult, requests: [ObjectRequest], approvals: [Approval], loader: DesiredStateLoader = DesiredStateLoader()
    ) -> RequestedState {
        var result = RequestedState(state: loaded.state, requested: [:], problems: [:], committed: [], waiting: [], rejected: [])
        var added: [ObjectRequest] = []
        var addedSources: [SourceFile] = []
        for request in requests.filter({ $0.status == .open }).sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
            if loaded.state.object(request.ref) != nil {
                result.committed.append(request.id)
                continue
            }
            if request.ref.kind == .project {
                let mine = approvals.filter { $0.ref == request.ref && $0.actionDigest == request.documentDigest }
                if mine.contains(where: { $0.status == .rejected }) {
                    result.rejected.append(request.id)
                    continue
                }
                guard mine.contains(where: { $0.status == .approved || $0.status == .applied }) else {
                    result.waiting.append(request.id)
                    continue
                }
            }
            let trial = loader.load(sources + addedSources + [request.source])
            guard trial.isValid else {
                let own = trial.diagnostics.filter { $0.location.file == request.source.name }
                result.problems[request.id] = own.isEmpty ? trial.diagnostics : own
                continue
            }
            added.append(request)
            addedSources.append(request.source)
        }
        guard !added.isEmpty else { return result }
        var state = loader.load(sources + addedSources).state
        for request in added {
            result.requested[request.ref] = request
            state.setRequester(request.requester.approvalName, of: request.ref)
        }
        result.state = state
        return result
    }

    /// Checks one new request against `desired/` and the requests in force, as a pass would:
    /// the loader's diagnostics (empty when it would be added), with `state` the merged state.
    public static func check(
        _ request: ObjectRequest, sources: [SourceFile], inForce: [ObjectRequest], loader: DesiredStateLoader = DesiredStateLoader()
    ) -> (diagnostics: [Diagnostic], state: DesiredState) {
        let trial = loader.load(sources + inForce.map(\.source) + [request.source])
        var state = trial.state
        for other in inForce + [request] { state.setRequester(other.requester.approvalName, of: other.ref) }
        return (trial.diagnostics, state)
    }
}
