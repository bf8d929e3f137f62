public import AsgardCore

/// A project's spend per day as an SVG chart: a bar per day, stacked by vendor; estimates
/// hatched, days a source could not measure marked with an outlined `?` bar (never drawn as
/// zero); a dashed line at the budget's daily pace (the monthly budget over the month's days).
public struct SpendChart: Sendable, Hashable {
    public enum Measurement: String, Sendable, Hashable, CaseIterable {
        case measured
        case estimate
        case notMeasured = "not_measured"

        public var label: String { self == .notMeasured ? "not measured" : rawValue }
    }

    /// One figure: a vendor's spend on a day, as one source measured or estimated it (amount
    /// nil when not measured).
    public struct Figure: Sendable, Hashable {
        public var day: String
        public var vendor: String
        public var measurement: Measurement
        public var amount: MicroDollars?

        public init(day: String, vendor: String, measurement: Measurement, amount: MicroDollars?) {
            self.day = day
            self.vendor = vendor
            self.measurement = measurement
            self.amount = amount
        }
    }

    /// Every day of the period, in order (`YYYY-MM-DD`).
    public var days: [String]
    public var figures: [Figure]
    public var dailyBudget: MicroDollars?

    public init(days: [String], figures: [Figure], dailyBudget: MicroDollars?) {
        self.days = days
        self.figures = figures
        self.dailyBudget = dailyBudget
    }

    /// The vendors, in the order bars stack them (and the legend lists them).
    public var vendors: [String] { Array(Set(figures.map(\.vendor))).sorted() }

    /// A bar's piece: one vendor and measurement on one day.
    public struct Piece: Sendable, Hashable {
        public var day: String
        public var vendor: String
        public var measurement: Measurement
        public var amount: MicroDollars
    }

    /// The stacked pieces of each day with a figure (vendor order, measured under estimate),
    /// and the days with a figure not measured.
    public var stacks: (pieces: [String: [Piece]], unmeasured: Set<String>) {
        var sums: [String: [String: [Measurement: Int64]]] = [:]
        var unmeasured = Set<String>()
        for figure in figures {
            guard let amount = figure.amount else {
                unmeasured.insert(figure.day)
                continue
            }
            sums[figure.day, default: [:]][figure.vendor, default: [:]][figure.measurement, default: 0] += amount.value
        }
        var pieces: [String: [Piece]] = [:]
        for (day, byVendor) in sums {
            for vendor in byVendor.keys.sorted() {
                for measurement in [Measurement.measured, .estimate] {
                    guard let value = byVendor[vendor]?[measurement], value > 0 else { continue }
                    pieces[day, default: []].append(Piece(day: day, vendor: vendor, measurement: measurement, amount: MicroDollars(value)))
                }
            }
        }
        return (pieces, unmeasured)
    }

    /// The highest day's stacked figures.
    public var highest: MicroDollars {
        MicroDollars(stacks.pieces.values.map { $0.reduce(0) { $0 + $1.amount.value } }.max() ?? 0)
    }

    /// Whether the budget's daily pace is drawn as a line: when it is at most four times the
    /// highest day (a pace far above the bars would flatten them to nothing; it is then named
    /// in a label instead).
    public var budgetOnScale: Bool {
        guard let dailyBudget, dailyBudget.value > 0 else { return false }
        return dailyBudget.value <= highest.value * 4
    }

    /// The top of the scale: the highest day, or the budget pace when drawn, whichever is more
    /// (a cent at least).
    public var scaleTop: MicroDollars {
        MicroDollars(max(highest.value, budgetOnScale ? dailyBudget?.value ?? 0 : 0, 10_000))
    }

    /// Days of the period with no figure at all: not rolled up (or before the project existed).
    public var daysWithoutFigures: Set<String> { Set(days).subtracting(figures.map(\.day)) }

    static let palette = ["#1f5fa8", "#b3541e", "#2f7d4f", "#7a4bb0", "#8a6d00", "#a3284b"]
    static let (width, height) = (720.0, 260.0)
    /// The plot's margins; the top one leaves room for a not-measured mark above the highest day.
    static let (left, right, top, bottom) = (72.0, 12.0, 30.0, 40.0)

