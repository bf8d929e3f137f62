/// `asgard validate --git`: a request's `requested_by` must be the person who committed it, so
/// a committer cannot name someone else as the requester (and then approve it themselves).
///
/// Pure: the caller says who last changed each file (`git log -1 --format=%ae -- <file>`).
public enum RequesterAuthorship {
    /// Who last changed a file, as version control tells it.
    public enum Author: Sendable, Hashable {
        /// The email of the author of the last commit that changed the file.
        case committed(String)
        /// The file has changes not yet committed: whose they are is not known.
        case uncommitted
        /// No commit has the file.
        case untracked
    }

    /// A diagnostic for every Resource and ServingEndpoint whose requester is not the author of
    /// the last commit that changed its document (compared as normalized emails). The requester is
    /// `requested_by`; for a human-tier request without one it is the project's owner, so leaving
    /// `requested_by` out cannot make someone else the requester either.
    public static func check(_ result: LoadResult, authorOf: (String) -> Author) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for object in result.state.objects {
            let named = object.requestedBy
            guard named != nil || result.state.tier(of: object) == .human, let origin = result.origins[object.ref] else { continue }
            let requester = named ?? result.state.requester(of: object)
            let who = named.map { "requested_by \($0)" } ?? "the owner \(requester) (the requester, as no requested_by is named)"
            switch authorOf(origin.relative) {
            case .committed(let author) where normalizedEmail(author) == normalizedEmail(requester):
                continue
            case .committed(let author):
                diagnostics.append(
                    Diagnostic(
                        origin.location,
                        "\(object.ref): \(who) is not the author of the last commit that changed \(origin.relative) "
                            + "(\(normalizedEmail(author))): a request names the person who committed it as requested_by"))
            case .uncommitted:
                diagnostics.append(
                    Diagnostic(origin.location, "\(object.ref): \(origin.relative) has uncommitted changes, so who requested it cannot be checked"))
            case .untracked:
                diagnostics.append(
                    Diagnostic(origin.location, "\(object.ref): \(origin.relative) is in no commit, so who requested it cannot be checked"))
            }
        }
        return diagnostics.sorted(by: Diagnostic.inFileOrder)
    }
}
