public import AsgardJSON
import Foundation
import Synchronization

/// A client of the Databricks SQL Statement Execution API (`/api/2.0/sql/statements`): submits a
/// statement with named parameters and a wait timeout, polls with backoff while it runs, follows
/// the result's chunks, and cancels it when the calling task is cancelled (a shutdown).
public struct StatementExecution: Sendable {
    public var host: String
    public var token: String
    public var warehouseID: String
    public var http: any CostHTTP
    /// How long the submission waits for a result before answering with the statement id.
    public var waitTimeout = "10s"
    /// Polls start this far apart and double up to `maxPoll`.
    public var firstPoll: Duration = .milliseconds(250)
    public var maxPoll: Duration = .seconds(5)
    /// The statement is cancelled and the run fails after this long.
    public var deadline: Duration = .seconds(600)

    public init(host: String, token: String, warehouseID: String, http: any CostHTTP) {
        self.host = host.hasSuffix("/") ? String(host.dropLast()) : host
        self.token = token
        self.warehouseID = warehouseID
        self.http = http
    }

    /// A finished statement's answer: column names and rows of strings (Databricks sends every
    /// value as a string or null).
    public struct Result: Sendable, Hashable {
        public var statementID: String
        public var columns: [String]
        public var rows: [[String?]]
    }

    /// Why a statement gave no result. Messages never hold the token.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// The statement ran and failed (HTTP 200, state FAILED): the vendor's own words.
        case failed(code: String, message: String)
        /// It was cancelled or closed before it finished.
        case ended(state: String)
        /// The request was refused (not HTTP 200): the vendor's error.
        case rejected(status: Int, code: String, message: String)
        /// No answer: connection refused, timeout.
        case unreachable(String)
        /// It ran past `deadline` and was cancelled.
        case timedOut(seconds: Int)
        /// The answer is not the API's shape.
        case malformed(String)

        public var description: String {
            switch self {
            case .failed(let code, let message): "the statement failed (\(code)): \(message)"
            case .ended(let state): "the statement ended \(state) before it finished"
            case .rejected(let status, let code, let message): "the statement was refused (HTTP \(status), \(code)): \(message)"
            case .unreachable(let why): "the SQL warehouse could not be reached: \(why)"
            case .timedOut(let seconds): "the statement did not finish within \(seconds) s and was cancelled"
            case .malformed(let why): "the statement API answered in an unexpected shape: \(why)"
            }
        }
    }

    /// Runs `statement` with named `parameters` (`:name` markers; values are strings).
    public func run(_ statement: String, parameters: [(name: String, value: String)]) async throws(Failure) -> Result {
        let body: JSONValue = .object([
            JSONMember(key: "warehouse_id", value: .string(warehouseID)),
            JSONMember(key: "statement", value: .string(statement)),
            JSONMember(key: "wait_timeout", value: .string(waitTimeout)),
            JSONMember(key: "on_wait_timeout", value: "CONTINUE"),
            JSONMember(key: "disposition", value: "INLINE"),
            JSONMember(key: "format", value: "JSON_ARRAY"),
            JSONMember(
                key: "parameters",
                value: .array(parameters.map { .object([JSONMember(key: "name", value: .string($0.name)), JSONMember(key: "value", value: .string($0.value))]) })),
        ])
        let answer = try await call(.post, "/api/2.0/sql/statements", body: body.jsonBytes)
        guard let id = answer["statement_id"]?.stringValue else { throw .malformed("no statement_id") }
        let submitted = Submitted(id: id)
        do {
            return try await withTaskCancellationHandler {
                try await finish(answer, id: id)
            } onCancel: {
                // The caller is going away (a shutdown): the warehouse should stop working for it.
                let cancel = self.cancel
                Task.detached { await cancel(submitted.id) }
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .ended(state: "CANCELED")
        }
    }

    /// Polls a submitted statement until it ends, then collects its rows.
    private func finish(_ submitted: JSONValue, id: String) async throws(Failure) -> Result {
        var answer = submitted
        let started = ContinuousClock.now
        var pause = firstPoll
        while true {
            guard let state = answer["status"]?["state"]?.stringValue else { throw .malformed("no status.state") }
            switch state {
            case "SUCCEEDED":
                return try await collect(answer, id: id)
            case "FAILED":
                let error = answer["status"]?["error"]
                throw .failed(code: error?["error_code"]?.stringValue ?? "UNKNOWN", message: error?["message"]?.stringValue ?? "no message")
            case "PENDING", "RUNNING":
                break
            default:
                throw .ended(state: state)
            }
            if ContinuousClock.now - started > deadline {
                await cancel(id)
                throw .timedOut(seconds: Int(deadline.components.seconds))
            }
            do { try await Task.sleep(for: pause) } catch { throw .ended(state: "CANCELED") }
            pause = min(pause * 2, maxPoll)
            answer = try await call(.get, "/api/2.0/sql/statements/\(id)")
        }
    }

    private struct Submitted: Sendable { let id: String }

    /// Asks the warehouse to stop a statement; a failure to ask changes nothing for the caller.
    public func cancel(_ id: String) async {
        _ = try? await call(.post, "/api/2.0/sql/statements/\(id)/cancel", body: Array("{}".utf8))
    }

    /// The rows of a finished statement: the inline first chunk, then `next_chunk_index` on.
    private func collect(_ answer: JSONValue, id: String) async throws(Failure) -> Result {
        guard let columns = answer["manifest"]?["schema"]?["columns"]?.arrayValue else { throw .malformed("no manifest.schema.columns") }
        let names = try columns.map { (column: JSONValue) throws(Failure) -> String in
            guard let name = column["name"]?.stringValue else { throw .malformed("a column without a name") }
            return name
        }
        var rows: [[String?]] = []
        var chunk = answer["result"] ?? .object([])
        var seen = Set<Int>()
        while true {
            if let data = chunk["data_array"]?.arrayValue {
                for row in data {
                    guard let values = row.arrayValue, values.count == names.count else { throw .malformed("a row of the wrong width") }
                    rows.append(try values.map { (value: JSONValue) throws(Failure) -> String? in
                        if value.isNull { return nil }
                        guard let text = value.stringValue else { throw .malformed("a value that is not a string") }
                        return text
                    })
                }
            }
            guard let next = chunk["next_chunk_index"]?.intValue else { break }
            guard seen.insert(next).inserted else { throw .malformed("chunk \(next) came twice") }
            chunk = try await call(.get, "/api/2.0/sql/statements/\(id)/result/chunks/\(next)")
        }
        if let total = answer["manifest"]?["total_row_count"]?.intValue, total != rows.count {
            throw .malformed("the manifest counts \(total) rows, the chunks held \(rows.count)")
        }
        return Result(statementID: id, columns: names, rows: rows)
    }

    private func call(_ method: CostHTTPRequest.Method, _ path: String, body: [UInt8]? = nil) async throws(Failure) -> JSONValue {
        var headers = ["Authorization": "Bearer \(token)", "Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json" }
        let response: CostHTTPResponse
        do {
            response = try await http.send(CostHTTPRequest(method: method, url: host + path, headers: headers, body: body))
        } catch is CancellationError {
            throw .ended(state: "CANCELED")
        } catch {
            throw .unreachable(String(describing: error))
        }
        let json = try? JSONValue.parse(response.body)
        guard response.status == 200 else {
            throw .rejected(
                status: response.status, code: json?["error_code"]?.stringValue ?? "UNKNOWN",
                message: json?["message"]?.stringValue ?? String(decoding: response.body.prefix(200), as: UTF8.self))
        }
        guard let json else { throw .malformed("the body is not JSON") }
        return json
    }
}
