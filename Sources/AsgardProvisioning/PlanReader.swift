import AsgardController
import AsgardCore
import AsgardJSON

/// Reads `terraform show -json <planfile>` into what the gate checks and an approver sees.
///
/// The digest is the SHA-256 of the canonical form of the whole document (see `CanonicalJSON`)
/// minus `volatileKeys`: the same configuration planned against the same state gives the same
/// digest, and any change to what would be applied (a parameter, a tag, the prior state, the
/// terraform version) gives a different one.
enum PlanReader {
    /// Top-level members of `show -json` that change between two plans of the same thing.
    ///
    /// `timestamp` (terraform >= 1.5 and OpenTofu) is the wall-clock time the plan was made.
    /// Terraform 1.0.3's format 0.2 has no volatile member at all: two plans of an unchanged
    /// configuration print byte-identical JSON.
    static let volatileKeys: Set<String> = ["timestamp"]

    /// The plan in `bytes` (already scrubbed of credentials).
    static func read(_ bytes: [UInt8]) throws(TerraformError) -> ProvisioningPlan {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw .invalidPlanJSON(error.description)
        }
        guard case .object(let members) = document else {
            throw .invalidPlanJSON("expected an object, found \(document.kindName)")
        }
        guard case .string(let format)? = document["format_version"] else {
            throw .invalidPlanJSON("no format_version: this is not the JSON of a saved plan")
        }
        guard let major = format.split(separator: ".").first, major == "0" || major == "1" else {
            throw .invalidPlanJSON("format_version \(format) is not one the connector reads (0.x or 1.x)")
        }
        let resources = try plannedResources(document["resource_changes"])
        let stable = JSONValue.object(members.filter { !volatileKeys.contains($0.key) })
        return ProvisioningPlan(digest: digest(of: stable), summary: summary(of: resources), resources: resources)
    }

    /// Lower-case hex SHA-256 of the canonical bytes of `value`.
    static func digest(of value: JSONValue) -> String {
        hexString(SHA256.hash(CanonicalJSON.bytes(value)))
    }

    /// The managed resource instances of `resource_changes`, in address order.
    static func plannedResources(_ changes: JSONValue?) throws(TerraformError) -> [PlannedResource] {
        guard let changes, changes != .null else { return [] }
        guard case .array(let items) = changes else {
            throw .invalidPlanJSON("resource_changes is \(changes.kindName), not an array")
        }
        var resources: [PlannedResource] = []
        for (index, item) in items.enumerated() {
            guard item["mode"] == .string("managed") else { continue }
            guard case .string(let address)? = item["address"], case .string(let type)? = item["type"] else {
                throw .invalidPlanJSON("resource_changes[\(index)] has no address or type")
            }
            guard case .array(let actionValues)? = item["change"]?["actions"] else {
                throw .invalidPlanJSON("resource_changes[\(index)] (\(address)) has no change.actions")
            }
            var actions: [String] = []
            for action in actionValues {
                guard case .string(let name) = action else {
                    throw .invalidPlanJSON("resource_changes[\(index)] (\(address)) has a non-string action")
                }
                actions.append(name)
            }
            let after = values(item["change"]?["after"], sensitive: item["change"]?["after_sensitive"])
            let before = values(item["change"]?["before"], sensitive: item["change"]?["before_sensitive"])
            let deposed: String? = if case .string(let key)? = item["deposed"] { key } else { nil }
            resources.append(
                PlannedResource(
                    address: deposed.map { "\(address) (deposed \($0))" } ?? address,
                    type: type, actions: actions, after: after, before: before))
        }
        return resources.sorted { $0.address < $1.address }
    }

    /// A change's `before` or `after` with its sensitive parts masked; nil when absent or null.
    static func values(_ value: JSONValue?, sensitive: JSONValue?) -> JSONValue? {
        guard let value, value != .null else { return nil }
        return masked(value, sensitive: sensitive)
    }

    /// `value` with every part that `sensitive` (terraform's `after_sensitive`, a mirror of the
    /// value with `true` at sensitive leaves) marks replaced by `"(sensitive)"`: `show -json`
    /// prints sensitive attribute values in clear text, and the plan goes to approvers.
    static func masked(_ value: JSONValue, sensitive: JSONValue?) -> JSONValue {
        switch (value, sensitive) {
        case (_, .bool(true)?):
            return OutputsReader.sensitivePlaceholder
        case (.object(let members), .object?):
            return .object(members.map { JSONMember(key: $0.key, value: masked($0.value, sensitive: sensitive?[$0.key])) })
        case (.array(let items), .array(let marks)?):
            return .array(items.enumerated().map { index, item in masked(item, sensitive: index < marks.count ? marks[index] : nil) })
        default:
            return value
        }
    }

    /// What a plan's action list does, in the four words of a summary.
    enum Change: String, CaseIterable {
        case create, update, replace, destroy
    }

    /// `actions` as one of the summary's changes; nil for no-op and read.
    static func change(_ actions: [String]) -> Change? {
        switch actions {
        case ["create"]: .create
        case ["update"]: .update
        case ["delete", "create"], ["create", "delete"]: .replace
        case ["delete"]: .destroy
        default: nil
        }
    }

    /// `create 1, update 0, replace 0, destroy 0: module.service.null_resource.this (create)`;
    /// `…: no changes` when nothing changes.
    static func summary(of resources: [PlannedResource]) -> String {
        var counts: [Change: Int] = [:]
        var lines: [String] = []
        for resource in resources {
            guard let change = change(resource.actions) else { continue }
            counts[change, default: 0] += 1
            lines.append("\(resource.address) (\(change.rawValue))")
        }
        let header = Change.allCases.map { "\($0.rawValue) \(counts[$0, default: 0])" }.joined(separator: ", ")
        return header + ": " + (lines.isEmpty ? "no changes" : lines.joined(separator: ", "))
    }
}
