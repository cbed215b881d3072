import Foundation
import Testing
@testable import Experiments

/// `Runner.run` runs the arithmetics of a trace together (each head's float reference computed
/// once for up to `Runner.sharedReferenceGroup` of them): every report row must equal the row of
/// the same point run alone.
@Suite struct SharedReferenceRunnerTests {
    @Test(arguments: [[], ["sweep={attention.pruning.k: [4, 8, 16, 32, 64, 128]}"]])
    func sweepRowsEqualRowsOfPointsRunAlone(_ overrides: [String]) throws {
        let path = EvalFixtures.root.appendingPathComponent("Configs/sweep-small.yaml").path
        let points = try ExperimentLoader.load(path: path, overrides: overrides)
        let arithmetics = Set(points.map(\.config.arithmeticKey)).count
        #expect(arithmetics >= 3)
        let together = try Runner().run(points)
        #expect(together.count == points.count)
        for (i, p) in points.enumerated() {
            let alone = try #require(try Runner().run([p]).first ?? nil)
            let rows = try #require(together[i])
            #expect(rows.count == alone.count && !rows.isEmpty, "point \(i)")
            #expect(rows.map { $0.fields(sweptPaths: []) } == alone.map { $0.fields(sweptPaths: []) }, "point \(i)")
        }
    }
}
