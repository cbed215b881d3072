import Testing
@testable import Accelerator

/// `FunctionalAttention.run(_:_:)` — several configurations on one layer, each head's exact float
/// reference computed once and shared — against each configuration's own `run`: every output bit,
/// Fidelity field and kept bit the same.
struct SharedReferenceTests {
    @Test func sharedReferenceRunsAreBitIdenticalToSeparateRuns() {
        let layers = FunctionalBitIdentityTests.layers
        var topTheta = AttentionConfig.TopTheta(k: 4)
        topTheta.vMean = true
        topTheta.denseLayers = 0
        let prunings: [AttentionConfig.Pruning] = [.none, .topK(3), .probability(threshold: 0.04), .topTheta(topTheta)]
        var shared = 0
        for (li, x) in layers.enumerated() {
            var fas: [FunctionalAttention] = []
            for (di, (_, base)) in FunctionalBitIdentityTests.datapaths.enumerated() {
                var cfg = base
                cfg.pruning = prunings[(di + li) % prunings.count]
                cfg.probabilityQuantization = di % 2 == 0 ? .log(bits: 3, threshold: 1e-3) : .none
                var thresholds: TopThetaThresholds? = nil
                if case .topTheta = cfg.pruning {
                    var cal = TopThetaCalibrator(config: cfg, layers: 1, heads: x.heads, maxLength: x.tokens)
                    cal.add(layers[li - li % 3])
                    thresholds = cal.thresholds()
                }
                fas.append(FunctionalAttention(config: cfg, thresholds: thresholds))
            }
            // Without the native kernels too (the shared reference then comes from the Swift loops).
            let portable = fas.map { FunctionalAttention(config: $0.config, thresholds: $0.thresholds, nativeKernels: false) }
            for group in [fas, portable, Array(fas.prefix(2))] {
                let together = FunctionalAttention.run(group, x)
                #expect(together.count == group.count)
                for (m, fa) in group.enumerated() {
                    FunctionalBitIdentityTests.expectSame(together[m], fa.run(x), "layer \(li) config \(m)")
                    shared += 1
                }
            }
        }
        #expect(shared == layers.count * (2 * FunctionalBitIdentityTests.datapaths.count + 2))
    }
}
