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
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2 + 2)  // 2 points + 2 legend dots
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
