import AsgardCore
import AsgardCost
import AsgardJSON
import Foundation
import MCP

extension Value {
    /// Compact JSON with sorted keys: the text content beside a structured result.
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// US dollars as an exact decimal string; null when unknown.
    static func dollars(_ amount: MicroDollars?) -> Value {
        amount.map { .string(DecimalAmount.dollars($0)) } ?? .null
    }

    static func text(_ text: String?) -> Value { text.map(Value.string) ?? .null }

    static func instant(_ date: Date?) -> Value { date.map { .string(formatInstant($0)) } ?? .null }
}

extension Approval {
    /// An approval as the tools show it.
    var value: Value {
        .object([
            "id": .string(id), "object": .string(ref.description), "project": .string(project), "status": .string(status.rawValue),
            "operation": .string(operation.rawValue), "summary": .string(summary), "plan_digest": .text(planDigest),
            "requested_by": .string(requestedBy), "decided_by": .text(decidedBy), "reason": .text(reason),
            "monthly_estimate_usd": .dollars(estimate.monthly), "created_at": .instant(createdAt), "decided_at": .instant(decidedAt),
        ])
    }
}
