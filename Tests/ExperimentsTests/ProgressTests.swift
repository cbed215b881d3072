import Testing
@testable import Experiments

@Test func progressTextShowsCountRateAndETA() {
    #expect(ProgressLine.text(done: 25, total: 100, elapsed: 5, label: "points") == "points 25/100 (25%)  5.0/s  ETA 15 s")
    #expect(ProgressLine.text(done: 100, total: 100, elapsed: 4, label: "points") == "points 100/100 (100%)  25.0/s")
    #expect(formatDuration(125) == "2 min 5 s")
    #expect(formatDuration(7300) == "2 h 1 min")
}
