import Benchmark
import Cedar
import Foundation

/// Cedar authorization latency and throughput (see BENCHMARKS.md, "Cedar authorization").
///
/// Three scenarios, each decided once before any measurement (the process stops if a decision
/// or its reasons are not the expected ones), then measured with one `authorize` call per
/// scaled iteration: Asgard's own policy set (`policies/*.cedar`) on an invoke.yaml-like entity
/// store, for an allowed and a denied `invoke`, and 1,000 generated policies on 360 entities.
/// `scripts/bench_cedarpy.py` runs the same scenarios on cedarpy and must generate the same
/// texts (it checks their SHA-256); change both together.
let benchmarks: @Sendable () -> Void = {
    let asgard = Scenario.asgardPolicies()
    let allowed = asgard.checked(request: AsgardFixture.allowedRequest(), decision: .allow, reasons: ["key-invokes-allowed-model"])
    let denied = asgard.checked(request: AsgardFixture.deniedRequest(), decision: .deny, reasons: [])
    let generated = Scenario.generated()
    let generatedRequest = generated.checked(
        request: GeneratedFixture.request(), decision: .allow, reasons: GeneratedFixture.expectedReasons)

    // One sample = 1,000 authorizations; `--scale` prints the figures per authorization.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(10),
        maxIterations: 2_000
    )

    Benchmark("authorize: Asgard policy set, invoke allowed") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(asgard.authorizer.authorize(allowed, entities: asgard.entities))
        }
    }

    Benchmark("authorize: Asgard policy set, invoke denied") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(asgard.authorizer.authorize(denied, entities: asgard.entities))
        }
    }

    Benchmark("authorize: 1,000 generated policies") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(generated.authorizer.authorize(generatedRequest, entities: generated.entities))
        }
    }

    // One sample = one authorization: the distribution of single calls (including the
    // harness's two clock reads per sample), comparable with cedarpy's per-call timings.
    Benchmark(
        "authorize: Asgard policy set, invoke allowed, one call per sample",
        configuration: .init(
            metrics: [.wallClock],
            timeUnits: .nanoseconds,
            warmupIterations: 1_000,
            scalingFactor: .one,
            maxDuration: .seconds(10),
            maxIterations: 200_000
        )
    ) { benchmark in
        blackHole(asgard.authorizer.authorize(allowed, entities: asgard.entities))
    }
}

/// A policy set and the entity store its requests are decided against.
struct Scenario: Sendable {
    let authorizer: Authorizer
    let entities: Entities

    /// Asgard's policy set (every `policies/*.cedar`, in name order) and an invoke.yaml-like store.
    static func asgardPolicies() -> Scenario {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // CedarBenchmarks
            .deletingLastPathComponent()  // Benchmarks (targets)
            .deletingLastPathComponent()  // Benchmarks (package)
            .deletingLastPathComponent()  // the main package
            .appendingPathComponent("policies")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".cedar") }
                .sorted()
        } catch {
            fatalError("cannot list \(directory.path): \(error)")
        }
        var text = ""
        for name in names {
            do {
                text += try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) + "\n"
            } catch {
                fatalError("cannot read \(name): \(error)")
            }
        }
        let scenario = make(policies: text, entities: AsgardFixture.entitiesJSON)
        guard scenario.authorizer.policies.count == 10 else {
            fatalError("expected Asgard's 10 policies in \(directory.path), found \(scenario.authorizer.policies.count)")
        }
        return scenario
    }

    /// 1,000 generated policies on 360 generated entities.
    static func generated() -> Scenario {
        let scenario = make(policies: GeneratedFixture.policies(), entities: GeneratedFixture.entitiesJSON())
        guard scenario.authorizer.policies.count == 1_000 else {
            fatalError("expected 1,000 generated policies, found \(scenario.authorizer.policies.count)")
        }
        return scenario
    }

    static func make(policies: String, entities: String) -> Scenario {
        do {
            return Scenario(authorizer: Authorizer(policies: try parsePolicies(policies)), entities: try parseEntities(json: entities))
        } catch {
            fatalError("cannot build the scenario: \(error)")
        }
    }

    /// `request`, after checking once that it is decided as expected, with no errors. `reasons`
    /// are `@id` annotations (the response names policies `policy0`, `policy1`, ... in order).
    func checked(request: Request, decision: Response.Decision, reasons: Set<String>) -> Request {
        var annotatedID: [String: String] = [:]
        for policy in authorizer.policies {
            annotatedID[policy.id] = policy.annotations.first { $0.name == "id" }?.value ?? policy.id
        }
        let response = authorizer.authorize(request, entities: entities)
        let got = Set(response.reasons.map { annotatedID[$0] ?? $0 })
        guard response.decision == decision, got == reasons, response.errors.isEmpty else {
            fatalError(
                """
                unexpected response to \(request.principal) \(request.action) \(request.resource): \
                \(response.decision) because of \(got.sorted()) (errors \(response.errorMessages)); \
                expected \(decision) because of \(reasons.sorted())
                """)
        }
        return request
    }
}

