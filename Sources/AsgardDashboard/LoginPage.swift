/// `/login`: the personal credential (`asgard keygen --person`; `asgard demo` prints one).
public struct LoginPage: Sendable {
    /// The token the form posts back, matched against the login cookie set with the page.
    public var csrf: String
    /// Where to go after logging in (a local path).
    public var next: String?
    public var message: Message?

    public init(csrf: String, next: String?, message: Message? = nil) {
        self.csrf = csrf
        self.next = next
        self.message = message
    }

    public func render() -> String {
        Layout.page(title: "Log in", viewer: nil, section: nil, message: message) {
            h("form", ["id": "login", "method": "post", "action": "/login", "class": "card"]) {
                Layout.csrfField(csrf)
                if let next { h("input", ["type": "hidden", "name": "next", "value": next]) }
                Layout.field("Personal credential", id: "credential") {
                    h("input", [
                        "id": "credential", "name": "credential", "type": "password", "autocomplete": "current-password", "required": "",
                        "aria-describedby": "credential-help",
                    ])
                }
                h("p", ["id": "credential-help", "class": "muted"],
                  text: "The secret of your personal credential (asgp_…), minted by `asgard keygen --person`. Only its SHA-256 digest is committed in your Person document.")
                h("button", ["id": "login-submit", "type": "submit", "class": "primary"], text: "Log in")
            }
        }
    }
}

/// A page that says what went wrong: not found, refused.
public struct ProblemPage: Sendable {
    public var title: String
    public var detail: String

    public init(title: String, detail: String) {
        self.title = title
        self.detail = detail
    }

    public func render(viewer: Viewer?) -> String {
        Layout.page(title: title, viewer: viewer, section: nil, message: .error(detail)) {
            h("p") { h("a", ["href": "/"], text: "Back to the overview") }
        }
    }
}
