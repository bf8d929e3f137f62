/// A whole validated desired state, with lookups by id.
public struct DesiredState: Sendable, Hashable {
    public private(set) var services: [String: Service] = [:]
    public private(set) var people: [String: Person] = [:]
    public private(set) var projects: [String: Project] = [:]
    public private(set) var keys: [String: Key] = [:]
    public private(set) var servingEndpoints: [String: ServingEndpoint] = [:]
    public private(set) var resources: [String: Resource] = [:]
    /// Provisionable service name → (vendor id, service).
    public private(set) var provisionable: [String: (vendor: String, service: ProvisionableService)] = [:]
    /// Who asked for objects that came from requests (MCP, the API): their `Approval.requestedBy`
    /// form, which wins over `requested_by` and the owner.
    public private(set) var requesters: [ObjectRef: String] = [:]

    public init(_ objects: [DesiredObject] = []) {
        for object in objects { insert(object) }
    }

    /// Adds or replaces an object (the last one with a given ref wins).
    public mutating func insert(_ object: DesiredObject) {
        switch object {
        case .service(let s):
            if let old = services[s.id] { for p in old.provisionable { provisionable[p.name] = nil } }
            services[s.id] = s
            for p in s.provisionable { provisionable[p.name] = (s.id, p) }
        case .person(let p): people[p.id] = p
        case .project(let p): projects[p.id] = p
        case .key(let k): keys[k.id] = k
        case .servingEndpoint(let e): servingEndpoints[e.id] = e
        case .resource(let r): resources[r.id] = r
        }
    }

    /// Every object, in dependency order then by id.
    public var objects: [DesiredObject] {
        services.values.sorted { $0.id < $1.id }.map(DesiredObject.service)
            + people.values.sorted { $0.id < $1.id }.map(DesiredObject.person)
            + projects.values.sorted { $0.id < $1.id }.map(DesiredObject.project)
            + keys.values.sorted { $0.id < $1.id }.map(DesiredObject.key)
            + servingEndpoints.values.sorted { $0.id < $1.id }.map(DesiredObject.servingEndpoint)
            + resources.values.sorted { $0.id < $1.id }.map(DesiredObject.resource)
    }

    /// The object with reference `ref`, if desired state has one: a lookup in the matching
    /// dictionary, without building `objects`.
    public func object(_ ref: ObjectRef) -> DesiredObject? {
        switch ref.kind {
        case .service: services[ref.id].map(DesiredObject.service)
        case .person: people[ref.id].map(DesiredObject.person)
        case .project: projects[ref.id].map(DesiredObject.project)
        case .key: keys[ref.id].map(DesiredObject.key)
        case .servingEndpoint: servingEndpoints[ref.id].map(DesiredObject.servingEndpoint)
        case .resource: resources[ref.id].map(DesiredObject.resource)
        }
    }

    public var count: Int { services.count + people.count + projects.count + keys.count + servingEndpoints.count + resources.count }

    /// The provisionable service that creates a resource or serving endpoint, if registered.
    public func provisionableService(of object: DesiredObject) -> ProvisionableService? {
        object.provisionerName.flatMap { provisionable[$0]?.service }
    }

    /// The approval tier of an object: its provisionable service's tier for resources and
    /// serving endpoints (human when the service is unknown, to fail safe), auto otherwise.
    public func tier(of object: DesiredObject) -> Tier {
        switch object {
        case .resource, .servingEndpoint: provisionableService(of: object)?.tier ?? .human
        case .service, .person, .project, .key: .auto
        }
    }

    /// Who asked for a resource or serving endpoint: the request's requester when it came from
    /// one, else its `requested_by`, else its project's owner.
    public func requester(of object: DesiredObject) -> String {
        requesters[object.ref] ?? object.requestedBy ?? object.projectID.flatMap { projects[$0]?.owner } ?? "unknown"
    }

    /// Records who asked for the object `ref` through a request.
    public mutating func setRequester(_ requester: String, of ref: ObjectRef) { requesters[ref] = requester }

    /// The person with `email` (compared normalized), if desired state declares one.
    public func person(email: String) -> Person? {
        let email = normalizedEmail(email)
        return people.values.first { $0.email == email }
    }

    /// The monthly estimate of a resource or serving endpoint: its provisionable service's cost
    /// rule applied to its parameters, or the service's fixed figure (see `CostEstimate`).
    public func estimate(of object: DesiredObject) -> CostEstimate {
        guard let service = provisionableService(of: object) else {
            return CostEstimate(
                basis: .unknown, monthly: nil, detail: "\(object.ref) names no registered provisionable service \(object.provisionerName ?? "")")
        }
        return service.estimate(for: object.parameters)
    }

    /// Every model route the gateway can offer from service manifests, by public id.
    public var modelRoutes: [String: (vendor: String, route: ModelRoute)] {
        var routes: [String: (vendor: String, route: ModelRoute)] = [:]
        for service in services.values {
            for model in service.inference?.models ?? [] { routes[model.id] = (service.id, model) }
        }
        return routes
    }

    public static func == (lhs: DesiredState, rhs: DesiredState) -> Bool { lhs.objects == rhs.objects }
    public func hash(into hasher: inout Hasher) { hasher.combine(objects) }
}
