import Foundation
import Testing
@testable import Experiments

@Suite struct SVGPlotTests {
    typealias P = ScatterPlot.Point

    @Test func paretoFrontMinimizingBothAxes() {
        // (1,5) (2,3) (3,4) (4,1) (5,1): (3,4) is dominated by (2,3); (5,1) by (4,1).
        let pts = [P(x: 3, y: 4), P(x: 1, y: 5), P(x: 5, y: 1), P(x: 2, y: 3), P(x: 4, y: 1)]
        let front = ScatterPlot.paretoFront(pts, xGoal: .minimize, yGoal: .minimize)
        #expect(front.map { pts[$0].x } == [1, 2, 4])
    }

    @Test func paretoFrontMaximizingY() {
        // Energy (min) vs accuracy (max): (1, 0.5) (2, 0.9) (3, 0.8) (4, 0.95)
        let pts = [P(x: 1, y: 0.5), P(x: 2, y: 0.9), P(x: 3, y: 0.8), P(x: 4, y: 0.95)]
        let front = ScatterPlot.paretoFront(pts, xGoal: .minimize, yGoal: .maximize)
        #expect(front.map { pts[$0].x } == [1, 2, 4])
    }

    @Test func svgHasOneMarkerPerPointAndEscapedLabels() {
        var plot = ScatterPlot(points: [P(x: 1, y: 2, group: "a<b"), P(x: 2, y: 1, group: "c")],
                               xLabel: "energy_pj [pJ]", yLabel: "error & more", colorLabel: "k")
        plot.title = "t"
        let svg = plot.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        // 2 points + 2 legend dots + the Pareto front's legend key.
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2 + 2 + 1)
        #expect(svg.contains("error &amp; more"))
        #expect(svg.contains("a&lt;b"))
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test func niceLinearTicksCoverTheRange() {
        let axis = Axis(values: [0, 97], log: false)
        let ticks = axis.ticks()
        #expect(ticks.first == 0)
        #expect(ticks.contains(20) && ticks.contains(80))
        #expect(ticks.allSatisfy { axis.fraction($0) >= 0 && axis.fraction($0) <= 1 })
    }

    @Test func logTicksAreDecades() {
        // log10 range [-2.70, 3.48] padded by 5% of its width on each side: [-3.01, 3.79].
        let ticks = Axis(values: [0.002, 3000], log: true).ticks()
        #expect(ticks == [0.001, 0.01, 0.1, 1, 10, 100, 1000])
    }

    @Test func axisLabelsCarryUnits() {
        #expect(axisLabel(forColumn: "energy_pj") == "energy_pj [pJ]")
        #expect(axisLabel(forColumn: "dram_read_bytes") == "dram_read_bytes [bytes]")
        #expect(axisLabel(forColumn: "float_accuracy") == "float_accuracy [fraction correct]")
        #expect(axisLabel(forColumn: "perplexity_change") == "perplexity_change [ratio − 1]")
        #expect(axisLabel(forColumn: "time_us") == "time_us [µs]")
        #expect(axisLabel(forColumn: "examples") == "examples")
        #expect(axisLabel(forColumn: "cycles_qk") == "cycles_qk")
    }
}

extension SVGPlotTests {
    /// A swept key path colours the points; the legend is titled by its last key.
    @Test func legendTitleIsTheLastKeyOfAPath() {
        let plot = ScatterPlot(points: [P(x: 1, y: 2, group: "exact"), P(x: 2, y: 1, group: "none")],
                               xLabel: "x", yLabel: "y", colorLabel: "attention.pruning.denominator")
        let svg = plot.svg()
        #expect(svg.contains("font-weight=\"bold\">denominator</text>"))
        #expect(!svg.contains("attention.pruning.denominator"))
    }
}

extension SVGPlotTests {
    @Test func autoScaleIsLogFromTwoDecadesOfPositiveValues() {
        #expect(ScatterPlot.isLog(.auto, values: [1, 99]) == false)
        #expect(ScatterPlot.isLog(.auto, values: [1, 100]) == true)
        #expect(ScatterPlot.isLog(.auto, values: [0, 1e6]) == false)  // zero cannot go on a log axis
        #expect(ScatterPlot.isLog(.auto, values: [-1, 1e6]) == false)
        #expect(ScatterPlot.isLog(.linear, values: [1, 1e6]) == false)
        #expect(ScatterPlot.isLog(.log, values: [1, 2]) == true)
        var plot = ScatterPlot(points: [P(x: 1e3, y: 1), P(x: 1e7, y: 2), P(x: 0, y: 3)], xLabel: "x", yLabel: "y")
        #expect(!plot.logX && plot.drawnPoints.count == 3)
        plot.xScale = .log
        #expect(plot.drawnPoints.count == 2)  // x = 0 cannot be drawn on a log axis
        #expect(plot.svg().contains(">x (log scale)</text>"))
    }

