public import AsgardCore
public import Cedar

extension Project {
    /// The project's Cedar entity id, `Project::"<id>"`.
    public static func entityUID(_ id: String) -> EntityUID { EntityUID(type: "Project", id: id) }

    /// The project as a Cedar entity, after `policies/asgard.cedarschema`: the one builder the
    /// gateway's `invoke`, the provisioning gate, approvals and the desks all use. A stopped
    /// project never reaches Cedar (it is refused before), so `active` is true here.
    public var cedarEntity: Entity {
        Entity(
            uid: Self.entityUID(id),
            attributes: [
                "classification_level": .long(Int64(classification.rawValue)),
                "active": .bool(true),
                "owner": .entity(Self.userUID(owner)),
                "approvers": .set(Set(approvers.map { .entity(Self.userUID($0)) })),
            ])
    }

    /// A person's Cedar id, `User::"<email>"`, the email normalized (`normalizedEmail`): one
    /// person is one principal however a document or a command line spells their address.
    public static func userUID(_ email: String) -> EntityUID { EntityUID(type: "User", id: normalizedEmail(email)) }
}

extension Person {
    /// The person as a Cedar entity: `User::"<email>"` with their email, in their `Role`s. The
    /// one builder MCP and the dashboard use.
    public var cedarEntity: Entity {
        Entity(uid: Project.userUID(email), attributes: ["email": .string(email)], ancestors: Set(roles.map { EntityUID(type: "Role", id: $0) }))
    }
}
