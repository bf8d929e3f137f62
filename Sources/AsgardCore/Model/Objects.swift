import AsgardJSON
public import Foundation

/// The six kinds of desired-state object.
public enum ObjectKind: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case service = "Service"
    case person = "Person"
    case project = "Project"
    case key = "Key"
    case servingEndpoint = "ServingEndpoint"
    case resource = "Resource"

    /// Creation order: what others refer to comes first. Deletion runs in reverse.
    public var applyOrder: Int {
        switch self {
        case .service: 0
        case .person: 1
        case .project: 2
        case .key: 3
        case .servingEndpoint: 4
        case .resource: 5
        }
    }

    public static func < (lhs: ObjectKind, rhs: ObjectKind) -> Bool { lhs.applyOrder < rhs.applyOrder }

    /// Whether objects of this kind are made real by the terraform connector.
    public var isProvisioned: Bool { self == .resource || self == .servingEndpoint }
}

/// `Kind/id`: names one object.
public struct ObjectRef: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var kind: ObjectKind
    public var id: String

    public init(_ kind: ObjectKind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind.rawValue)/\(id)" }

    public static func < (lhs: ObjectRef, rhs: ObjectRef) -> Bool { (lhs.kind, lhs.id) < (rhs.kind, rhs.id) }
}

/// Whether an action may be applied by the controller alone or needs a person's approval.
public enum Tier: String, Sendable, Hashable, Codable, CaseIterable {
    case auto
    case human
}

/// Someone who may request, approve or administer: an email and the digest of a personal
/// credential (`asgard keygen --person`). The admin API, and later MCP and the dashboard, know
/// who acts only from that credential; approvers and requesters must be people.
public struct Person: Sendable, Hashable, Codable {
    public var id: String
    /// Normalized (`normalizedEmail`): how approvals and Cedar name the person.
    public var email: String
    /// Lower-case hex SHA-256 of the personal credential.
    public var credential: String
    /// Cedar `Role`s the person is a member of (e.g. `admin`, which may engage kill switches
    /// under the shipped policies).
    public var roles: [String]

    public init(id: String, email: String, credential: String, roles: [String] = []) {
        self.id = id
        self.email = email
        self.credential = credential
        self.roles = roles
    }
}

/// A team's unit of ownership, budget and data classification.
public struct Project: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var owner: String
    public var classification: DataClass
    public var monthlyBudget: MicroDollars
    /// People who may approve this project's human-tier requests.
    public var approvers: [String]
    /// What the gateway's guardrails do with secrets and PII in this project's calls; nil
    /// means the default (redact, for every data class).
    public var guardrails: GuardrailSettings?
    /// The OpenAI projects (`proj_...`) whose spend is this project's (`openai_project_ids`):
    /// how the `openai-costs` source attributes the organization's costs. One OpenAI project
    /// belongs to one Asgard project at most.
    public var openAIProjectIDs: [String]

    public init(
        id: String, name: String, owner: String, classification: DataClass, monthlyBudget: MicroDollars, approvers: [String],
        guardrails: GuardrailSettings? = nil, openAIProjectIDs: [String] = []
    ) {
        self.id = id
        self.name = name
        self.owner = owner
        self.classification = classification
        self.monthlyBudget = monthlyBudget
        self.approvers = approvers
        self.guardrails = guardrails
        self.openAIProjectIDs = openAIProjectIDs
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, owner, classification, monthlyBudget, approvers, guardrails, openAIProjectIDs
    }

    /// Reads a project as stored, including projects stored before `openAIProjectIDs` existed
    /// (the field is then empty).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        owner = try container.decode(String.self, forKey: .owner)
        classification = try container.decode(DataClass.self, forKey: .classification)
        monthlyBudget = try container.decode(MicroDollars.self, forKey: .monthlyBudget)
        approvers = try container.decode([String].self, forKey: .approvers)
        guardrails = try container.decodeIfPresent(GuardrailSettings.self, forKey: .guardrails)
        openAIProjectIDs = try container.decodeIfPresent([String].self, forKey: .openAIProjectIDs) ?? []
    }

    /// Writes what the synthesized encoding wrote, and `openAIProjectIDs` only when there are
    /// any: a project that names none keeps its canonical JSON, so its content digest (and the
    /// controller's idea of whether it changed) is what it was before the field existed.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(owner, forKey: .owner)
        try container.encode(classification, forKey: .classification)
        try container.encode(monthlyBudget, forKey: .monthlyBudget)
        try container.encode(approvers, forKey: .approvers)
        try container.encodeIfPresent(guardrails, forKey: .guardrails)
        if !openAIProjectIDs.isEmpty { try container.encode(openAIProjectIDs, forKey: .openAIProjectIDs) }
    }
}

