import AsgardCore
import AsgardTestSupport
import Foundation
import Testing

/// The manifest's cost rule (how an estimate follows a request's parameters): decoding,
/// validation with positioned errors, and the pure estimate.
@Suite struct CostRuleTests {
    static let rule = CostRule(
        parameter: "cluster_size", monthly: ["2X-Small": MicroDollars(300_000_000), "4X-Large": MicroDollars(39_600_000_000)],
        multiplyBy: "max_num_clusters")

    @Test func theRuleGivesEachSizeItsFigureTimesTheMultiplier() {
        let small = Self.rule.estimate(for: ["cluster_size": .string("2X-Small"), "max_num_clusters": .number("1")])
        let large = Self.rule.estimate(for: ["cluster_size": .string("4X-Large"), "max_num_clusters": .number("3")])
        #expect(
            small == CostEstimate(basis: .rule, monthly: MicroDollars(300_000_000), detail: "cluster_size 2X-Small: $300/month × max_num_clusters 1"))
        #expect(large.basis == .rule && large.monthly == MicroDollars(118_800_000_000))
        #expect(large.description == "$118800/month (cost rule: cluster_size 4X-Large: $39600/month × max_num_clusters 3)")
    }

    @Test(arguments: [
        (["max_num_clusters": ParameterValue.number("1")], "cluster_size is not set, and the manifest's cost rule is by cluster_size"),
        (
            ["cluster_size": .string("Medium"), "max_num_clusters": .number("1")],
            "the manifest's cost rule has no figure for cluster_size Medium (it lists 2X-Small, 4X-Large)"
        ),
        (["cluster_size": .string("2X-Small")], "max_num_clusters is not set, and the manifest's cost rule multiplies by it"),
        (
            ["cluster_size": .string("2X-Small"), "max_num_clusters": .number("1.5")],
            "max_num_clusters 1.5 is not a whole number of at least 1"
        ),
        (
            ["cluster_size": .list([]), "max_num_clusters": .number("1")],
            "the manifest's cost rule has no figure for cluster_size (not a single value) (it lists 2X-Small, 4X-Large)"
        ),
        (
            ["cluster_size": .string("4X-Large"), "max_num_clusters": .number("999999999999")],
            "cluster_size 4X-Large: $39600/month × max_num_clusters 999999999999 is too large to count"
        ),
    ])
    func parametersTheRuleDoesNotCoverEstimateAsUnknownNeverAsANumber(parameters: [String: ParameterValue], why: String) {
        let estimate = Self.rule.estimate(for: parameters)
        #expect(estimate == CostEstimate(basis: .unknown, monthly: nil, detail: why))
        #expect(estimate.description == "unknown (\(why))")
    }

    @Test func aServiceWithoutARuleGivesItsFixedFigureAndSaysSo() {
        let service = ProvisionableService(
            name: "acme-bucket", module: "modules/acme/bucket", tier: .auto, classificationFloor: .public,
            monthlyEstimate: MicroDollars(1_250_000), tagLocations: [])
        #expect(
            service.estimate(for: ["size": .string("huge")])
                == CostEstimate(
                    basis: .fixed, monthly: MicroDollars(1_250_000), detail: "the manifest's fixed figure for acme-bucket, which has no cost rule"))
    }

    @Test func theShippedWarehouseManifestEstimatesBySizeAndClusters() throws {
        let state = DesiredStateLoader().load(directory: packageRoot + "/desired").state
        let warehouse = try #require(state.resources["fraud-warehouse"])
        #expect(state.estimate(of: .resource(warehouse)).monthly == MicroDollars(300_000_000))
        var large = warehouse
        large.parameters["cluster_size"] = .string("4X-Large")
        #expect(state.estimate(of: .resource(large)).monthly == MicroDollars(39_600_000_000))
        let endpoint = try #require(state.servingEndpoints["fraud-triage"])
        #expect(state.estimate(of: .servingEndpoint(endpoint)).basis == .fixed)
    }

    /// The acme manifest with `rule` as its warehouse's cost rule.
    static func manifest(rule: String) -> String {
        acmeService.replacingOccurrences(
            of: "    monthly_estimate_usd: 900\n",
            with: "    monthly_estimate_usd: 900\n" + rule.split(separator: "\n").map { "    " + $0 + "\n" }.joined())
    }

    @Test func aCostRuleDecodes() throws {
        let result = load([
            "services/acme/service.yaml": Self.manifest(
                rule: "cost_rule:\n  parameter: size\n  multiply_by: nodes\n  monthly_usd:\n    small: 100\n    large: 1500.50")
        ])
        #expect(result.isValid, "\(result.messages)")
        let rule = try #require(result.state.provisionable["acme-warehouse"]?.service.costRule)
        #expect(
            rule
                == CostRule(
                    parameter: "size", monthly: ["small": MicroDollars(100_000_000), "large": MicroDollars(1_500_500_000)], multiplyBy: "nodes"))
        #expect(result.state.provisionable["acme-bucket"]?.service.costRule == nil)
    }

    @Test func aBadCostRuleIsAPositionedError() {
        let bad = load([
            "services/acme/service.yaml": Self.manifest(
                rule: "cost_rule:\n  parameter: 2size\n  multiply_by: nodes\n  monthly_usd:\n    small: -1\n    large: lots\n  per: month")
        ])
        #expect(
            bad.messages == [
                "test/services/acme/service.yaml:20:18: error: Service/acme provisionable[0].cost_rule.parameter: \"2size\" is not a parameter name (letters, digits and _, starting with a letter)",
                "test/services/acme/service.yaml:23:16: error: Service/acme provisionable[0].cost_rule.monthly_usd.small: \"-1\" must not be negative: expected an amount of US dollars such as 12.50",
                "test/services/acme/service.yaml:24:16: error: Service/acme provisionable[0].cost_rule.monthly_usd.large: \"lots\" is not a decimal number: expected an amount of US dollars such as 12.50",
                "test/services/acme/service.yaml:25:7: error: Service/acme provisionable[0].cost_rule.per: unknown field",
            ])
        let empty = load(["services/acme/service.yaml": Self.manifest(rule: "cost_rule:\n  parameter: size\n  multiply_by: size\n  monthly_usd: {}")])
        #expect(
            empty.messages == [
                "test/services/acme/service.yaml:22:20: error: Service/acme provisionable[0].cost_rule.monthly_usd: must give a monthly figure for at least one value of size"
            ])
        let same = load([
            "services/acme/service.yaml": Self.manifest(rule: "cost_rule:\n  parameter: size\n  multiply_by: size\n  monthly_usd: {s: 1}")
        ])
        #expect(
            same.messages == [
                "test/services/acme/service.yaml:21:20: error: Service/acme provisionable[0].cost_rule.multiply_by: must name another parameter than size, whose value picks the figure"
            ])
        let scalar = load(["services/acme/service.yaml": Self.manifest(rule: "cost_rule:\n  parameter: size\n  monthly_usd: 100")])
        #expect(
            scalar.messages.count == 1
                && scalar.messages[0].contains("cost_rule.monthly_usd: expected a mapping from size's values to US dollars a month"))
    }
}
