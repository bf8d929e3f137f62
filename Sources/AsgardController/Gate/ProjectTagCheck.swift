public import AsgardCore
import AsgardJSON

/// The last part of the gate, on the terraform plan itself: every resource the plan creates,
/// updates or keeps must be of a type the service manifest lists, and carry `project=<id>`
/// where the manifest says that type holds its tags. Pure: a plan in, the violations out.
public enum ProjectTagCheck {
    /// Why the plan may not be applied, one line per resource; empty when every tag is right.
    public static func violations(of plan: ProvisioningPlan, locations: [TagLocation], project: String) -> [String] {
        let byType = Dictionary(locations.map { ($0.resourceType, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [String] = []
        for resource in plan.resources where !resource.isDelete {
            guard let location = byType[resource.type] else {
                problems.append(
                    "\(resource.address): type \(resource.type) is not listed in the service manifest's tags, so its project tag cannot be verified")
                continue
            }
            if let problem = check(resource, at: location, project: project) { problems.append("\(resource.address): \(problem)") }
        }
        return problems
    }

    /// What is wrong with one resource's tag, or nil.
    static func check(_ resource: PlannedResource, at location: TagLocation, project: String) -> String? {
        let path = location.path.joined(separator: ".")
        switch location.format {
        case .inherited:
            return nil
        case .map, .keyValueList:
            guard let after = resource.after else { return "its planned values are not known, so project=\(project) cannot be verified" }
            let holders = descend(after, location.path)
            guard !holders.isEmpty else { return "has no \(path) in the plan, so it carries no project=\(project)" }
            let values = holders.flatMap { location.format == .map ? mapValues($0) : keyValueValues($0) }
            guard !values.isEmpty else { return "has no project tag at \(path) (needs project=\(project))" }
            let wrong = values.filter { $0 != .string(project) }
            guard wrong.isEmpty else {
                let seen = wrong.map { if case .string(let s) = $0 { "project=\(s)" } else { "a non-text project value" } }
                return "carries \(seen.joined(separator: ", ")) at \(path), not project=\(project)"
            }
            return nil
        }
    }

    /// Every value reached by following `path` from `value`; blocks are lists in terraform's
    /// JSON, so a list on the way fans out to each of its elements.
    static func descend(_ value: JSONValue, _ path: [String]) -> [JSONValue] {
        if case .array(let elements) = value { return elements.flatMap { descend($0, path) } }
        guard let first = path.first else { return [value] }
        guard let next = value[first], next != .null else { return [] }
        return descend(next, Array(path.dropFirst()))
    }

    /// The `project` member of a map.
    private static func mapValues(_ holder: JSONValue) -> [JSONValue] {
        guard case .object(let members) = holder else { return [] }
        return members.filter { $0.key == "project" }.map(\.value)
    }

    /// The `value` of each `{key: "project", value: ...}` element (the holder is one such element).
    private static func keyValueValues(_ holder: JSONValue) -> [JSONValue] {
        guard holder["key"] == .string("project") else { return [] }
        return [holder["value"] ?? .null]
    }
}