    /// The chart, titled `title` for assistive technology.
    public func svg(title: String, id: String) -> Node {
        let vendors = vendors
        let (pieces, unmeasured) = stacks
        let blank = daysWithoutFigures
        let plotWidth = Self.width - Self.left - Self.right, plotHeight = Self.height - Self.top - Self.bottom
        let top = Double(scaleTop.value)
        let slot = plotWidth / Double(max(days.count, 1))
        let barWidth = max(slot * 0.7, 1)
        func y(_ value: Int64) -> Double { Self.top + plotHeight - plotHeight * Double(value) / top }
        func number(_ value: Double) -> String { format1(value) }
        func color(_ vendor: String) -> String { Self.palette[(vendors.firstIndex(of: vendor) ?? 0) % Self.palette.count] }

        return h("svg", [
            "class": "chart", "role": "img", "viewBox": "0 0 \(Int(Self.width)) \(Int(Self.height))", "aria-labelledby": "\(id)-title",
            "xmlns": "http://www.w3.org/2000/svg",
        ]) {
            h("title", ["id": "\(id)-title"], text: title)
            h("defs") {
                for vendor in vendors {
                    h("pattern", [
                        "id": "\(id)-hatch-\(vendors.firstIndex(of: vendor) ?? 0)", "width": "6", "height": "6", "patternUnits": "userSpaceOnUse",
                        "patternTransform": "rotate(45)",
                    ]) {
                        h("rect", ["width": "6", "height": "6", "fill": "#fff"])
                        h("rect", ["width": "3", "height": "6", "fill": color(vendor)])
                    }
                }
            }
            // The scale: zero, half and the top, in dollars.
            for fraction in [0, 1, 2] {
                let value = scaleTop.value * Int64(fraction) / 2
                h("line", ["class": "grid", "x1": number(Self.left), "x2": number(Self.width - Self.right), "y1": number(y(value)), "y2": number(y(value))])
                h("text", ["class": "axis", "x": number(Self.left - 6), "y": number(y(value) + 4), "text-anchor": "end"], text: Format.dollars(MicroDollars(value)))
            }
            for (index, day) in days.enumerated() {
                let x = Self.left + slot * Double(index) + (slot - barWidth) / 2
                let stack = pieces[day] ?? []
                let bases = stack.indices.map { index in stack[..<index].reduce(0) { $0 + $1.amount.value } }
                let total = stack.reduce(0) { $0 + $1.amount.value }
                for (piece, base) in zip(stack, bases) {
                    let height = plotHeight * Double(piece.amount.value) / top
                    let fill = piece.measurement == .estimate ? "url(#\(id)-hatch-\(vendors.firstIndex(of: piece.vendor) ?? 0))" : color(piece.vendor)
                    h("rect", [
                        "class": "bar \(piece.measurement.rawValue)", "x": number(x), "y": number(y(base) - height), "width": number(barWidth),
                        "height": number(max(height, 0.5)), "fill": fill, "stroke": color(piece.vendor), "stroke-width": "0.5",
                    ]) {
                        h("title", text: "\(day) \(piece.vendor): \(Format.dollars(piece.amount)) (\(piece.measurement.label))")
                    }
                }
                if blank.contains(day) {
                    h("line", ["class": "no-figures", "x1": number(x), "x2": number(x + barWidth), "y1": number(y(0)), "y2": number(y(0))]) {
                        h("title", text: "\(day): no figures (not rolled up)")
                    }
                }
                if unmeasured.contains(day) {
                    let markHeight = min(plotHeight * 0.12, 24)
                    h("rect", [
                        "class": "bar not_measured", "x": number(x), "y": number(max(y(total) - markHeight, 0)), "width": number(barWidth),
                        "height": number(markHeight),
                    ]) {
                        h("title", text: "\(day): a source could not measure this day; no figure is shown for it")
                    }
                }
                if days.count <= 12 || index % max(days.count / 8, 1) == 0 || index == days.count - 1 {
                    h("text", ["class": "axis", "x": number(x + barWidth / 2), "y": number(Self.height - Self.bottom + 16), "text-anchor": "middle"],
                      text: String(day.dropFirst(5)))
                }
            }
            if let dailyBudget, dailyBudget.value > 0 {
                if budgetOnScale {
                    let at = y(dailyBudget.value)
                    h("line", ["class": "budget", "x1": number(Self.left), "x2": number(Self.width - Self.right), "y1": number(at), "y2": number(at)])
                    h("text", ["class": "budget-label", "x": number(Self.width - Self.right), "y": number(at - 4), "text-anchor": "end"],
                      text: "budget pace \(Format.dollars(dailyBudget))/day")
                } else {
                    h("text", ["class": "budget-label", "x": number(Self.width - Self.right), "y": number(Self.top + 4), "text-anchor": "end"],
                      text: "budget pace \(Format.dollars(dailyBudget))/day: above the scale")
                }
            }
        }
    }

    /// The legend: each vendor's colour, the hatch of an estimate, the mark of a day not measured, the budget line.
    public func legend(id: String) -> Node {
        let vendors = vendors
        return h("ul", ["class": "legend"]) {
            for (index, vendor) in vendors.enumerated() {
                h("li") {
                    h("span", ["class": "swatch v\(index % Self.palette.count)", "aria-hidden": "true"])
                    vendor + " (measured)"
                }
            }
            h("li") {
                h("span", ["class": "swatch hatched", "aria-hidden": "true"])
                "hatched: estimate (not measured by the vendor: a manifest figure pro-rated per day)"
            }
            h("li") {
                h("span", ["class": "swatch not-measured", "aria-hidden": "true"])
                "outlined: not measured (no figure; never counted as zero)"
            }
            h("li") {
                h("span", ["class": "swatch no-figures", "aria-hidden": "true"])
                "grey baseline: no figures for the day (not rolled up)"
            }
            h("li") {
                h("span", ["class": "swatch budget-line", "aria-hidden": "true"])
                "dashed line: the monthly budget's daily pace"
            }
        }
    }
}

/// `value` with at most one decimal, for SVG coordinates.
func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return tenths % 10 == 0 ? String(tenths / 10) : (tenths < 0 && tenths > -10 ? "-" : "") + "\(tenths / 10).\(abs(tenths % 10))"
}
