import AsgardCore
import Foundation
import Testing

@testable import AsgardGateway

@Suite struct KillSwitchTests {
    static let since = Date(timeIntervalSince1970: 1_773_576_000)

    static func kill(_ scope: KillScope, _ id: String, reason: String = "incident") -> KillSwitch {
        KillSwitch(scope: scope, id: id, reason: reason, since: since, by: "oncall@example.com")
    }

    /// The call every test checks: vendor `databricks`, model `databricks/llama`, project `fraud`, key `k1`.
    static func check(_ set: KillSwitchSet) -> KillSwitch? {
        set.check(vendor: "databricks", model: "databricks/llama", project: "fraud", key: "k1")
    }

    struct ScopeCase: Sendable, CustomTestStringConvertible {
        var scope: KillScope
        var matching: String
        var testDescription: String { scope.rawValue }
    }

    @Test(arguments: [
        ScopeCase(scope: .global, matching: ""),
        ScopeCase(scope: .vendor, matching: "databricks"),
        ScopeCase(scope: .model, matching: "databricks/llama"),
        ScopeCase(scope: .project, matching: "fraud"),
        ScopeCase(scope: .key, matching: "k1"),
    ])
    func eachScopeStopsMatchingCallsOnly(_ c: ScopeCase) {
        let engaged = Self.kill(c.scope, c.matching)
        #expect(Self.check(KillSwitchSet([engaged])) == engaged)
        if c.scope != .global {
            // The same id in another scope, or another id in this scope, stops nothing.
            let elsewhere = KillScope.allCases.filter { $0 != c.scope && $0 != .global }.map { Self.kill($0, c.matching + "-x") }
            #expect(Self.check(KillSwitchSet([Self.kill(c.scope, "other")] + elsewhere)) == nil)
            let otherScopes = KillScope.allCases.filter { $0 != c.scope && $0 != .global }.map { Self.kill($0, c.matching) }
            let set = KillSwitchSet(otherScopes)
            // This scope's matching id engaged in the other scopes stops nothing either.
            #expect(Self.check(set) == nil)
        }
    }

    @Test(
        "a vendor's kill switch is matched against the model name's first non-empty part",
        arguments: [
            ("databricks/llama", "databricks"), ("databricks", "databricks"), ("/databricks/llama", "databricks"),
            ("//x//y", "x"), ("", ""), ("///", ""), ("openai/gpt-4o/mini", "openai"), ("vé/ndor", "vé"),
            ("a/\u{301}b", "a"),
        ])
    func vendorOfAModelName(model: String, vendor: String) {
        #expect(Array(Gateway.vendorPrefix(of: model).utf8) == Array(vendor.utf8))
    }

    @Test func firstMatchInOrderGlobalVendorModelProjectKey() {
        let all = [
            Self.kill(.key, "k1"), Self.kill(.project, "fraud"), Self.kill(.model, "databricks/llama"),
            Self.kill(.vendor, "databricks"), Self.kill(.global, ""),
        ]
        // Remove the broadest each time: the next broadest is reported, whatever the input order.
        for dropped in 0..<all.count {
            let remaining = Array(all.prefix(all.count - dropped))
            for order in [remaining, remaining.reversed()] {
                #expect(Self.check(KillSwitchSet(order)) == remaining.last)
            }
        }
        #expect(Self.check(KillSwitchSet([])) == nil)
        #expect(KillSwitchSet([]).isEmpty && KillSwitchSet.empty.isEmpty)
    }

    @Test func globalIgnoresItsId() {
        let global = Self.kill(.global, "anything")
        #expect(global.id == "")
        #expect(KillSwitchSet([global]).check(vendor: "a", model: "a/b", project: "p", key: "k") == global)
    }

    @Test func duplicateScopeAndIdKeepsTheFirst() {
        let first = Self.kill(.vendor, "databricks", reason: "first")
        let second = Self.kill(.vendor, "databricks", reason: "second")
        let firstGlobal = Self.kill(.global, "", reason: "first global")
        let set = KillSwitchSet([first, second, Self.kill(.key, "k9")])
        #expect(Self.check(set)?.reason == "first")
        #expect(set.switches.count == 2)
        #expect(Self.check(KillSwitchSet([firstGlobal, Self.kill(.global, "", reason: "again")])) == firstGlobal)
    }

    @Test func modelIdsAreExactNotPrefixes() {
        let set = KillSwitchSet([Self.kill(.model, "databricks/llama-3"), Self.kill(.vendor, "data")])
        #expect(Self.check(set) == nil)
    }

    @Test func codableRoundTrip() throws {
        let original = Self.kill(.project, "fraud", reason: "runaway agent")
        let decoded = try JSONDecoder().decode(KillSwitch.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
        let json = String(decoding: try JSONEncoder().encode(KillScope.model), as: UTF8.self)
        #expect(json == "\"model\"")
    }

    @Test func boardReplacesTheWholeSet() {
        let board = KillSwitchBoard()
        #expect(board.current.isEmpty)
        #expect(board.check(vendor: "databricks", model: "databricks/llama", project: "fraud", key: "k1") == nil)
        let vendor = Self.kill(.vendor, "databricks")
        board.replace(with: KillSwitchSet([vendor]))
        #expect(board.check(vendor: "databricks", model: "databricks/llama", project: "fraud", key: "k1") == vendor)
        board.replace(with: KillSwitchSet([Self.kill(.key, "k2")]))
        #expect(board.check(vendor: "databricks", model: "databricks/llama", project: "fraud", key: "k1") == nil)
        #expect(board.current.switches == [Self.kill(.key, "k2")])
        #expect(KillSwitchBoard(KillSwitchSet([vendor])).current.switches == [vendor])
    }

    /// A refresh that read before a switch was engaged, but finishes after the engaging request
    /// installed its own read, does not put the old state back.
    @Test func aStaleReadDoesNotOverwriteANewerOne() {
        let board = KillSwitchBoard()
        let engaged = KillSwitchSet([Self.kill(.model, "databricks/llama", reason: "bad outputs")])
        let periodic = board.ticketForRead()  // the loop's refresh reads: nothing engaged yet
        let afterCommit = board.ticketForRead()  // the admin request reads after its commit
        board.replace(with: engaged, readAt: afterCommit)
        board.replace(with: .empty, readAt: periodic)
        #expect(board.current == engaged)
        // A later read, whatever it found, is installed.
        board.replace(with: .empty, readAt: board.ticketForRead())
        #expect(board.current.isEmpty)
    }

    /// Readers racing a writer always see one of the installed sets whole, never a mixture.
    @Test func concurrentReadersSeeWholeSets() async {
        let board = KillSwitchBoard()
        let a = KillSwitchSet([Self.kill(.vendor, "databricks", reason: "a"), Self.kill(.key, "k1", reason: "a")])
        let b = KillSwitchSet([Self.kill(.model, "databricks/llama", reason: "b"), Self.kill(.project, "fraud", reason: "b")])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<2_000 {
                    board.replace(with: i % 2 == 0 ? a : b)
                    if i % 50 == 0 { await Task.yield() }
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    for i in 0..<2_000 {
                        let set = board.current
                        #expect(set == KillSwitchSet.empty || set == a || set == b)
                        #expect(Set(set.switches.map(\.reason)).count <= 1)
                        if i % 50 == 0 { await Task.yield() }
                    }
                }
            }
        }
    }
}
