/// How sensitive data is, ordered: `public` < `internal` < `confidential` < `restricted`.
///
/// The raw value is the level Cedar policies compare (public 0 ... restricted 3).
public enum DataClass: Int, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case `public` = 0
    case `internal` = 1
    case confidential = 2
    case restricted = 3

    /// The name used in manifests and on the wire.
    public var name: String {
        switch self {
        case .public: "public"
        case .internal: "internal"
        case .confidential: "confidential"
        case .restricted: "restricted"
        }
    }

    /// Parses a manifest name; `nil` for anything else.
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    public static func < (lhs: DataClass, rhs: DataClass) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = DataClass(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown data class"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
