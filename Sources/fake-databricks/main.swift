// fake-databricks: the fake Databricks serving-endpoints API as its own process.
//
//   fake-databricks [--host H] [--port N] [--token T] [--latency-ms M] [--drop-stream-after K]
//                   [--warehouse-id W] [--billing PROJECTS,SKUS,DAYS,END_DAY]
//
// Serves the shipped endpoints (databricks-meta-llama-3-3-70b-instruct, fraud-triage) and
// prints its URL on the first line of standard output. --port 0 picks a free port.
// --billing seeds the billing tables with FakeBillingSeed.generated (e.g. 5,3,30,2025-01-31);
// --warehouse-id names the SQL warehouse statements run on (default fake-warehouse).
import FakeDatabricks
import Foundation

let usage = """
    usage: fake-databricks [--host H] [--port N] [--token T] [--latency-ms M] [--drop-stream-after K]
                           [--warehouse-id W] [--billing PROJECTS,SKUS,DAYS,END_DAY]
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n" + usage + "\n").utf8))
    exit(2)
}

var host = "127.0.0.1"
var port = 8089
var token = ProcessInfo.processInfo.environment["DATABRICKS_TOKEN"] ?? "dapi-fake-token"
var latencyMilliseconds = 0
var dropStreamAfter: Int?
var warehouseID = "fake-warehouse"
var billing: FakeBillingSeed?

var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    var name = argument
    var inlineValue: String?
    if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        inlineValue = String(argument[argument.index(after: equals)...])
    }
    func value() -> String {
        if let inlineValue { return inlineValue }
        guard let next = arguments.popFirst() else { fail("missing value for \(name)") }
        return next
    }
    switch name {
    case "--host": host = value()
    case "--port":
        guard let number = Int(value()), (0...65535).contains(number) else { fail("--port needs a number 0...65535") }
        port = number
    case "--token": token = value()
    case "--latency-ms":
        guard let number = Int(value()), number >= 0 else { fail("--latency-ms needs a non-negative number") }
        latencyMilliseconds = number
    case "--drop-stream-after":
        guard let number = Int(value()), number >= 0 else { fail("--drop-stream-after needs a non-negative number") }
        dropStreamAfter = number
    case "--warehouse-id": warehouseID = value()
    case "--billing":
        let parts = value().split(separator: ",").map(String.init)
        guard parts.count == 4, let projects = Int(parts[0]), let skus = Int(parts[1]), let days = Int(parts[2]),
            projects > 0, skus > 0, days > 0
        else { fail("--billing needs PROJECTS,SKUS,DAYS,END_DAY, e.g. 5,3,30,2025-01-31") }
        billing = FakeBillingSeed.generated(projects: projects, skus: skus, days: days, endingOn: parts[3])
    case "-h", "--help":
        print(usage)
        exit(0)
    default: fail("unknown argument: \(argument)")
    }
}

var configuration = FakeDatabricksConfiguration(token: token, billing: billing, warehouseIDs: [warehouseID])
let latency = Duration.milliseconds(latencyMilliseconds)
let drop = dropStreamAfter
configuration.setKnobsForAll {
    $0.latency = latency
    $0.dropStreamAfterChunks = drop
}
let fake = FakeDatabricks(configuration)
if let error = fake.controls.billing.seedError { fail("--billing: \(error)") }
let boundHost = host
let names = configuration.endpoints.map(\.name).joined(separator: ", ")
let app = fake.application(host: host, port: port) { bound in
    FileHandle.standardOutput.write(Data("http://\(boundHost):\(bound)\nserving endpoints: \(names)\n".utf8))
}
try await app.runService()
