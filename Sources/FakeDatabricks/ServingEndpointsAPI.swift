import AsgardJSON
import Hummingbird

/// The management half of the serving-endpoints API, with its wire formats:
///
/// - `POST /api/2.0/serving-endpoints` with `{name, config{served_entities[{name?, entity_name,
///   entity_version?, workload_size?, scale_to_zero_enabled?}]}?, tags[{key, value?}]?}` answers
///   200 with the endpoint as `GET` describes it (ready at once: state READY / NOT_UPDATING, so
///   the SDKs' create-and-wait returns on the first poll);
/// - `DELETE /api/2.0/serving-endpoints/{name}` answers 200 `{}`;
/// - `PATCH /api/2.0/serving-endpoints/{name}/tags` with `{add_tags[{key, value?}]?,
///   delete_tags[key]?}` answers 200 `{"tags": [...]}`, the endpoint's tags after the change.
///   That is the shape the official SDKs decode (databricks-sdk-go since 0.56, databricks-sdk-py);
///   the API reference's example shows a bare array, which no current SDK reads.
///
/// Errors: 400 INVALID_PARAMETER_VALUE for a malformed body or name, 400
/// RESOURCE_ALREADY_EXISTS for a name in use, 404 RESOURCE_DOES_NOT_EXIST for an unknown
/// endpoint, 403 PERMISSION_DENIED for a read-only token.
extension FakeDatabricks {
    func addManagementRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/2.0/serving-endpoints") { request, _ -> Response in
            try self.authorizeManagement(try self.authenticate(request), action: "create serving endpoints")
            let (_, json) = try await self.readBody(request)
            let endpoint = try ServingEndpointRequests.parseCreate(json).get()
            let created = try self.controls.createEndpoint(endpoint)
            return jsonResponse(.ok, self.describe(created, detailed: true))
        }
        router.delete("/api/2.0/serving-endpoints/:name") { request, context -> Response in
            try self.authorizeManagement(try self.authenticate(request), action: "delete serving endpoints")
            let name = context.parameters.get("name") ?? ""
            guard self.controls.removeEndpoint(named: name) != nil else { throw notFound(name) }
            return jsonResponse(.ok, [:])
        }
        router.patch("/api/2.0/serving-endpoints/:name/tags") { request, context -> Response in
            try self.authorizeManagement(try self.authenticate(request), action: "change serving endpoint tags")
            let name = context.parameters.get("name") ?? ""
            let (_, json) = try await self.readBody(request)
            let patch = try ServingEndpointRequests.parseTagPatch(json).get()
            let tags = try self.controls.patchTags(onEndpoint: name, add: patch.add, delete: patch.delete)
            return jsonResponse(.ok, ["tags": tagsJSON(tags)])
        }
    }

    /// Read-only tokens may list and get, nothing more.
    func authorizeManagement(_ token: String, action: String) throws {
        if configuration.readOnlyTokens.contains(token) {
            throw DatabricksAPIError(
                status: 403, errorCode: "PERMISSION_DENIED", message: "User does not have permission to \(action).")
        }
    }
}

/// `tags[{key, value}]` as the API writes them.
func tagsJSON(_ tags: [(key: String, value: String)]) -> JSONValue {
    .array(tags.map { ["key": .string($0.key), "value": .string($0.value)] })
}

/// Parsing of the management request bodies; every problem is a 400 INVALID_PARAMETER_VALUE
/// naming the field.
enum ServingEndpointRequests {
    /// The endpoint a create body describes (name, served entities and tags; other fields are
    /// accepted and ignored). The name is checked here too, before the rest of the body, so that
    /// a bad name is the error reported first; the registry checks it again (for
    /// `FakeDatabricksControls.createEndpoint`) along with tag uniqueness.
    static func parseCreate(_ json: JSONValue?) -> Result<FakeServingEndpoint, DatabricksAPIError> {
        Result { () throws(DatabricksAPIError) -> FakeServingEndpoint in
            guard let object = json, case .object = object else { throw .invalid("Request body must be a JSON object.") }
            guard let nameValue = object["name"], !nameValue.isNull else { throw .invalid("Missing required field: name.") }
            guard let name = nameValue.stringValue else { throw .invalid("Invalid value for name: expected a string.") }
            try EndpointRegistry.validateName(name)
            let entities = try parseServedEntities(object["config"])
            let tags = try parseTags(object["tags"], field: "tags")
            return FakeServingEndpoint(name: name, tags: tags, servedEntities: entities)
        }
    }

