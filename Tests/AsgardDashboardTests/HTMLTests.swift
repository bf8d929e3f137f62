@testable import AsgardDashboard
import Testing

struct HTMLTests {
    @Test func textIsEscaped() {
        let node = h("p", text: #"<script>alert("x") & 'y'</script>"#)
        #expect(node.rendered == "<p>&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;</p>")
    }

    @Test func attributeValuesAreEscaped() {
        let node = h("a", ["href": #"/x?a=1&b="2"#, "title": "it's <b>"], text: "x")
        #expect(node.rendered == #"<a href="/x?a=1&amp;b=&quot;2" title="it&#39;s &lt;b&gt;">x</a>"#)
    }

    @Test func anEscapedTextIsEscapedAgainNotPassedThrough() {
        // A text that looks like a character reference is data too: its `&` is escaped.
        #expect(h("td", text: "&amp; &lt;").rendered == "<td>&amp;amp; &amp;lt;</td>")
    }

    @Test func escapeWorksOnScalarsNotCharacters() {
        // `"` followed by a combining accent is one Character but two scalars: the quote is still escaped.
        #expect(Node.escape("\"\u{301}") == "&quot;\u{301}")
        #expect(Node.escape("<\u{20DD}") == "&lt;\u{20DD}")
        #expect(Node.escape("plain ünïcødé 🚀") == "plain ünïcødé 🚀")
    }

    @Test(arguments: ["br", "hr", "img", "input", "link", "meta", "col"])
    func voidElementsHaveNoEndTag(_ name: String) {
        let node = h(name, ["class": "c"]) { "ignored child" }
        #expect(node.rendered == "<\(name) class=\"c\">")
    }

    @Test func aNonVoidEmptyElementHasItsEndTag() {
        #expect(h("td").rendered == "<td></td>")
        #expect(h("script", ["src": "/a.js"]).rendered == #"<script src="/a.js"></script>"#)
    }

    @Test func aNilAttributeIsLeftOut() {
        let node = h("a", ["href": nil, "id": "x", "aria-current": nil], text: "t")
        #expect(node.rendered == #"<a id="x">t</a>"#)
    }

    @Test func attributesKeepTheirWrittenOrder() {
        #expect(h("input", ["type": "hidden", "name": "n", "value": "v"]).rendered == #"<input type="hidden" name="n" value="v">"#)
    }

    @Test(arguments: ["disabled", "selected", "checked", "required", "hidden"])
    func anEmptyBooleanAttributeRendersBare(_ name: String) {
        #expect(h("input", [name: "", "id": "i"]).rendered == "<input \(name) id=\"i\">")
    }

    @Test func anEmptyValueOfAnOrdinaryAttributeKeepsItsQuotes() {
        #expect(h("input", ["value": ""]).rendered == #"<input value="">"#)
        #expect(h("option", ["value": ""], text: "any").rendered == #"<option value="">any</option>"#)
    }

    @Test func aBooleanAttributeWithAValueKeepsIt() {
        #expect(h("input", ["hidden": "until-found"]).rendered == #"<input hidden="until-found">"#)
    }

    @Test func trustedMarkupPassesThroughAndTextDoesNot() {
        let node = Node.fragment([.trusted("<!DOCTYPE html>"), .text("<!DOCTYPE html>")])
        #expect(node.rendered == "<!DOCTYPE html>&lt;!DOCTYPE html&gt;")
    }

    @Test func fragmentsRenderTheirNodesInOrderWithoutAWrapper() {
        #expect(Node.fragment([h("b", text: "1"), .text("2"), h("i", text: "3")]).rendered == "<b>1</b>2<i>3</i>")
        #expect(Node.fragment([]).rendered == "")
    }

    @Test(arguments: [true, false])
    func builderHandlesIf(_ flag: Bool) {
        let node = h("div") {
            "a"
            if flag { h("b", text: "yes") }
            "c"
        }
        #expect(node.rendered == (flag ? "<div>a<b>yes</b>c</div>" : "<div>ac</div>"))
    }

    @Test(arguments: [true, false])
    func builderHandlesIfElse(_ flag: Bool) {
        let node = h("div") {
            if flag { h("b", text: "first") } else { "second" }
        }
        #expect(node.rendered == (flag ? "<div><b>first</b></div>" : "<div>second</div>"))
    }

    @Test func builderHandlesForAndArraysAndIfLet() {
        let items = ["x<", "y", "z"]
        let maybe: String? = "m"
        let none: String? = nil
        let node = h("ul") {
            for item in items { h("li", text: item) }
            [h("li", text: "array")]
            if let maybe { h("li", text: maybe) }
            if let none { h("li", text: none) }
        }
        #expect(node.rendered == "<ul><li>x&lt;</li><li>y</li><li>z</li><li>array</li><li>m</li></ul>")
        let empty = h("ul") { for item in [String]() { h("li", text: item) } }
        #expect(empty.rendered == "<ul></ul>")
    }

    @Test func nestedElementsNest() {
        let node = h("table") { h("tr") { h("td", ["class": "n"], text: "1") } }
        #expect(node.rendered == #"<table><tr><td class="n">1</td></tr></table>"#)
    }

    static let hostile: [String] = [
        "<script>alert(1)</script>",
        "</textarea><script>x</script>",
        "</p><p>",
        #""><img src=x onerror=alert(1)>"#,
        #"' onmouseover='alert(1)"#,
        "javascript:alert(document.cookie)",
        "&lt;script&gt;",
        "&#60;img&#62;",
        "ünïcødé 日本語 🚀 \u{202E}gnp.exe",
        "\"\u{301}><img src=x>",
        "nul\u{0}byte<",
        "<<<<>>>>\"\"\"''''&&&&",
        "<!-- comment -->",
        "<![CDATA[<img>]]>",
        "\r\n<svg onload=alert(1)>",
        "",
    ]

    /// Whatever a string holds, `<p title=s>s</p>` renders as exactly one p element: its only `<`
    /// are those of `<p` and `</p>`, its only `"` the two quoting the title, and the title and
    /// text are the escaped string.
    @Test(arguments: hostile)
    func hostileTextAndAttributesStayData(_ text: String) {
        let rendered = h("p", ["title": text], text: text).rendered
        let lessThan = rendered.utf8.enumerated().filter { $0.element == UInt8(ascii: "<") }.map(\.offset)
        #expect(lessThan.count == 2)
        #expect(rendered.hasPrefix("<p title=\""))
        #expect(rendered.hasSuffix("</p>"))
        #expect(lessThan.last == rendered.utf8.count - 4)
        #expect(rendered.utf8.filter { $0 == UInt8(ascii: "\"") }.count == 2)
        #expect(rendered.utf8.filter { $0 == UInt8(ascii: ">") }.count == 2)
        #expect(rendered.utf8.filter { $0 == UInt8(ascii: "'") }.isEmpty)
        #expect(!rendered.contains("<img"))
        #expect(!rendered.contains("<script"))
        #expect(rendered == "<p title=\"\(Node.escape(text))\">\(Node.escape(text))</p>")
    }

    /// Undoes the five character references, scalar by scalar (a combining mark after `;` must
    /// not hide a reference, as it would from a Character-based search).
    static func unescape(_ text: String) -> String {
        let references: [String: Unicode.Scalar] = ["&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'"]
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        outer: while index < scalars.count {
            if scalars[index] == "&" {
                for (reference, scalar) in references {
                    let candidate = Array(reference.unicodeScalars)
                    if scalars[index...].starts(with: candidate) {
                        out.append(scalar)
                        index += candidate.count
                        continue outer
                    }
                }
            }
            out.append(scalars[index])
            index += 1
        }
        return String(out)
    }

    @Test(arguments: hostile)
    func escapingIsReversible(_ text: String) {
        // Nothing is lost or added: undoing the references gives the very scalars back.
        #expect(Self.unescape(Node.escape(text)).unicodeScalars.elementsEqual(text.unicodeScalars))
        #expect(!Node.escape(text).unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) })
    }

    @Test func csrfFieldEscapesItsToken() {
        #expect(Layout.csrfField(#"a"><b"#).rendered == #"<input type="hidden" name="csrf" value="a&quot;&gt;&lt;b">"#)
    }

    @Test func postFormPutsTheCSRFFieldFirst() {
        let viewer = Viewer(email: "a@example.com", roles: [], csrf: "tok")
        let form = Layout.postForm("/go", viewer: viewer, attributes: ["id": "f"], confirm: "Sure?") { h("button", text: "Go") }
        #expect(form.rendered
            == #"<form method="post" action="/go" id="f" data-confirm="Sure?"><input type="hidden" name="csrf" value="tok"><button>Go</button></form>"#)
    }

    @Test func thePageFrameEscapesTheViewerAndMessage() {
        let viewer = Viewer(email: "<x>@example.com", roles: [], csrf: "t\"k")
        let page = Layout.page(title: "T<1>", viewer: viewer, section: .kill, message: .error("bad <b>")) { h("p", text: "body") }
        #expect(page.hasPrefix("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"))
        #expect(page.contains("<title>T&lt;1&gt; · Asgard</title>"))
        #expect(page.contains(#"<span id="who">&lt;x&gt;@example.com</span>"#))
        #expect(page.contains(#"<p id="error" class="error" role="alert">bad &lt;b&gt;</p>"#))
        #expect(page.contains(#"<a href="/kill" aria-current="page">Kill switches</a>"#))
        #expect(page.contains(#"<a href="/">Overview</a>"#))
        #expect(Markup.count("aria-current", in: page) == 1)
        #expect(Markup.expectEveryPostFormCarriesCSRF(page, token: "t\"k") == 1)
        #expect(page.hasSuffix("</main></body></html>"))
    }

    @Test func aPageWithoutViewerHasNoNavigationOrLogout() {
        let page = Layout.page(title: "T", viewer: nil, section: nil) { "x" }
        #expect(!page.contains("<nav"))
        #expect(!page.contains("logout"))
    }
}

struct CSRFCheckTests {
    @Test func theCheckCountsPostingFormsOnly() {
        let html = #"<form id="a" method="get"></form><form method="post"><input type="hidden" name="csrf" value="t"></form>"#
        #expect(Markup.expectEveryPostFormCarriesCSRF(html, token: "t") == 1)
    }

    @Test func theCheckCatchesAFormWithoutTheToken() {
        withKnownIssue {
            Markup.expectEveryPostFormCarriesCSRF(#"<form method="post" action="/x"><button>x</button></form>"#, token: "t")
        }
    }

    @Test func theCheckCatchesAnotherToken() {
        withKnownIssue {
            Markup.expectEveryPostFormCarriesCSRF(#"<form id="f" method="post"><input type="hidden" name="csrf" value="u"></form>"#, token: "t")
        }
    }
}
