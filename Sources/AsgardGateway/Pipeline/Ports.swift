public import AsgardCore

// The gateway's effects, each behind a small protocol: the server implements them (HTTP to the
// vendors, the call journal, Prometheus), and the pipeline is tested through the same ones.

/// A request to a vendor, as an inference adapter built it.
public struct UpstreamRequest: Sendable {
    public var url: String
    /// The credential's header among them.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(url: String, headers: [(String, String)], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A vendor's whole answer: status and body bytes.
public struct UpstreamReply: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?

    public init(status: Int, body: [UInt8], contentType: String? = nil) {
        self.status = status
        self.body = body
        self.contentType = contentType
    }
}

/// A vendor's answer whose body is still arriving (a stream).
public protocol UpstreamBody: Sendable {
    /// Reads the body chunk by chunk, with arbitrary boundaries, until it ends or `consume`
    /// returns false. Read it once.
    /// - Throws: the transport's error when the stream breaks; whatever `consume` throws.
    func read(_ consume: ([UInt8]) async throws -> Bool) async throws
}

/// How a streamed request began: a non-2xx answer read whole, or a 2xx body still streaming.
public enum UpstreamOpening: Sendable {
    case refused(UpstreamReply)
    case streaming(any UpstreamBody)
}

/// Carries requests to vendors (the server's `HTTPUpstream`, over one connection pool).
public protocol UpstreamTransport: Sendable {
    /// Sends `request` and reads the whole answer within `timeoutSeconds`.
    /// - Throws: `GatewayError.upstreamUnreachable` when the request was not delivered (the
    ///   vendor did nothing); `GatewayError.upstreamTimeout` or `upstreamFailed` when it may have
    ///   been (never naming a header value).
    func send(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> UpstreamReply

    /// Sends `request` for a stream and returns at the response head; `timeoutSeconds` bounds
    /// the wait for it.
    /// - Throws: as `send`.
    func open(_ request: UpstreamRequest, timeoutSeconds: Int) async throws(GatewayError) -> UpstreamOpening
}

/// Where finished calls go, durably, before the caller hears the answer (the server's
/// `CallRecorder`, into the call journal).
public protocol CallRecording: Sendable {
    /// Returns once the call's ledger row (if any) and audit entry are durable.
    func record(ledger: LedgerEntry?, audit: AuditEntry) async throws
}

/// What the gateway counts (the server's Prometheus metrics).
public protocol GatewayMetering: Sendable {
    /// A failed upstream call, by vendor and Asgard's error code.
    func upstreamError(vendor: String, code: String)
    /// Metered spend.
    func spend(project: String, vendor: String, micros: Int64)
    /// A vendor reported more usage than the request could have produced; the bound was charged.
    func overrun(project: String, vendor: String, model: String, requestID: String)
    /// A chat call whose credential matched no key (not audited, only counted).
    func unauthenticated(code: String)
}

/// Counts nothing: for gateways without metrics.
public struct NoMetering: GatewayMetering {
    public init() {}
    public func upstreamError(vendor: String, code: String) {}
    public func spend(project: String, vendor: String, micros: Int64) {}
    public func overrun(project: String, vendor: String, model: String, requestID: String) {}
    public func unauthenticated(code: String) {}
}
