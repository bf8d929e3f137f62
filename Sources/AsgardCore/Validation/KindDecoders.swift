import Foundation

/// Decodes one YAML document into a desired-state object, strictly: every problem is
/// reported to `context` with its position; nil when anything was wrong.
func decodeObject(_ document: YAMLNode, context: DecodeContext) -> DesiredObject? {
    context.object = nil
    guard case .mapping(let pairs) = document.value else {
        context.error(at: document, "", "expected a mapping with `kind:` and `id:`, found \(document.kindDescription)")
        return nil
    }
    guard let kindPair = pairs.first(where: { $0.key == "kind" }) else {
        context.error(at: document, "kind", "missing required field (one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        return nil
    }
    guard let kindText = Fields.string(kindPair.value, context: context, path: "kind") else { return nil }
    guard let kind = ObjectKind(rawValue: kindText) else {
        context.error(at: kindPair.value, "kind", "\(quoted(kindText)) is not one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }
    if let idPair = pairs.first(where: { $0.key == "id" }), case .scalar(let scalar) = idPair.value.value,
        !SecretDetector.mayContainSecret(scalar.text)
    {
        context.object = "\(kind.rawValue)/\(scalar.text)"
    } else {
        context.object = kind.rawValue
    }
    switch kind {
    case .person: return decodePerson(document, context).map(DesiredObject.person)
    case .project: return decodeProject(document, context).map(DesiredObject.project)
    case .key: return decodeKey(document, context).map(DesiredObject.key)
    case .service: return decodeService(document, context).map(DesiredObject.service)
    case .servingEndpoint: return decodeServingEndpoint(document, context).map(DesiredObject.servingEndpoint)
    case .resource: return decodeResource(document, context).map(DesiredObject.resource)
    }
}

private func id(_ f: Fields) -> String? {
    f.string("id", matching: Rules.isID, expected: "a valid id (lower-case letters, digits and -, at most 63, starting with a letter or digit)")
}

private func projectRef(_ f: Fields) -> String? {
    f.string("project", matching: Rules.isID, expected: "a valid project id")
}

/// `kind: Person`: an email (kept normalized), the digest of a personal credential, and roles.
private func decodePerson(_ node: YAMLNode, _ context: DecodeContext) -> Person? {
    guard let f = context.fields(node, at: "", required: ["kind", "id", "email", "credential"], optional: ["roles"]) else { return nil }
    let id = id(f)
    let email = f.string("email", matching: { Rules.isEmail(normalizedEmail($0)) }, expected: "an email address (name@domain, no spaces)")
        .map(normalizedEmail)
    let credential = f.string(
        "credential", matching: Rules.isKeyDigest,
        expected: "a credential digest of the form sha256:<64 lower-case hex digits> (run `asgard keygen --person`)")
    let roles = f.has("roles") ? f.strings("roles", matching: Rules.isID, expected: "a Cedar role id (lower-case letters, digits and -)") : []
    guard let id, let email, let credential, let roles else { return nil }
    return Person(id: id, email: email, credential: String(credential.dropFirst(7)), roles: roles)
}

private func decodeProject(_ node: YAMLNode, _ context: DecodeContext) -> Project? {
    guard
        let f = context.fields(
            node, at: "", required: ["kind", "id", "name", "owner", "classification", "monthly_budget_usd"],
            optional: ["approvers", "guardrails", "openai_project_ids"])
    else { return nil }
    let id = id(f)
    let name = f.string("name")
    let owner = f.string("owner").map(normalizedEmail)
    let classification = f.dataClass("classification")
    let budget = f.dollars("monthly_budget_usd")
    let approvers = f.has("approvers") ? f.strings("approvers")?.map(normalizedEmail) : []
    let guardrails = f.optional("guardrails") { name in f.node(name).flatMap { decodeGuardrails($0, context) } }
    let openAIProjects = f.has("openai_project_ids") ? decodeOpenAIProjectIDs(f, context) : []
    guard let id, let name, let owner, let classification, let budget, let approvers, let guardrails, let openAIProjects else { return nil }
    return Project(
        id: id, name: name, owner: owner, classification: classification, monthlyBudget: budget, approvers: approvers,
        guardrails: guardrails, openAIProjectIDs: openAIProjects)
}

/// `openai_project_ids: [proj_abc123, ...]`: each an OpenAI project id, none twice. (That no
/// two Asgard projects name one OpenAI project is checked across objects.)
private func decodeOpenAIProjectIDs(_ f: Fields, _ context: DecodeContext) -> [String]? {
    guard
        let ids = f.strings(
            "openai_project_ids", matching: Rules.isOpenAIProjectID,
            expected: "an OpenAI project id (proj_ followed by 1 to 64 letters and digits, e.g. proj_abc123, as the OpenAI dashboard shows it)")
    else { return nil }
    var seen: Set<String> = []
    var ok = true
    if case .sequence(let items)? = f.node("openai_project_ids")?.value {
        for (index, id) in ids.enumerated() where !seen.insert(id).inserted {
            context.error(at: items[index], "\(f.fieldPath("openai_project_ids"))[\(index)]", "\(quoted(id)) is named twice")
            ok = false
        }
    }
    return ok ? ids : nil
}

/// `guardrails: {default: redact, confidential: block, ...}`: an action per data class.
private func decodeGuardrails(_ node: YAMLNode, _ context: DecodeContext) -> GuardrailSettings? {
    guard let f = context.fields(node, at: "guardrails", required: [], optional: ["default"] + DataClass.allCases.map(\.name)) else { return nil }
    let actions = GuardrailAction.allCases.map(\.rawValue)
    var ok = true
    let defaultAction = f.has("default") ? f.enumeration("default", actions).flatMap(GuardrailAction.init(rawValue:)) : .redact
    if defaultAction == nil { ok = false }
    var byClass: [DataClass: GuardrailAction] = [:]
    for dataClass in DataClass.allCases where f.has(dataClass.name) {
        guard let action = f.enumeration(dataClass.name, actions).flatMap(GuardrailAction.init(rawValue:)) else {
            ok = false
            continue
        }
        byClass[dataClass] = action
    }
    guard ok, let defaultAction else { return nil }
    return GuardrailSettings(defaultAction: defaultAction, byDataClass: byClass)
}

private func decodeKey(_ node: YAMLNode, _ context: DecodeContext) -> Key? {
    guard
        let f = context.fields(
            node, at: "", required: ["kind", "id", "project", "digest", "allowed_models", "max_data_class"],
            optional: ["default_data_class", "expires", "requests_per_minute"])
    else { return nil }
    let id = id(f)
    let project = projectRef(f)
    let digest = f.string(
        "digest", matching: Rules.isKeyDigest, expected: "a key digest of the form sha256:<64 lower-case hex digits> (run `asgard keygen`)")
    let models = f.strings(
        "allowed_models", matching: { Rules.isModelID($0) || isVendorWildcard($0) },
        expected: "a model id of the form <vendor>/<name>, or <vendor>/* for all of a vendor's models")
    let maxClass = f.dataClass("max_data_class")
    let defaultClass = f.has("default_data_class") ? f.dataClass("default_data_class") : (maxClass.map { min($0, .internal) })
    let expires = f.optional("expires", f.instant)
    let rpm = f.optional("requests_per_minute") { f.integer($0, in: 1...1_000_000) }
    guard let id, let project, let digest, let models, let maxClass, let defaultClass, let expires, let rpm else { return nil }
    if defaultClass > maxClass, let n = f.node("default_data_class") {
        context.error(at: n, "default_data_class", "\(defaultClass.name) is above max_data_class \(maxClass.name)")
        return nil
    }
    return Key(
        id: id, project: project, digest: String(digest.dropFirst(7)), allowedModels: models, maxDataClass: maxClass,
        defaultDataClass: defaultClass, expires: expires, requestsPerMinute: rpm)
}

func isVendorWildcard(_ text: String) -> Bool {
    text.hasSuffix("/*") && Rules.isID(String(text.dropLast(2)))
}

private func decodeService(_ node: YAMLNode, _ context: DecodeContext) -> Service? {
    guard let f = context.fields(node, at: "", required: ["kind", "id"], optional: ["inference", "provisionable", "cost_source"]) else { return nil }
    let id = id(f)
    var ok = true
    var inference: InferenceSpec?
    if let n = f.node("inference") {
        inference = decodeInference(n, context)
        ok = ok && inference != nil
    }
    let provisionable = f.has("provisionable") ? f.list("provisionable") { decodeProvisionable($0, $1, context) } : []
    var costSource: CostSource?
    if let n = f.node("cost_source") {
        costSource = decodeCostSource(n, context)
        ok = ok && costSource != nil
    }
    if f.pairs.keys.allSatisfy({ $0 == "kind" || $0 == "id" }) {
        context.error(at: node, "", "a service needs at least one of inference, provisionable, cost_source")
        return nil
    }
    guard ok, let id, let provisionable else { return nil }
    return Service(id: id, inference: inference, provisionable: provisionable, costSource: costSource)
}

private func decodeInference(_ node: YAMLNode, _ context: DecodeContext) -> InferenceSpec? {
    guard
        let f = context.fields(
            node, at: "inference", required: ["kind", "base_url_env", "token_env", "models"],
            optional: ["chat_path", "timeout_seconds", "usage_context", "default_max_tokens", "auth_header", "auth_scheme"])
    else { return nil }
    let kind = f.enumeration("kind", InferenceSpec.APIKind.allCases.map(\.rawValue)).flatMap(InferenceSpec.APIKind.init(rawValue:))
    let baseURL = f.envVarName("base_url_env")
    let token = f.envVarName("token_env")
    // An override exists to put the model in the path; without one the model goes in the body.
    let chatPath = f.optional("chat_path") {
        f.string(
            $0, matching: Rules.isChatPath,
            expected:
                "a URL path starting with / that contains the {model} placeholder, e.g. /serving-endpoints/{model}/invocations (leave chat_path out to use /v1/chat/completions with the model in the body)"
        )
    }
    let timeout = f.has("timeout_seconds") ? f.integer("timeout_seconds", in: 1...3600) : 60
    let usage = f.has("usage_context") ? f.bool("usage_context") : false
    let maxTokens = f.has("default_max_tokens") ? f.integer("default_max_tokens", in: 1...10_000_000) : 4096
    let models = f.list("models") { decodeModel($0, $1, context) }
    // The credential's header and scheme, for vendors that do not take `Authorization: Bearer`
    // (Azure OpenAI takes `api-key: <key>`).
    let authHeader = f.optional("auth_header") {
        f.string(
            $0, matching: Rules.isCredentialHeader,
            expected: "a header name (letters, digits and -) other than one Asgard sets itself (Content-Type, Accept, Host, Content-Length)")
    }
    let authScheme = f.optional("auth_scheme") {
        f.string(
            $0, matching: Rules.isAuthScheme,
            expected: "an authorization scheme such as Bearer or Token (letters, digits and -), or none for the bare token")
    }
    guard let kind, let baseURL, let token, let chatPath, let timeout, let usage, let maxTokens, let models, let authHeader, let authScheme else {
        return nil
    }
    if models.isEmpty, let n = f.node("models") {
        context.error(at: n, "inference.models", "must list at least one model")
        return nil
    }
    return InferenceSpec(
        kind: kind, baseURLEnv: baseURL, tokenEnv: token, chatPath: chatPath, timeoutSeconds: timeout,
        sendsUsageContext: usage, defaultMaxTokens: maxTokens, models: models, authHeader: authHeader, authScheme: authScheme)
}

private func decodePricing(_ f: Fields) -> TokenPricing? {
    let input = f.dollars("price_per_1m_input_usd")
    let output = f.dollars("price_per_1m_output_usd")
    guard let input, let output else { return nil }
    return TokenPricing(inputPerMillion: input, outputPerMillion: output)
}

private func decodeModel(_ node: YAMLNode, _ path: String, _ context: DecodeContext) -> ModelRoute? {
    guard let f = context.fields(node, at: path, required: ["id", "upstream", "price_per_1m_input_usd", "price_per_1m_output_usd", "max_data_class"])
    else { return nil }
    let id = f.string("id", matching: Rules.isModelID, expected: "a model id of the form <vendor>/<name>")
    let upstream = f.string(
        "upstream", matching: Rules.isEndpointName, expected: "an upstream model or endpoint name (letters, digits, - and _, at most 63)")
    let pricing = decodePricing(f)
    let maxClass = f.dataClass("max_data_class")
    guard let id, let upstream, let pricing, let maxClass else { return nil }
    return ModelRoute(id: id, upstream: upstream, pricing: pricing, maxDataClass: maxClass)
}

private func decodeProvisionable(_ node: YAMLNode, _ path: String, _ context: DecodeContext) -> ProvisionableService? {
    guard
        let f = context.fields(
            node, at: path, required: ["name", "module", "tier", "classification_floor", "monthly_estimate_usd", "tags"],
            optional: ["observe", "cost_rule"])
    else { return nil }
    let name = f.string("name", matching: Rules.isID, expected: "a valid service name (lower-case letters, digits and -)")
    let module = f.string(
        "module", matching: Rules.isModulePath, expected: "a module directory under modules/, e.g. modules/databricks/sql-warehouse")
    let tier = f.enumeration("tier", Tier.allCases.map(\.rawValue)).flatMap(Tier.init(rawValue:))
    let floor = f.dataClass("classification_floor")
    let estimate = f.dollars("monthly_estimate_usd")
    let tags = f.list("tags") { decodeTagLocation($0, $1, context) }
    let observer = f.optional("observe") {
        f.string($0, matching: Rules.isID, expected: "the name of a drift observer, e.g. databricks-serving-endpoints")
    }
    let costRule = f.optional("cost_rule") { f.node($0).flatMap { decodeCostRule($0, join(path, "cost_rule"), context) } }
    guard let name, let module, let tier, let floor, let estimate, let tags, let observer, let costRule else { return nil }
    if tags.isEmpty, let n = f.node("tags") {
        context.error(at: n, join(path, "tags"), "must say where the project tag lives for at least one terraform resource type")
        return nil
    }
    return ProvisionableService(
        name: name, module: module, tier: tier, classificationFloor: floor, monthlyEstimate: estimate, tagLocations: tags,
        observer: observer, costRule: costRule)
}

/// `cost_rule: {parameter: cluster_size, monthly_usd: {2X-Small: 300, ...}, multiply_by: max_num_clusters}`.
private func decodeCostRule(_ node: YAMLNode, _ path: String, _ context: DecodeContext) -> CostRule? {
    guard let f = context.fields(node, at: path, required: ["parameter", "monthly_usd"], optional: ["multiply_by"]) else { return nil }
    let name = "a parameter name (letters, digits and _, starting with a letter)"
    let parameter = f.string("parameter", matching: Rules.isParameterName, expected: name)
    let multiplyBy = f.optional("multiply_by") { f.string($0, matching: Rules.isParameterName, expected: name) }
    var monthly: [String: MicroDollars]?
    if let table = f.node("monthly_usd") {
        guard case .mapping(let pairs) = table.value else {
            context.error(
                at: table, join(path, "monthly_usd"),
                "expected a mapping from \(parameter ?? "the parameter")'s values to US dollars a month, found \(table.kindDescription)")
            return nil
        }
        let figures = context.fields(table, at: join(path, "monthly_usd"), required: [], optional: pairs.map(\.key))
        var read: [String: MicroDollars] = [:]
        for pair in pairs {
            guard let figure = figures?.dollars(pair.key) else { continue }
            read[pair.key] = figure
        }
        if pairs.isEmpty {
            context.error(
                at: table, join(path, "monthly_usd"), "must give a monthly figure for at least one value of \(parameter ?? "the parameter")")
        } else if read.count == pairs.count {
            monthly = read
        }
    }
    guard let parameter, let multiplyBy, let monthly else { return nil }
    if multiplyBy == parameter, let n = f.node("multiply_by") {
        context.error(at: n, join(path, "multiply_by"), "must name another parameter than \(parameter), whose value picks the figure")
        return nil
    }
    return CostRule(parameter: parameter, monthly: monthly, multiplyBy: multiplyBy)
}

private func decodeTagLocation(_ node: YAMLNode, _ path: String, _ context: DecodeContext) -> TagLocation? {
    guard let f = context.fields(node, at: path, required: ["resource_type", "format"], optional: ["path"]) else { return nil }
    let type = f.string("resource_type", matching: Rules.isParameterName, expected: "a terraform resource type such as databricks_sql_endpoint")
    let format = f.enumeration("format", TagLocation.Format.allCases.map(\.rawValue)).flatMap(TagLocation.Format.init(rawValue:))
    let tagPath =
        f.has("path")
        ? f.string("path").flatMap { text -> [String]? in
            let segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard segments.allSatisfy(Rules.isParameterName) else {
                if let n = f.node("path") {
                    context.error(at: n, join(path, "path"), "\(quoted(text)) is not a dotted attribute path such as tags.custom_tags")
                }
                return nil
            }
            return segments
        } : []
    guard let type, let format, let tagPath else { return nil }
    if format == .inherited, !tagPath.isEmpty, let n = f.node("path") {
        context.error(at: n, join(path, "path"), "an inherited tag has no path of its own")
        return nil
    }
    if format != .inherited, tagPath.isEmpty {
        context.error(at: node, join(path, "path"), "missing required field (format \(format.rawValue) needs the attribute path of the tag)")
        return nil
    }
    return TagLocation(resourceType: type, path: tagPath, format: format)
}

private func decodeCostSource(_ node: YAMLNode, _ context: DecodeContext) -> CostSource? {
    guard let f = context.fields(node, at: "cost_source", required: ["type", "env"], optional: ["reconcile_tolerance_percent"]) else { return nil }
    let type = f.enumeration("type", CostSourceType.allCases.map(\.rawValue)).flatMap(CostSourceType.init(rawValue:))
    let tolerance = f.has("reconcile_tolerance_percent") ? f.integer("reconcile_tolerance_percent", in: 0...100) : nil
    if f.has("reconcile_tolerance_percent") && tolerance == nil { return nil }
    guard let type, let envNode = f.node("env") else { return nil }
    guard let env = context.fields(envNode, at: "cost_source.env", required: type.requiredEnv) else { return nil }
    var names: [String: String] = [:]
    for role in type.requiredEnv {
        guard let name = env.envVarName(role) else { return nil }
        names[role] = name
    }
    return CostSource(type: type, env: names, reconcileTolerancePercent: tolerance)
}

private func decodeServingEndpoint(_ node: YAMLNode, _ context: DecodeContext) -> ServingEndpoint? {
    guard
        let f = context.fields(
            node, at: "",
            required: [
                "kind", "id", "project", "service", "provisioner", "model", "max_data_class",
                "price_per_1m_input_usd", "price_per_1m_output_usd",
            ],
            optional: ["parameters", "requested_by", "shared_with"])
    else { return nil }
    let id = f.string("id", matching: Rules.isEndpointName, expected: "a serving endpoint name (letters, digits, - and _, at most 63)")
    let project = projectRef(f)
    let service = f.string("service", matching: Rules.isID, expected: "a vendor service id")
    let provisioner = f.string("provisioner", matching: Rules.isID, expected: "a provisionable service name")
    let model = f.string("model", matching: Rules.isModelID, expected: "a model id of the form <vendor>/<name>")
    let maxClass = f.dataClass("max_data_class")
    let pricing = decodePricing(f)
    let parameters = f.has("parameters") ? f.parameters("parameters") : [:]
    let requestedBy = f.has("requested_by") ? f.string("requested_by").map(normalizedEmail) : nil
    let sharedWith = f.optional("shared_with") { f.strings($0, matching: Rules.isID, expected: "a valid project id") }
    guard let id, let project, let service, let provisioner, let model, let maxClass, let pricing, let parameters, let sharedWith else {
        return nil
    }
    guard !f.has("requested_by") || requestedBy != nil else { return nil }
    return ServingEndpoint(
        id: id, project: project, service: service, provisioner: provisioner, model: model,
        maxDataClass: maxClass, pricing: pricing, parameters: parameters, requestedBy: requestedBy,
        sharedWith: sharedWith.flatMap { $0.isEmpty ? nil : $0 })
}

private func decodeResource(_ node: YAMLNode, _ context: DecodeContext) -> Resource? {
    guard let f = context.fields(node, at: "", required: ["kind", "id", "project", "service"], optional: ["parameters", "requested_by"]) else {
        return nil
    }
    let id = id(f)
    let project = projectRef(f)
    let service = f.string("service", matching: Rules.isID, expected: "a provisionable service name")
    let parameters = f.has("parameters") ? f.parameters("parameters") : [:]
    let requestedBy = f.has("requested_by") ? f.string("requested_by").map(normalizedEmail) : nil
    guard let id, let project, let service, let parameters else { return nil }
    guard !f.has("requested_by") || requestedBy != nil else { return nil }
    return Resource(id: id, project: project, service: service, parameters: parameters, requestedBy: requestedBy)
}
