public import AsgardCore
import Foundation

/// SplitMix64: a tiny deterministic generator, so seeded tests repeat exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Random but internally consistent desired and observed states, built from a seed.
/// Small pools of ids and values make overlaps (same object, changed object) common.
public enum RandomState {
    static let classes = DataClass.allCases

    /// A desired state with up to `size` objects per kind, references all resolvable.
    public static func desired(seed: UInt64, size: Int = 6) -> DesiredState {
        var rng = SplitMix64(seed: seed)
        var objects: [DesiredObject] = []
        let vendors = ["acme", "globex", "initech"].filter { _ in Bool.random(using: &rng) }
        var provisionable: [ProvisionableService] = []
        for vendor in vendors {
            let offers = (0..<Int.random(in: 0...2, using: &rng)).map { index in
                ProvisionableService(
                    name: "\(vendor)-svc\(index)", module: "modules/\(vendor)/svc\(index)",
                    tier: Bool.random(using: &rng) ? .auto : .human,
                    classificationFloor: classes.randomElement(using: &rng)!,
                    monthlyEstimate: MicroDollars(Int64.random(in: 0...5, using: &rng) * 1_000_000),
                    tagLocations: [TagLocation(resourceType: "\(vendor)_thing", path: ["tags"], format: .map)])
            }
            provisionable += offers
            let models = (0..<Int.random(in: 1...2, using: &rng)).map { index in
                ModelRoute(
                    id: "\(vendor)/m\(index)", upstream: "up-\(index)-\(Int.random(in: 0...1, using: &rng))",
                    pricing: TokenPricing(
                        inputPerMillion: MicroDollars(Int64.random(in: 0...3, using: &rng)),
                        outputPerMillion: MicroDollars(4)),
                    maxDataClass: classes.randomElement(using: &rng)!)
            }
            let inference = InferenceSpec(
                kind: .openAICompatible, baseURLEnv: "\(vendor.uppercased())_URL", tokenEnv: "\(vendor.uppercased())_TOKEN",
                chatPath: Bool.random(using: &rng) ? nil : "/x/{model}", timeoutSeconds: 30,
                sendsUsageContext: false, defaultMaxTokens: 1000, models: models)
            objects.append(.service(Service(id: vendor, inference: inference, provisionable: offers, costSource: nil)))
        }
        // People from a stream of their own, so a seed's other objects stay what they were.
        var people = SplitMix64(seed: seed ^ 0x9e09_1e00)
        for (id, email) in [("a", "a@example.com"), ("o", "o@example.com")] where Bool.random(using: &people) {
            let credential = SHA256.hex("asgp_\(id)_\(Int.random(in: 0...1, using: &people))")
            objects.append(.person(Person(id: id, email: email, credential: credential, roles: Bool.random(using: &people) ? ["admin"] : [])))
        }
        let projects = (0..<Int.random(in: 0...size, using: &rng)).map { "p\($0)" }
        for id in projects {
            objects.append(
                .project(
                    Project(
                        id: id, name: "P \(id)", owner: "o@example.com", classification: classes.randomElement(using: &rng)!,
                        monthlyBudget: MicroDollars(Int64.random(in: 0...2, using: &rng)), approvers: ["a@example.com"])))
        }
        guard !projects.isEmpty else { return DesiredState(objects) }
        // Digests and endpoint models come from small pools independent of the ids, so successive
        // states rename keys with the same digest and move models between services and endpoints.
        let digests = (0..<10).map { String(repeating: "\($0)", count: 64) }.shuffled(using: &rng)
        for index in 0..<Int.random(in: 0...size, using: &rng) {
            objects.append(
                .key(
                    Key(
                        id: "k\(index)", project: projects.randomElement(using: &rng)!, digest: digests[index],
                        allowedModels: vendors.map { "\($0)/*" }, maxDataClass: .public, defaultDataClass: .public,
                        requestsPerMinute: Bool.random(using: &rng) ? nil : 60)))
        }
        guard !provisionable.isEmpty else { return DesiredState(objects) }
        for index in 0..<Int.random(in: 0...size, using: &rng) {
            objects.append(
                .resource(
                    Resource(
                        id: "r\(index)", project: projects.randomElement(using: &rng)!,
                        service: provisionable.randomElement(using: &rng)!.name,
                        parameters: ["size": .number(String(Int.random(in: 1...2, using: &rng)))])))
        }
        var routed = Set(
            objects.flatMap { object -> [String] in
                if case .service(let service) = object { service.inference?.models.map(\.id) ?? [] } else { [] }
            })
        for index in 0..<Int.random(in: 0...3, using: &rng) {
            guard let vendor = vendors.randomElement(using: &rng), let offer = provisionable.first(where: { $0.name.hasPrefix(vendor + "-") }),
                let model = ["m0", "m1", "served0", "served1"].map({ "\(vendor)/\($0)" }).filter({ !routed.contains($0) }).randomElement(using: &rng)
            else { continue }
            routed.insert(model)
            objects.append(
                .servingEndpoint(
                    ServingEndpoint(
                        id: "e\(index)", project: projects.randomElement(using: &rng)!, service: vendor,
                        provisioner: offer.name, model: model, maxDataClass: .public,
                        pricing: TokenPricing(inputPerMillion: MicroDollars(1), outputPerMillion: MicroDollars(2)),
                        parameters: [:])))
        }
        return DesiredState(objects)
    }

