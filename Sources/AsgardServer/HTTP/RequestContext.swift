public import AsgardController
public import AsgardCore
public import AsgardGateway
public import Foundation
import HTTPTypes
public import Hummingbird
public import NIOCore

/// The context of every Asgard route: Hummingbird's core storage, and who called once an
/// authentication middleware has run. Handlers read `caller` or `admin`; they never look at
/// credentials themselves.
public struct AsgardRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The key that called, set by `KeyAuthentication`.
    public var caller: Caller?
    /// The operator, set by `AdminAuthentication`.
    public var admin: Operator?
    /// The person whose personal credential authenticated the admin request; nil for the admin
    /// credential, which acts as no person.
    public var person: Person?
    /// The connection the request came on (its body's deadline closes the connection's input).
    public let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// JSON with sorted keys: the same bytes for the same answer.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The caller a `KeyAuthentication` middleware set.
    /// - Throws: `GatewayError.invalidAPIKey` when the route is not behind one (a wiring mistake).
    func authenticatedCaller() throws(GatewayError) -> Caller {
        guard let caller else { throw .invalidAPIKey }
        return caller
    }
}

/// Authentication of Asgard virtual keys, once, in front of every route that takes one
/// (`/v1/models`, usage, chat): `KeyAuthenticator` decides (unknown, expired, killed keys are
/// refused with an OpenAI error object), and the route sees `context.caller`. `refuse` answers
/// a refusal; the chat routes' one also audits it as a `gateway.invoke`.
struct KeyAuthentication: RouterMiddleware {
    typealias Context = AsgardRequestContext
    let authenticator: KeyAuthenticator
    let refuse: @Sendable (GatewayError, Key?) async -> GatewayResponse

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var identified: Key?
        do throws(GatewayError) {
            context.caller = try authenticator.authenticate(request.headers[.authorization]) { identified = $0 }
        } catch {
            return Response(await refuse(error, identified))
        }
        return try await next(request, context)
    }
}

/// Authentication in front of the admin API. Two credentials are accepted:
/// - a person's own (`asgard keygen --person`, its digest committed in their `Person`): they act
///   as `User::"<email>"` in their roles, and may decide approvals;
/// - the admin credential (`ASGARD_ADMIN_KEY_SHA256`), whose holder acts as `Operator.adminCredential`
///   (`User::"admin"` in `Role::"admin"`) and is no person, so it decides no approval.
///
/// Anyone else gets 401. Who acts comes only from here, never from a request body.
struct AdminAuthentication: RouterMiddleware {
    typealias Context = AsgardRequestContext
    /// Lower-case hex digest of the admin credential; nil when there is none.
    let digest: String?
    let snapshot: SnapshotBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = bearerDigest(request.headers[.authorization]) else { throw GatewayError.invalidAPIKey }
        // People are known once the first configuration is published.
        guard let (admin, person) = try identify(presented) else { throw GatewayError.invalidAPIKey }
        var context = context
        context.admin = admin
        context.person = person
        return try await next(request, context)
    }

    /// The operator a credential digest is (and the person, unless it is the admin credential);
    /// nil when it is neither.
    /// - Throws: `GatewayError.starting` before people are known.
    func identify(_ presented: String) throws(GatewayError) -> (Operator, Person?)? {
        if let digest, constantTimeEqual(presented, digest) { return (.adminCredential, nil) }
        guard let current = snapshot.current else { throw GatewayError.starting }
        guard let person = current.person(credentialDigest: presented) else { return nil }
        return (Operator(id: person.email, roles: person.roles, via: "api"), person)
    }
}

/// Authentication for routes both operators and keys may call (the cost report): the admin
/// credential or a person's, as `AdminAuthentication`; otherwise a key, as `KeyAuthentication`.
struct OperatorOrKeyAuthentication: RouterMiddleware {
    typealias Context = AsgardRequestContext
    let operators: AdminAuthentication
    let keys: KeyAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = bearerDigest(request.headers[.authorization]) else { throw GatewayError.invalidAPIKey }
        var context = context
        if let (admin, person) = try operators.identify(presented) {
            context.admin = admin
            context.person = person
        } else {
            context.caller = try keys.authenticate(request.headers[.authorization]) { _ in }
        }
        return try await next(request, context)
    }
}

/// Every error a route throws is an OpenAI error object with its status: never an empty 500.
extension GatewayError: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(GatewayResponse(error: self))
    }
}

/// A desk's or the store's error, answered as the `GatewayError` it maps to: its status and
/// OpenAI-style body.
protocol AnsweredAsGatewayError: HTTPResponseError {
    var gatewayError: GatewayError { get }
}

extension AnsweredAsGatewayError {
    public var status: HTTPResponse.Status { gatewayError.status }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try gatewayError.response(from: request, context: context)
    }
}

extension KillSwitchDesk.Refusal: AnsweredAsGatewayError {
    /// 400 for a malformed order, 403 for a Cedar denial, 404 for nothing to release.
    var gatewayError: GatewayError {
        switch self {
        case .invalid(let message): .invalidRequest(message)
        case .denied(let message, _): GatewayError(status: 403, type: "permission_error", code: "policy_denied", message: message)
        case .notEngaged: GatewayError(status: 404, type: "not_found_error", code: "not_found", message: description)
        }
    }
}

extension ApprovalDesk.Refusal: AnsweredAsGatewayError {
    /// 403 when Cedar denied the decider, 409 when the approval cannot be decided (not pending, no reason).
    var gatewayError: GatewayError {
        denied
            ? GatewayError(status: 403, type: "permission_error", code: "policy_denied", message: description)
            : GatewayError(status: 409, type: "invalid_request_error", code: "conflict", message: description)
    }
}

extension UsageDesk.Refusal: AnsweredAsGatewayError {
    var gatewayError: GatewayError { GatewayError(status: 403, type: "permission_error", code: "forbidden", message: description) }
}

extension StoreError: AnsweredAsGatewayError {
    /// 404 for an unknown approval, 409 for one already decided; a store fault is 503.
    var gatewayError: GatewayError {
        switch self {
        case .approvalNotFound(let id): GatewayError(status: 404, type: "not_found_error", code: "not_found", message: "no approval with id \(id)")
        case .requestNotFound(let id): GatewayError(status: 404, type: "not_found_error", code: "not_found", message: "no request with id \(id)")
        case .approvalNotPending, .approvalNotApproved, .requestNotOpen, .requestConflict:
            GatewayError(status: 409, type: "invalid_request_error", code: "conflict", message: description)
        case .unknownSchemaVersion:
            GatewayError(status: 503, type: "server_error", code: "store_unavailable", message: "the store was written by a newer Asgard")
        }
    }
}

extension Response {
    /// A gateway answer as it is: status, headers and body bytes.
    init(_ answer: GatewayResponse) {
        self.init(status: .init(code: answer.status), headers: HTTPFields(answer.headers), body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

extension HTTPFields {
    /// Header fields from name-value pairs (a name that is not a valid field name is dropped).
    init(_ pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs {
            if let field = HTTPField.Name(name) { append(HTTPField(name: field, value: value)) }
        }
    }
}
