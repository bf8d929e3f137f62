import AsgardCore
import Testing

struct CostSourceManifestTests {
    static func manifest(_ extra: String) -> String {
        """
        kind: Service
        id: acme
        cost_source:
          type: databricks-billing
        \(extra)
          env:
            host: ACME_HOST
            token: ACME_TOKEN
            warehouse_id: ACME_WAREHOUSE
        """
    }

    @Test func theReconciliationToleranceIsReadAndOptional() {
        let with = load(["services/acme/service.yaml": Self.manifest("  reconcile_tolerance_percent: 5")])
        #expect(with.messages == [])
        #expect(with.state.services["acme"]?.costSource?.reconcileTolerancePercent == 5)
        let without = load(["services/acme/service.yaml": Self.manifest("")])
        #expect(without.state.services["acme"]?.costSource?.reconcileTolerancePercent == nil)
    }

    @Test(arguments: ["150", "-1", "five", "2.5"])
    func aBadToleranceIsAPositionedError(_ value: String) {
        let bad = load(["services/acme/service.yaml": Self.manifest("  reconcile_tolerance_percent: \(value)")])
        #expect(bad.messages.count == 1)
        #expect(bad.messages.first?.hasPrefix("test/services/acme/service.yaml:5:32: error: Service/acme cost_source.reconcile_tolerance_percent:") == true, "\(bad.messages)")
        #expect(bad.state.services["acme"] == nil)
    }
}
