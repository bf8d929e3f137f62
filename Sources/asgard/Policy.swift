import ArgumentParser
import AsgardController
import AsgardCore
import AsgardPolicy
import Cedar
import Foundation

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, test and try Cedar policies.",
        subcommands: [Check.self, Test.self, Authorize.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse every policy of a directory; report errors with file:line:column.")

        @Argument(help: "The policy directory.")
        var directory = "policies"

        @OptionGroup var output: OutputOptions

        func run() throws {
            let (bundle, diagnostics) = PolicyBundle.load(directory: directory)
            if output.json {
                print(
                    Rendering.json(
                        JSONOutput.PolicyCheck(
                            valid: diagnostics.isEmpty, policies: bundle.policies.count, ids: bundle.policies.map(\.id),
                            errors: diagnostics.map(\.description))))
            } else if diagnostics.isEmpty {
                print("\(directory): \(bundle.policies.count) policies parse: \(bundle.policies.map(\.id).joined(separator: ", "))")
            } else {
                printError(diagnostics.map(\.description).joined(separator: "\n"))
            }
            if !diagnostics.isEmpty { throw ExitCode.failure }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the policy tests (DIR/tests/*.yaml) against the policies of DIR.")

        @Argument(help: "The policy directory; its tests are in tests/.")
        var directory = "policies"

        func run() throws {
            let (bundle, policyProblems) = PolicyBundle.load(directory: directory)
            let (suite, testProblems) = PolicyTestSuite.load(directory: directory + "/tests")
            let problems = policyProblems + testProblems
            guard problems.isEmpty else {
                printError(problems.map(\.description).joined(separator: "\n"))
                throw ExitCode.failure
            }
            let results = suite.run(against: bundle)
            for result in results where !result.passed {
                print("FAIL \(result.testCase.file):\(result.testCase.line): \(result.testCase.name)")
                for failure in result.failures { print("     \(failure)") }
            }
            let failed = results.filter { !$0.passed }.count
            print("\(results.count - failed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode.failure }
        }
    }

    struct Authorize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide one request and print the decision, determining policies and errors as JSON.",
            discussion: "Policy ids are policy0, policy1, ... in file order, as the reference `cedar authorize` names them.")

        @Option(help: "A file of Cedar policies.") var policies: String
        @Option(help: "A file of entities in Cedar's entity JSON format.") var entities: String
        @Option(help: "The principal, e.g. 'User::\"alice\"'.") var principal: String
        @Option(help: "The action, e.g. 'Action::\"view\"'.") var action: String
        @Option(help: "The resource, e.g. 'Photo::\"a.jpg\"'.") var resource: String
        @Option(help: "The context as a JSON object.") var context: String = "{}"

        func run() throws {
            do {
                let policySet = try parsePolicies(try String(contentsOfFile: policies, encoding: .utf8))
                let store = try parseEntities(json: try String(contentsOfFile: entities, encoding: .utf8))
                let request = Request(
                    principal: try parseEntityUID(principal), action: try parseEntityUID(action),
                    resource: try parseEntityUID(resource), context: try parseContext(json: context))
                let response = Authorizer(policies: policySet).authorize(request, entities: store)
                struct Output: Encodable {
                    var decision: String
                    var reasons: [String]
                    var errors: [String]
                    var errorMessages: [String: String]
                }
                print(
                    Rendering.json(
                        Output(
                            decision: response.decision.rawValue, reasons: response.reasons.sorted(),
                            errors: response.errors.sorted(), errorMessages: response.errorMessages)))
            } catch let error as ExitCode {
                throw error
            } catch {
                printError("\(error)")
                throw ExitCode.failure
            }
        }
    }
}
