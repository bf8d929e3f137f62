import AsgardTestSupport
import Foundation
import Testing

/// `asgard cost rollup|report|export` as people and CI run them.
@Suite(.serialized) struct CostCommandTests {
    @Test func rollupReportAndExportFromTheCommandLine() async throws {
        let root = try makeTemporaryDirectory("cost-command")
        _ = try copyShippedDesired(into: root)
        let data = ["--data-dir", root + "/data"]
        #expect(try await asgardDetached(["reconcile", "--once", "--retry-after", "3600", "desired"] + data, in: root).status == 0)

        // Bad orders: usage errors, naming what is wrong, and nothing written.
        for (arguments, fragment) in [
            (["cost", "rollup", "--from", "2026-13-01"], "is not a day"), (["cost", "rollup", "--source", "s3-billing"], "no cost source named s3-billing"),
            (["cost", "rollup", "--from", "2026-12-02", "--to", "2026-12-01"], "before it starts"),
            (["cost", "export", "--format", "csv"], "focus"), (["cost", "report", "--json", "--csv"], "exclude each other"),
        ] {
            let result = try await asgardDetached(arguments + data, in: root)
            #expect(result.status == 2 && result.stderr.contains(fragment), "\(arguments): \(result.output)")
        }
        let empty = try await asgardDetached(["cost", "report", "--csv"] + data, in: root)
        #expect(empty.status == 0 && empty.stdout == "project,vendor,day,amount_usd,measurement,details\r\n", "\(empty.output)")

        // No Databricks environment: billing is not measured, and with no resource applied (no
        // terraform here) nothing stands in for it: not measured, never zero.
        let rolled = try await asgardDetached(["cost", "rollup", "--json"] + data, in: root, environment: ["DATABRICKS_WAREHOUSE_ID": ""])
        #expect(rolled.status == 0, "\(rolled.output)")
        let sources = try JSONSerialization.jsonObject(with: Data(rolled.stdout.utf8)) as? [String: Any]
        #expect(sources?["sources"] as? [String] == ["databricks-billing", "gateway", "none"], "\(rolled.stdout)")
        let report = try await asgardDetached(["cost", "report", "--group-by", "project,source", "--csv"] + data, in: root)
        #expect(report.stdout.contains("fraud-detection,databricks-billing,,not_measured,\""), "\(report.stdout)")
        #expect(report.stdout.contains("is not set, so Databricks billing cannot be queried"), "\(report.stdout)")
        #expect(report.stdout.contains("fraud-detection,gateway,0.000000,measured,"), "\(report.stdout)")

        let export = try await asgardDetached(["cost", "export", "--format", "focus"] + data, in: root)
        #expect(export.status == 0, "\(export.output)")
        #expect(export.stdout.hasPrefix("AvailabilityZone,") || export.stdout.contains("BilledCost"), "\(export.stdout.prefix(300))")
        #expect(export.stderr.contains("not measured were left out"), "\(export.stderr)")
    }
}
