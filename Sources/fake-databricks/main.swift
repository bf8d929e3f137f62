// fake-databricks: the fake Databricks serving-endpoints API as its own process.
//
//   fake-databricks [--host H] [--port N] [--token T] [--latency-ms M] [--drop-stream-after K]
//
// Serves the shipped endpoints (databricks-meta-llama-3-3-70b-instruct, fraud-triage) and
// prints its URL on the first line of standard output. --port 0 picks a free port.
import FakeDatabricks
import Foundation

let usage = "usage: fake-databricks [--host H] [--port N] [--token T] [--latency-ms M] [--drop-stream-after K]"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n" + usage + "\n").utf8))
    exit(2)
}

var host = "127.0.0.1"
var port = 8089
var token = ProcessInfo.processInfo.environment["DATABRICKS_TOKEN"] ?? "dapi-fake-token"
var latencyMilliseconds = 0
var dropStreamAfter: Int?

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
    case "-h", "--help":
        print(usage)
        exit(0)
    default: fail("unknown argument: \(argument)")
    }
}

var configuration = FakeDatabricksConfiguration(token: token)
let latency = Duration.milliseconds(latencyMilliseconds)
let drop = dropStreamAfter
configuration.setKnobsForAll {
    $0.latency = latency
    $0.dropStreamAfterChunks = drop
}
let fake = FakeDatabricks(configuration)
let boundHost = host
let names = configuration.endpoints.map(\.name).joined(separator: ", ")
let app = fake.application(host: host, port: port) { bound in
    FileHandle.standardOutput.write(Data("http://\(boundHost):\(bound)\nserving endpoints: \(names)\n".utf8))
}
try await app.runService()
