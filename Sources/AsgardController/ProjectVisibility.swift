public import AsgardCore
public import AsgardPolicy
public import Cedar

/// What a person sees on the dashboard, decided by Cedar's `view` on each project
/// (`policies/dashboard.cedar`: a project's owner and approvers, and admins). Everything the
/// dashboard shows about a project (spend, keys, objects, approvals, kill switches, audit
/// entries) is shown only for the projects this lets the person see.
public struct ProjectVisibility: Sendable {
    public let person: Person
    /// The project ids Cedar lets the person view.
    public let projects: Set<String>
    /// Whether the person is in `Role::"admin"`: they see entries about no project too (the
    /// org-wide audit trail, project proposals).
    public let seesEverything: Bool

    /// Decides `view` for `person` on each of `projects` under `policies`, with `entities` (the
    /// published entities; the person and their roles are added).
    public init(person: Person, projects candidates: some Sequence<String>, policies: PolicyEngine, entities: Entities) {
        self.person = person
        let user = person.cedarEntity
        let all = Entities(closingParentsOf: Array(entities.byUID.values) + [user])
        projects = Set(
            candidates.filter { project in
                policies.decide(
                    Request(principal: user.uid, action: EntityUID(type: "Action", id: "view"), resource: Project.entityUID(project), context: [:]),
                    entities: all
                ).allowed
            })
        seesEverything = person.roles.contains("admin")
    }

    public func sees(project: String) -> Bool { projects.contains(project) }

    /// An approval of a visible project; a project proposal (its project not applied yet) to admins.
    public func sees(_ approval: Approval) -> Bool {
        approval.ref.kind == .project && !projects.contains(approval.project) ? seesEverything : projects.contains(approval.project)
    }

    /// Org-wide switches (global, vendor, model) to everyone; a project's, or a key's of a
    /// visible project (`keyProjects`: key id to project), to those who see the project.
    public func sees(_ killSwitch: StoredKillSwitch, keyProjects: [String: String]) -> Bool {
        switch killSwitch.scope {
        case .global, .vendor, .model: true
        case .project: seesEverything || projects.contains(killSwitch.target)
        case .key: seesEverything || keyProjects[killSwitch.target].map(projects.contains) == true
        }
    }

    /// The audit entries the person sees: every one for an admin, else those about their projects.
    public var auditProjects: Set<String>? { seesEverything ? nil : projects }
}
