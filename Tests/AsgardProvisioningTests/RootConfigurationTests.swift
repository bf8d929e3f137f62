import AsgardController
import AsgardCore
import AsgardJSON
import Testing

@testable import AsgardProvisioning

struct RootConfigurationTests {
    static let service = ProvisionableService(
        name: "databricks-sql-warehouse", module: "modules/databricks/sql-warehouse",
        tier: .human, classificationFloor: .internal, monthlyEstimate: MicroDollars(1_500_000_000),
        tagLocations: [TagLocation(resourceType: "databricks_sql_endpoint", path: ["tags", "custom_tags"], format: .keyValueList)])

    static func request(_ parameters: [String: ParameterValue], extraTags: [String: String] = [:]) -> ProvisioningRequest {
        ProvisioningRequest(
            ref: ObjectRef(.resource, "fraud-warehouse"), project: "fraud-detection", name: "fraud-warehouse",
            service: service, parameters: parameters, extraTags: extraTags, environmentNames: ["DATABRICKS_TOKEN"])
    }

    @Test func moduleCallHasEveryArgumentAndOutputsAreReExported() throws {
        let request = Self.request(
            [
                "cluster_size": .string("2X-Small"), "auto_stop_mins": .number("10"), "spot": .bool(true),
                "zones": .list([.string("a"), .number("1.5")]), "conf": .map(["k": .string("v")]),
            ],
            extraTags: ["owner": "maria", "project": "someone-else"])
        let document = try RootConfiguration.document(
            for: request, moduleDirectory: "/srv/modules/databricks/sql-warehouse",
            outputs: [ModuleOutput(name: "id", sensitive: false), ModuleOutput(name: "token", sensitive: true)])
        #expect(
            CanonicalJSON.text(document) == #"""
                {"module":{"service":{"auto_stop_mins":10,"cluster_size":"2X-Small","conf":{"k":"v"},"name":"fraud-warehouse","project_id":"fraud-detection","source":"/srv/modules/databricks/sql-warehouse","spot":true,"tags":{"owner":"maria","project":"fraud-detection"},"zones":["a",1.5]}},"output":{"id":{"value":"${module.service.id}"},"token":{"sensitive":true,"value":"${module.service.token}"}}}
                """#)
    }

    /// State in PostgreSQL: the `pg` backend, with the connection (never a password) and a
    /// schema of the workspace's own, the same whichever replica writes the file.
    @Test func statesInPostgreSQLNameTheBackendAndTheWorkspacesSchema() throws {
        let document = try RootConfiguration.document(
            for: Self.request([:]), moduleDirectory: "/m", outputs: [],
            backend: .postgres(connection: "postgres://asgard@db:5432/asgard?sslmode=require", password: "hunter2"))
        let text = CanonicalJSON.text(document)
        let schema = TerraformStateBackend.schema(for: "Resource/fraud-warehouse")
        #expect(
            schema.hasPrefix("asgard_tf_") && schema.count == "asgard_tf_".count + 16 && schema != TerraformStateBackend.schema(for: "Resource/other")
        )
        #expect(
            text.contains(
                #""terraform":{"backend":{"pg":{"conn_str":"postgres://asgard@db:5432/asgard?sslmode=require","schema_name":"\#(schema)"}}}"#))
        #expect(!text.contains("hunter2"))
    }

    @Test func noOutputsNoOutputBlock() throws {
        let document = try RootConfiguration.document(for: Self.request([:]), moduleDirectory: "/m", outputs: [])
        #expect(document["output"] == nil)
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("${var.secret}", "$${var.secret}"),
        ("%{ if true }x%{ endif }", "%%{ if true }x%%{ endif }"),
        ("$${already}", "$$${already}"),
        ("cost $5 {ok}", "cost $5 {ok}"),
    ])
    func stringsAreLiteralNotTemplates(text: String, written: String) throws {
        #expect(RootConfiguration.literal(text) == written)
        let document = try RootConfiguration.document(
            for: Self.request(["label": .string(text), "m": .map([text: .string(text)])]),
            moduleDirectory: "/m", outputs: [])
        #expect(document["module"]?["service"]?["label"] == .string(written))
        #expect(document["module"]?["service"]?["m"]?[written] == .string(written))
    }

    @Test(arguments: [
        ("10", JSONValue.integer(10)), ("-3", .integer(-3)), ("+7", .integer(7)), ("0.50", .otherNumber("0.50")),
        (".5", .otherNumber("0.5")), ("-.5", .otherNumber("-0.5")), ("5.", .otherNumber("5.0")), ("1e3", .otherNumber("1e3")),
        ("1_000", .integer(1000)), ("12345678901234567890", .otherNumber("12345678901234567890")),
    ])
    func numbersBecomeJSONNumbersFromTheirDecimalText(text: String, expected: JSONValue) throws {
        #expect(try RootConfiguration.number(text, name: "n") == expected)
    }

    @Test(arguments: ["0x1F", "0o17", ".inf", "-.inf", ".nan", "007", "1.2.3", "", "abc"])
    func nonDecimalNumbersAreRefused(text: String) {
        #expect(throws: TerraformError.invalidParameter(name: "n", reason: "\(text) is not a decimal number")) {
            try RootConfiguration.number(text, name: "n")
        }
    }

    @Test(arguments: ["name", "project_id", "tags", "source", "version", "providers", "count", "for_each", "depends_on"])
    func reservedArgumentsAreRefused(name: String) {
        #expect(throws: TerraformError.self) {
            try RootConfiguration.document(for: Self.request([name: .string("x")]), moduleDirectory: "/m", outputs: [])
        }
    }

    @Test func badNumberInsideAListIsNamedByItsPath() {
        #expect(throws: TerraformError.invalidParameter(name: "sizes[1]", reason: "0x10 is not a decimal number")) {
            try RootConfiguration.document(
                for: Self.request(["sizes": .list([.number("1"), .number("0x10")])]),
                moduleDirectory: "/m", outputs: [])
        }
    }
}
