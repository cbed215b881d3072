import Foundation
import Testing
@testable import Accelerator

/// The optimized `FunctionalAttention.runHead` (unsafe buffers, hoisted V scales, running V-mean Σ,
/// reused top-k scratch) against the verbatim pre-optimization copy in FunctionalReference.swift:
/// every output Float, every Fidelity counter and Double sum, every kept bit must be identical.
struct FunctionalBitIdentityTests {
    /// Same bits, NaN and −0 included.
    static func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern }

    static func same(_ a: Fidelity, _ b: Fidelity) -> Bool {
        same(a.errSq, b.errSq) && same(a.refSq, b.refSq) && same(a.dot, b.dot) && same(a.outSq, b.outSq)
            && same(a.worstHeadRelL2, b.worstHeadRelL2) && a.worstHead == b.worstHead
            && same(a.worstHeadCosine, b.worstHeadCosine) && a.rows == b.rows && a.visible == b.visible
            && a.kept == b.kept && same(a.massKept, b.massKept) && a.saturations == b.saturations
            && a.keepMaxEvents == b.keepMaxEvents && a.below1e3 == b.below1e3 && a.below1e2 == b.below1e2
    }

    /// Every output bit, Fidelity field and activity (kept bits included) of `a` equals `b`'s.
    static func expectSame(_ a: LayerResult, _ b: LayerResult, _ label: String) {
        #expect(a.output.map(\.bitPattern) == b.output.map(\.bitPattern), "\(label): output")
        #expect(same(a.prefill, b.prefill), "\(label): prefill fidelity")
        #expect(same(a.decode, b.decode), "\(label): decode fidelity")
        #expect(a.activities == b.activities, "\(label): activities / kept bits")
    }

    /// `x` with only `rows` as query rows (Q sliced to them).
    static func restricted(_ x: LayerInput, rows: Range<Int>, prompt: Int) -> LayerInput {
        var q: [Float] = []
        for h in 0..<x.heads {
            q += x.q[((h * x.tokens + rows.lowerBound) * x.headDim)..<((h * x.tokens + rows.upperBound) * x.headDim)]
        }
        return LayerInput(sequence: x.sequence, layer: x.layer, heads: x.heads, kvHeads: x.kvHeads, tokens: x.tokens,
                          headDim: x.headDim, causal: x.causal, scale: x.scale, promptTokens: prompt, queryRows: rows,
                          q: q, k: x.k, v: x.v)
    }

    static var layers: [LayerInput] {
        var list: [LayerInput] = []
        // (heads, kvHeads, tokens, dim, causal, outlier)
        let shapes: [(Int, Int, Int, Int, Bool, Int?)] = [
            (4, 2, 23, 8, true, nil), (3, 1, 70, 20, true, 3), (2, 2, 17, 8, false, nil), (4, 1, 66, 16, false, 0),
        ]
        for (si, sh) in shapes.enumerated() {
            let full = randomLayer(seed: 100 + UInt64(si), heads: sh.0, kvHeads: sh.1, tokens: sh.2, dim: sh.3, causal: sh.4,
                                   prompt: sh.2 / 2, outlierDim: sh.5)
            list.append(full)
            // A sub-range of query rows spanning prefill and decode, and one decode step (the last row).
            list.append(restricted(full, rows: (sh.2 / 3)..<(sh.2 - 2), prompt: sh.2 / 2))
            list.append(restricted(full, rows: (sh.2 - 1)..<sh.2, prompt: sh.2 - 1))
        }
        return list
    }

    static var datapaths: [(String, AttentionConfig)] {
        var list: [(String, AttentionConfig)] = [("default", AttentionConfig())]
        var c = AttentionConfig(); c.qBits = 0; c.kBits = 0; c.vBits = 0; list.append(("float", c))
        c = AttentionConfig(); c.qBits = 0; list.append(("float q", c))
        c = AttentionConfig(); c.vBits = 0; list.append(("float v", c))
        c = AttentionConfig(); c.granularity = .peg; c.pegGroups = 4; list.append(("peg", c))
        c = AttentionConfig(); c.granularity = .tensor; c.qBits = 4; c.kBits = 4; c.vBits = 4; list.append(("tensor 4-bit", c))
        c = AttentionConfig(); c.accBits = 16; c.qBits = 12; c.kBits = 12; list.append(("saturating acc16", c))
        c = AttentionConfig(); c.softmax = .fixed(inputFracBits: 6, outputFracBits: 8); list.append(("fixed softmax", c))
        c = AttentionConfig(); c.clippedSoftmax = (zeta: 1.05, alpha: 0.5); list.append(("clipped softmax", c))
        return list
    }

    static var prunings: [AttentionConfig.Pruning] {
        var list: [AttentionConfig.Pruning] = [.none, .probability(threshold: 0.04), .topK(3), .topK(200)]
        for placement in AttentionConfig.Placement.allCases {
            for denom in DenominatorCompensation.allCases {
                for vMean in [false, true] {
                    var t = AttentionConfig.TopTheta(k: 4)
                    t.placement = placement
                    t.denominator = denom
                    t.vMean = vMean
                    t.denseLayers = 0
                    list.append(.topTheta(t))
                }
            }
        }
        return list
    }

    static let quantizations: [AttentionConfig.ProbabilityQuantization] = [
        .none, .log(bits: 3, threshold: 1e-3), .uniform(bits: 3), .logPowerOfTwo(bits: 3),
    ]

    @Test func runIsBitIdenticalToThePreviousImplementation() {
        let layers = Self.layers
        var compared = 0, saturated = 0, keepMax = 0
        for (name, base) in Self.datapaths {
            for pruning in Self.prunings {
                for pq in Self.quantizations {
                    var cfg = base
                    cfg.pruning = pruning
                    cfg.probabilityQuantization = pq
                    for (li, x) in layers.enumerated() {
                        var thresholds: TopThetaThresholds? = nil
                        if case .topTheta = pruning {
                            // Calibrated on the full layer the (restricted) input comes from.
                            let full = layers[li - li % 3]
                            var cal = TopThetaCalibrator(config: cfg, layers: 1, heads: x.heads, maxLength: x.tokens)
                            cal.add(full)
                            thresholds = cal.thresholds()
                        }
                        let fa = FunctionalAttention(config: cfg, thresholds: thresholds)
                        let new = fa.run(x), old = fa.referenceRun(x)
                        Self.expectSame(new, old, "\(name) \(pruning) \(pq) layer \(li)")
                        compared += 1
                        saturated += old.prefill.saturations + old.decode.saturations
                        keepMax += old.prefill.keepMaxEvents + old.decode.keepMaxEvents
                    }
                }
            }
        }
        #expect(compared == Self.datapaths.count * Self.prunings.count * Self.quantizations.count * layers.count)
        // The suite exercises the saturating accumulator and the keep-the-max fallback.
        #expect(saturated > 0)
        #expect(keepMax > 0)
    }
}
