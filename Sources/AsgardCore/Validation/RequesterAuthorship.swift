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

    /// A diagnostic for every Resource and ServingEndpoint whose `requested_by` is not the
    /// author of the last commit that changed its document (compared as normalized emails).
    public static func check(_ result: LoadResult, authorOf: (String) -> Author) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for object in result.state.objects {
            let requestedBy: String?
            switch object {
            case .resource(let resource): requestedBy = resource.requestedBy
            case .servingEndpoint(let endpoint): requestedBy = endpoint.requestedBy
            default: requestedBy = nil
            }
            guard let requestedBy, let origin = result.origins[object.ref] else { continue }
            switch authorOf(origin.relative) {
            case .committed(let author) where normalizedEmail(author) == normalizedEmail(requestedBy):
                continue
            case .committed(let author):
                diagnostics.append(
                    Diagnostic(
                        origin.location,
                        "\(object.ref): requested_by \(requestedBy) is not the author of the last commit that changed \(origin.relative) "
                            + "(\(normalizedEmail(author))): a request names the person who committed it"))
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
