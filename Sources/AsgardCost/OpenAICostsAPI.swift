public import AsgardCore
public import AsgardJSON
import Foundation

/// A client of OpenAI's organization Costs API: `GET {base}/v1/organization/costs` with an
/// admin key, daily buckets grouped by project, every page followed to the end.
///
/// The key travels in the `Authorization` header only; no failure's text holds it (a vendor
/// message that repeats it has it replaced).
public struct OpenAICostsAPI: Sendable {
    /// The API's base without `/v1`, e.g. `https://api.openai.com`.
    public var baseURL: String
    public var adminKey: String
    public var http: any CostHTTP
    /// Buckets (days) asked for per page: the API allows 1...180 (default 7), so a period of
    /// the longest kind (`CostPeriod.maxDays`) takes three pages.
    public var bucketsPerPage = 180

    public init(baseURL: String, adminKey: String, http: any CostHTTP) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.adminKey = adminKey
        self.http = http
    }

    /// One cost line of a bucket: an OpenAI project (nil for costs OpenAI attributes to no
    /// project) and the amount as written, its number's text and currency.
    public struct Line: Sendable, Hashable {
        public var day: CostDay
        public var project: String?
        public var amount: String
        public var currency: String
    }

    /// Why the costs could not be read. Messages never hold the admin key.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// Not HTTP 200: the vendor's `error.message` (and `error.code` when it gives one).
        case rejected(status: Int, code: String?, message: String)
        /// No answer: connection refused, timeout.
        case unreachable(String)
        /// The API handed out a page cursor it had handed out before: following it would loop.
        case repeatedPage(String)
        /// A cost of an Asgard project is not in US dollars, the only currency Asgard keeps.
        case currency(String, project: String, day: CostDay)
        /// The answer is not the API's shape.
        case malformed(String)

        public var description: String {
            switch self {
            case .rejected(let status, let code, let message):
                "OpenAI refused the costs request (HTTP \(status)\(code.map { ", \($0)" } ?? "")): \(message)"
            case .unreachable(let why): "the OpenAI API could not be reached: \(why)"
            case .repeatedPage(let cursor): "the costs API returned page \(cursor) twice; stopped rather than count it again"
            case .currency(let currency, let project, let day):
                "the cost of \(project) on \(day) is in \(currency), and Asgard keeps US dollars only"
            case .malformed(let why): "the costs API answered in an unexpected shape: \(why)"
            }
        }
    }

    /// Every cost line of `period`'s days (`start_time` at the first day's midnight UTC,
    /// `end_time` at the midnight after the last, exclusive), across all pages.
    /// - Throws: `Failure`; a bucket that is not one of the period's days, a day that comes
    ///   twice, or more pages than the period has days is `malformed`.
    public func lines(_ period: CostPeriod) async throws(Failure) -> [Line] {
        var lines: [Line] = []
        var cursor: String?
        var cursors: Set<String> = []
        var days: Set<CostDay> = []
        var pages = 0
        while true {
            pages += 1
            // Each page holds at least one day, or the API would not say there is more.
            guard pages <= period.count + 1 else { throw .malformed("more pages than the \(period.count) days asked for") }
            let page = try await call(query(period, page: cursor))
            guard let buckets = page["data"]?.arrayValue else { throw .malformed("no data array") }
            for bucket in buckets {
                guard let start = bucket["start_time"]?.int64Value else { throw .malformed("a bucket without an integer start_time") }
                // The UTC day the bucket starts on (buckets of `1d` start at midnight).
                let (whole, rest) = start.quotientAndRemainder(dividingBy: 86_400)
                let day = CostDay(ordinal: Int(whole) - (rest < 0 ? 1 : 0))
                guard period.contains(day) else { throw .malformed("a bucket of \(day), outside \(period)") }
                guard days.insert(day).inserted else { throw .malformed("the bucket of \(day) came twice") }
                guard let results = bucket["results"]?.arrayValue else { throw .malformed("the bucket of \(day) has no results array") }
                for result in results { lines.append(try line(result, day: day)) }
            }
            guard let more = page["has_more"]?.boolValue else { throw .malformed("no has_more") }
            guard more else { return lines }
            guard let next = page["next_page"]?.stringValue, !next.isEmpty else { throw .malformed("has_more without a next_page") }
            guard cursors.insert(next).inserted else { throw .repeatedPage(next) }
            cursor = next
        }
    }

    /// One `organization.costs.result`, its amount's number kept as written.
    private func line(_ result: JSONValue, day: CostDay) throws(Failure) -> Line {
        let project: String?
        switch result["project_id"] {
        case nil, .null?: project = nil
        case .string(let id)?: project = id
        case let other?: throw .malformed("a project_id that is a \(other.kindName)")
        }
        let label = project ?? "no project"
        guard let amount = result["amount"], amount.members != nil else { throw .malformed("a result of \(label) on \(day) without an amount") }
        let text: String
        switch amount["value"] {
        case .integer(let value)?: text = String(value)
        case .otherNumber(let written)?: text = written
        default: throw .malformed("the amount of \(label) on \(day) has no numeric value")
        }
        guard let currency = amount["currency"]?.stringValue else { throw .malformed("the amount of \(label) on \(day) has no currency") }
        return Line(day: day, project: project, amount: text, currency: currency)
    }

    /// The request's query: the period as Unix seconds, daily buckets, grouped by project.
    func query(_ period: CostPeriod, page: String?) -> String {
        var items = [
            "start_time=\(period.from.ordinal * 86_400)", "end_time=\(period.to.next.ordinal * 86_400)", "bucket_width=1d",
            "group_by=project_id", "limit=\(bucketsPerPage)",
        ]
        if let page { items.append("page=\(Self.percentEncoded(page))") }
        return items.joined(separator: "&")
    }

    /// `text` with everything but RFC 3986's unreserved characters percent-encoded: cursors
    /// are opaque and may hold `+`, `/` and `=`.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = Array("0123456789ABCDEF")
                encoded += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0x0F)])"
            }
        }
        return encoded
    }

    private func call(_ query: String) async throws(Failure) -> JSONValue {
        let request = CostHTTPRequest(
            method: .get, url: baseURL + "/v1/organization/costs?" + query,
            headers: ["Authorization": "Bearer \(adminKey)", "Accept": "application/json"])
        let response: CostHTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw .unreachable(scrubbed(String(describing: error)))
        }
        let json = try? JSONValue.parse(response.body)
        guard response.status == 200 else {
            let error = json?["error"]
            let message = error?["message"]?.stringValue ?? "no error message (\(response.body.count) bytes of body)"
            throw .rejected(status: response.status, code: error?["code"]?.stringValue.map { scrubbed($0) }, message: scrubbed(message))
        }
        guard let json else { throw .malformed("the body is not JSON") }
        return json
    }

    /// `text` without the admin key, and without anything else that looks like a credential:
    /// OpenAI's 401 names the key it was given (masked, but not every proxy in front masks it).
    func scrubbed(_ text: String) -> String {
        let withoutKey = adminKey.isEmpty ? text : text.replacingOccurrences(of: adminKey, with: "<the admin key>")
        return SecretDetector.redacting(withoutKey)
    }
}
