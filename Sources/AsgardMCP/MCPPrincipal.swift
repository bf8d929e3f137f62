public import AsgardCore
public import AsgardGateway
public import Cedar
import AsgardPolicy

/// Who calls an MCP tool, from their bearer credential: a key (an agent, acting for its
/// project within the key's limits) or a person (their personal credential). Never from a field
/// of a request.
public enum MCPPrincipal: Sendable {
    case key(Caller)
    case person(Person)

    /// `Key/<id>` or `User/<email>`: the audit log's actor.
    public var actor: String { requester.description }

    public var requester: Requester {
        switch self {
        case .key(let caller): .key(caller.key.id)
        case .person(let person): .person(person.email)
        }
    }

    /// The principal as Cedar sees it.
    public var uid: EntityUID {
        switch self {
        case .key(let caller): InvokeEntities.uid(key: caller.key.id)
        case .person(let person): Project.userUID(person.email)
        }
    }

    /// The key's project; nil for a person.
    public var keyProject: String? {
        if case .key(let caller) = self { return caller.project.id }
        return nil
    }

    /// Whether the person is in `Role::"admin"`.
    public var isAdmin: Bool {
        if case .person(let person) = self { return person.roles.contains("admin") }
        return false
    }

    /// The digest of the credential that authenticated: a session belongs to it alone.
    public var credentialDigest: String {
        switch self {
        case .key(let caller): caller.key.digest
        case .person(let person): person.credential
        }
    }

    /// The snapshot's entities, with the person and their roles added for a person.
    func entities(in snapshot: GatewaySnapshot) -> Entities {
        switch self {
        case .key: return snapshot.entities
        case .person(let person):
            return Entities(closingParentsOf: Array(snapshot.entities.byUID.values) + [person.cedarEntity])
        }
    }
}
