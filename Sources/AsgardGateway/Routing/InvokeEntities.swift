public import AsgardCore
import AsgardPolicy
public import Cedar
public import Foundation

/// Why Cedar found no permit for a call, in the client's terms. Cedar alone decides (the
/// operator may widen or narrow `invoke` in `policies/`); this only names, after a denial with
/// no determining policy, which condition of the shipped `key-invokes-allowed-model` the call
/// misses, so the client reads `model_not_allowed` or `data_class_denied` rather than "no
/// policy permits this call".
enum InvokeDenial {
    static func explain(key: Key, route: Route, project: Project, level: DataClass) -> GatewayError? {
        if !key.allowedModels.contains(route.model) && !key.allowedModels.contains("\(route.vendor)/*") {
            return .modelNotAllowed(route.model)
        }
        if level > route.maxDataClass {
            return .dataClassDenied("\(level.name) data may not be sent to \(route.model) (at most \(route.maxDataClass.name))")
        }
        if level > key.maxDataClass { return .dataClassDenied("this key may send at most \(key.maxDataClass.name) data, not \(level.name)") }
        if level > project.classification {
            return .dataClassDenied("project \(project.id) is classified \(project.classification.name), below \(level.name)")
        }
        return nil
    }
}

/// The Cedar entities and requests of `invoke` decisions, following
/// `policies/asgard.cedarschema`: keys, their projects and the routed models.
public enum InvokeEntities {
    /// One store for a snapshot of desired state: built once, shared by every request.
    public static func store(keys: [Key], projects: [Project], routes: RouteTable) -> Entities {
        var entities = projects.map(\.cedarEntity)
        for key in keys {
            var attributes: [String: Value] = [
                "project": .entity(uid(project: key.project)),
                "max_level": .long(Int64(key.maxDataClass.rawValue)),
                "allowed_models": .set(Set(key.allowedModels.filter { !$0.hasSuffix("/*") }.map(Value.string))),
                "allowed_vendors": .set(Set(key.allowedModels.filter { $0.hasSuffix("/*") }.map { .string(String($0.dropLast(2))) })),
            ]
            if let expires = key.expires {
                attributes["expires"] = .extensionValue(.datetime(Int64((expires.timeIntervalSince1970 * 1000).rounded(.down))))
            }
            entities.append(Entity(uid: uid(key: key.id), attributes: attributes))
        }
        for model in routes.models {
            guard let route = routes[model] else { continue }
            entities.append(Entity(uid: uid(model: model), attributes: attributes(of: route)))
        }
        return Entities(closingParentsOf: entities)
    }

    /// A model's attributes: its vendor, name and data-class ceiling, and for a project's own
    /// serving endpoint the `owner` project and the projects it is `shared_with` (the shipped
    /// `endpoint-serves-its-projects` lets no other project's key call it).
    static func attributes(of route: Route) -> [String: Value] {
        var attributes: [String: Value] = [
            "vendor": .string(route.vendor), "name": .string(route.model), "max_level": .long(Int64(route.maxDataClass.rawValue)),
            "shared_with": .set(Set(route.sharedWith.map { .entity(uid(project: $0)) })),
        ]
        if let owner = route.project {
            attributes["owner"] = .entity(uid(project: owner))
        } else if route.servingEndpoint != nil {
            // An endpoint route without its project (a store row from before owners were kept,
            // whose endpoint is gone): owned by no project, so no key may call it.
            attributes["owner"] = .entity(uid(project: ""))
        }
        return attributes
    }

    public static func uid(key: String) -> EntityUID { EntityUID(type: "Key", id: key) }
    public static func uid(project: String) -> EntityUID { Project.entityUID(project) }
    public static func uid(model: String) -> EntityUID { EntityUID(type: "Model", id: model) }

    /// The `invoke` request of one call.
    public static func request(key: String, model: String, level: DataClass, estimatedCost: MicroDollars, now: Date) -> Request {
        Request(
            principal: uid(key: key), action: EntityUID(type: "Action", id: "invoke"), resource: uid(model: model),
            context: [
                "level": .long(Int64(level.rawValue)),
                "estimated_cost_micros": .long(estimatedCost.value),
                "now": .extensionValue(.datetime(Int64((now.timeIntervalSince1970 * 1000).rounded(.down)))),
            ])
    }
}
