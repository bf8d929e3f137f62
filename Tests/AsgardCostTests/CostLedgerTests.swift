import AsgardCore
import AsgardCost
import AsgardStore
import AsgardTestSupport
import Foundation
import Testing

/// SQLite's own checks on the cost table (the ledger's behaviour is `CostLedgerConformanceTests`,
/// on every store).
struct CostLedgerTests {
    /// The table refuses a figure that contradicts its label, whoever writes it.
    @Test func theTableRefusesAnInventedFigure() async throws {
        let root = try makeTemporaryDirectory("cost-ledger-check")
        let path = root + "/asgard.sqlite"
        _ = try SQLiteStore(path: path, auditKey: testAuditKey)
        #expect(throws: (any Error).self) {
            try sqlite3(path, "INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail) VALUES ('a','d','s','2026-12-01','not_measured',0,'x')")
        }
        #expect(throws: (any Error).self) {
            try sqlite3(path, "INSERT INTO costs (project, vendor, source, day, measurement, amount_micros, detail) VALUES ('a','d','s','2026-12-01','measured',NULL,'x')")
        }
    }
}
