import AsgardJSON
import Foundation

/// An error the gateway answers with, as an OpenAI error object:
/// `{"error": {"message", "type", "code", "param"}}` with an HTTP status.
///
/// Messages are written for the caller and never contain a vendor token, a matched secret or
/// a stack trace.
public struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status.
    public var statusCode: Int
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `not_found_error`, `rate_limit_error`, `insufficient_quota`, `api_error`.
    public var type: String
    /// Asgard's code: `invalid_api_key`, `killed`, `model_not_found`, `policy_denied`, ...
    public var code: String
    public var message: String
    /// The request field at fault, when there is one.
    public var param: String?
    /// Seconds, for 429 `Retry-After`.
    public var retryAfter: Int?

    public init(status: Int, type: String, code: String, message: String, param: String? = nil, retryAfter: Int? = nil) {
        statusCode = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    public var description: String { "\(statusCode) \(code): \(message)" }

    /// The response body.
    public var body: String {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"error":{"message":"#.utf8)
        JSONValue.writeString(message, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(type, to: &out)
        out.append(contentsOf: #","code":"#.utf8)
        JSONValue.writeString(code, to: &out)
        out.append(contentsOf: #","param":"#.utf8)
        if let param { JSONValue.writeString(param, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: "}}".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    // The pipeline's errors, one constructor each, in pipeline order.

    public static func invalidRequest(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: "invalid_request", message: message, param: param)
    }

    /// The connection ended (closed or reset) before the request body did.
    public static let bodyIncomplete = GatewayError(
        status: 400, type: "invalid_request_error", code: "body_incomplete",
        message: "the connection ended before the request body arrived whole")

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, type: "invalid_request_error", code: "body_too_large", message: "the request body is larger than \(limit) bytes")
    }

    public static let invalidAPIKey = GatewayError(
        status: 401, type: "authentication_error", code: "invalid_api_key",
        message: "invalid API key: present an Asgard virtual key as `Authorization: Bearer asg_...`")

    public static func expiredAPIKey(at expiry: String) -> GatewayError {
        GatewayError(status: 401, type: "authentication_error", code: "expired_api_key", message: "this API key expired at \(expiry)")
    }

    /// Before the controller has published its first configuration, nothing can be decided.
    public static let starting = GatewayError(
        status: 503, type: "api_error", code: "starting",
        message: "the gateway is starting: its configuration is not loaded yet")

    public static func killed(scope: String, target: String, reason: String) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "killed",
            message: "a kill switch is engaged for \(target.isEmpty ? scope : "\(scope) \(target)"): \(reason)")
    }

    public static func modelNotFound(_ model: String) -> GatewayError {
        GatewayError(status: 404, type: "not_found_error", code: "model_not_found", message: "the model \(model) does not exist", param: "model")
    }

    public static func modelNotAllowed(_ model: String) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "model_not_allowed", message: "this key may not use the model \(model)", param: "model")
    }

    public static func policyDenied(_ policies: [String], failedClosedOn: [String]) -> GatewayError {
        let why =
            failedClosedOn.isEmpty
            ? (policies.isEmpty ? "no policy permits this call" : "denied by policy \(policies.joined(separator: ", "))")
            : "a forbid policy could not be evaluated (\(failedClosedOn.joined(separator: ", "))), so the call is refused"
        return GatewayError(status: 403, type: "permission_error", code: "policy_denied", message: why)
    }

    public static func dataClassDenied(_ message: String) -> GatewayError {
        GatewayError(status: 403, type: "permission_error", code: "data_class_denied", message: message, param: "data_class")
    }

    public static func guardrailBlocked(_ detector: String, in part: String) -> GatewayError {
        GatewayError(
            status: 400, type: "invalid_request_error", code: "guardrail_blocked",
            message:
                "the \(part) contains what looks like \(detector.replacingOccurrences(of: "_", with: " ")); this project blocks it (the match is not shown)"
        )
    }

    public static func rateLimited(retryAfter: Int) -> GatewayError {
        GatewayError(
            status: 429, type: "rate_limit_error", code: "rate_limited",
            message: "this key's requests-per-minute limit is reached; retry after \(retryAfter) s", retryAfter: retryAfter)
    }

    /// `vendorSpent`: what the project spent with its vendors this month as the cost rollups
    /// measured it (a warehouse, a job), when any: it counts against the same budget.
    /// The code of `budgetExceeded`.
    public static let budgetExceededCode = "budget_exceeded"

    public static func budgetExceeded(
        project: String, budget: String, spent: String, reserved: String, requested: String, vendorSpent: String? = nil,
        heldElsewhere: String? = nil
    ) -> GatewayError {
        let vendors = vendorSpent.map { " on model calls and $\($0) measured with vendors" } ?? ""
        let elsewhere = heldElsewhere.map { ", $\($0) spent or held by other replicas" } ?? ""
        return GatewayError(
            status: 402, type: "insufficient_quota", code: budgetExceededCode,
            message:
                "project \(project) would exceed its monthly budget of $\(budget): spent $\(spent)\(vendors)\(elsewhere), reserved $\(reserved), "
                + "this call needs up to $\(requested)"
        )
    }

    public static func upstream(status: Int, vendorCode: String?, message: String) -> GatewayError {
        GatewayError(
            status: 502, type: "api_error", code: vendorCode.map { "upstream_\($0)" } ?? "upstream_error",
            message: "the upstream answered \(status)\(vendorCode.map { " \($0)" } ?? ""): \(message)")
    }

    /// The request could not be delivered (the connection was refused or never made): the
    /// vendor did no work.
    public static func upstreamUnreachable(_ message: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: unreachableCode, message: message)
    }

    public static let unreachableCode = "upstream_unreachable"

    /// The connection broke after the request was sent: the vendor may have done the work.
    public static func upstreamFailed(_ message: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: "upstream_failed", message: message)
    }

    /// A 2xx answer the adapter could not read as a completion: nothing usable came back.
    public static func upstreamInvalidResponse(_ message: String) -> GatewayError {
        GatewayError(status: 502, type: "api_error", code: "upstream_invalid_response", message: message)
    }

    /// A vendor whose manifest names an environment variable that is not set: nothing can be
    /// sent to it. The message names the variable, never a value.
    public static func vendorUnconfigured(vendor: String, variable: String) -> GatewayError {
        GatewayError(
            status: 503, type: "api_error", code: "vendor_unconfigured",
            message: "the vendor \(vendor) is not configured: \(variable) is not set in Asgard's environment")
    }

    public static func upstreamTimeout(after seconds: Int) -> GatewayError {
        GatewayError(status: 504, type: "api_error", code: "upstream_timeout", message: "the upstream did not answer within \(seconds) s")
    }
}
