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
                ProvisionableService(name: "\(vendor)-svc\(index)", module: "modules/\(vendor)/svc\(index)",
                                     tier: Bool.random(using: &rng) ? .auto : .human,
                                     classificationFloor: classes.randomElement(using: &rng)!,
                                     monthlyEstimate: MicroDollars(Int64.random(in: 0...5, using: &rng) * 1_000_000),
                                     tagLocations: [TagLocation(resourceType: "\(vendor)_thing", path: ["tags"], format: .map)])
            }
            provisionable += offers
            let models = (0..<Int.random(in: 1...2, using: &rng)).map { index in
                ModelRoute(id: "\(vendor)/m\(index)", upstream: "up-\(index)-\(Int.random(in: 0...1, using: &rng))",
                           pricing: TokenPricing(inputPerMillion: MicroDollars(Int64.random(in: 0...3, using: &rng)),
                                                 outputPerMillion: MicroDollars(4)),
                           maxDataClass: classes.randomElement(using: &rng)!)
            }
            let inference = InferenceSpec(kind: .openAICompatible, baseURLEnv: "\(vendor.uppercased())_URL", tokenEnv: "\(vendor.uppercased())_TOKEN",
                                          chatPath: Bool.random(using: &rng) ? nil : "/x/{model}", timeoutSeconds: 30,
                                          sendsUsageContext: false, defaultMaxTokens: 1000, models: models)
            objects.append(.service(Service(id: vendor, inference: inference, provisionable: offers, costSource: nil)))
        }
        let projects = (0..<Int.random(in: 0...size, using: &rng)).map { "p\($0)" }
        for id in projects {
            objects.append(.project(Project(id: id, name: "P \(id)", owner: "o@example.com", classification: classes.randomElement(using: &rng)!,
                                            monthlyBudget: MicroDollars(Int64.random(in: 0...2, using: &rng)), approvers: ["a@example.com"])))
        }
        guard !projects.isEmpty else { return DesiredState(objects) }
        for index in 0..<Int.random(in: 0...size, using: &rng) {
            objects.append(.key(Key(id: "k\(index)", project: projects.randomElement(using: &rng)!, digest: String(repeating: "\(index % 10)", count: 64),
                                    allowedModels: vendors.map { "\($0)/*" }, maxDataClass: .public, defaultDataClass: .public,
                                    requestsPerMinute: Bool.random(using: &rng) ? nil : 60)))
        }
        guard !provisionable.isEmpty else { return DesiredState(objects) }
        for index in 0..<Int.random(in: 0...size, using: &rng) {
            objects.append(.resource(Resource(id: "r\(index)", project: projects.randomElement(using: &rng)!,
                                              service: provisionable.randomElement(using: &rng)!.name,
                                              parameters: ["size": .number(String(Int.random(in: 1...2, using: &rng)))])))
        }
        for index in 0..<Int.random(in: 0...2, using: &rng) {
            guard let vendor = vendors.randomElement(using: &rng), let offer = provisionable.first(where: { $0.name.hasPrefix(vendor + "-") }) else { continue }
            objects.append(.servingEndpoint(ServingEndpoint(id: "e\(index)", project: projects.randomElement(using: &rng)!, service: vendor,
                                                            provisioner: offer.name, model: "\(vendor)/served\(index)", maxDataClass: .public,
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
            case 1: list.append(ObservedObject(ref: object.ref, specDigest: object.specDigest, tier: desired.tier(of: object),
                                               status: ObjectStatus.allCases.randomElement(using: &rng)!, project: object.projectID))
            default: list.append(ObservedObject(ref: object.ref, specDigest: SHA256.hex("stale \(object.ref)"), tier: .auto, status: .applied, project: object.projectID))
            }
        }
        for index in 0..<Int.random(in: 0...4, using: &rng) {
            let kind = ObjectKind.allCases.randomElement(using: &rng)!
            list.append(ObservedObject(ref: ObjectRef(kind, "gone\(index)"), specDigest: SHA256.hex("gone \(index)"),
                                       tier: Bool.random(using: &rng) ? .auto : .human, status: .applied, project: "p0"))
        }
        return ObservedState(list)
    }
}