func uid(_ text: String) -> EntityUID {
    do { return try parseEntityUID(text) } catch { fatalError("\(text): \(error)") }
}

func context(_ json: String) -> [String: Value] {
    do { return try parseContext(json: json) } catch { fatalError("\(json): \(error)") }
}

/// The entities of `policies/tests/invoke.yaml`, in Cedar's entity JSON.
enum AsgardFixture {
    static let entitiesJSON = """
        [
          {"uid": {"type": "User", "id": "maria"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Project", "id": "fraud-detection"}, "parents": [],
           "attrs": {"classification_level": 2, "active": true, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
          {"uid": {"type": "Project", "id": "retired"}, "parents": [],
           "attrs": {"classification_level": 3, "active": false, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
          {"uid": {"type": "Project", "id": "vault"}, "parents": [],
           "attrs": {"classification_level": 3, "active": true, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
          {"uid": {"type": "Key", "id": "fraud-scoring-agent"}, "parents": [],
           "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 2,
                     "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": [],
                     "expires": {"__extn": {"fn": "datetime", "arg": "2027-06-30"}}}},
          {"uid": {"type": "Key", "id": "notebook"}, "parents": [],
           "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 1,
                     "allowed_models": [], "allowed_vendors": ["databricks"]}},
          {"uid": {"type": "Key", "id": "vault-key"}, "parents": [],
           "attrs": {"project": {"__entity": {"type": "Project", "id": "vault"}}, "max_level": 3,
                     "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": []}},
          {"uid": {"type": "Key", "id": "overreaching"}, "parents": [],
           "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 3,
                     "allowed_models": ["databricks/secure"], "allowed_vendors": []}},
          {"uid": {"type": "Key", "id": "old-key"}, "parents": [],
           "attrs": {"project": {"__entity": {"type": "Project", "id": "retired"}}, "max_level": 3,
                     "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": []}},
          {"uid": {"type": "Model", "id": "databricks/secure"}, "parents": [],
           "attrs": {"vendor": "databricks", "name": "databricks/secure", "max_level": 3}},
          {"uid": {"type": "Model", "id": "databricks/llama-3-3-70b"}, "parents": [],
           "attrs": {"vendor": "databricks", "name": "databricks/llama-3-3-70b", "max_level": 2}},
          {"uid": {"type": "Model", "id": "openai/gpt-4o-mini"}, "parents": [],
           "attrs": {"vendor": "openai", "name": "openai/gpt-4o-mini", "max_level": 1}}
        ]
        """

    static let contextJSON = """
        {"level": 2, "estimated_cost_micros": 1500, "now": {"__extn": {"fn": "datetime", "arg": "2026-11-25T10:00:00Z"}}}
        """

