public import AsgardCore

/// The gateway's route table: public model id → route. A value; the server swaps whole
/// tables atomically when desired state changes.
public struct RouteTable: Sendable, Hashable {
    public private(set) var routes: [String: Route]

    public init(_ routes: [Route]) {
        self.routes = Dictionary(routes.map { ($0.model, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The route for a public model id (`<vendor>/<name>`).
    public subscript(model: String) -> Route? { routes[model] }

    /// Every routable model id, sorted.
    public var models: [String] { routes.keys.sorted() }
}
