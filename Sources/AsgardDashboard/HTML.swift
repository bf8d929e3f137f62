/// HTML as a tree, rendered with every text and attribute value escaped: a page cannot carry
/// markup from data (a reason, an actor, a project name) however it is written.
public indirect enum Node: Sendable, Hashable {
    case element(String, [Attribute], [Node])
    case text(String)
    /// Markup written by Asgard itself (the doctype, the stylesheet); never data.
    case trusted(String)
    case fragment([Node])

    /// An element's attribute; a nil value leaves it out, an empty one is a boolean attribute.
    public struct Attribute: Sendable, Hashable {
        public var name: String
        public var value: String?
        public init(_ name: String, _ value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// Elements that have no end tag.
    static let void: Set<String> = ["br", "hr", "img", "input", "link", "meta", "col"]

    /// The markup.
    public var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .text(let text): out += Self.escape(text)
        case .trusted(let markup): out += markup
        case .fragment(let nodes): for node in nodes { node.render(into: &out) }
        case .element(let name, let attributes, let children):
            out += "<" + name
            for attribute in attributes {
                guard let value = attribute.value else { continue }
                out += " " + attribute.name
                if !value.isEmpty || !["disabled", "selected", "checked", "required", "hidden"].contains(attribute.name) {
                    out += "=\"" + Self.escape(value) + "\""
                }
            }
            out += ">"
            guard !Self.void.contains(name) else { return }
            for child in children { child.render(into: &out) }
            out += "</" + name + ">"
        }
    }

    /// `&`, `<`, `>`, `"` and `'` as character references; everything else as it is.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

/// Builds children from statements: `if`, `for` and plain expressions.
@resultBuilder public enum NodeBuilder {
    public static func buildExpression(_ node: Node) -> [Node] { [node] }
    public static func buildExpression(_ nodes: [Node]) -> [Node] { nodes }
    public static func buildExpression(_ text: String) -> [Node] { [.text(text)] }
    public static func buildBlock(_ parts: [Node]...) -> [Node] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Node]?) -> [Node] { part ?? [] }
    public static func buildEither(first: [Node]) -> [Node] { first }
    public static func buildEither(second: [Node]) -> [Node] { second }
    public static func buildArray(_ parts: [[Node]]) -> [Node] { parts.flatMap { $0 } }
}

/// An element: `h("p", ["id": "notice"]) { "Saved" }`.
public func h(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], @NodeBuilder _ children: () -> [Node] = { [] }) -> Node {
    .element(name, attributes.map { Node.Attribute($0.key, $0.value) }, children())
}

/// An element holding one text.
public func h(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], text: String) -> Node {
    .element(name, attributes.map { Node.Attribute($0.key, $0.value) }, [.text(text)])
}
