/// One entity: its attributes, tags and (transitively closed) ancestors.
public struct Entity: Sendable, Hashable {
    public var uid: EntityUID
    public var attributes: [String: Value]
    /// Every ancestor, transitively (parents of parents ...), not including itself.
    public var ancestors: Set<EntityUID>
    public var tags: [String: Value]

    public init(uid: EntityUID, attributes: [String: Value] = [:], ancestors: Set<EntityUID> = [], tags: [String: Value] = [:]) {
        self.uid = uid
        self.attributes = attributes
        self.ancestors = ancestors
        self.tags = tags
    }
}

/// The entity store a request is decided against.
public struct Entities: Sendable, Hashable {
    public private(set) var byUID: [EntityUID: Entity]

    /// Builds the store from entities whose `ancestors` hold their direct parents, closing the
    /// ancestor relation transitively (parents need not exist as entities themselves).
    public init(closingParentsOf entities: [Entity]) {
        var store: [EntityUID: Entity] = [:]
        for entity in entities { store[entity.uid] = entity }
        // Each entity's ancestors: everything reachable through parent links, found by a
        // walk over the direct parents (cycles end the walk; an entity is not its own ancestor).
        let parents = store.mapValues(\.ancestors)
        for uid in store.keys {
            var reached: Set<EntityUID> = []
            var pending = Array(parents[uid] ?? [])
            while let next = pending.popLast() {
                guard reached.insert(next).inserted else { continue }
                pending.append(contentsOf: parents[next] ?? [])
            }
            reached.remove(uid)
            store[uid]?.ancestors = reached
        }
        byUID = store
    }

    public subscript(uid: EntityUID) -> Entity? { byUID[uid] }

    /// `a in b`: reflexive, and transitive through the closed ancestors.
    public func isDescendant(_ a: EntityUID, of b: EntityUID) -> Bool {
        a == b || (byUID[a]?.ancestors.contains(b) ?? false)
    }
}

/// An authorization request.
public struct Request: Sendable, Hashable {
    public var principal: EntityUID
    public var action: EntityUID
    public var resource: EntityUID
    public var context: [String: Value]

    public init(principal: EntityUID, action: EntityUID, resource: EntityUID, context: [String: Value] = [:]) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }
}

/// The decision and why.
public struct Response: Sendable, Hashable {
    public enum Decision: String, Sendable, Hashable {
        case allow
        case deny
    }

    public var decision: Decision
    /// The ids of the policies that determined the decision: the satisfied forbids when
    /// denied by one, else the satisfied permits when allowed, else none.
    public var reasons: Set<String>
    /// The ids of the policies whose evaluation raised an error (they were skipped).
    public var errors: Set<String>
    /// Each erring policy's error, for people and the audit log.
    public var errorMessages: [String: String]

    public init(decision: Decision, reasons: Set<String>, errors: Set<String>, errorMessages: [String: String] = [:]) {
        self.decision = decision
        self.reasons = reasons
        self.errors = errors
        self.errorMessages = errorMessages
    }
}
