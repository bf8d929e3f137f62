public import AsgardCore

/// `openai-costs`: what OpenAI billed each project, from the organization's Costs API
/// (`/v1/organization/costs`, daily buckets grouped by `project_id`), read with an admin key.
///
/// Spend is attributed by the `openai_project_ids` each Asgard project names: an OpenAI
/// project's costs are its owner's, costs of OpenAI projects no Asgard project names (and
/// costs OpenAI puts on no project) are left out, and a project that names no OpenAI project
/// is not measured (its OpenAI spend, if any, cannot be told apart). A day's lines are summed
/// exactly and rounded to the micro-dollar once (`DecimalSum`); only US dollars are accepted.
public struct OpenAICosts: CostSource {
    public let vendor: String
    public var name: String { Self.type }
    public static let type = "openai-costs"

    /// How the API is reached; unavailable with why, when the environment does not say.
    public enum Connection: Sendable {
        case ready(OpenAICostsAPI)
        case unavailable(reason: String)
    }
    public var connection: Connection
    /// OpenAI project id → the Asgard project that owns it (validation keeps it one owner).
    public var owners: [String: String]

    /// - Parameter projects: the applied projects; their `openAIProjectIDs` say whose spend is whose.
    public init(vendor: String, connection: Connection, projects: [Project]) {
        self.vendor = vendor
        self.connection = connection
        var owners: [String: String] = [:]
        // Sorted, so that if two stored projects ever claimed one OpenAI project the first by
        // id would own it in every rollup rather than whichever the store listed first.
        for project in projects.sorted(by: { $0.id < $1.id }) {
            for id in project.openAIProjectIDs where owners[id] == nil { owners[id] = project.id }
        }
        self.owners = owners
    }

    public func measure(_ period: CostPeriod, projects: [String]) async -> [CostRecord] {
        let ids = Dictionary(grouping: owners.keys, by: { owners[$0]! }).mapValues { $0.sorted() }
        let (named, unnamed) = (projects.filter { ids[$0] != nil }, projects.filter { ids[$0] == nil })
        var records = unnamed.flatMap { project in
            notMeasured(period, projects: [project], reason: "project \(project) names no OpenAI project ids (openai_project_ids)")
        }
        guard !named.isEmpty else { return records }
        guard case .ready(let api) = connection else {
            guard case .unavailable(let reason) = connection else { return records }
            return records + notMeasured(period, projects: named, reason: reason)
        }
        do throws(OpenAICostsAPI.Failure) {
            let amounts = try Self.amounts(try await api.lines(period), owners: owners)
            for project in named {
                // The same words for the same days: a rollup repeated is the same rows.
                let query =
                    "OpenAI Costs API: GET /v1/organization/costs bucket_width=1d group_by=project_id, "
                    + "projects \(ids[project]!.joined(separator: ", ")), \(period)"
                records += measured(amounts, period, projects: [project], query: query)
            }
            return records
        } catch {
            return records + notMeasured(period, projects: named, reason: "OpenAI costs: \(error)")
        }
    }

    /// The lines' amounts by Asgard project and day, each day's sum exact until rounded once.
    /// - Throws: `OpenAICostsAPI.Failure`: `currency` for a cost of an owned project that is
    ///   not in US dollars, `malformed` for one that is not a decimal number.
    static func amounts(_ lines: [OpenAICostsAPI.Line], owners: [String: String]) throws(OpenAICostsAPI.Failure)
        -> [String: [CostDay: MicroDollars]]
    {
        var sums: [String: [CostDay: DecimalSum]] = [:]
        for line in lines {
            guard let id = line.project, let project = owners[id] else { continue }
            guard line.currency.lowercased() == "usd" else {
                throw .currency(line.currency, project: id, day: line.day)
            }
            do { try sums[project, default: [:]][line.day, default: DecimalSum()].add(line.amount) } catch {
                throw .malformed("the cost of \(id) on \(line.day): \(error)")
            }
        }
        return sums.mapValues { $0.mapValues(\.micros) }
    }
}