    /// invoke.yaml's first case: allowed by `key-invokes-allowed-model`.
    static func allowedRequest() -> Request {
        Request(
            principal: uid(#"Key::"fraud-scoring-agent""#), action: uid(#"Action::"invoke""#),
            resource: uid(#"Model::"databricks/llama-3-3-70b""#), context: context(contextJSON))
    }

    /// A model the key is not allowed: no policy permits it (denied with no reasons).
    static func deniedRequest() -> Request {
        Request(
            principal: uid(#"Key::"fraud-scoring-agent""#), action: uid(#"Action::"invoke""#),
            resource: uid(#"Model::"openai/gpt-4o-mini""#), context: context(contextJSON))
    }
}

/// 1,000 policies and 360 entities, the same on every run (nothing random).
/// `scripts/bench_cedarpy.py` generates byte-identical texts.
enum GeneratedFixture {
    /// 50 folders in a tree (f0 the root, fk's parent f((k-1)/3)), 10 groups (g1...g9 in g0),
    /// 200 users (each in one group) and 100 documents (each in one folder).
    static func entitiesJSON() -> String {
        var items: [String] = []
        func entity(_ type: String, _ id: String, _ attrs: [(String, String)], _ parents: [(String, String)]) {
            let attrText = attrs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
            let parentText = parents.map { "{\"type\":\"\($0.0)\",\"id\":\"\($0.1)\"}" }.joined(separator: ",")
            items.append("{\"uid\":{\"type\":\"\(type)\",\"id\":\"\(id)\"},\"attrs\":{\(attrText)},\"parents\":[\(parentText)]}")
        }
        for k in 0..<50 {
            entity("Folder", "f\(k)", [("name", "\"folder-\(k)\"")], k == 0 ? [] : [("Folder", "f\((k - 1) / 3)")])
        }
        for k in 0..<10 {
            entity("Group", "g\(k)", [], k == 0 ? [] : [("Group", "g0")])
        }
        for n in 0..<200 {
            entity(
                "User", "u\(n)",
                [
                    ("dept", "\"dept-\(n % 8)\""),
                    ("level", "\(n % 5)"),
                    ("email", "\"u\(n)@corp\(n % 3).example\""),
                    ("tags", "[\"tag-\(n % 7)\",\"tag-\((n * 3 + 1) % 7)\"]"),
                ], [("Group", "g\(1 + n % 9)")])
        }
        for n in 0..<100 {
            let name = n % 2 == 0 ? "report-\(n).pdf" : "notes-\(n).txt"
            entity(
                "Document", "d\(n)",
                [
                    ("owner", "{\"__entity\":{\"type\":\"User\",\"id\":\"u\((n * 7) % 200)\"}}"),
                    ("classification", "\(n % 4)"),
                    ("name", "\"\(name)\""),
                    ("size", "\((n * 37) % 1000)"),
                    ("tags", "[\"tag-\(n % 7)\"]"),
                ], [("Folder", "f\(n % 50)")])
        }
        return "[" + items.joined(separator: ",\n") + "]"
    }

    /// Policy i: a forbid when i % 10 == 7 (with an `unless` on the hour), else a permit; its
    /// principal, action and resource scopes and its `when` condition cycle independently.
    static func policies() -> String {
        var text = ""
        for i in 0..<1_000 {
            let effect = i % 10 == 7 ? "forbid" : "permit"
            let principal = [
                "principal == User::\"u\(i % 200)\"", "principal in Group::\"g\(i % 10)\"", "principal is User", "principal",
            ][i % 4]
            let action = [
                "action == Action::\"read\"", "action == Action::\"write\"", "action in [Action::\"read\", Action::\"write\"]",
            ][i % 3]
            let resource = [
                "resource in Folder::\"f\(i % 50)\"", "resource == Document::\"d\(i % 100)\"", "resource is Document", "resource",
            ][(i / 4) % 4]
            let condition = [
                "principal.level == \(i % 5) && resource.classification <= principal.level",
                "resource.name like \"*-\(i % 20).*\"",
                "principal.tags.contains(\"tag-\(i % 7)\") && resource.tags.contains(\"tag-\((i / 7) % 7)\")",
                "resource.size + context.extra * \(i % 9 + 1) < \((i * 13) % 700)",
                "principal.dept == \"dept-\(i % 8)\" && principal.email like \"*@corp\(i % 3).example\"",
                "context.hour >= \(i % 24) && context.hour < \(i % 24 + 2) && principal.level * 2 > \(i % 7)",
            ][(i / 3) % 6]
            let unless = effect == "forbid" ? "\nunless { context.hour < \(18 + i % 6) }" : ""
            let id = String(repeating: "0", count: 4 - String(i).count) + String(i)
            text += "@id(\"p\(id)\")\n\(effect) (\(principal), \(action), \(resource))\nwhen { \(condition) }\(unless);\n"
        }
        return text
    }

    /// User u42 reads Document d17 (in f17, f5, f1, f0) at 10 o'clock.
    static func request() -> Request {
        Request(
            principal: uid(#"User::"u42""#), action: uid(#"Action::"read""#),
            resource: uid(#"Document::"d17""#), context: context(#"{"hour": 10, "extra": 3}"#))
    }

    /// The permits that hold for `request()` (no forbid holds), as cedarpy 4.12.2 decides too.
    static let expectedReasons: Set<String> = [
        "p0138", "p0282", "p0362", "p0426", "p0522", "p0542", "p0570", "p0702", "p0714", "p0858", "p0911",
    ]
}
