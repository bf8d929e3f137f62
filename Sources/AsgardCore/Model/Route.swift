/// Where one public model goes: the vendor's base URL and token by env var name, the path,
/// the upstream name, prices and the model's data-class ceiling. Built from `Service`
/// manifests (and applied serving endpoints) only: nothing here knows any vendor by name.
/// The store keeps the route table as rows of this type; the gateway reads them.
public struct Route: Sendable, Hashable, Codable {
    public var model: String
    public var vendor: String
    public var upstream: String
    public var baseURLEnv: String
    public var tokenEnv: String
    /// The manifest's `chat_path` override (with `{model}`), or nil for `/v1/chat/completions`.
    public var chatPath: String?
    public var timeoutSeconds: Int
    public var sendsUsageContext: Bool
    public var defaultMaxTokens: Int
    public var pricing: TokenPricing
    public var maxDataClass: DataClass
    /// The serving endpoint it came from, when provisioned rather than declared in a manifest.
    public var servingEndpoint: String?

    public init(model: String, vendor: String, upstream: String, baseURLEnv: String, tokenEnv: String, chatPath: String?,
                timeoutSeconds: Int, sendsUsageContext: Bool, defaultMaxTokens: Int, pricing: TokenPricing, maxDataClass: DataClass,
                servingEndpoint: String? = nil) {
        self.model = model
        self.vendor = vendor
        self.upstream = upstream
        self.baseURLEnv = baseURLEnv
        self.tokenEnv = tokenEnv
        self.chatPath = chatPath
        self.timeoutSeconds = timeoutSeconds
        self.sendsUsageContext = sendsUsageContext
        self.defaultMaxTokens = defaultMaxTokens
        self.pricing = pricing
        self.maxDataClass = maxDataClass
        self.servingEndpoint = servingEndpoint
    }

    /// Why a route cannot be called: its vendor's configuration is missing from the environment.
    public struct Unconfigured: Error, Sendable, Hashable, CustomStringConvertible {
        public var variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String { "the environment variable \(variable) is not set" }
    }

    /// The URL to POST to and the bearer token, read from `environment` by the names the
    /// manifest gives. Errors name the variable, never a value.
    public func endpoint(in environment: [String: String]) throws(Unconfigured) -> (url: String, token: String) {
        guard var base = environment[baseURLEnv], !base.isEmpty else { throw Unconfigured(variable: baseURLEnv) }
        guard let token = environment[tokenEnv], !token.isEmpty else { throw Unconfigured(variable: tokenEnv) }
        while base.hasSuffix("/") { base.removeLast() }
        let path = chatPath.map { $0.replacingOccurrences(of: "{model}", with: upstream) } ?? InferenceSpec.defaultChatPath
        return (base + path, token)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

