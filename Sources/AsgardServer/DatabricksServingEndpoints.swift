public import AsgardController
public import AsgardCore
import AsgardJSON
public import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// The drift observer `databricks-serving-endpoints`: reads a vendor's serving endpoints with
/// `GET <base>/api/2.0/serving-endpoints` (the Databricks Model Serving API), with the
/// manifest's base URL and token. Read-only. A provisionable service asks for it with
/// `observe: databricks-serving-endpoints`; the composition root registers it by that name.
public struct DatabricksServingEndpoints: VendorObserver {
    /// The name manifests give it.
    public static let name = "databricks-serving-endpoints"

    public let client: HTTPClient
    public let environment: [String: String]
    public var timeoutSeconds: Int64 = 30

    public init(client: HTTPClient, environment: [String: String]) {
        self.client = client
        self.environment = environment
    }

    /// Why the endpoint list could not be read; never holds the token.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public func describeRead(of vendor: Service) -> String? { listURL(of: vendor).map { "GET \($0)" } }

    /// The URL listed; nil when the vendor is not configured.
    func listURL(of vendor: Service) -> String? {
        guard let inference = vendor.inference, var base = environment[inference.baseURLEnv], !base.isEmpty else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/api/2.0/serving-endpoints"
    }

    public func servingEndpoints(of vendor: Service) async throws -> [String: [String: String]]? {
        guard let url = listURL(of: vendor), let inference = vendor.inference,
            let token = environment[inference.tokenEnv], !token.isEmpty
        else { return nil }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        let body: [UInt8]
        do {
            response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
            body = Array(try await response.body.collect(upTo: 32 << 20).readableBytesView)
        } catch {
            throw Failure(description: "GET \(url) failed (\(type(of: error)))")
        }
        let json = try? JSONValue.parse(body)
        guard response.status == .ok else {
            let code = json?["error_code"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "no error code"
            throw Failure(description: "GET \(url) answered \(response.status.code) (\(code))")
        }
        guard let json, case .object = json else { throw Failure(description: "GET \(url) answered with a body that is not a JSON object") }
        var endpoints: [String: [String: String]] = [:]
        if case .array(let list)? = json["endpoints"] {
            for endpoint in list {
                guard case .string(let name)? = endpoint["name"] else { continue }
                var tags: [String: String] = [:]
                if case .array(let pairs)? = endpoint["tags"] {
                    for pair in pairs {
                        if case .string(let key)? = pair["key"], case .string(let value)? = pair["value"] { tags[key] = value }
                    }
                }
                endpoints[name] = tags
            }
        }
        return endpoints
    }
}
