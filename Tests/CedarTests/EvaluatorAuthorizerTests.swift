import Testing

@testable import Cedar

@Suite("Authorizer")
struct EvaluatorAuthorizerTests {
    typealias F = Fixture

    static func policy(
        _ id: String, _ effect: Effect, principal: ScopeConstraint = .any, action: ActionConstraint = .any,
        resource: ScopeConstraint = .any, _ conditions: [Condition] = []
    ) -> Policy {
        Policy(
            id: id, effect: effect, annotations: [], principal: principal, action: action, resource: resource,
            conditions: conditions, position: SourcePosition(line: 1, column: 1, offset: 0))
    }

    static func when(_ e: Expr) -> Condition { Condition(kind: .when, body: e) }
    static func unless(_ e: Expr) -> Condition { Condition(kind: .unless, body: e) }

    static func decide(_ policies: [Policy], _ request: Request = F.request) -> Response {
        Authorizer(policies: policies).authorize(request, entities: F.entities)
    }

    @Test func defaultDeny() {
        let response = Self.decide([])
        #expect(response == Response(decision: .deny, reasons: [], errors: []))
        let unsatisfied = Self.decide([Self.policy("p0", .permit, principal: .equal(F.bob))])
        #expect(unsatisfied.decision == .deny && unsatisfied.reasons.isEmpty && unsatisfied.errors.isEmpty)
    }

    @Test func permitAllows() {
        let response = Self.decide([
            Self.policy("p0", .permit), Self.policy("p1", .permit, principal: .equal(F.alice)),
            Self.policy("p2", .permit, principal: .equal(F.bob)),
        ])
        #expect(response.decision == .allow)
        #expect(response.reasons == ["p0", "p1"])
        #expect(response.errors.isEmpty)
    }

    @Test func forbidWins() {
        let response = Self.decide([
            Self.policy("p0", .permit), Self.policy("f0", .forbid, resource: .is("Doc")),
            Self.policy("f1", .forbid, resource: .is("Folder")),
        ])
        #expect(response.decision == .deny)
        #expect(response.reasons == ["f0"])
    }

    @Test func erroringForbidIsSkipped() {
        let response = Self.decide([
            Self.policy("p0", .permit),
            Self.policy("f0", .forbid, [Self.when(failing)]),
            Self.policy("f1", .forbid, [Self.when(.getAttribute(uid(F.alice), "missing"))]),
        ])
        #expect(response.decision == .allow)
        #expect(response.reasons == ["p0"])
        #expect(response.errors == ["f0", "f1"])
        #expect(response.errorMessages["f0"] == EvaluationError.entityDoesNotExist(F.ghost).description)
        #expect(response.errorMessages.count == 2)
    }

