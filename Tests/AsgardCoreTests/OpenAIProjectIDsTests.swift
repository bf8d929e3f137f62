import AsgardCore
import AsgardJSON
import Foundation
import Testing

/// A project's `openai_project_ids`: OpenAI project ids of the right shape, none twice, and
/// each OpenAI project one Asgard project's; projects stored without the field read back.
@Suite struct OpenAIProjectIDsTests {
    static func projects(alpha: String, beta: String = "") -> LoadResult {
        load(["p.yaml": project("alpha") + "\n" + alpha + "\n---\n" + project("beta") + "\n" + beta])
    }

    @Test func idsOfTheRightShapeAreRead() {
        let result = Self.projects(alpha: "openai_project_ids: [proj_A1, proj_abcDEF0123456789]", beta: "openai_project_ids: [proj_B2]")
        #expect(result.isValid, "\(result.messages)")
        #expect(result.state.projects["alpha"]?.openAIProjectIDs == ["proj_A1", "proj_abcDEF0123456789"])
        #expect(result.state.projects["beta"]?.openAIProjectIDs == ["proj_B2"])
        // Leaving the field out names none; an empty list does too.
        #expect(Self.projects(alpha: "").state.projects["alpha"]?.openAIProjectIDs == [])
        #expect(Self.projects(alpha: "openai_project_ids: []").state.projects["alpha"]?.openAIProjectIDs == [])
    }

    struct BadCase: Sendable, CustomStringConvertible {
        var yaml: String
        var messages: [String]
        var description: String { yaml }
    }

    static let expectedShape =
        "an OpenAI project id (proj_ followed by 1 to 64 letters and digits, e.g. proj_abc123, as the OpenAI dashboard shows it)"

    @Test(arguments: [
        BadCase(
            yaml: "openai_project_ids: [proj_A1, prj_B2]",
            messages: ["test/p.yaml:8:31: error: Project/alpha openai_project_ids[1]: \"prj_B2\" is not \(expectedShape)"]),
        BadCase(
            yaml: "openai_project_ids: [proj_]",
            messages: ["test/p.yaml:8:22: error: Project/alpha openai_project_ids[0]: \"proj_\" is not \(expectedShape)"]),
        BadCase(
            yaml: "openai_project_ids: [proj_a-b]",
            messages: ["test/p.yaml:8:22: error: Project/alpha openai_project_ids[0]: \"proj_a-b\" is not \(expectedShape)"]),
        BadCase(
            yaml: "openai_project_ids: [proj_\(String(repeating: "x", count: 65))]",
            messages: [
                // A long value is cut short in messages.
                "test/p.yaml:8:22: error: Project/alpha openai_project_ids[0]: \"proj_\(String(repeating: "x", count: 55))…\" is not \(expectedShape)"
            ]),
        BadCase(
            yaml: "openai_project_ids: proj_A1",
            messages: ["test/p.yaml:8:21: error: Project/alpha openai_project_ids: expected a list, found a string"]),
        BadCase(
            yaml: "openai_project_ids: [proj_A1, proj_B2, proj_A1]",
            messages: ["test/p.yaml:8:40: error: Project/alpha openai_project_ids[2]: \"proj_A1\" is named twice"]),
    ])
    func aBadListIsRefusedNamingTheItem(_ bad: BadCase) {
        #expect(Self.projects(alpha: bad.yaml).messages == bad.messages)
    }

    @Test func oneOpenAIProjectBelongsToOneAsgardProject() {
        let result = Self.projects(alpha: "openai_project_ids: [proj_A1, proj_Shared]", beta: "openai_project_ids: [proj_Shared]")
        #expect(
            result.messages == [
                "test/p.yaml:17:22: error: Project/beta openai_project_ids[0]: OpenAI project proj_Shared already belongs to Project/alpha at test/p.yaml:8:31: an OpenAI project's spend is one Asgard project's"
            ])
    }

    /// A project stored before the field existed reads back with none, and a project that names
    /// none is stored exactly as before (its content digest does not change).
    @Test func projectsStoredWithoutTheFieldReadBackUnchanged() throws {
        let old = #"{"approvers":[],"classification":"internal","id":"p","monthlyBudget":1000000,"name":"P","owner":"o@example.com"}"#
        let project = try JSONDecoder().decode(Project.self, from: Data(old.utf8))
        #expect(project.openAIProjectIDs == [])
        #expect(DesiredObject.project(project).canonicalJSON == #"{"project":{"_0":"# + old + "}}")
        var named = project
        named.openAIProjectIDs = ["proj_A1"]
        let written = DesiredObject.project(named).canonicalJSON
        #expect(written.contains(#""openAIProjectIDs":["proj_A1"]"#))
        #expect(try JSONDecoder().decode(DesiredObject.self, from: Data(written.utf8)) == .project(named))
    }
}
