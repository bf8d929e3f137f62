import AsgardJSON
import Cedar
import Testing

// The schema-less Cedar JSON data formats: values, contexts, entity references, entities.

private func uid(_ type: String, _ id: String) -> EntityUID { EntityUID(type: type, id: id) }

/// Runs `body`, expecting a `DataError`; returns it (nil, with a recorded issue, if none).
private func dataError<T>(_ body: () throws(DataError) -> T, sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
    do {
        let result = try body()
        Issue.record("expected a DataError, got \(result)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

// MARK: - Values

struct ValueJSONTests {
    @Test(arguments: [
        ("true", Value.bool(true)),
        ("false", .bool(false)),
        ("42", .long(42)),
        ("-9223372036854775808", .long(Int64.min)),
        (#""hello""#, .string("hello")),
        (#""""#, .string("")),
        ("[]", .set([])),
        ("[1, 1, 2]", .set([.long(1), .long(2)])),
        (#"[[1], ["a"]]"#, .set([.set([.long(1)]), .set([.string("a")])])),
        ("{}", .record([:])),
        (#"{"a": 1, "b": {"c": [true]}}"#, .record(["a": .long(1), "b": .record(["c": .set([.bool(true)])])])),
        // Without a schema, a plain {type, id} object is a record, not an entity reference.
        (#"{"type": "User", "id": "alice"}"#, .record(["type": .string("User"), "id": .string("alice")])),
        // ... and {fn, arg} is a record, not an extension value; a string is a string.
        (#"{"fn": "ip", "arg": "10.0.0.1"}"#, .record(["fn": .string("ip"), "arg": .string("10.0.0.1")])),
        (#""10.0.0.1""#, .string("10.0.0.1")),
        (#"{"__entity": {"type": "User", "id": "alice"}}"#, .entity(uid("User", "alice"))),
        (#"{"__entity": {"id": "", "type": "A::B::C"}}"#, .entity(uid("A::B::C", ""))),
        (#"{"__entity": {"type": "_x1", "id": "\u0000"}}"#, .entity(uid("_x1", "\u{0}"))),
        (#"{"owner": {"__entity": {"type": "User", "id": "bob"}}}"#, .record(["owner": .entity(uid("User", "bob"))])),
        // Keys beginning with __ that are not escapes are ordinary attributes.
        (#"{"__other": 1, "x": 2}"#, .record(["__other": .long(1), "x": .long(2)])),
    ])
    func parses(json: String, expected: Value) throws {
        #expect(try parseValue(json: json) == expected)
    }

    @Test(arguments: [
        ("null", "value", "null is not a Cedar value"),
        ("1.5", "value", "1.5 is not a Cedar long"),
        ("1e3", "value", "1e3 is not a Cedar long"),
        ("9223372036854775808", "value", "9223372036854775808 is not a Cedar long"),
        (#"{"a": {"b": [1, null]}}"#, "value.a.b[1]", "null is not a Cedar value"),
        (#"{"a": 1, "a": 2}"#, "value", #"duplicate key "a""#),
        (#"{"x y": {"k": 1, "k": 1}}"#, #"value["x y"]"#, #"duplicate key "k""#),
        (#"{"__entity": {"type": "User", "id": "a"}, "x": 1}"#, "value", #"unexpected key "x" in an `__entity` escape"#),
        (#"{"__entity": {"type": "User"}}"#, "value.__entity", #"an entity reference needs the key "id""#),
        (#"{"__entity": {"type": "User", "id": 7}}"#, "value.__entity.id", "an entity id must be a string, found the number 7"),
        (#"{"__entity": {"type": "User", "id": "a", "extra": 1}}"#, "value.__entity", #"unexpected key "extra""#),
        (#"{"__entity": {"type": "User ", "id": "a"}}"#, "value.__entity.type", "is not a normalized entity type name"),
        (#"{"__entity": {"type": "A::", "id": "a"}}"#, "value.__entity.type", "is not a normalized entity type name"),
        (#"{"__entity": {"type": "if", "id": "a"}}"#, "value.__entity.type", "is not a normalized entity type name"),
        (#"{"__entity": {"type": "__cedar::X", "id": "a"}}"#, "value.__entity.type", "is not a normalized entity type name"),
        (#"{"__entity": "User::\"a\""}"#, "value.__entity", "expected an entity reference, found the string"),
        (#"{"__expr": "1 + 1"}"#, "value", "the `__expr` escape is no longer supported"),
        (#"{"__extn": {"fn": "ip"}}"#, "value.__extn", #"needs "arg" or "args""#),
        (#"{"__extn": {"fn": "ip", "arg": "1.2.3.4", "args": []}}"#, "value.__extn", "not both"),
        (#"{"__extn": {"fn": "offset", "args": {}}}"#, "value.__extn.args", "args must be an array"),
        (#"{"__extn": {"arg": "1.0"}}"#, "value.__extn", #"needs the key "fn""#),
        (#"{"__extn": {"fn": 3, "arg": "1.0"}}"#, "value.__extn.fn", "fn must be a string"),
        (#"{"__extn": {"fn": "deci mal", "arg": "1.0"}}"#, "value.__extn.fn", "not a normalized extension function name"),
        (#"{"__extn": {"fn": "decimal", "arg": null}}"#, "value.__extn.arg", "null is not a Cedar value"),
        ("[1,]", "value", "invalid JSON at line 1, column 4"),
    ])
    func refuses(json: String, path: String, message: String) {
        let error = dataError { () throws(DataError) in try parseValue(json: json) }
        #expect(error?.path == path)
        #expect(error?.message.contains(message) == true, "message: \(error?.message ?? "none")")
    }

    @Test func errorDescriptionJoinsPathAndMessage() {
        #expect(
            DataError(path: "entities[3].attrs.owner", message: "null is not a Cedar value").description
                == "entities[3].attrs.owner: null is not a Cedar value")
        #expect(DataError(path: "", message: "bad").description == "bad")
    }

    @Test func bytesAndTextAgree() throws {
        let text = #"{"a": [1, "é"], "b": {"__entity": {"type": "T", "id": "x"}}}"#
        #expect(try parseValue(json: Array(text.utf8)) == parseValue(json: text))
    }

    @Test func customRootPath() throws {
        let json = try JSONValue.parse(#"{"k": null}"#)
        let error = dataError { () throws(DataError) in try parseValue(json: json, path: "requests[2].context") }
        #expect(error?.path == "requests[2].context.k")
    }
}

// MARK: - Extension escapes

struct ExtensionEscapeTests {
    // The escape is routed to `Extensions.call`, whose refusal becomes a DataError at the escape's path.
    @Test(arguments: [
        (#"{"__extn": {"fn": "decimal", "arg": "not a decimal"}}"#, #"decimal("not a decimal")"#),
        (#"{"__extn": {"fn": "frobnicate", "arg": "x"}}"#, #"frobnicate("x")"#),
        (#"{"__extn": {"fn": "ip", "arg": "999.1.1.1"}}"#, #"ip("999.1.1.1")"#),
    ])
    func refusalIsReportedAtTheEscape(json: String, call: String) {
        let error = dataError { () throws(DataError) in try parseValue(json: #"{"attr": \#(json)}"#) }
        #expect(error?.path == "value.attr.__extn")
        #expect(error?.message.hasPrefix(call + ": ") == true, "message: \(error?.message ?? "none")")
    }

    // Each escape becomes the extension value the evaluator would build.
    @Test(
        arguments: [
            (#"{"__extn": {"fn": "decimal", "arg": "1.5"}}"#, Value.extensionValue(.decimal(15000))),
            (#"{"__extn": {"fn": "decimal", "arg": "-0.0001"}}"#, .extensionValue(.decimal(-1))),
            (
                #"{"__extn": {"fn": "ip", "arg": "10.0.0.1"}}"#,
                .extensionValue(.ipaddr(IPAddress(family: .v4, address: 0x0A00_0001, prefixLength: 32)))
            ),
            (
                #"{"__extn": {"fn": "ip", "arg": "192.168.0.0/16"}}"#,
                .extensionValue(.ipaddr(IPAddress(family: .v4, address: 0xC0A8_0000, prefixLength: 16)))
            ),
            (
                #"{"__extn": {"fn": "ip", "arg": "::1"}}"#,
                .extensionValue(.ipaddr(IPAddress(family: .v6, address: 1, prefixLength: 128)))
            ),
            (#"{"__extn": {"fn": "datetime", "arg": "1970-01-02"}}"#, .extensionValue(.datetime(86_400_000))),
            (#"{"__extn": {"fn": "duration", "arg": "1h30m"}}"#, .extensionValue(.duration(5_400_000))),
            (
                #"{"__extn": {"fn": "offset", "args": [{"__extn": {"fn": "datetime", "arg": "1970-01-01"}}, {"__extn": {"fn": "duration", "arg": "-1ms"}}]}}"#,
                .extensionValue(.datetime(-1))
            ),
            (
                #"[{"__extn": {"fn": "decimal", "arg": "1.0"}}, {"__extn": {"fn": "decimal", "arg": "1.0000"}}]"#,
                .set([.extensionValue(.decimal(10000))])
            ),
        ]
    )
    func realExtensionValues(json: String, expected: Value) throws {
        #expect(try parseValue(json: json) == expected)
    }
}

// MARK: - Contexts and entity references

struct ContextAndUIDJSONTests {
    @Test func contextIsARecord() throws {
        let context = try parseContext(json: #"{"mfa": true, "n": 3, "who": {"__entity": {"type": "User", "id": "a"}}}"#)
        #expect(context == ["mfa": .bool(true), "n": .long(3), "who": .entity(uid("User", "a"))])
        #expect(try parseContext(json: "{}") == [:])
    }

    @Test(arguments: [
        ("[]", "context", "a context must be a record"),
        ("1", "context", "a context must be a record"),
        (#"{"__entity": {"type": "User", "id": "a"}}"#, "context", "not an `__entity` escape"),
        (#"{"a": 1, "a": 1}"#, "context", #"duplicate key "a""#),
        (#"{"a": 1.0}"#, "context.a", "is not a Cedar long"),
    ])
    func contextRefuses(json: String, path: String, message: String) {
        let error = dataError { () throws(DataError) in try parseContext(json: json) }
        #expect(error?.path == path)
        #expect(error?.message.contains(message) == true, "message: \(error?.message ?? "none")")
    }

    @Test(arguments: [
        #"{"type": "User", "id": "alice"}"#,
        #"{"id": "alice", "type": "User"}"#,
        #"{"__entity": {"type": "User", "id": "alice"}}"#,
    ])
    func uidForms(json: String) throws {
        #expect(try parseEntityUIDJSON(json: json) == uid("User", "alice"))
    }

    @Test(arguments: [
        (#""User::\"alice\"""#, "uid", "expected an entity reference"),
        (#"{"type": "User"}"#, "uid", #"needs the key "id""#),
        (#"{"type": "User", "id": "a", "x": 1}"#, "uid", #"unexpected key "x""#),
        (#"{"type": "Bad Type", "id": "a"}"#, "uid.type", "not a normalized entity type name"),
        (#"{"__expr": "User::\"a\""}"#, "uid", "the `__expr` escape is no longer supported"),
        (#"{"__entity": {"type": "User", "id": "a"}, "type": "User"}"#, "uid", "unexpected key"),
    ])
    func uidRefuses(json: String, path: String, message: String) {
        let error = dataError { () throws(DataError) in try parseEntityUIDJSON(json: json) }
        #expect(error?.path == path)
        #expect(error?.message.contains(message) == true, "message: \(error?.message ?? "none")")
    }

    @Test func normalizedNames() {
        for good in ["User", "_", "a1", "Ns::Type", "A::B::C", "permit", "Action"] { #expect(isNormalizedCedarName(good), "\(good)") }
        for bad in ["", "1a", "A::", "::A", "A ::B", "A:B", " A", "in", "true", "A::is", "__cedar", "é"] {
            #expect(!isNormalizedCedarName(bad), "\(bad)")
        }
    }
}

// MARK: - Entities

struct EntitiesJSONTests {
    static let document = #"""
        [
          {
            "uid": {"type": "User", "id": "alice"},
            "parents": [{"type": "Group", "id": "staff"}, {"__entity": {"type": "Group", "id": "admins"}}],
            "attrs": {
              "age": 30,
              "manager": {"__entity": {"type": "User", "id": "bob"}},
              "home": {"type": "Place", "id": "x"}
            }
          },
          {
            "uid": {"__entity": {"type": "Group", "id": "staff"}},
            "parents": [{"type": "Org", "id": "acme"}],
            "attrs": {},
            "tags": {"level": 2}
          },
          { "uid": {"type": "Org", "id": "acme"}, "parents": [], "attrs": {} },
          { "uid": {"type": "User", "id": "bob"} }
        ]
        """#

    @Test func parsesEntitiesWithDirectParents() throws {
        let list = try parseEntityList(json: JSONValue.parse(Self.document))
        #expect(list.map(\.uid) == [uid("User", "alice"), uid("Group", "staff"), uid("Org", "acme"), uid("User", "bob")])
        let alice = list[0]
        #expect(
            alice.attributes == [
                "age": .long(30),
                "manager": .entity(uid("User", "bob")),
                "home": .record(["type": .string("Place"), "id": .string("x")]),
            ])
        #expect(alice.ancestors == [uid("Group", "staff"), uid("Group", "admins")])
        #expect(alice.tags == [:])
        #expect(list[1].tags == ["level": .long(2)])
        #expect(list[1].ancestors == [uid("Org", "acme")])
        #expect(list[3].attributes.isEmpty && list[3].ancestors.isEmpty && list[3].tags.isEmpty)
    }

    @Test func identicalDuplicatesAreMerged() throws {
        let json = #"[{"uid": {"type": "A", "id": "1"}, "attrs": {"x": 1}}, {"uid": {"type": "A", "id": "1"}, "attrs": {"x": 1}, "parents": []}]"#
        #expect(try parseEntityList(json: JSONValue.parse(json)).count == 1)
    }

    // CONTRACT-BUG: `Entities(closingParentsOf:)` traps ("Fatal access conflict detected") for any
    // non-empty input, taking the whole test process down, so the tests that build a non-empty
    // store are off until `Sources/Cedar/Entities.swift` is fixed; then set this to true.

    @Test
    func parsesEntitiesAndClosesParents() throws {
        let entities = try parseEntities(json: Self.document)
        #expect(entities.byUID.count == 4)
        let alice = try #require(entities[uid("User", "alice")])
        #expect(alice.ancestors == [uid("Group", "staff"), uid("Group", "admins"), uid("Org", "acme")])
        #expect(entities[uid("Group", "staff")]?.ancestors == [uid("Org", "acme")])
        #expect(entities.isDescendant(uid("User", "alice"), of: uid("Org", "acme")))
        #expect(try parseEntities(json: Array(Self.document.utf8)) == entities)
    }

    @Test
    func parentCyclesDoNotHang() throws {
        let json =
            #"[{"uid": {"type": "A", "id": "1"}, "parents": [{"type": "A", "id": "2"}]}, {"uid": {"type": "A", "id": "2"}, "parents": [{"type": "A", "id": "1"}]}]"#
        let entities = try parseEntities(json: json)
        #expect(entities.isDescendant(uid("A", "1"), of: uid("A", "2")))
        #expect(entities.isDescendant(uid("A", "2"), of: uid("A", "1")))
    }

    // Also a contract issue: the closure memoizes partial results inside a cycle, so in a
    // 3-cycle one member misses an ancestor. Enabled together with the tests above.
    @Test
    func longerParentCyclesCloseFully() throws {
        let json =
            #"[{"uid": {"type": "A", "id": "1"}, "parents": [{"type": "A", "id": "2"}]}, {"uid": {"type": "A", "id": "2"}, "parents": [{"type": "A", "id": "3"}]}, {"uid": {"type": "A", "id": "3"}, "parents": [{"type": "A", "id": "1"}]}]"#
        let entities = try parseEntities(json: json)
        for a in ["1", "2", "3"] {
            for b in ["1", "2", "3"] { #expect(entities.isDescendant(uid("A", a), of: uid("A", b)), "\(a) in \(b)") }
        }
    }

    @Test func emptyDocument() throws {
        #expect(try parseEntities(json: "[]").byUID.isEmpty)
        #expect(try parseEntities(json: Array("[]".utf8)).byUID.isEmpty)
    }

    @Test(arguments: [
        ("{}", "entities", "expected an array of entities"),
        ("[1]", "entities[0]", "expected an entity, found the number 1"),
        (#"[{"parents": []}]"#, "entities[0]", #"an entity needs the key "uid""#),
        (#"[{"uid": {"type": "A", "id": "1"}, "attributes": {}}]"#, "entities[0]", #"unexpected key "attributes""#),
        (#"[{"uid": {"type": "A", "id": "1"}, "uid": {"type": "A", "id": "2"}}]"#, "entities[0]", #"duplicate key "uid""#),
        (#"[{"uid": "A::\"1\""}]"#, "entities[0].uid", "expected an entity reference"),
        (#"[{"uid": {"type": "A", "id": "1"}, "parents": {}}]"#, "entities[0].parents", "expected an array of entity references"),
        (#"[{"uid": {"type": "A", "id": "1"}, "parents": [{"type": "B"}]}]"#, "entities[0].parents[0]", #"needs the key "id""#),
        (#"[{"uid": {"type": "A", "id": "1"}, "attrs": []}]"#, "entities[0].attrs", "attrs must be an object"),
        (#"[{"uid": {"type": "A", "id": "1"}, "tags": 3}]"#, "entities[0].tags", "tags must be an object"),
        (#"[{"uid": {"type": "A", "id": "1"}, "attrs": {"a": 1, "a": 2}}]"#, "entities[0].attrs", #"duplicate key "a""#),
        (
            #"[{"uid": {"type": "A", "id": "0"}}, {"uid": {"type": "A", "id": "1"}, "attrs": {"owner": null}}]"#,
            "entities[1].attrs.owner", "null is not a Cedar value"
        ),
        (#"[{"uid": {"type": "A", "id": "1"}, "tags": {"t": 0.5}}]"#, "entities[0].tags.t", "0.5 is not a Cedar long"),
        (
            #"[{"uid": {"type": "A", "id": "1"}, "attrs": {"x": 1}}, {"uid": {"type": "A", "id": "1"}, "attrs": {"x": 2}}]"#,
            "entities[1]", #"duplicate entity A::"1" (first at index 0) with different data"#
        ),
        ("[", "entities", "invalid JSON at line 1, column 2"),
    ])
    func refuses(json: String, path: String, message: String) {
        let error = dataError { () throws(DataError) in try parseEntities(json: json) }
        #expect(error?.path == path)
        #expect(error?.message.contains(message) == true, "message: \(error?.message ?? "none")")
    }

}
