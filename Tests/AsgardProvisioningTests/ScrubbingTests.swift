import Testing

@testable import AsgardProvisioning

struct RedactorTests {
    @Test func valuesAreReplacedByTheirVariableNames() {
        let redactor = Redactor(secrets: ["DATABRICKS_TOKEN": "dapi-123456", "DATABRICKS_HOST": "https://adb.example"])
        #expect(
            redactor.scrub("GET https://adb.example/api with dapi-123456, again dapi-123456")
                == "GET [REDACTED:DATABRICKS_HOST]/api with [REDACTED:DATABRICKS_TOKEN], again [REDACTED:DATABRICKS_TOKEN]")
    }

    @Test(arguments: ["", "a", "abc", "on"])
    func shortValuesAreLeftAlone(value: String) {
        let redactor = Redactor(secrets: ["FLAG": value])
        #expect(redactor.isEmpty)
        #expect(redactor.scrub("abc on a") == "abc on a")
    }

    @Test func longerValuesFirstSoAContainedValueDoesNotSplitIt() {
        let redactor = Redactor(secrets: ["SHORT": "dapi", "LONG": "dapi-full-token"])
        #expect(redactor.scrub("x dapi-full-token y dapi z") == "x [REDACTED:LONG] y [REDACTED:SHORT] z")
    }

    @Test func jsonSpellingsAreScrubbedToo() {
        let value = #"p<a>ss"w&rd\"#
        let redactor = Redactor(secrets: ["PASSWORD": value])
        #expect(Redactor.jsonEscaped(value) == #"p\u003ca\u003ess\"w\u0026rd\\"#)
        #expect(redactor.scrub(#"{"v":"p\u003ca\u003ess\"w\u0026rd\\"}"#) == #"{"v":"[REDACTED:PASSWORD]"}"#)
        #expect(redactor.scrub("raw \(value) end") == "raw [REDACTED:PASSWORD] end")
        #expect(Redactor.jsonEscaped("tab\there\u{1}") == #"tab\there\u0001"#)
    }

    @Test func matchingIsLiteralNotByCharacterEquivalence() {
        // "e" + combining acute is canonically equal to "é": only the exact bytes are a match.
        let redactor = Redactor(secrets: ["T": "caf\u{E9}-token"])
        #expect(redactor.scrub("caf\u{E9}-token") == "[REDACTED:T]")
    }
}

struct BoundedCaptureTests {
    @Test func keepsEverythingUnderTheLimit() {
        var capture = BoundedCapture(limit: 100)
        capture.append(Array("hello\n".utf8))
        capture.append(Array("world".utf8))
        #expect(!capture.isTruncated)
        #expect(capture.text == "hello\nworld")
    }

    @Test func keepsTheEndAndDropsThePartialFirstLine() {
        var capture = BoundedCapture(limit: 16)
        for line in ["first line with dapi-SECRET\n", "second\n", "third\n", "end"] {
            capture.append(Array(line.utf8))
        }
        #expect(capture.isTruncated)
        #expect(capture.bytes.count == 16)
        // The kept 16 bytes may start mid-line, so their first line is always dropped.
        #expect(capture.text.hasSuffix("third\nend"))
        #expect(!capture.text.contains("ond\n"))
        #expect(capture.text.hasPrefix("[… "))
    }

    @Test(arguments: [1, 7, 64, 1000])
    func neverHoldsMoreThanTwiceTheLimit(limit: Int) {
        var capture = BoundedCapture(limit: limit)
        for index in 0..<500 { capture.append(Array("line \(index)\n".utf8)) }
        #expect(capture.bytes.count <= limit)
        #expect(capture.bytes == Array(Array((0..<500).map { "line \($0)\n" }.joined().utf8).suffix(capture.bytes.count)))
    }
}

struct StepOutputTests {
    @Test func tailIsStderrThenStdoutEachBounded() {
        let stdout = (1...100).map { "out \($0)" }.joined(separator: "\n")
        let output = StepOutput(status: 1, stdout: stdout, stderr: "\nError: boom\n\n", stdoutTruncated: false)
        let tail = output.tail
        #expect(tail.hasPrefix("Error: boom\n"))
        #expect(tail.hasSuffix("out 100"))
        #expect(!tail.contains("out 70\n"))
        #expect(tail.contains("out 71"))
        #expect(StepOutput.lastLines(String(repeating: "x", count: 5000)).count == 3001)
    }

    @Test func terraformsStaleRefusalIsRecognised() {
        #expect(StaleOutput.saysStale("\nError: Saved plan is stale\n\nThe given plan file can no longer be applied"))
        #expect(!StaleOutput.saysStale("Error: Invalid provider configuration"))
    }
}

struct StepEnvironmentTests {
    static let process = [
        "PATH": "/opt/bin:/usr/bin", "HOME": "/root", "DATABRICKS_TOKEN": "dapi-x", "DATABRICKS_HOST": "https://h",
        "AWS_SECRET_ACCESS_KEY": "never", "TF_LOG": "TRACE", "TF_CLI_CONFIG_FILE": "/root/.terraformrc",
    ]

    @Test func onlyTheFixedVariablesAndTheNamedVendorOnes() {
        let variables = StepEnvironment.variables(
            from: Self.process, home: "/data/terraform/.home",
            cliConfigFile: "/tools/terraformrc",
            vendorNames: ["DATABRICKS_TOKEN", "DATABRICKS_WAREHOUSE_ID", "HOME", "PATH", "BAD=NAME"])
        #expect(
            variables == [
                "PATH": "/opt/bin:/usr/bin", "HOME": "/data/terraform/.home",
                "TF_CLI_CONFIG_FILE": "/tools/terraformrc", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1", "DATABRICKS_TOKEN": "dapi-x",
            ])
    }

    @Test func withoutPathOrCLIConfiguration() {
        let variables = StepEnvironment.variables(from: [:], home: "/h", cliConfigFile: nil, vendorNames: [])
        #expect(variables["PATH"] == StepEnvironment.defaultPath)
        #expect(variables["TF_CLI_CONFIG_FILE"] == nil)
        #expect(variables.count == 5)
    }

    @Test(arguments: [
        ([String: String](), "/tmp"), (["TMPDIR": "/var/tmp/"], "/var/tmp"), (["TMPDIR": "relative"], "/tmp"),
        (["TMPDIR": "/" + String(repeating: "d", count: 60)], "/tmp"), (["TMPDIR": "/"], "/"),
    ])
    func temporaryDirectoriesAreMadeOnAShortPath(environment: [String: String], base: String) {
        #expect(StepEnvironment.temporaryBase(from: environment) == base)
    }

    @Test(arguments: [("DATABRICKS_TOKEN", true), ("_X1", true), ("x", true), ("1X", false), ("A-B", false), ("", false), ("A B", false)])
    func variableNames(name: String, valid: Bool) {
        #expect(StepEnvironment.isVariableName(name) == valid)
    }
}
