/// One entity an endpoint serves: an element of `config.served_entities`.
public struct FakeServedEntity: Sendable, Hashable {
    /// The served entity's name (the `served-model-name` header of completions).
    public var name: String
    /// The model served, e.g. `system.ai.llama_v3_2_3b_instruct`.
    public var entityName: String
    public var entityVersion: String?
    /// `Small`, `Medium` or `Large`.
    public var workloadSize: String?
    public var scaleToZeroEnabled: Bool?

    public init(
        name: String, entityName: String, entityVersion: String? = nil, workloadSize: String? = nil,
        scaleToZeroEnabled: Bool? = nil
    ) {
        self.name = name
        self.entityName = entityName
        self.entityVersion = entityVersion
        self.workloadSize = workloadSize
        self.scaleToZeroEnabled = scaleToZeroEnabled
    }

    /// The name the API gives a served entity created without one: the last part of the
    /// entity's dotted name, then `-` and the version (`llama_v3_2_3b_instruct-2`).
    public static func defaultName(entityName: String, entityVersion: String?) -> String {
        let last = entityName.split(separator: ".").last.map(String.init) ?? entityName
        let cleaned = String(last.map { EndpointRegistry.isNameCharacter($0) ? $0 : "_" })
        guard let entityVersion, !entityVersion.isEmpty else { return cleaned }
        return cleaned + "-" + entityVersion
    }
}

/// The workspace's serving endpoints, in listing order, and the rules every change obeys: the
/// real API's name rules, unique names and unique tag keys. A plain value: the fake keeps one
/// behind the lock of `FakeDatabricksControls`, so every change is atomic.
struct EndpointRegistry: Sendable {
    private(set) var endpoints: [FakeServingEndpoint]
    /// Endpoints created so far, so that a re-created name gets a new id, as at Databricks.
    private var creations = 0

    init(_ endpoints: [FakeServingEndpoint]) {
        self.endpoints = endpoints
    }

    /// Letters, digits, `-` and `_`: what endpoint and served entity names may hold.
    static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_")
    }

    /// Whether `name` is 1 to 63 letters, digits, `-` or `_`: the rule for endpoint and served
    /// entity names.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.allSatisfy(isNameCharacter)
    }

    /// Throws 400 INVALID_PARAMETER_VALUE unless `name` is 1 to 63 letters, digits, `-` or `_`.
    static func validateName(_ name: String) throws(DatabricksAPIError) {
        guard isValidName(name) else {
            throw .invalid(
                "Invalid endpoint name '\(name)': an endpoint name must be 1 to 63 characters long and may only contain "
                    + "alphanumeric characters, dashes and underscores.")
        }
    }

    /// Throws 400 INVALID_PARAMETER_VALUE for an empty or repeated tag key.
    static func validateTags(_ tags: [(key: String, value: String)]) throws(DatabricksAPIError) {
        var seen: Set<String> = []
        for tag in tags {
            guard !tag.key.isEmpty else { throw .invalid("Invalid tag: a tag key must not be empty.") }
            guard seen.insert(tag.key).inserted else { throw .invalid("Duplicate tag key '\(tag.key)'.") }
        }
    }

    func index(of name: String) -> Int? {
        endpoints.firstIndex { $0.name == name }
    }

    func endpoint(named name: String) -> FakeServingEndpoint? {
        index(of: name).map { endpoints[$0] }
    }

    /// Adds `endpoint` at the end of the listing, stamped with a fresh id and `nowMillis` where
    /// it has none. Throws 400 INVALID_PARAMETER_VALUE for a bad name or tags and 400
    /// RESOURCE_ALREADY_EXISTS for a name in use.
    mutating func create(_ endpoint: FakeServingEndpoint, nowMillis: Int) throws(DatabricksAPIError) -> FakeServingEndpoint {
        try Self.validateName(endpoint.name)
        try Self.validateTags(endpoint.tags)
        guard index(of: endpoint.name) == nil else {
            throw DatabricksAPIError(
                status: 400, errorCode: "RESOURCE_ALREADY_EXISTS",
                message: "Endpoint with name '\(endpoint.name)' already exists.")
        }
        creations += 1
        var created = endpoint
        created.id = created.id ?? FakeServingEndpoint.derivedID(endpoint.name + "#" + String(creations))
        created.creationTimestampMillis = created.creationTimestampMillis ?? nowMillis
        created.lastUpdatedTimestampMillis = created.lastUpdatedTimestampMillis ?? created.creationTimestampMillis
        endpoints.append(created)
        return created
    }

    /// Removes the endpoint named `name`; nil when there was none.
    mutating func remove(named name: String) -> FakeServingEndpoint? {
        guard let index = index(of: name) else { return nil }
        return endpoints.remove(at: index)
    }

    /// Changes the endpoint named `name` in place (its name stays); throws 404
    /// RESOURCE_DOES_NOT_EXIST when there is none, and 400 when the change leaves bad tags.
    mutating func update(
        _ name: String, nowMillis: Int, _ change: (inout FakeServingEndpoint) -> Void
    ) throws(DatabricksAPIError) -> FakeServingEndpoint {
        guard let index = index(of: name) else { throw notFound(name) }
        var endpoint = endpoints[index]
        change(&endpoint)
        endpoint.name = name
        try Self.validateTags(endpoint.tags)
        endpoint.lastUpdatedTimestampMillis = nowMillis
        endpoints[index] = endpoint
        return endpoint
    }

    /// `PATCH .../tags`: deletes the keys in `delete` (absent ones are ignored), then adds each
    /// tag of `add`, replacing the value of a key already present. Returns the resulting tags.
    mutating func patchTags(
        _ name: String, add: [(key: String, value: String)], delete: [String], nowMillis: Int
    ) throws(DatabricksAPIError) -> [(key: String, value: String)] {
        try Self.validateTags(add)
        let updated = try update(name, nowMillis: nowMillis) { endpoint in
            let deleted = Set(delete)
            endpoint.tags.removeAll { deleted.contains($0.key) }
            for tag in add {
                if let position = endpoint.tags.firstIndex(where: { $0.key == tag.key }) {
                    endpoint.tags[position].value = tag.value
                } else {
                    endpoint.tags.append(tag)
                }
            }
        }
        return updated.tags
    }
}
