import Foundation
import Testing
@testable import Accelerator

/// `FunctionalAttention.run` (its row kernels, the VNNI / SIMD Q·Kᵀ, the native P·V) against the
/// independent oracle in FunctionalReference.swift, written from the docs on plain arrays: every
/// output Float, every Fidelity counter and Double sum, every kept bit must be identical.
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

    /// The oracle's θ table for a layer of `heads` heads and rows up to `tokens`: for thresholds on
    /// scores a seeded value in [−0.3, 1.2] per (head, n), on probabilities 1.5/n; head 0's θ is high
    /// enough to drop every key (the keep-the-max fallback). Per-head `constant` compensation.
    static func table(heads: Int, tokens: Int, placement: AttentionConfig.Placement, seed: UInt64) -> FunctionalOracle.Table {
        var rng = SeededRNG(seed: seed)
        var theta = [Double](repeating: 0, count: heads * (tokens + 1))
        for h in 0..<heads {
            for n in 0...tokens {
                let u = Double(rng.next() % 1_000_001) / 1_000_000
                theta[h * (tokens + 1) + n] = placement == .scores ? (h == 0 ? 50 : -0.3 + 1.5 * u) : (h == 0 ? 2 : 1.5 / Double(max(n, 1)))
            }
        }
        return FunctionalOracle.Table(heads: heads, maxLength: tokens, theta: theta,
                                      constants: (0..<heads).map { 0.5 + 0.25 * Float($0) })
    }

    /// Every output bit, accuracy sum and counter, and kept bit of `a` equals the oracle's `b`.
    static func expectSame(_ a: LayerResult, _ b: FunctionalOracle.Result, _ x: LayerInput, _ label: String) {
        #expect(a.output.map(\.bitPattern) == b.output.map(\.bitPattern), "\(label): output")
        for (fa, fb, phase) in [(a.prefill, b.prefill, "prefill"), (a.decode, b.decode, "decode")] {
            let sums = [fa.errSq, fa.refSq, fa.dot, fa.outSq, fa.massKept, fa.worstHeadRelL2, fa.worstHeadCosine].map(\.bitPattern)
            let oracle = [fb.errSq, fb.refSq, fb.dot, fb.outSq, fb.massKept, fb.worstRelL2, fb.worstCosine].map(\.bitPattern)
            #expect(sums == oracle, "\(label): \(phase) sums")
            let counters: [Int] = [fa.rows, fa.visible, fa.kept, fa.saturations, fa.keepMaxEvents, fa.below1e3, fa.below1e2]
            let oracleCounters: [Int] = [fb.rows, fb.visible, fb.kept, fb.saturations, fb.keepMax, fb.below1e3, fb.below1e2]
            #expect(counters == oracleCounters, "\(label): \(phase) counters")
            #expect(fa.worstHead == fb.worstHead, "\(label): \(phase) worst head")
        }
        let group = x.heads / x.kvHeads
        var mismatches = 0
        for act in a.activities where !act.kept.isEmpty {
            let wpr = ((act.keyCounts.max().map(Int.init) ?? 0) + 63) / 64
            for gh in 0..<group {
                for (ri, n) in act.keyCounts.enumerated() {
                    let r = act.firstRowPosition + ri - x.queryRows.lowerBound
                    for j in 0..<Int(n) {
                        let bit = act.kept[(gh * act.keyCounts.count + ri) * wpr + j / 64] >> UInt64(j % 64) & 1 == 1
                        if bit != b.kept[act.kvHead * group + gh][r][j] { mismatches += 1 }
                    }
                }
            }
        }
        #expect(mismatches == 0, "\(label): kept bits")
    }

    /// The functional model against the independent oracle (FunctionalReference.swift): every pruning
    /// kind and compensation, log / power-of-two / uniform probability quantization, tensor, head and
    /// PEG granularity, float operands, a saturating accumulator, fixed and clipped softmax, causal and
    /// bidirectional layers, full layers, query sub-ranges and single decode steps.
    @Test func runAgreesBitForBitWithTheIndependentOracle() {
        let layers = Self.layers
        var compared = 0, saturated = 0, keepMax = 0, pruned = 0
        for (name, base) in Self.datapaths {
            for pruning in Self.prunings {
                for pq in Self.quantizations {
                    var cfg = base
                    cfg.pruning = pruning
                    cfg.probabilityQuantization = pq
                    for (li, x) in layers.enumerated() {
                        var table: FunctionalOracle.Table? = nil
                        if case .topTheta(let tt) = pruning {
                            table = Self.table(heads: x.heads, tokens: x.tokens, placement: tt.placement, seed: UInt64(li))
                        }
                        let fa = FunctionalAttention(config: cfg, thresholds: table?.thresholds)
                        let oracle = FunctionalOracle(config: cfg, table: table).run(x)
                        Self.expectSame(fa.run(x), oracle, x, "\(name) \(pruning) \(pq) layer \(li)")
                        compared += 1
                        saturated += oracle.prefill.saturations + oracle.decode.saturations
                        keepMax += oracle.prefill.keepMax + oracle.decode.keepMax
                        pruned += oracle.prefill.visible + oracle.decode.visible - oracle.prefill.kept - oracle.decode.kept
                    }
                }
            }
        }
        #expect(compared == Self.datapaths.count * Self.prunings.count * Self.quantizations.count * layers.count)
        // The suite exercises the saturating accumulator, the keep-the-max fallback and pruning.
        #expect(saturated > 0)
        #expect(keepMax > 0)
        #expect(pruned > 0)
    }
}
