/// Who is looking, and the token every form of their session carries.
public struct Viewer: Sendable, Hashable {
    public var email: String
    public var roles: [String]
    public var csrf: String

    public init(email: String, roles: [String], csrf: String) {
        self.email = email
        self.roles = roles
        self.csrf = csrf
    }
}

/// The outcome of a form post, shown at the top of the page it lands on.
public enum Message: Sendable, Hashable {
    case notice(String)
    case error(String)

    var node: Node {
        switch self {
        case .notice(let text): h("p", ["id": "notice", "class": "notice", "role": "status"], text: text)
        case .error(let text): h("p", ["id": "error", "class": "error", "role": "alert"], text: text)
        }
    }
}

/// The pages' frame: the document, the navigation, the logout form, the message.
public enum Layout {
    public enum Section: String, Sendable, CaseIterable {
        case overview, approvals, kill, audit

        var title: String {
            switch self {
            case .overview: "Overview"
            case .approvals: "Approvals"
            case .kill: "Kill switches"
            case .audit: "Audit"
            }
        }

        var path: String { self == .overview ? "/" : "/\(rawValue)" }
    }

    /// A whole page.
    public static func page(
        title: String, viewer: Viewer?, section: Section?, message: Message? = nil, @NodeBuilder content: () -> [Node]
    ) -> String {
        let body = h("body") {
            h("a", ["class": "skip", "href": "#main"], text: "Skip to content")
            h("header") {
                h("p", ["class": "brand"]) { h("a", ["href": "/"], text: "Asgard") }
                if let viewer {
                    h("nav", ["aria-label": "Sections"]) {
                        h("ul") {
                            for item in Section.allCases {
                                h("li") {
                                    h("a", ["href": item.path, "aria-current": item == section ? "page" : nil], text: item.title)
                                }
                            }
                        }
                    }
                    h("form", ["id": "logout", "method": "post", "action": "/logout"]) {
                        h("span", ["id": "who"], text: viewer.email)
                        csrfField(viewer.csrf)
                        h("button", ["type": "submit"], text: "Log out")
                    }
                }
            }
            h("main", ["id": "main"]) {
                h("h1", text: title)
                if let message { message.node }
                content()
            }
        }
        let document = Node.fragment([
            .trusted("<!DOCTYPE html>"),
            h("html", ["lang": "en"]) {
                h("head") {
                    h("meta", ["charset": "utf-8"])
                    h("meta", ["name": "viewport", "content": "width=device-width, initial-scale=1"])
                    h("title", text: "\(title) · Asgard")
                    h("link", ["rel": "stylesheet", "href": "/dashboard.css"])
                    h("script", ["src": "/dashboard.js", "defer": ""])
                }
                body
            },
        ])
        return document.rendered
    }

    /// The hidden field every form posts.
    public static func csrfField(_ token: String) -> Node {
        h("input", ["type": "hidden", "name": "csrf", "value": token])
    }

    /// A form posting to `action` with the session's token; `confirm` asks first (with JavaScript).
    static func postForm(
        _ action: String, viewer: Viewer, attributes: KeyValuePairs<String, String?> = [:], confirm: String? = nil,
        @NodeBuilder _ fields: () -> [Node]
    ) -> Node {
        var all = [Node.Attribute("method", "post"), Node.Attribute("action", action)]
        all += attributes.map { Node.Attribute($0.key, $0.value) }
        if let confirm { all.append(Node.Attribute("data-confirm", confirm)) }
        return .element("form", all, [csrfField(viewer.csrf)] + fields())
    }

    /// A table: its caption, its column headers, and its rows, or when there are none one row
    /// saying `empty` across every column.
    static func table(
        _ attributes: KeyValuePairs<String, String?> = [:], caption: String, columns: [String], empty: String, @NodeBuilder rows: () -> [Node]
    ) -> Node {
        let body = rows()
        return .element(
            "table", attributes.map { Node.Attribute($0.key, $0.value) },
            [
                h("caption", text: caption),
                h("thead") { h("tr") { for title in columns { h("th", ["scope": "col"], text: title) } } },
                h("tbody") {
                    if body.isEmpty { h("tr") { h("td", ["colspan": String(columns.count)], text: empty) } }
                    body
                },
            ])
    }

    /// A labelled control: `<label for=id>` then the control.
    static func field(_ label: String, id: String, @NodeBuilder control: () -> [Node]) -> Node {
        h("div", ["class": "field"]) {
            h("label", ["for": id], text: label)
            control()
        }
    }
}
