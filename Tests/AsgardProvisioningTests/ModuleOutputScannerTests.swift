import AsgardTestSupport
import Testing

@testable import AsgardProvisioning

struct ModuleOutputScannerTests {
    @Test func findsTopLevelOutputsAndTheirSensitivity() {
        let text = #"""
            # output "commented" { value = 1 }
            // output "slashed" { value = 1 }
            /* output "blocked" {
                 value = 1
               } */
            variable "name" {
              type    = string
              default = "output \"fake\" { }"
            }

            output "id" {
              value = null_resource.this.id
            }

            output   "token"   {
              value     = "${var.name}-${jsonencode({ a = "}" })}"
              sensitive = true
            }

            output bare_label {
              value = { sensitive = true }
            }

            locals {
              text = <<-EOT
                output "in_heredoc" {
                  value = 1
                }
                EOT
              nested = { output = "x" }
            }

            resource "null_resource" "this" {
              provisioner "local-exec" {
                command = "echo }"
              }
            }

            output "last" { value = 1 }
            """#
        #expect(
            ModuleOutputScanner.scanHCL(text) == [
                ModuleOutput(name: "id", sensitive: false),
                ModuleOutput(name: "token", sensitive: true),
                ModuleOutput(name: "bare_label", sensitive: false),
                ModuleOutput(name: "last", sensitive: false),
            ])
    }

    @Test(arguments: [
        ("output \"a\" {\n  sensitive = false\n  value = 1\n}", false),
        ("output \"a\" {\n  sensitive = true\n}", true),
        ("output \"a\" {\n  value = 1\n  sensitive = var.hide\n}", false),
        ("output \"a\" {\n  nested { sensitive = true }\n}", false),
        ("output \"a\" { sensitive = true }", true),
    ])
    func sensitivityIsTheLiteralAttributeOfTheBlockItself(text: String, sensitive: Bool) {
        #expect(ModuleOutputScanner.scanHCL(text) == [ModuleOutput(name: "a", sensitive: sensitive)])
    }

    @Test func unterminatedInputEndsTheScanQuietly() {
        #expect(ModuleOutputScanner.scanHCL("output \"a\" {\n  value = \"unterminated\n") == [ModuleOutput(name: "a", sensitive: false)])
        #expect(ModuleOutputScanner.scanHCL("/* never closed output \"a\" {}") == [])
        #expect(ModuleOutputScanner.scanHCL("x = <<EOT\noutput \"a\" {}\n") == [])
    }

    @Test func tokenizerKeepsEscapedTemplateIntroducersLiteral() {
        var tokenizer = HCLTokenizer(#"output "a$${b}" {}"#)
        #expect(tokenizer.tokens() == [.identifier("output"), .string("a${b}"), .open, .close])
    }

    @Test func jsonOutputsInBothShapes() throws {
        let object = #"{"output": {"a": {"value": 1}, "b": {"value": 2, "sensitive": true}}, "variable": {"output": {}}}"#
        #expect(
            try ModuleOutputScanner.scanJSON(Array(object.utf8), path: "x.tf.json") == [
                ModuleOutput(name: "a", sensitive: false), ModuleOutput(name: "b", sensitive: true),
            ])
        let array = #"{"output": [{"c": {"value": 1}}, {"d": [{"value": 2, "sensitive": true}]}]}"#
        #expect(
            try ModuleOutputScanner.scanJSON(Array(array.utf8), path: "x.tf.json") == [
                ModuleOutput(name: "c", sensitive: false), ModuleOutput(name: "d", sensitive: true),
            ])
        #expect(throws: TerraformError.self) { try ModuleOutputScanner.scanJSON(Array("{oops".utf8), path: "x.tf.json") }
    }

    @Test func fixtureModulesDeclareWhatTheySay() throws {
        let modules = packageRoot + "/Tests/AsgardProvisioningTests/Fixtures/modules/null"
        #expect(
            try ModuleOutputScanner.outputs(inModule: modules + "/basic") == [
                ModuleOutput(name: "id", sensitive: false), ModuleOutput(name: "secret_hint", sensitive: true),
                ModuleOutput(name: "triggers", sensitive: false),
            ])
        #expect(
            try ModuleOutputScanner.outputs(inModule: modules + "/indexed") == [
                ModuleOutput(name: "counted_ids", sensitive: false), ModuleOutput(name: "keyed_ids", sensitive: false),
            ])
        #expect(try ModuleOutputScanner.outputs(inModule: modules + "/failing") == [])
    }

    @Test func mergeKeepsOneEntryPerNameSensitiveIfAnyIs() {
        #expect(
            ModuleOutputScanner.merge([
                ModuleOutput(name: "b", sensitive: false), ModuleOutput(name: "a", sensitive: false),
                ModuleOutput(name: "b", sensitive: true),
            ])
                == [ModuleOutput(name: "a", sensitive: false), ModuleOutput(name: "b", sensitive: true)])
    }
}
