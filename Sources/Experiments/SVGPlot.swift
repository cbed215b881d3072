import Foundation

/// A scatter plot written as SVG by our own code: points, optional colour groups, the Pareto front
/// highlighted as a line through its points, axes with "nice" ticks and labels with units.
public struct ScatterPlot: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        /// Colour group label ("" when not coloured).
        public var group: String
        public init(x: Double, y: Double, group: String = "") {
            self.x = x
            self.y = y
            self.group = group
        }
    }

    /// Which direction is better on an axis, for the Pareto front.
    public enum Goal: String, Sendable, CaseIterable {
        case minimize = "min"
        case maximize = "max"
    }

    public var points: [Point]
    public var xLabel: String
    public var yLabel: String
    public var colorLabel: String?
    public var title: String
    public var xGoal: Goal = .minimize
    public var yGoal: Goal = .minimize
    public var logX = false
    public var logY = false
    /// Category names of a categorical axis (x or y values are then indices into it; ticks show
    /// the names), e.g. config_id.
    public var xCategories: [String]?
    public var yCategories: [String]?
    public var width = 720.0
    public var height = 480.0

    public init(points: [Point], xLabel: String, yLabel: String, colorLabel: String? = nil, title: String = "") {
        self.points = points
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.colorLabel = colorLabel
        self.title = title
    }

    /// Indices of the non-dominated points: no other point is at least as good on both axes and
    /// strictly better on one. Ordered by x.
    public func paretoFront() -> [Int] {
        Self.paretoFront(points, xGoal: xGoal, yGoal: yGoal)
    }

    public static func paretoFront(_ points: [Point], xGoal: Goal, yGoal: Goal) -> [Int] {
        let sx: Double = xGoal == .minimize ? 1 : -1
        let sy: Double = yGoal == .minimize ? 1 : -1
        // Sort by x (better first), then y; sweep keeping the best y seen so far.
        let order = points.indices.sorted {
            let a = points[$0], b = points[$1]
            if a.x * sx != b.x * sx { return a.x * sx < b.x * sx }
            return a.y * sy < b.y * sy
        }
        var front: [Int] = []
        var bestY = Double.infinity
        for i in order where points[i].y * sy < bestY {
            front.append(i)
            bestY = points[i].y * sy
        }
        return front.sorted { points[$0].x < points[$1].x }
    }

    /// The SVG document.
    public func svg() -> String {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) && (!logY || $0.y > 0) }
        let left = 80.0, right = colorLabel == nil ? 20.0 : 160.0, top = title.isEmpty ? 20.0 : 40.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = Axis(values: finite.map(\.x), log: logX)
        let ys = Axis(values: finite.map(\.y), log: logY)
        func px(_ x: Double) -> Double { left + xs.fraction(x) * plotW }
        func py(_ y: Double) -> Double { top + (1 - ys.fraction(y)) * plotH }

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
        viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
        if !title.isEmpty {
            s += "<text x=\"\(fmt(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        }
        // Grid, ticks and tick labels.
        for (t, label) in Self.ticks(xs, categories: xCategories) {
            let x = px(t)
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(x))\" y=\"\(fmt(top + plotH + 16))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        for (t, label) in Self.ticks(ys, categories: yCategories) {
            let y = py(t)
            s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(y))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(escape(label))</text>\n"
        }
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotW))\" height=\"\(fmt(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(height - 16))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18 \(fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"

        // Colour groups in order of first appearance.
        var groups: [String] = []
        for p in finite where !groups.contains(p.group) { groups.append(p.group) }
        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        func color(_ g: String) -> String { palette[(groups.firstIndex(of: g) ?? 0) % palette.count] }

        // Pareto front: a step-free polyline through the front's points, drawn under the markers.
        let front = Self.paretoFront(finite, xGoal: xGoal, yGoal: yGoal)
        if front.count > 1 {
            let path = front.map { "\(fmt(px(finite[$0].x))),\(fmt(py(finite[$0].y)))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n"
        }
        let frontSet = Set(front)
        for (i, p) in finite.enumerated() {
            let c = color(p.group)
            if frontSet.contains(i) {
                s += "<circle cx=\"\(fmt(px(p.x)))\" cy=\"\(fmt(py(p.y)))\" r=\"5\" fill=\"\(c)\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"
            } else {
                s += "<circle cx=\"\(fmt(px(p.x)))\" cy=\"\(fmt(py(p.y)))\" r=\"3.5\" fill=\"\(c)\" fill-opacity=\"0.75\"/>\n"
            }
        }
        // Legend.
        var ly = top + 10
        if let colorLabel {
            // A dotted key path is titled by its last key (the full path would overflow the legend column).
            let legendTitle = colorLabel.split(separator: ".").last.map(String.init) ?? colorLabel
            s += "<text x=\"\(fmt(left + plotW + 14))\" y=\"\(fmt(ly))\" font-weight=\"bold\">\(escape(legendTitle))</text>\n"
            ly += 18
            for g in groups.prefix(20) {
                s += "<circle cx=\"\(fmt(left + plotW + 20))\" cy=\"\(fmt(ly - 4))\" r=\"4\" fill=\"\(color(g))\"/>\n"
                s += "<text x=\"\(fmt(left + plotW + 30))\" y=\"\(fmt(ly))\">\(escape(g))</text>\n"
                ly += 16
            }
        }
        if front.count > 0 {
            s += "<text x=\"\(fmt(left + plotW - 4))\" y=\"\(fmt(top + 14))\" text-anchor=\"end\" fill=\"#333\">"
            s += "dashed: Pareto front (\(xGoal.rawValue) x, \(yGoal.rawValue) y)</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}

extension ScatterPlot {
    /// Tick positions and labels: the axis's numeric ticks, or for a categorical axis the category
    /// names at their indices (at most about 20 labelled, evenly spaced).
    static func ticks(_ axis: Axis, categories: [String]?) -> [(Double, String)] {
        guard let categories else { return axis.ticks().map { ($0, tickLabel($0)) } }
        let step = max(1, (categories.count + 19) / 20)
        return stride(from: 0, to: categories.count, by: step).map { (Double($0), categories[$0]) }
    }
}

/// A linear or log10 axis over a data range, with ticks at 1-2-5 steps (linear) or decades (log).
struct Axis {
    let lo: Double
    let hi: Double
    let log: Bool

    init(values: [Double], log: Bool) {
        self.log = log
        let v = log ? values.map { Foundation.log10($0) } : values
        var lo = v.min() ?? 0, hi = v.max() ?? 1
        if lo == hi { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.05
        self.lo = lo - pad
        self.hi = hi + pad
    }

    func fraction(_ x: Double) -> Double {
        let t = log ? Foundation.log10(x) : x
        return (t - lo) / (hi - lo)
    }

    func ticks() -> [Double] {
        if log {
            let a = Int(Foundation.floor(lo)), b = Int(Foundation.ceil(hi))
            return (a...max(a, b)).map { Foundation.pow(10, Double($0)) }.filter { fraction($0) >= 0 && fraction($0) <= 1 }
        }
        let raw = (hi - lo) / 6
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = Foundation.ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 && out.count < 50 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }
}

func tickLabel(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 { return String(format: "%.3g", v) }
    if v == v.rounded() { return String(Int(v)) }
    return String(format: "%.4g", v)
}

func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// An axis label for a report column: the column name with its unit spelled out.
public func axisLabel(forColumn column: String) -> String {
    let units: [(suffix: String, unit: String)] = [
        ("_pj", "pJ"), ("_nj", "nJ"), ("_bytes", "bytes"), ("cycles", "cycles"), ("_fraction", "fraction"),
        ("_ghz", "GHz"), ("_mm2", "mm²"), ("_kib", "KiB"), ("_percent", "%"), ("utilization", "fraction"),
        ("_us", "µs"), ("accuracy", "fraction correct"), ("accuracy_loss", "fraction of float accuracy"),
        ("accuracy_change", "fraction correct, absolute"), ("perplexity_change", "ratio − 1"), ("perplexity", "exp(mean NLL)"),
        ("_error", "relative L2"), ("agreement", "fraction"), ("cosine", "cosine similarity"), ("_kept", "fraction"),
    ]
    for (suffix, unit) in units where column.hasSuffix(suffix) || column == suffix {
        return "\(column) [\(unit)]"
    }
    return column
}
