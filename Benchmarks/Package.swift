// swift-tools-version: 6.2
// Asgard's benchmarks: a package of their own, so that `swift build` and `make test` in the
// main package never resolve or build the benchmark harness. Run them with `make bench`.
import PackageDescription

let package = Package(
    name: "AsgardBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "Asgard", path: ".."),
    ],
    targets: [
        // Deterministic generator of a large, valid desired state (YAML texts in memory).
        .target(
            name: "AsgardBenchFixtures",
            dependencies: [.product(name: "AsgardCore", package: "Asgard")]
        ),
        // Desired-state loading and planning on 10,000 objects.
        .executableTarget(
            name: "DesiredStateBenchmarks",
            dependencies: [
                "AsgardBenchFixtures",
                .product(name: "AsgardCore", package: "Asgard"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DesiredStateBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Cedar authorization latency: Asgard's policy set and 1,000 generated policies.
        .executableTarget(
            name: "CedarBenchmarks",
            dependencies: [
                .product(name: "Cedar", package: "Asgard"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CedarBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The guardrails over a chat request and its answer (issue 18: CPU per call, by stage).
        .executableTarget(
            name: "GuardrailBenchmarks",
            dependencies: [
                .product(name: "AsgardGateway", package: "Asgard"),
                .product(name: "AsgardJSON", package: "Asgard"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/GuardrailBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