    /// The `add_tags` and `delete_tags` of a tag patch body.
    static func parseTagPatch(
        _ json: JSONValue?
    ) -> Result<(add: [(key: String, value: String)], delete: [String]), DatabricksAPIError> {
        Result { () throws(DatabricksAPIError) -> (add: [(key: String, value: String)], delete: [String]) in
            guard let object = json, case .object = object else { throw .invalid("Request body must be a JSON object.") }
            let add = try parseTags(object["add_tags"], field: "add_tags")
            var delete: [String] = []
            if let value = object["delete_tags"], !value.isNull {
                guard let items = value.arrayValue else {
                    throw .invalid("Invalid value for delete_tags: expected an array of tag keys.")
                }
                for (index, item) in items.enumerated() {
                    guard let key = item.stringValue else {
                        throw .invalid("Invalid value for delete_tags[\(index)]: expected a string.")
                    }
                    delete.append(key)
                }
            }
            return (add, delete)
        }
    }

    /// `config.served_entities`; a missing config serves nothing yet.
    static func parseServedEntities(_ config: JSONValue?) throws(DatabricksAPIError) -> [FakeServedEntity] {
        guard let config, !config.isNull else { return [] }
        guard case .object = config else { throw .invalid("Invalid value for config: expected an object.") }
        guard let value = config["served_entities"], !value.isNull else {
            throw .invalid("Missing required field: config.served_entities.")
        }
        guard let items = value.arrayValue, !items.isEmpty else {
            throw .invalid("Invalid value for config.served_entities: expected a non-empty array.")
        }
        var entities: [FakeServedEntity] = []
        for (index, item) in items.enumerated() {
            let field = "config.served_entities[\(index)]"
            guard case .object = item else { throw .invalid("Invalid value for \(field): expected an object.") }
            let entity = item
            guard let entityName = try string(entity["entity_name"], field: field + ".entity_name"), !entityName.isEmpty else {
                throw .invalid("Missing required field: \(field).entity_name.")
            }
            let version = try string(entity["entity_version"], field: field + ".entity_version")
            let workloadSize = try string(entity["workload_size"], field: field + ".workload_size")
            if let workloadSize, !["Small", "Medium", "Large"].contains(workloadSize) {
                throw .invalid("Invalid value for \(field).workload_size: '\(workloadSize)' is not one of Small, Medium, Large.")
            }
            var scaleToZero: Bool?
            if let flag = entity["scale_to_zero_enabled"], !flag.isNull {
                guard let bool = flag.boolValue else {
                    throw .invalid("Invalid value for \(field).scale_to_zero_enabled: expected a boolean.")
                }
                scaleToZero = bool
            }
            let name =
                try string(entity["name"], field: field + ".name")
                ?? FakeServedEntity.defaultName(entityName: entityName, entityVersion: version)
            guard EndpointRegistry.isValidName(name) else {
                throw .invalid(
                    "Invalid value for \(field).name: '\(name)' may only contain alphanumeric characters, dashes and underscores (at most 63).")
            }
            guard !entities.contains(where: { $0.name == name }) else {
                throw .invalid("Invalid value for \(field).name: served entity name '\(name)' is used twice.")
            }
            entities.append(
                FakeServedEntity(
                    name: name, entityName: entityName, entityVersion: version, workloadSize: workloadSize,
                    scaleToZeroEnabled: scaleToZero))
        }
        return entities
    }

    /// `[{key, value?}]`; a missing value is the empty string.
    static func parseTags(_ value: JSONValue?, field: String) throws(DatabricksAPIError) -> [(key: String, value: String)] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else { throw .invalid("Invalid value for \(field): expected an array of {key, value}.") }
        var tags: [(key: String, value: String)] = []
        for (index, item) in items.enumerated() {
            guard case .object = item else { throw .invalid("Invalid value for \(field)[\(index)]: expected an object.") }
            guard let key = try string(item["key"], field: "\(field)[\(index)].key") else {
                throw .invalid("Missing required field: \(field)[\(index)].key.")
            }
            tags.append((key: key, value: try string(item["value"], field: "\(field)[\(index)].value") ?? ""))
        }
        return tags
    }

    /// A string field: nil when absent or null, a 400 when of another type.
    static func string(_ value: JSONValue?, field: String) throws(DatabricksAPIError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue else { throw .invalid("Invalid value for \(field): expected a string.") }
        return text
    }
}