    @Test func largeLinearValuesFactorAPowerOfTenIntoTheTitle() {
        let (labels, exponent) = linearTickLabels([3e8, 4e8, 5e8], step: 1e8)
        #expect(labels == ["3", "4", "5"] && exponent == 8)
        let (small, e2) = linearTickLabels([0, 0.002, 0.004], step: 0.002)
        #expect(small == ["0", "2", "4"] && e2 == -3)
        let (plain, e0) = linearTickLabels([0, 0.25, 0.5].map { $0 * 2 }, step: 0.5)
        #expect(plain == ["0.0", "0.5", "1.0"] && e0 == 0)
        #expect(scaledAxisTitle("energy_pj [pJ]", exponent: 8) == "energy_pj [×10⁸ pJ]")
        #expect(scaledAxisTitle("cycles", exponent: -3) == "cycles [×10⁻³]")
        #expect(scaledAxisTitle("cycles", exponent: 0) == "cycles")
        #expect(logTickLabel(1e-5) == "10⁻⁵" && logTickLabel(1000) == "10³" && logTickLabel(200) == "200")
    }

    /// Labels that would overlap at the default tick count are thinned: neighbouring x labels are at
    /// least half their summed estimated widths apart.
    @Test func tickLabelsDoNotCollide() {
        let axis = Axis(values: [123_456.789, 123_457.9], log: false)
        let extent: (String) -> Double = { Double($0.count) * 7 + 10 }
        let ticks = axis.labelledTicks(length: 200, labelExtent: extent)
        let labelled = ticks.major.compactMap { t, l in l.map { (t, $0) } }
        #expect(labelled.count >= 2)
        for (a, b) in zip(labelled, labelled.dropFirst()) {
            #expect((axis.fraction(b.0) - axis.fraction(a.0)) * 200 >= (extent(a.1) + extent(b.1)) / 2)
        }
        // Twelve decades on a short log axis: every tick drawn, only some labelled.
        let log = Axis(values: [1e-6, 1e6], log: true).labelledTicks(length: 120, labelExtent: extent)
        #expect(log.major.count == 13)
        #expect(log.major.contains { $0.1 == nil } && log.major.contains { $0.1 == "10⁰" })
        // Less than two decades: 2× and 5× ticks, every label a plain number.
        let short = Axis(values: [44, 580], log: true).labelledTicks(length: 300, labelExtent: { _ in 20 })
        #expect(short.major.compactMap(\.1) == ["50", "100", "200", "500"])
        // Less than a factor of 2.5: every multiple of the decade; large values as m×10ⁿ, not 4e+08.
        let narrow = Axis(values: [3.8e8, 6.1e8], log: true).labelledTicks(length: 300, labelExtent: { _ in 20 })
        #expect(narrow.major.compactMap(\.1) == ["4×10⁸", "5×10⁸", "6×10⁸"])
        #expect(shortLogTickLabel(1e9) == "10⁹" && shortLogTickLabel(2.5e-4) == "2.5×10⁻⁴" && shortLogTickLabel(300) == "300")
    }

    @Test func numericGroupsAreListedInNumericOrder() {
        let plot = ScatterPlot(points: [P(x: 1, y: 3, group: "16"), P(x: 2, y: 2, group: "8"), P(x: 3, y: 1, group: "128")],
                               xLabel: "x", yLabel: "y", colorLabel: "k")
        let svg = plot.svg()
        let order = ["8", "16", "128"].map { svg.range(of: ">\($0)</text>")!.lowerBound }
        #expect(order == order.sorted())
    }

    /// A categorical axis (config_id) shares the tick code: every k-th category labelled (at most about
    /// 20, none overlapping), the others marked by minor ticks; it is never log, and a plot with one
    /// has no Pareto front.
    @Test func categoricalAxesThinTheirLabelsAndDrawNoFront() {
        let names = (0..<100).map { String(format: "%012x", 0x21e4_4476_5800 + $0 * 7919) }
        let extent: (String) -> Double = { Double($0.count) * 7 + 10 }
        let axis = Axis(values: (0..<100).map(Double.init), log: true, categories: names)
        #expect(!axis.log)
        let ticks = axis.labelledTicks(length: 460, labelExtent: extent)
        let labelled = ticks.major.compactMap { t, l in l.map { (t, $0) } }
        #expect(labelled.count >= 2 && labelled.count <= 20)
        #expect(labelled.first!.1 == names[0] && labelled.allSatisfy { names[Int($0.0)] == $0.1 })
        for (a, b) in zip(labelled, labelled.dropFirst()) {
            #expect((axis.fraction(b.0) - axis.fraction(a.0)) * 460 >= (extent(a.1) + extent(b.1)) / 2)
        }
        #expect(ticks.major.count + ticks.minor.count == 100 && ticks.exponent == 0)
        // Three categories fit: all labelled, each in its own slot.
        let three = Axis(values: [0, 1, 2], log: false, categories: ["a", "b", "c"])
        #expect(three.labelledTicks(length: 300, labelExtent: extent).major.compactMap(\.1) == ["a", "b", "c"])
        #expect(abs(three.fraction(0) - 1.0 / 6) < 1e-12 && abs(three.fraction(2) - 5.0 / 6) < 1e-12)

        var plot = ScatterPlot(points: [P(x: 0, y: 10), P(x: 1, y: 1000), P(x: 2, y: 5)], xLabel: "config_id", yLabel: "cycles")
        plot.xCategories = ["21e444765893", "123456789abc", "000000000001"]
        plot.xScale = .log
        plot.yScale = .log
        #expect(!plot.logX && plot.logY)
        let svg = plot.svg()
        #expect(!svg.contains("Pareto front") && !svg.contains("stroke-dasharray"))
        for id in plot.xCategories! { #expect(svg.contains(">\(id)</text>")) }
        #expect(svg.contains(">cycles (log scale)</text>") && svg.contains(">config_id</text>"))
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3)
    }
}