/// What the gateway does when a guardrail fires.
public enum GuardrailAction: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    /// Refuse the request: `400 guardrail_blocked`, naming the detector, never echoing the match.
    case block
    /// Replace each match with `[REDACTED:<detector>]` before the upstream (or the client) sees it.
    case redact
    /// Let the text through unchanged and record the findings (detector and offsets only).
    case log

    /// Ordered by strength: `log` < `redact` < `block`.
    public static func < (lhs: GuardrailAction, rhs: GuardrailAction) -> Bool { lhs.strength < rhs.strength }

    private var strength: Int {
        switch self {
        case .log: 0
        case .redact: 1
        case .block: 2
        }
    }
}

/// A project's guardrail actions: a default and overrides by data class.
///
/// Encoded as an object keyed by data-class name (`{"default": ..., "confidential": ...}`):
/// Codable would write a dictionary keyed by an enum as an array in hash order, which would
/// change the content digest from one process to the next.
public struct GuardrailSettings: Sendable, Hashable, Codable {
    public var defaultAction: GuardrailAction
    public var byDataClass: [DataClass: GuardrailAction]

    /// Redact everything unless told otherwise: the settings of a project that names none.
    public init(defaultAction: GuardrailAction = .redact, byDataClass: [DataClass: GuardrailAction] = [:]) {
        self.defaultAction = defaultAction
        self.byDataClass = byDataClass
    }

    /// The override for `dataClass`, else the default action.
    public func action(for dataClass: DataClass) -> GuardrailAction {
        byDataClass[dataClass] ?? defaultAction
    }

    /// The action for a call that declared `dataClass` to a project classified `classification`:
    /// the stronger of the two classes' actions, so declaring a lower class (or none) never
    /// weakens what the project's own classification asks for.
    public func action(for dataClass: DataClass, projectClassification classification: DataClass) -> GuardrailAction {
        max(action(for: dataClass), action(for: classification))
    }

    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        defaultAction = try container.decode(GuardrailAction.self, forKey: Name("default"))
        var byDataClass: [DataClass: GuardrailAction] = [:]
        for dataClass in DataClass.allCases {
            byDataClass[dataClass] = try container.decodeIfPresent(GuardrailAction.self, forKey: Name(dataClass.name))
        }
        self.byDataClass = byDataClass
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        try container.encode(defaultAction, forKey: Name("default"))
        for (dataClass, action) in byDataClass { try container.encode(action, forKey: Name(dataClass.name)) }
    }
}

/// A virtual key: the SHA-256 digest of a secret held by a project's agents, never the secret.
public struct Key: Sendable, Hashable, Codable {
    public var id: String
    public var project: String
    /// Lower-case hex SHA-256 of the key's secret (manifests write it as `sha256:<hex>`).
    public var digest: String
    /// Public model ids, or `<vendor>/*` for every model of a vendor.
    public var allowedModels: [String]
    public var maxDataClass: DataClass
    /// The data class assumed when a request does not state one.
    public var defaultDataClass: DataClass
    /// After this instant the key no longer authenticates.
    public var expires: Date?
    public var requestsPerMinute: Int?

    public init(
        id: String, project: String, digest: String, allowedModels: [String], maxDataClass: DataClass,
        defaultDataClass: DataClass, expires: Date? = nil, requestsPerMinute: Int? = nil
    ) {
        self.id = id
        self.project = project
        self.digest = digest
        self.allowedModels = allowedModels
        self.maxDataClass = maxDataClass
        self.defaultDataClass = defaultDataClass
        self.expires = expires
        self.requestsPerMinute = requestsPerMinute
    }
}

/// Prices per one million tokens.
public struct TokenPricing: Sendable, Hashable, Codable {
    public var inputPerMillion: MicroDollars
    public var outputPerMillion: MicroDollars

