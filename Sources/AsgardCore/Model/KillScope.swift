/// What a kill switch stops.
public enum KillScope: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every call through the gateway.
    case global
    /// Every call to one vendor, e.g. `databricks`.
    case vendor
    /// Every call to one model, by its public id, e.g. `databricks/llama-3-3-70b`.
    case model
    /// Every call charged to one project.
    case project
    /// Every call made with one virtual key, by key id.
    case key

    /// `global`, or `<scope>/<id>`: how audit entries and messages name a switch.
    public func target(_ id: String) -> String { self == .global ? "global" : "\(rawValue)/\(id)" }
}