    /// An observed state overlapping `desired`: some objects identical, some stale, some extra.
    public static func observed(seed: UInt64, near desired: DesiredState) -> ObservedState {
        var rng = SplitMix64(seed: seed ^ 0x5eed)
        var list: [ObservedObject] = []
        for object in desired.objects {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: continue
            case 1:
                list.append(
                    ObservedObject(
                        ref: object.ref, specDigest: object.specDigest, tier: desired.tier(of: object),
                        status: ObjectStatus.allCases.randomElement(using: &rng)!, project: object.projectID))
            default:
                list.append(
                    ObservedObject(
                        ref: object.ref, specDigest: SHA256.hex("stale \(object.ref)"), tier: .auto, status: .applied, project: object.projectID))
            }
        }
        for index in 0..<Int.random(in: 0...4, using: &rng) {
            let kind = ObjectKind.allCases.randomElement(using: &rng)!
            list.append(
                ObservedObject(
                    ref: ObjectRef(kind, "gone\(index)"), specDigest: SHA256.hex("gone \(index)"),
                    tier: Bool.random(using: &rng) ? .auto : .human, status: .applied, project: "p0"))
        }
        return ObservedState(list)
    }
}

/// A model of the store's natural-key tables: which object holds each key digest and each
/// routed model. Objects claim natural keys as they are put and release them as they are
/// changed or removed; readers see the newest claim (`SQLiteStore`'s rule). With `unique`, a
/// claim of a natural key another object holds is refused instead, as the store's `UNIQUE`
/// constraints did before claims: the model that shows why a rename used to wedge the controller.
public struct ClaimTables: Sendable {
    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var unique: Bool
    private var claims: [String: [ObjectRef: Int]] = [:]
    private var next = 0

    public init(unique: Bool = false) { self.unique = unique }

    /// The natural keys `object` claims while it is applied: its digest (a key), its models (a
    /// service with inference, and an applied serving endpoint).
    public static func naturalKeys(of object: DesiredObject) -> Set<String> {
        switch object {
        case .key(let key): ["digest:" + key.digest]
        case .service(let service): Set((service.inference?.models ?? []).map { "model:" + $0.id })
        case .servingEndpoint(let endpoint): ["model:" + endpoint.model]
        case .person, .project, .resource: []
        }
    }

    /// `object` is put: it keeps the claims it still has, releases the others, claims the new ones.
    /// - Throws: `Refused` in `unique` mode when another object holds one of its natural keys.
    public mutating func put(_ object: DesiredObject) throws {
        let keys = Self.naturalKeys(of: object)
        if unique, let taken = keys.first(where: { key in claims[key, default: [:]].keys.contains { $0 != object.ref } }) {
            throw Refused(description: "UNIQUE constraint failed: \(taken) is held by another object than \(object.ref)")
        }
        remove(object.ref, keeping: keys)
        for key in keys where claims[key]?[object.ref] == nil {
            next += 1
            claims[key, default: [:]][object.ref] = next
        }
    }

    /// `ref` is removed: every claim it held is released.
    public mutating func remove(_ ref: ObjectRef, keeping kept: Set<String> = []) {
        for key in Array(claims.keys) where !kept.contains(key) {
            claims[key]?[ref] = nil
            if claims[key]?.isEmpty == true { claims[key] = nil }
        }
    }

    /// What readers see: each natural key's newest claim.
    public var served: [String: ObjectRef] {
        claims.compactMapValues { holders in holders.max { $0.value < $1.value }?.key }
    }

    /// What a store converged on `desired` serves: each natural key held by its one desired owner.
    public static func served(by desired: DesiredState) -> [String: ObjectRef] {
        var served: [String: ObjectRef] = [:]
        for object in desired.objects {
            for key in naturalKeys(of: object) { served[key] = object.ref }
        }
        return served
    }

    /// Carries out `actions` in order as a fully successful pass would (every provisioning
    /// action applied), with the objects of `desired`.
    public mutating func apply(_ actions: [Action], from desired: DesiredState) throws {
        for action in actions {
            if action.verb == .delete {
                remove(action.ref)
            } else if let object = desired.object(action.ref) {
                try put(object)
            }
        }
    }
}
