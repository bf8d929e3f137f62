/// How a provisionable service's monthly cost follows from a request's parameters
/// (`cost_rule:` in the manifest): the value of one parameter picks a monthly figure from a
/// table, optionally multiplied by a whole-number parameter.
///
/// ```yaml
/// cost_rule:
///   parameter: cluster_size
///   monthly_usd: {2X-Small: 300, X-Small: 450, ..., 4X-Large: 39600}
///   multiply_by: max_num_clusters      # optional
/// ```
public struct CostRule: Sendable, Hashable, Codable {
    /// The parameter whose value picks the figure, e.g. `cluster_size`.
    public var parameter: String
    /// The monthly figure for each value of `parameter`, as written in desired state.
    public var monthly: [String: MicroDollars]
    /// A whole-number parameter (at least 1) the figure is multiplied by, e.g. `max_num_clusters`.
    public var multiplyBy: String?

    public init(parameter: String, monthly: [String: MicroDollars], multiplyBy: String? = nil) {
        self.parameter = parameter
        self.monthly = monthly
        self.multiplyBy = multiplyBy
    }
}

/// A monthly cost estimate and where it came from. Never invented: it is the manifest's cost
/// rule applied to the parameters, or the manifest's fixed figure when the service has no rule,
/// or unknown (no figure at all) when the rule does not cover the parameters.
public struct CostEstimate: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Basis: String, Sendable, Hashable, Codable, CaseIterable {
        /// The manifest's cost rule, applied to the request's parameters.
        case rule
        /// The manifest's fixed `monthly_estimate_usd`: the service has no cost rule.
        case fixed
        /// The service has a cost rule, but it does not cover these parameters.
        case unknown
    }

    public var basis: Basis
    /// US dollars a month; nil when unknown.
    public var monthly: MicroDollars?
    /// How the figure was reached (or why there is none), for people.
    public var detail: String

    public init(basis: Basis, monthly: MicroDollars?, detail: String) {
        self.basis = basis
        self.monthly = basis == .unknown ? nil : monthly
        self.detail = detail
    }

    /// `$39600/month (cost rule: cluster_size 4X-Large ...)`, or `unknown (...)`.
    public var description: String {
        guard let monthly else { return "unknown (\(detail))" }
        return "$\(monthly)/month (\(basis == .rule ? "cost rule" : "fixed estimate"): \(detail))"
    }
}

extension ProvisionableService {
    /// The monthly estimate of a request with `parameters`: the cost rule's figure when the
    /// manifest has a rule that covers them, the fixed figure when it has none, else unknown.
    public func estimate(for parameters: [String: ParameterValue]) -> CostEstimate {
        guard let rule = costRule else {
            return CostEstimate(basis: .fixed, monthly: monthlyEstimate, detail: "the manifest's fixed figure for \(name), which has no cost rule")
        }
        return rule.estimate(for: parameters)
    }
}

extension CostRule {
    /// The rule applied to `parameters`; `.unknown`, naming what is missing, when it does not cover them.
    public func estimate(for parameters: [String: ParameterValue]) -> CostEstimate {
        guard let value = parameters[parameter] else {
            return unknown("\(parameter) is not set, and the manifest's cost rule is by \(parameter)")
        }
        guard let text = value.scalarText, let figure = monthly[text] else {
            return unknown(
                "the manifest's cost rule has no figure for \(parameter) \(value.scalarText ?? "(not a single value)") "
                    + "(it lists \(monthly.keys.sorted().joined(separator: ", ")))")
        }
        let base = "\(parameter) \(text): $\(figure)/month"
        guard let multiplyBy else { return CostEstimate(basis: .rule, monthly: figure, detail: base) }
        guard let factorValue = parameters[multiplyBy] else {
            return unknown("\(multiplyBy) is not set, and the manifest's cost rule multiplies by it")
        }
        guard let factor = factorValue.scalarText.flatMap({ Int64($0) }), factor >= 1 else {
            return unknown("\(multiplyBy) \(factorValue.scalarText ?? "(not a single value)") is not a whole number of at least 1")
        }
        let (total, overflow) = figure.value.multipliedReportingOverflow(by: factor)
        guard !overflow else { return unknown("\(base) × \(multiplyBy) \(factor) is too large to count") }
        return CostEstimate(basis: .rule, monthly: MicroDollars(total), detail: "\(base) × \(multiplyBy) \(factor)")
    }

    private func unknown(_ why: String) -> CostEstimate {
        CostEstimate(basis: .unknown, monthly: nil, detail: why)
    }
}

extension ParameterValue {
    /// The text of a string or number; nil for booleans, lists and maps.
    public var scalarText: String? {
        switch self {
        case .string(let text), .number(let text): text
        case .bool, .list, .map: nil
        }
    }
}