    public init(inputPerMillion: MicroDollars, outputPerMillion: MicroDollars) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
    }
}

/// A public model id routed to an upstream name at a vendor.
public struct ModelRoute: Sendable, Hashable, Codable {
    /// `<vendor>/<name>`, e.g. `databricks/llama-3-3-70b`.
    public var id: String
    /// The vendor's name for it, e.g. a Databricks serving endpoint name.
    public var upstream: String
    public var pricing: TokenPricing
    public var maxDataClass: DataClass

    public init(id: String, upstream: String, pricing: TokenPricing, maxDataClass: DataClass) {
        self.id = id
        self.upstream = upstream
        self.pricing = pricing
        self.maxDataClass = maxDataClass
    }
}

/// How the gateway reaches a vendor's chat API.
public struct InferenceSpec: Sendable, Hashable, Codable {
    public enum APIKind: String, Sendable, Hashable, Codable, CaseIterable {
        case openAICompatible = "openai-compatible"
    }

    public var kind: APIKind
    /// Name of the env var holding the base URL, e.g. `DATABRICKS_HOST`.
    public var baseURLEnv: String
    /// Name of the env var holding the bearer token, e.g. `DATABRICKS_TOKEN`.
    public var tokenEnv: String
    /// The `chat_path` override: appended to the base URL with `{model}` replaced by the
    /// upstream name (Databricks: `/serving-endpoints/{model}/invocations`). Nil means the
    /// OpenAI default, `/v1/chat/completions`, with the upstream name in the body's `model`.
    public var chatPath: String?

    /// The OpenAI-compatible default path used when there is no override.
    public static let defaultChatPath = "/v1/chat/completions"
    public var timeoutSeconds: Int
    /// Add `usage_context: {"project": <id>}` to request bodies (Databricks usage tracking).
    public var sendsUsageContext: Bool
    /// The completion-token cap assumed for budget reservations when a request sets no `max_tokens`.
    public var defaultMaxTokens: Int
    public var models: [ModelRoute]
    /// The header that carries the credential (`auth_header`); nil means `Authorization`.
    public var authHeader: String?
    /// The scheme before the credential in that header (`auth_scheme`); nil means `Bearer` in
    /// `Authorization` and none in any other header; `none` means the bare token.
    public var authScheme: String?

    public init(
        kind: APIKind, baseURLEnv: String, tokenEnv: String, chatPath: String?, timeoutSeconds: Int,
        sendsUsageContext: Bool, defaultMaxTokens: Int, models: [ModelRoute], authHeader: String? = nil, authScheme: String? = nil
    ) {
        self.authHeader = authHeader
        self.authScheme = authScheme
        self.kind = kind
        self.baseURLEnv = baseURLEnv
        self.tokenEnv = tokenEnv
        self.chatPath = chatPath
        self.timeoutSeconds = timeoutSeconds
        self.sendsUsageContext = sendsUsageContext
        self.defaultMaxTokens = defaultMaxTokens
        self.models = models
    }
}

/// Where a terraform resource type carries the `project=<id>` tag in a plan.
public struct TagLocation: Sendable, Hashable, Codable {
    public enum Format: String, Sendable, Hashable, Codable, CaseIterable {
        /// `path` is a map holding `project`.
        case map
        /// `path` is a list of `{key, value}` objects, one with key `project`.
        case keyValueList = "key-value-list"
        /// The type carries no tag of its own; it lives inside a tagged parent.
        case inherited
    }

    public var resourceType: String
    /// Attribute names from the resource's planned values down to the tag holder (empty for `inherited`).
    public var path: [String]
    public var format: Format

    public init(resourceType: String, path: [String], format: Format) {
        self.resourceType = resourceType
        self.path = path
        self.format = format
    }
}

