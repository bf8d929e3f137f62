import ArgumentParser
import AsgardController
import AsgardCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a desired-state directory: every error at once, each with file:line:column.",
        discussion: "Reads nothing but the directory and writes nothing. Exit 0 when valid, 1 when not."
    )

    @Argument(help: "The desired-state directory.")
    var directory = "desired"

    @OptionGroup var output: OutputOptions

    func run() throws {
        let result = DesiredStateLoader().load(directory: directory)
        if output.json {
            print(Rendering.json(JSONOutput.Validation(result, directory: directory)))
        } else if result.isValid {
            print("\(directory): valid (\(result.state.count) objects in \(result.files) files)")
        } else {
            printError(Rendering.diagnostics(result.diagnostics, files: result.files))
        }
        if !result.isValid { throw ExitCode.failure }
    }
}
