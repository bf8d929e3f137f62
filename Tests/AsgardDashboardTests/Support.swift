import AsgardCore
import AsgardCost
@testable import AsgardDashboard
import Foundation
import Testing

/// Small helpers shared by the dashboard tests: counting, attribute extraction, the csrf check.
enum Markup {
    /// How many times `needle` occurs in `haystack` (non-overlapping, byte-wise).
    static func count(_ needle: String, in haystack: String) -> Int {
        guard !needle.isEmpty else { return 0 }
        return haystack.components(separatedBy: needle).count - 1
    }

    /// The opening tags (`<name ...>`) of every `name` element, in order.
    static func openingTags(_ name: String, in html: String) -> [String] {
        var tags: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<" + name) {
            let after = rest[start.upperBound...]
            // `<rect` must not match `<rectangle`: the name ends at a space or `>`.
            guard let next = after.first, next == " " || next == ">" else {
                rest = after
                continue
            }
            guard let end = after.firstIndex(of: ">") else { break }
            tags.append(String(rest[start.lowerBound...end]))
            rest = rest[rest.index(after: end)...]
        }
        return tags
    }

    /// The value of attribute `name` in an opening tag (as written, still escaped).
    static func attribute(_ name: String, of tag: String) -> String? {
        guard let start = tag.range(of: " " + name + "=\"") else { return nil }
        let rest = tag[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The markup of every `<form ...>` ... `</form>` whose opening tag posts.
    static func postForms(in html: String) -> [String] {
        var forms: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<form ") {
            guard let end = rest[start.upperBound...].range(of: "</form>") else {
                Issue.record("a <form> without </form>")
                break
            }
            let form = String(rest[start.lowerBound..<end.upperBound])
            let openTag = form[..<(form.firstIndex(of: ">") ?? form.endIndex)]
            if openTag.contains("method=\"post\"") { forms.append(form) }
            rest = rest[end.upperBound...]
        }
        return forms
    }

    /// Records an issue unless every posting form of `html` carries the hidden `csrf` field
    /// with `token`; returns how many posting forms were checked (so a caller can insist on some).
    @discardableResult
    static func expectEveryPostFormCarriesCSRF(
        _ html: String, token: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> Int {
        let field = "<input type=\"hidden\" name=\"csrf\" value=\"\(Node.escape(token))\">"
        let forms = postForms(in: html)
        for form in forms {
            #expect(count(field, in: form) == 1, "a posting form lacks the csrf field: \(form.prefix(200))", sourceLocation: sourceLocation)
        }
        return forms.count
    }

    /// The `<tr ...>` ... `</tr>` row whose opening tag contains `marker`.
    static func row(containing marker: String, in html: String) -> String? {
        guard let mark = html.range(of: marker) else { return nil }
        guard let start = html[..<mark.lowerBound].range(of: "<tr", options: .backwards),
            let end = html[mark.upperBound...].range(of: "</tr>")
        else { return nil }
        return String(html[start.lowerBound..<end.upperBound])
    }
}

enum Fixture {
    static let viewer = Viewer(email: "lars@example.com", roles: ["admin"], csrf: "csrf-token-7f3a")

    static func day(_ text: String) -> CostDay {
        // Fixture days are all valid; a bad one fails the test loudly.
        try! CostDay(text)
    }

    static func period(_ from: String, _ to: String) -> CostPeriod {
        try! CostPeriod(from: day(from), to: day(to))
    }

    static func project(_ id: String, budget dollars: Int64) -> Project {
        Project(
            id: id, name: "Project \(id)", owner: "owner@example.com", classification: .internal,
            monthlyBudget: MicroDollars(dollars * 1_000_000), approvers: ["approver@example.com"])
    }

    /// 2026-12-03T18:20:29Z.
    static let instant = Date(timeIntervalSince1970: 1_796_322_029)
}
