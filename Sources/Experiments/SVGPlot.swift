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

    /// How an axis maps values: `auto` is logarithmic when every value is positive and the largest is at
    /// least `autoLogRatio` times the smallest (the data spans two decades or more), linear otherwise.
    public enum Scale: String, Sendable, CaseIterable {
        case auto, linear, log
    }

    /// The max/min ratio from which `Scale.auto` draws a log axis.
    public static let autoLogRatio = 100.0

    public var points: [Point]
    public var xLabel: String
    public var yLabel: String
    public var colorLabel: String?
    public var title: String
    public var xGoal: Goal = .minimize
    public var yGoal: Goal = .minimize
    public var xScale: Scale = .auto
    public var yScale: Scale = .auto
    /// Category names of a categorical axis (x or y values are then indices into it; ticks show the
    /// names), e.g. config_id. A categorical axis is linear, and a plot with one has no Pareto front
    /// (categories have no better direction).
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

    /// Whether an axis with this scale over these values is drawn logarithmic.
    public static func isLog(_ scale: Scale, values: [Double]) -> Bool {
        switch scale {
        case .linear: return false
        case .log: return true
        case .auto:
            let v = values.filter(\.isFinite)
            guard let lo = v.min(), let hi = v.max(), lo > 0 else { return false }
            return hi / lo >= autoLogRatio
        }
    }

    public var logX: Bool { xCategories == nil && Self.isLog(xScale, values: points.map(\.x)) }
    public var logY: Bool { yCategories == nil && Self.isLog(yScale, values: points.map(\.y)) }

    /// The points drawn: finite, and positive on a log axis.
    public var drawnPoints: [Point] {
        let lx = logX, ly = logY
        return points.filter { $0.x.isFinite && $0.y.isFinite && (!lx || $0.x > 0) && (!ly || $0.y > 0) }
    }

    /// The SVG document.
    public func svg() -> String {
        let finite = drawnPoints
        let lx = logX, ly = logY
        var groups: [String] = []
        for p in finite where !groups.contains(p.group) { groups.append(p.group) }
        // Numeric group labels (a swept number) are listed in numeric order.
        if groups.allSatisfy({ Double($0) != nil }) { groups.sort { Double($0)! < Double($1)! } }
        let categorical = xCategories != nil || yCategories != nil
        let front = categorical ? [] : Self.paretoFront(finite, xGoal: xGoal, yGoal: yGoal)
        let hasLegend = colorLabel != nil || (front.count >= 1 && finite.count > 1)
        let left = 84.0, right = hasLegend ? 176.0 : 20.0, top = title.isEmpty ? 20.0 : 40.0, bottom = 62.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = Axis(values: finite.map(\.x), log: lx, categories: xCategories)
        let ys = Axis(values: finite.map(\.y), log: ly, categories: yCategories)
        func px(_ x: Double) -> Double { left + xs.fraction(x) * plotW }
        func py(_ y: Double) -> Double { top + (1 - ys.fraction(y)) * plotH }

        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
        viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>

        """
        if !title.isEmpty {
            s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
        }
        // Ticks and labels, thinned until neighbouring labels do not overlap.
        let xt = xs.labelledTicks(length: plotW, labelExtent: { Double($0.count) * 7.0 + 10 })
        let yt = ys.labelledTicks(length: plotH, labelExtent: { _ in 20 })
        for t in xt.minor {
            let x = px(t)
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top + plotH))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + plotH + 3))\" stroke=\"#333\"/>\n"
        }
        for t in yt.minor {
            let y = py(t)
            s += "<line x1=\"\(fmt(left - 3))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left))\" y2=\"\(fmt(y))\" stroke=\"#333\"/>\n"
        }
        for (t, label) in xt.major {
            let x = px(t)
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
            s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(top + plotH))\" x2=\"\(fmt(x))\" y2=\"\(fmt(top + plotH + 5))\" stroke=\"#333\"/>\n"
            if let label { s += "<text x=\"\(fmt(x))\" y=\"\(fmt(top + plotH + 19))\" text-anchor=\"middle\">\(escape(label))</text>\n" }
        }
        for (t, label) in yt.major {
            let y = py(t)
            s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(y))\" stroke=\"#e5e5e5\"/>\n"
            s += "<line x1=\"\(fmt(left - 5))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left))\" y2=\"\(fmt(y))\" stroke=\"#333\"/>\n"
            if let label { s += "<text x=\"\(fmt(left - 8))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(escape(label))</text>\n" }
        }
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotW))\" height=\"\(fmt(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xTitle = scaledAxisTitle(xLabel, exponent: xt.exponent) + (lx ? " (log scale)" : "")
        let yTitle = scaledAxisTitle(yLabel, exponent: yt.exponent) + (ly ? " (log scale)" : "")
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(height - 18))\" text-anchor=\"middle\" font-size=\"14\">\(escape(xTitle))</text>\n"
        s += "<text transform=\"translate(20 \(fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">\(escape(yTitle))</text>\n"

        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        func color(_ g: String) -> String { palette[(groups.firstIndex(of: g) ?? 0) % palette.count] }

        // Pareto front: a dashed polyline through the front's points, drawn under the markers.
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
        // Legend, right of the plot: colour groups, then the Pareto front's key.
        s += legend(groups: groups, color: color, showFront: front.count >= 1 && finite.count > 1, x: left + plotW + 14, top: top)
        s += "</svg>\n"
        return s
    }

    /// The legend at `x` (right of the plot): the colour groups under the colour column's name, then
    /// the Pareto front's key.
    private func legend(groups: [String], color: (String) -> String, showFront: Bool, x: Double, top: Double) -> String {
        let lx0 = x
        var legendY = top + 10
        var s = ""
        if let colorLabel {
            // A dotted key path is titled by its last key (the full path would overflow the legend column).
            let legendTitle = colorLabel.split(separator: ".").last.map(String.init) ?? colorLabel
            s += "<text x=\"\(fmt(lx0))\" y=\"\(fmt(legendY))\" font-weight=\"bold\">\(escape(legendTitle))</text>\n"
            legendY += 18
            let shown = 20
            for g in groups.prefix(shown) {
                s += "<circle cx=\"\(fmt(lx0 + 6))\" cy=\"\(fmt(legendY - 4))\" r=\"4\" fill=\"\(color(g))\"/>\n"
                s += "<text x=\"\(fmt(lx0 + 16))\" y=\"\(fmt(legendY))\">\(escape(g.isEmpty ? "(empty)" : g))</text>\n"
                legendY += 16
            }
            if groups.count > shown {
                s += "<text x=\"\(fmt(lx0 + 16))\" y=\"\(fmt(legendY))\" fill=\"#555\">… \(groups.count - shown) more</text>\n"
                legendY += 16
            }
            legendY += 10
        }
        if showFront {
            s += "<line x1=\"\(fmt(lx0))\" y1=\"\(fmt(legendY - 4))\" x2=\"\(fmt(lx0 + 24))\" y2=\"\(fmt(legendY - 4))\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n"
            s += "<circle cx=\"\(fmt(lx0 + 12))\" cy=\"\(fmt(legendY - 4))\" r=\"5\" fill=\"white\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"
            s += "<text x=\"\(fmt(lx0 + 30))\" y=\"\(fmt(legendY))\">Pareto front</text>\n"
            legendY += 15
            let better = "\(xGoal == .minimize ? "lower" : "higher") x, \(yGoal == .minimize ? "lower" : "higher") y"
            s += "<text x=\"\(fmt(lx0 + 8))\" y=\"\(fmt(legendY))\" font-size=\"11\" fill=\"#555\">(better: \(better))</text>\n"
        }
        return s
    }
}

/// A linear or log10 axis over a data range, with ticks at 1-2-5 steps (linear) or decades (log); or a
/// categorical axis, whose values are indices into its category names.
struct Axis {
    let lo: Double
    let hi: Double
    let log: Bool
    let categories: [String]?

    init(values: [Double], log: Bool, categories: [String]? = nil) {
        self.categories = categories
        if let categories {
            // Every category gets a slot of equal width, half a slot of margin at each end.
            self.log = false
            self.lo = -0.5
            self.hi = Double(max(categories.count, 1)) - 0.5
            return
        }
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

    private func inside(_ t: Double) -> Bool { fraction(t) >= -1e-9 && fraction(t) <= 1 + 1e-9 }

    /// Linear: about `target` ticks at a 1-2-5 step. Log: the decades in range (with 2× and 5× added
    /// when fewer than two decades fall inside, and every 1×…9× when even those give fewer than two).
    func ticks(target: Int = 6) -> [Double] {
        if log {
            let a = Int(Foundation.floor(lo)), b = Int(Foundation.ceil(hi))
            let decades = (a...max(a, b)).map { Foundation.pow(10, Double($0)) }.filter(inside)
            if decades.count >= 2 { return decades }
            func multiples(_ m: [Double]) -> [Double] { (a...max(a, b)).flatMap { d in m.map { $0 * Foundation.pow(10, Double(d)) } }.filter(inside) }
            let oneTwoFive = multiples([1, 2, 5])
            // Less than a factor of about 2.5 in range: every integer multiple of the decade.
            return oneTwoFive.count >= 2 ? oneTwoFive : multiples((1...9).map(Double.init))
        }
        let step = linearStep(target: target)
        var t = Foundation.ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 && out.count < 50 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    func linearStep(target: Int) -> Double {
        let raw = (hi - lo) / Double(max(target, 1))
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw * (1 - 1e-12) } ?? 10 * mag
    }

    /// Unlabelled minor ticks of a log axis: 2…9 × each decade (none on a linear axis, or when the
    /// major ticks already include 2× and 5×).
    func minorTicks() -> [Double] {
        guard log, hi - lo <= 8 else { return [] }
        let a = Int(Foundation.floor(lo)), b = Int(Foundation.ceil(hi))
        let major = Set(ticks())
        return (a...max(a, b)).flatMap { d in (2...9).map { Double($0) * Foundation.pow(10, Double(d)) } }
            .filter { inside($0) && !major.contains($0) }
    }

    /// Major ticks with their labels (nil: tick drawn, label left out so neighbours do not collide),
    /// minor ticks, and the power of ten factored out of a linear axis's labels (0: none).
    /// `labelExtent` is a label's size along the axis in px; `length` the axis length in px.
    /// A categorical axis labels every k-th category (at most about 20, k the smallest whose labels do
    /// not collide) and marks the others with minor ticks when there are at most 200.
    func labelledTicks(length: Double, labelExtent: (String) -> Double) -> (major: [(Double, String?)], minor: [Double], exponent: Int) {
        func fits(_ ticks: [Double], _ labels: [String]) -> Bool {
            for i in ticks.indices.dropFirst() {
                let gap = abs(fraction(ticks[i]) - fraction(ticks[i - 1])) * length
                if gap < (labelExtent(labels[i]) + labelExtent(labels[i - 1])) / 2 { return false }
            }
            return true
        }
        if let categories {
            let n = categories.count
            guard n > 0 else { return ([], [], 0) }
            for k in max(1, (n + 19) / 20)...n {
                let shown = Array(stride(from: 0, to: n, by: k))
                guard fits(shown.map(Double.init), shown.map { categories[$0] }) || k == n else { continue }
                let minor = n <= 200 ? (0..<n).filter { $0 % k != 0 }.map(Double.init) : []
                return (shown.map { (Double($0), categories[$0]) }, minor, 0)
            }
        }
        if log {
            let t = ticks()
            // A short axis with 2× and 5× ticks labels every tick as a plain number (50, 100, 200), not 10²
            // (m×10ⁿ when a plain number would need an exponent: 4×10⁸).
            let shortAxis = t.contains { v in let e = Foundation.log10(v); return abs(e - e.rounded()) > 1e-9 }
            let labels = t.map(shortAxis ? shortLogTickLabel : logTickLabel)
            // Label every k-th tick (counted from the decade 10^0 so labels stay on round decades).
            for k in 1...max(1, t.count) {
                let keep = t.indices.filter { i in Int(Foundation.log10(t[i]).rounded()) % k == 0 || k == 1 }
                if k == 1 && fits(t, labels) { return (t.indices.map { (t[$0], labels[$0]) }, minorTicks(), 0) }
                if k > 1 && fits(keep.map { t[$0] }, keep.map { labels[$0] }) {
                    let kept = Set(keep)
                    return (t.indices.map { (t[$0], kept.contains($0) ? labels[$0] : nil) }, minorTicks(), 0)
                }
            }
            return (t.map { ($0, nil) }, minorTicks(), 0)
        }
        for target in [6, 5, 4, 3, 2] {
            let t = ticks(target: target)
            let (labels, exponent) = linearTickLabels(t, step: linearStep(target: target))
            if fits(t, labels) || target == 2 { return (zip(t, labels).map { ($0, $1) }, [], exponent) }
        }
        return ([], [], 0)
    }
}

/// Labels of linear ticks: when the largest |tick| is ≥ 10⁴ or below 10⁻², the power of ten is factored
/// out (returned as the exponent, shown in the axis title as ×10ⁿ) so labels stay short: 4e+08 → 4.
func linearTickLabels(_ ticks: [Double], step: Double) -> (labels: [String], exponent: Int) {
    let m = ticks.map(abs).max() ?? 0
    var exponent = 0
    if m >= 1e4 || (m > 0 && m < 1e-2) { exponent = Int(Foundation.floor(Foundation.log10(m))) }
    let scale = Foundation.pow(10, Double(exponent))
    let decimals = max(0, Int(Foundation.ceil(-Foundation.log10(step / scale) - 1e-9)))
    let labels = ticks.map { t -> String in
        let v = t / scale
        let s = String(format: "%.\(decimals)f", v)
        return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
    }
    return (labels, exponent)
}

/// A log-axis tick: decades as 10ⁿ, the 2× and 5× ticks of a short axis as plain numbers.
func logTickLabel(_ v: Double) -> String {
    let e = Foundation.log10(v)
    if abs(e - e.rounded()) < 1e-9 { return "10" + superscript(Int(e.rounded())) }
    return tickLabel(v)
}

/// A tick of a log axis shorter than two decades: a plain number (50, 200), or m×10ⁿ where a plain
/// number would need an exponent (4×10⁸, not 4e+08).
func shortLogTickLabel(_ v: Double) -> String {
    let a = abs(v)
    guard a >= 1e5 || (a > 0 && a < 1e-3) else { return tickLabel(v) }
    let e = Int(Foundation.floor(Foundation.log10(a) + 1e-9))
    let m = v / Foundation.pow(10, Double(e))
    let mantissa = abs(m - m.rounded()) < 1e-9 ? String(Int(m.rounded())) : String(format: "%.2g", m)
    return (mantissa == "1" ? "" : mantissa + "×") + "10" + superscript(e)
}

func superscript(_ n: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return (n < 0 ? "⁻" : "") + String(abs(n)).map { digits[Int(String($0))!] }
}

/// An axis title with a factored-out power of ten: "energy_pj [pJ]" → "energy_pj [×10⁸ pJ]".
func scaledAxisTitle(_ label: String, exponent: Int) -> String {
    guard exponent != 0 else { return label }
    let factor = "×10" + superscript(exponent)
    if label.hasSuffix("]"), let open = label.lastIndex(of: "[") {
        return label[...open] + factor + " " + label[label.index(after: open)...]
    }
    return label + " [" + factor + "]"
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
