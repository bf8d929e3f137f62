public import AsgardCore
public import AsgardJSON

/// A resource's planned values (terraform's `change.after`) carrying `project` where `location`
/// says its type holds tags, as a test double's plan would: blocks are lists in terraform's
/// JSON, so every level of the path but the innermost is wrapped in one. An inherited location
/// holds no tag: an empty object.
public func plannedValues(tagging project: String, at location: TagLocation) -> JSONValue {
    let pair = JSONValue.object([JSONMember(key: "key", value: .string("project")), JSONMember(key: "value", value: .string(project))])
    var value: JSONValue =
        switch location.format {
        case .map: .object([JSONMember(key: "project", value: .string(project))])
        case .keyValueList: .array([pair])
        case .inherited: .object([])
        }
    guard location.format != .inherited else { return value }
    for (index, key) in location.path.enumerated().reversed() {
        value = .object([JSONMember(key: key, value: index == location.path.count - 1 ? value : .array([value]))])
    }
    return value
}
