/// Where one public model goes: the vendor's API kind, base URL and credential by env var name,
/// the credential's header, the path, the upstream name, prices and the model's data-class
/// ceiling. Built from `Service` manifests (and applied serving endpoints) only: nothing here
/// knows any vendor by name. The store keeps the route table as rows of this type; the gateway
/// reads them.
public struct Route: Sendable, Hashable, Codable {
    public var model: String
    public var vendor: String
    /// The vendor's API, which picks the gateway's inference adapter.
    public var kind: InferenceSpec.APIKind
    public var upstream: String
    public var baseURLEnv: String
    public var tokenEnv: String
    /// The manifest's `chat_path` override (with `{model}`), or nil for `/v1/chat/completions`.
    public var chatPath: String?
    /// The manifest's `auth_header` and `auth_scheme` (see `InferenceSpec`).
    public var authHeader: String?
    public var authScheme: String?
    public var timeoutSeconds: Int
    public var sendsUsageContext: Bool
    public var defaultMaxTokens: Int
    public var pricing: TokenPricing
    public var maxDataClass: DataClass
    /// The serving endpoint it came from, when provisioned rather than declared in a manifest.
    public var servingEndpoint: String?
    /// The project that owns the serving endpoint (nil for a manifest's model, which any
    /// project's keys may be allowed): only its keys, and those of `sharedWith`, may call it.
    public var project: String?
    /// The other projects the serving endpoint names in `shared_with`.
    public var sharedWith: [String]

    public init(
        model: String, vendor: String, kind: InferenceSpec.APIKind = .openAICompatible, upstream: String, baseURLEnv: String,
        tokenEnv: String, chatPath: String?, authHeader: String? = nil, authScheme: String? = nil, timeoutSeconds: Int,
        sendsUsageContext: Bool, defaultMaxTokens: Int, pricing: TokenPricing, maxDataClass: DataClass, servingEndpoint: String? = nil,
        project: String? = nil, sharedWith: [String] = []
    ) {
        self.project = project
        self.sharedWith = sharedWith
        self.model = model
        self.vendor = vendor
        self.kind = kind
        self.upstream = upstream
        self.baseURLEnv = baseURLEnv
        self.tokenEnv = tokenEnv
        self.chatPath = chatPath
        self.authHeader = authHeader
        self.authScheme = authScheme
        self.timeoutSeconds = timeoutSeconds
        self.sendsUsageContext = sendsUsageContext
        self.defaultMaxTokens = defaultMaxTokens
        self.pricing = pricing
        self.maxDataClass = maxDataClass
        self.servingEndpoint = servingEndpoint
    }

    /// A route of `vendor`'s inference spec: its connection settings, with a model's own parts.
    public init(
        model: String, vendor: String, inference: InferenceSpec, upstream: String, pricing: TokenPricing, maxDataClass: DataClass,
        servingEndpoint: String? = nil, project: String? = nil, sharedWith: [String] = []
    ) {
        self.init(
            model: model, vendor: vendor, kind: inference.kind, upstream: upstream, baseURLEnv: inference.baseURLEnv,
            tokenEnv: inference.tokenEnv, chatPath: inference.chatPath, authHeader: inference.authHeader,
            authScheme: inference.authScheme, timeoutSeconds: inference.timeoutSeconds, sendsUsageContext: inference.sendsUsageContext,
            defaultMaxTokens: inference.defaultMaxTokens, pricing: pricing, maxDataClass: maxDataClass, servingEndpoint: servingEndpoint,
            project: project, sharedWith: sharedWith)
    }

    /// Why a route cannot be called: an environment variable it names is unset or empty.
    public struct Unconfigured: Error, Sendable, Hashable, CustomStringConvertible {
        public var variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String { "the environment variable \(variable) is not set" }
    }

    /// Where to send calls and how to present the credential, read from `environment` by the
    /// names the manifest gives. Errors name the variable, never a value.
    public func resolve(in environment: [String: String]) throws(Unconfigured) -> UpstreamEndpoint {
        guard var base = environment[baseURLEnv], !base.isEmpty else { throw Unconfigured(variable: baseURLEnv) }
        guard let token = environment[tokenEnv], !token.isEmpty else { throw Unconfigured(variable: tokenEnv) }
        while base.hasSuffix("/") { base.removeLast() }
        let path = chatPath.map { $0.replacingOccurrences(of: "{model}", with: upstream) } ?? InferenceSpec.defaultChatPath
        let header = authHeader ?? "Authorization"
        let scheme = authScheme ?? (header.lowercased() == "authorization" ? "Bearer" : "none")
        return UpstreamEndpoint(
            url: base + path, credentialHeader: header, credential: scheme == "none" ? token : "\(scheme) \(token)",
            secrets: [token])
    }
}

/// A route's upstream resolved against the environment: resolved once per gateway snapshot.
public struct UpstreamEndpoint: Sendable, Hashable {
    public var url: String
    /// The header that carries the credential, and its whole value (scheme and token).
    public var credentialHeader: String
    public var credential: String
    /// What must never leave the process: scrubbed from anything the vendor echoes back.
    public var secrets: [String]

    public init(url: String, credentialHeader: String, credential: String, secrets: [String]) {
        self.url = url
        self.credentialHeader = credentialHeader
        self.credential = credential
        self.secrets = secrets
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