/// A service Asgard can provision through terraform for a project.
public struct ProvisionableService: Sendable, Hashable, Codable {
    /// Globally unique name, e.g. `databricks-sql-warehouse`.
    public var name: String
    /// Module directory relative to the repository root, e.g. `modules/databricks/sql-warehouse`.
    public var module: String
    public var tier: Tier
    /// The lowest project classification allowed to request it.
    public var classificationFloor: DataClass
    public var monthlyEstimate: MicroDollars
    public var tagLocations: [TagLocation]
    /// How Asgard lists what this service created at the vendor, for drift (`observe`): the
    /// name of an observer the running Asgard registers, e.g. `databricks-serving-endpoints`.
    /// Nil: only terraform's state is compared.
    public var observer: String?
    /// How the monthly cost follows from a request's parameters (`cost_rule`); nil: the fixed
    /// `monthlyEstimate` stands for every request.
    public var costRule: CostRule?

    public init(
        name: String, module: String, tier: Tier, classificationFloor: DataClass, monthlyEstimate: MicroDollars, tagLocations: [TagLocation],
        observer: String? = nil, costRule: CostRule? = nil
    ) {
        self.observer = observer
        self.costRule = costRule
        self.name = name
        self.module = module
        self.tier = tier
        self.classificationFloor = classificationFloor
        self.monthlyEstimate = monthlyEstimate
        self.tagLocations = tagLocations
    }
}

/// The kinds of cost source Asgard can read, with the env var roles each needs.
public enum CostSourceType: String, Sendable, Hashable, Codable, CaseIterable {
    case databricksBilling = "databricks-billing"
    /// The OpenAI organization's Costs API (`/v1/organization/costs`), attributed to projects by
    /// their `openai_project_ids`.
    case openAICosts = "openai-costs"

    /// The roles (keys of `env:`) that must name an env var.
    ///
    /// `openai-costs`: `admin_key` names the variable holding an OpenAI **admin** key (the
    /// Costs API refuses project keys; the SDK's own name for it is `OPENAI_ADMIN_KEY`), and
    /// `base_url` the variable holding the API's base without `/v1` (`https://api.openai.com`,
    /// as the inference section's `OPENAI_BASE_URL` holds it). The key is a secret: only its
    /// variable's name is ever written down.
    public var requiredEnv: [String] {
        switch self {
        case .databricksBilling: ["host", "token", "warehouse_id"]
        case .openAICosts: ["admin_key", "base_url"]
        }
    }
}

/// Where a vendor's measured spend comes from.
public struct CostSource: Sendable, Hashable, Codable {
    public var type: CostSourceType
    /// Role → env var name, e.g. `warehouse_id` → `DATABRICKS_WAREHOUSE_ID`.
    public var env: [String: String]
    /// `reconcile_tolerance_percent`: when set, each rollup compares the gateway's token counts
    /// with the vendor's own per project and day, and flags a difference above this percent of
    /// the larger count as drift. Nil: no reconciliation.
    public var reconcileTolerancePercent: Int?

    public init(type: CostSourceType, env: [String: String], reconcileTolerancePercent: Int? = nil) {
        self.type = type
        self.env = env
        self.reconcileTolerancePercent = reconcileTolerancePercent
    }
}

/// A vendor plug-in manifest (`desired/services/<vendor>/service.yaml`); its id is the vendor.
public struct Service: Sendable, Hashable, Codable {
    public var id: String
    public var inference: InferenceSpec?
    public var provisionable: [ProvisionableService]
    public var costSource: CostSource?

    public init(id: String, inference: InferenceSpec?, provisionable: [ProvisionableService], costSource: CostSource?) {
        self.id = id
        self.inference = inference
        self.provisionable = provisionable
        self.costSource = costSource
    }
}

/// A value passed to a terraform module as a parameter. Numbers keep their decimal text.
public enum ParameterValue: Sendable, Hashable, Codable {
    case string(String)
    case number(String)
    case bool(Bool)
    case list([ParameterValue])
    case map([String: ParameterValue])
}

/// A vendor serving endpoint that Asgard provisions for a project and then fronts as a route.
public struct ServingEndpoint: Sendable, Hashable, Codable {
    /// The endpoint name at the vendor.
    public var id: String
    public var project: String
    /// The vendor (a `Service` id) that serves it.
    public var service: String
    /// The provisionable service that creates it, e.g. `databricks-model-serving`.
    public var provisioner: String
    /// The public model id the gateway routes to it, `<vendor>/<name>`.
    public var model: String
    public var maxDataClass: DataClass
    public var pricing: TokenPricing
    public var parameters: [String: ParameterValue]
    /// Who asked for it (an email); nil means the project's owner. They may not approve it.
    public var requestedBy: String?
    /// Other projects whose keys may call the model too (`shared_with`); nil or empty: only
    /// keys of `project`.
    public var sharedWith: [String]?

