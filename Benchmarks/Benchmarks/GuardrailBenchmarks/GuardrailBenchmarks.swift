import AsgardGateway
import AsgardJSON
import Benchmark

/// The guardrails' share of a call (issue 18): `DocumentGuardrail` under `block` over the
/// request body the gateway forwards in `make bench-gateway` and over the answer its nginx
/// upstream returns, the strings of both scanned as on the gateway's path. Neither holds a
/// finding, so both pass whole, as almost every call does. Malloc counts are exact and repeat
/// from run to run; wall-clock figures move with the machine.
let benchmarks: @Sendable () -> Void = {
    let request = parsed(#"{"model":"fixed-model","messages":[{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16}"#)
    let answer = parsed(
        #"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"fixed-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#
    )

    // One sample = 1,000 scans; `--scale` prints the figures per scan.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 1_000
    )

    Benchmark("guardrails: the benchmark's request body") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(scan(request)) }
    }

    Benchmark("guardrails: the benchmark's answer") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(scan(answer)) }
    }
}

func parsed(_ text: String) -> JSONValue {
    guard let value = try? JSONValue.parse(text) else { fatalError("the benchmark's JSON does not parse") }
    return value
}

/// The document as `block` lets it through; a finding here would be a broken benchmark.
func scan(_ value: JSONValue) -> JSONValue {
    var guardrail = DocumentGuardrail(action: .block)
    guard let passed = try? guardrail.apply(value) else { fatalError("the benchmark's clean document was blocked") }
    return passed
}