    @Test func errorsReportedWhenDenied() {
        let response = Self.decide([
            Self.policy("p0", .permit, [Self.when(bin(.add, long(Int64.max), long(1)))]),
            Self.policy("f0", .forbid, principal: .in(F.staff)),
        ])
        #expect(response.decision == .deny)
        #expect(response.reasons == ["f0"])
        #expect(response.errors == ["p0"])
        let onlyErrors = Self.decide([Self.policy("p0", .permit, [Self.when(bin(.add, long(Int64.max), long(1)))])])
        #expect(
            onlyErrors
                == Response(
                    decision: .deny, reasons: [], errors: ["p0"],
                    errorMessages: ["p0": EvaluationError.integerOverflow.description]))
    }

    @Test func nonBooleanConditionIsAnError() {
        let response = Self.decide([
            Self.policy("p0", .permit, [Self.when(long(1))]),
            Self.policy("p1", .permit, [Self.unless(str("no"))]),
        ])
        #expect(response.decision == .deny)
        #expect(response.errors == ["p0", "p1"])
    }

    @Test func conditionsInOrderAndShortCircuit() {
        // A false `when` stops before a later erroring condition.
        let stops = Self.decide([Self.policy("p0", .permit, [Self.when(bool(false)), Self.when(failing)])])
        #expect(stops == Response(decision: .deny, reasons: [], errors: []))
        // A true `unless` stops too.
        let unlessStops = Self.decide([Self.policy("p0", .permit, [Self.unless(bool(true)), Self.when(failing)])])
        #expect(unlessStops.errors.isEmpty)
        // An earlier error is reported even if a later condition is false.
        let errs = Self.decide([Self.policy("p0", .permit, [Self.when(failing), Self.when(bool(false))])])
        #expect(errs.errors == ["p0"])
        // An unmatched scope never evaluates the conditions.
        let scoped = Self.decide([Self.policy("p0", .permit, principal: .equal(F.bob), [Self.when(failing)])])
        #expect(scoped.errors.isEmpty)
        let all = Self.decide([
            Self.policy(
                "p0", .permit,
                [
                    Self.when(bool(true)), Self.unless(bool(false)),
                    Self.when(.getAttribute(.variable(.context), "flag")),
                ])
        ])
        #expect(all.decision == .allow)
    }

    @Test(arguments: [
        (ScopeConstraint.any, true), (.equal(F.alice), true), (.equal(F.bob), false), (.in(F.alice), true),
        (.in(F.admins), true), (.in(F.staff), true), (.in(F.everyone), true), (.in(F.bob), false),
        (.is("User"), true), (.is("Group"), false), (.isIn("User", F.staff), true), (.isIn("Group", F.staff), false),
        (.isIn("User", F.bob), false),
    ])
    func principalScope(scope: ScopeConstraint, matches: Bool) {
        let response = Self.decide([Self.policy("p0", .permit, principal: scope)])
        #expect((response.decision == .allow) == matches)
    }

    @Test(arguments: [
        (ScopeConstraint.in(F.folder), true), (.equal(F.doc), true), (.is("Doc"), true), (.isIn("Doc", F.folder), true),
        (.in(F.staff), false), (.isIn("Folder", F.folder), false),
    ])
    func resourceScope(scope: ScopeConstraint, matches: Bool) {
        let response = Self.decide([Self.policy("p0", .permit, resource: scope)])
        #expect((response.decision == .allow) == matches)
    }

    @Test(arguments: [
        (ActionConstraint.any, true), (.equal(F.view), true), (.equal(F.edit), false), (.in(F.readActions), true),
        (.in(F.view), true), (.in(F.edit), false), (.inSet([F.edit, F.readActions]), true), (.inSet([F.edit]), false),
        (.inSet([]), false),
    ])
    func actionScope(scope: ActionConstraint, matches: Bool) {
        let response = Self.decide([Self.policy("p0", .permit, action: scope)])
        #expect((response.decision == .allow) == matches)
    }

    /// The authorizer reads only the policies that name the request's action with `==`, and
    /// those that name none or a group: the answer is the one reading every policy gives.
    @Test(arguments: [(F.view, Response.Decision.deny, ["f1"], ["e1"]), (F.edit, .allow, ["p2", "p3"], ["e2"])])
    func policiesNamingAnotherActionAreNotRead(action: EntityUID, decision: Response.Decision, reasons: [String], errors: [String]) {
        let policies = [
            Self.policy("p0", .permit, action: .equal(F.view), [Self.when(bool(false))]),
            Self.policy("e1", .permit, action: .equal(F.view), [Self.when(failing)]),
            Self.policy("p2", .permit, action: .equal(F.edit)),
            Self.policy("f1", .forbid, action: .in(F.readActions)),
            Self.policy("p3", .permit, action: .inSet([F.edit])),
            Self.policy("e2", .forbid, action: .equal(F.edit), [Self.when(failing)]),
            Self.policy("p4", .permit, principal: .equal(F.bob), action: .equal(F.view)),
            Self.policy("p5", .permit, action: .equal(EntityUID(type: "Action", id: "delete"))),
        ]
        let response = Self.decide(policies, Request(principal: F.alice, action: action, resource: F.doc))
        #expect(response.decision == decision)
        #expect(response.reasons == Set(reasons))
        #expect(response.errors == Set(errors))
        // One policy at a time, each in an authorizer of its own: the same reasons and errors.
        let alone = policies.map { Self.decide([$0], Request(principal: F.alice, action: action, resource: F.doc)) }
        #expect(Set(alone.flatMap(\.reasons)) == Set(reasons) && Set(alone.flatMap(\.errors)) == Set(errors))
    }

    @Test func scopeForPrincipalNotInStore() {
        let request = Request(principal: F.ghost, action: F.view, resource: F.doc)
        #expect(Self.decide([Self.policy("p0", .permit, principal: .in(F.ghost))], request).decision == .allow)
        #expect(Self.decide([Self.policy("p0", .permit, principal: .in(F.staff))], request).decision == .deny)
        let attr = Self.decide(
            [
                Self.policy("p0", .permit, [Self.when(.hasAttribute(.variable(.principal), "name"))]),
                Self.policy("p1", .permit, [Self.when(bin(.equal, .getAttribute(.variable(.principal), "name"), str("x")))]),
            ],
            request)
        #expect(attr.decision == .deny)
        #expect(attr.errors == ["p1"])
    }

    @Test func realisticPolicySet() {
        // permit(principal in Group::"admins", action in Action::"read", resource is Doc)
        //   when { context.ip like "10.*" && resource.owner == principal };
        // forbid(principal, action, resource) when { resource.public } ;  (false here)
        // forbid(principal, action, resource) unless { ip(context.ip).isInRange(ip("10.0.0.0/8")) };
        let p0 = Self.policy(
            "policy0", .permit, principal: .in(F.admins), action: .in(F.readActions), resource: .is("Doc"),
            [
                Self.when(
                    .and(
                        .like(.getAttribute(.variable(.context), "ip"), pattern("10.*")),
                        bin(.equal, .getAttribute(.variable(.resource), "owner"), .variable(.principal))))
            ])
        let f0 = Self.policy("policy1", .forbid, [Self.when(.getAttribute(.variable(.resource), "public"))])
        let f1 = Self.policy(
            "policy2", .forbid,
            [
                Self.unless(
                    .call(
                        "isInRange",
                        [
                            .call("ip", [.getAttribute(.variable(.context), "ip")]), ext("ip", "10.0.0.0/8"),
                        ]))
            ])
        let allowed = Self.decide([p0, f0, f1])
        #expect(allowed == Response(decision: .allow, reasons: ["policy0"], errors: []))
        let outside = Request(principal: F.alice, action: F.view, resource: F.doc, context: ["ip": .string("192.168.1.1")])
        let denied = Self.decide([p0, f0, f1], outside)
        #expect(denied == Response(decision: .deny, reasons: ["policy2"], errors: []))
        let badIP = Request(principal: F.alice, action: F.view, resource: F.doc, context: ["ip": .string("10.0.0.999")])
        let erred = Self.decide([p0, f0, f1], badIP)
        #expect(erred.decision == .allow)
        #expect(erred.reasons == ["policy0"])
        #expect(erred.errors == ["policy2"])
    }
}