    public init(
        id: String, project: String, service: String, provisioner: String, model: String,
        maxDataClass: DataClass, pricing: TokenPricing, parameters: [String: ParameterValue], requestedBy: String? = nil,
        sharedWith: [String]? = nil
    ) {
        self.requestedBy = requestedBy
        self.sharedWith = sharedWith
        self.id = id
        self.project = project
        self.service = service
        self.provisioner = provisioner
        self.model = model
        self.maxDataClass = maxDataClass
        self.pricing = pricing
        self.parameters = parameters
    }
}

extension ServingEndpoint {
    /// Whether keys of `project` may call the endpoint's model: its own project, or one it is shared with.
    public func serves(project other: String) -> Bool {
        other == project || (sharedWith ?? []).contains(other)
    }
}

/// A project's request for a provisionable service.
public struct Resource: Sendable, Hashable, Codable {
    public var id: String
    public var project: String
    /// A provisionable service name, e.g. `databricks-sql-warehouse`.
    public var service: String
    public var parameters: [String: ParameterValue]
    /// Who asked for it (an email); nil means the project's owner. They may not approve it.
    public var requestedBy: String?

    public init(id: String, project: String, service: String, parameters: [String: ParameterValue], requestedBy: String? = nil) {
        self.requestedBy = requestedBy
        self.id = id
        self.project = project
        self.service = service
        self.parameters = parameters
    }
}

/// Any one desired-state object.
public enum DesiredObject: Sendable, Hashable, Codable {
    case service(Service)
    case person(Person)
    case project(Project)
    case key(Key)
    case servingEndpoint(ServingEndpoint)
    case resource(Resource)

    public var ref: ObjectRef {
        switch self {
        case .service(let s): ObjectRef(.service, s.id)
        case .person(let p): ObjectRef(.person, p.id)
        case .project(let p): ObjectRef(.project, p.id)
        case .key(let k): ObjectRef(.key, k.id)
        case .servingEndpoint(let e): ObjectRef(.servingEndpoint, e.id)
        case .resource(let r): ObjectRef(.resource, r.id)
        }
    }

    /// The project the object belongs to, if it belongs to one.
    public var projectID: String? {
        switch self {
        case .project(let p): p.id
        case .key(let k): k.project
        case .servingEndpoint(let e): e.project
        case .resource(let r): r.project
        case .service, .person: nil
        }
    }

    /// The provisionable service that creates the object, by name: a resource's `service`, a
    /// serving endpoint's `provisioner`; nil for every other kind.
    public var provisionerName: String? {
        switch self {
        case .resource(let r): r.service
        case .servingEndpoint(let e): e.provisioner
        case .service, .person, .project, .key: nil
        }
    }

    /// The `requested_by` of a resource or serving endpoint, when it names one.
    public var requestedBy: String? {
        switch self {
        case .resource(let r): r.requestedBy
        case .servingEndpoint(let e): e.requestedBy
        case .service, .person, .project, .key: nil
        }
    }

    /// The parameters passed to the module of a resource or serving endpoint; empty for every other kind.
    public var parameters: [String: ParameterValue] {
        switch self {
        case .resource(let r): r.parameters
        case .servingEndpoint(let e): e.parameters
        case .service, .person, .project, .key: [:]
        }
    }

    /// Canonical JSON of the object (sorted keys): what digests and the store are built from.
    public var canonicalJSON: String {
        // These plain value types hold no floating-point value, so encoding cannot fail.
        (try? CanonicalJSON.encode(self)) ?? ""
    }

    /// SHA-256 of `canonicalJSON`, hex: changes exactly when the object's content changes.
    public var specDigest: String { SHA256.hex(canonicalJSON) }
}

/// An email address as Asgard compares people: surrounding whitespace dropped and lower-cased,
/// so `Approver@Example.com` and `approver@example.com` are one person (mail systems treat
/// addresses case-insensitively in practice, and a requester must not approve their own request
/// by changing letter case).
public func normalizedEmail(_ email: String) -> String {
    email.trimmingCharacters(in: .whitespaces).lowercased()
}
