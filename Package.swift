// swift-tools-version: 6.2
import PackageDescription

/// Every target builds in Swift 6 language mode with the same strictness.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Asgard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "asgard", targets: ["asgard"]),
        .library(name: "AsgardCore", targets: ["AsgardCore"]),
        .library(name: "AsgardStore", targets: ["AsgardStore"]),
        .library(name: "AsgardController", targets: ["AsgardController"]),
        .library(name: "AsgardJSON", targets: ["AsgardJSON"]),
        .library(name: "AsgardGateway", targets: ["AsgardGateway"]),
        .library(name: "Cedar", targets: ["Cedar"]),
        .library(name: "AsgardCost", targets: ["AsgardCost"]),
        .executable(name: "fake-databricks", targets: ["fake-databricks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.12.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Domain types, desired-state loading and validation, the pure plan. Foundation, Yams' libyaml, AsgardJSON and swift-crypto's SHA-256.
        .target(
            name: "AsgardCore",
            dependencies: ["AsgardJSON", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // One JSON value type: the strict RFC 8259 reader, the compact writer, canonical JSON. No dependencies.
        .target(name: "AsgardJSON", swiftSettings: strict),
        // The Cedar policy language: parser, evaluator, authorizer; its JSON data formats read through AsgardJSON.
        .target(name: "Cedar", dependencies: ["AsgardJSON"], swiftSettings: strict),
        // Asgard's policy set on the Cedar engine: loading, fail-closed and shadow decisions, policy tests.
        .target(name: "AsgardPolicy", dependencies: ["Cedar", "AsgardCore"], swiftSettings: strict),
        // The inference gateway: the staged chat pipeline over ports (upstream transport, call recording,
        // metering), inference adapters, guardrails, budgets, rate limits, kill switches, pricing.
        .target(name: "AsgardGateway", dependencies: ["AsgardCore", "AsgardJSON", "AsgardPolicy", "Cedar"], swiftSettings: strict),
        // The cost plane: cost sources (vendor billing, gateway metering), estimates, rollup, the report, FOCUS export.
        .target(name: "AsgardCost", dependencies: ["AsgardCore", "AsgardJSON"], swiftSettings: strict),
        // A faithful fake of the Databricks REST API (serving endpoints; SQL statements over billing
        // tables it holds in SQLite), for tests and `asgard demo`.
        .target(
            name: "FakeDatabricks",
            dependencies: [
                "AsgardJSON", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "fake-databricks", dependencies: ["FakeDatabricks"], swiftSettings: strict),
        // The MCP control plane: the tools (thin adapters over the desks) on the official MCP SDK's
        // server, and Asgard's streamable-HTTP session transport for it. No HTTP framework.
        .target(
            name: "AsgardMCP",
            dependencies: [
                "AsgardCore", "AsgardJSON", "AsgardController", "AsgardPolicy", "AsgardGateway", "AsgardCost", "Cedar",
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: strict
        ),
        // The dashboard's pages, pure: HTML built from plain values (every text escaped), the
        // spend chart as SVG, the stylesheet, form decoding. No HTTP framework, no effects.
        .target(name: "AsgardDashboard", dependencies: ["AsgardCore", "AsgardCost", "AsgardJSON"], swiftSettings: strict),
        // The running server: Hummingbird wiring, the gateway pipeline, upstream calls, the controller loop.
        .target(
            name: "AsgardServer",
            dependencies: [
                "AsgardCore", "AsgardJSON", "AsgardStore", "AsgardController", "AsgardPolicy", "AsgardGateway", "AsgardCost", "AsgardMCP",
                "AsgardDashboard", "Cedar",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The store protocol and its SQLite implementation.
        .target(
            name: "AsgardStore",
            dependencies: ["AsgardCore", "AsgardJSON", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The store protocol on PostgreSQL (PostgresNIO), for several replicas on one database.
        .target(
            name: "AsgardPostgres",
            dependencies: [
                "AsgardCore", "AsgardJSON", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // One reconcile pass: load, validate, plan, gate, apply into the store and through the provisioner, audit.
        .target(
            name: "AsgardController",
            dependencies: ["AsgardCore", "AsgardJSON", "AsgardPolicy", "Cedar"],
            swiftSettings: strict
        ),
        // The universal terraform connector: one workspace per resource, the real terraform binary.
        .target(
            name: "AsgardProvisioning",
            dependencies: [
                "AsgardCore", "AsgardController", "AsgardJSON",
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        // The thin command-line front end.
        .executableTarget(
            name: "asgard",
            dependencies: [
                "AsgardCore", "AsgardJSON", "AsgardStore", "AsgardPostgres", "AsgardController", "AsgardPolicy", "AsgardProvisioning", "Cedar", "AsgardServer",
                "AsgardCost", "FakeDatabricks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Generators and helpers shared by the test targets.
        .target(
            name: "AsgardTestSupport",
            dependencies: [
                "AsgardCore", "AsgardJSON", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AsgardTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardCoreTests",
            dependencies: ["AsgardCore", "AsgardJSON", "AsgardTestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardGatewayTests",
            dependencies: [
                "AsgardGateway", "AsgardJSON", "AsgardPolicy", "AsgardTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardServerTests",
            dependencies: [
                "AsgardServer", "AsgardStore", "AsgardTestSupport", "FakeDatabricks", "AsgardGateway", "AsgardPolicy", "AsgardController",
                "AsgardJSON",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FakeDatabricksTests",
            dependencies: [
                "FakeDatabricks", "fake-databricks", "AsgardCost", "AsgardJSON", "AsgardTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardCostTests",
            dependencies: [
                "AsgardCost", "AsgardCore", "AsgardJSON", "AsgardStore", "AsgardServer", "AsgardTestSupport", "FakeDatabricks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardMCPTests",
            dependencies: ["AsgardMCP", "AsgardJSON", .product(name: "MCP", package: "swift-sdk")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardDashboardTests",
            dependencies: ["AsgardDashboard", "AsgardCore", "AsgardCost", "AsgardJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardPolicyTests",
            dependencies: ["AsgardPolicy", "AsgardTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CedarTests",
            dependencies: ["Cedar", "AsgardJSON", "AsgardTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardJSONTests",
            dependencies: ["AsgardJSON"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardStoreTests",
            dependencies: ["AsgardStore", "AsgardPostgres", "AsgardJSON", "AsgardTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardControllerTests",
            dependencies: [
                "AsgardController", "AsgardStore", "AsgardTestSupport", "AsgardPolicy", "AsgardJSON",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AsgardProvisioningTests",
            dependencies: ["AsgardProvisioning", "AsgardController", "AsgardJSON", "AsgardTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        // Runs the built `asgard` binary the way users and CI do.
        .testTarget(
            name: "AsgardCLITests",
            dependencies: [
                "asgard", "AsgardCore", "AsgardStore", "AsgardPostgres", "AsgardTestSupport", "FakeDatabricks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
    ]
)
