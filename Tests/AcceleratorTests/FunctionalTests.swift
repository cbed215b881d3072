import Foundation
import Testing
@testable import Accelerator

/// Random layer input with a seeded generator; `outlierDim` multiplies one dimension of Q and K.
func randomLayer(seed: UInt64, heads: Int = 4, kvHeads: Int = 2, tokens: Int = 12, dim: Int = 8, causal: Bool = true,
                 prompt: Int? = nil, outlierDim: Int? = nil, outlierScale: Float = 40, spread: Float = 1) -> LayerInput {
    var rng = SeededRNG(seed: seed)
    func r() -> Float { Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) * spread }
    var q = (0..<(heads * tokens * dim)).map { _ in r() * 2 }
    var k = (0..<(kvHeads * tokens * dim)).map { _ in r() * 2 }
    let v = (0..<(kvHeads * tokens * dim)).map { _ in r() }
    if let o = outlierDim {
        for i in stride(from: o, to: q.count, by: dim) { q[i] *= outlierScale }
        for i in stride(from: o, to: k.count, by: dim) { k[i] *= outlierScale }
    }
    return LayerInput(sequence: 0, layer: 0, heads: heads, kvHeads: kvHeads, tokens: tokens, headDim: dim, causal: causal,
                      scale: 1 / Double(dim).squareRoot(), promptTokens: prompt ?? tokens, q: q, k: k, v: v)
}

/// Exact float attention, written independently of the functional model.
func referenceAttention(_ x: LayerInput) -> [Double] {
    var out = [Double](repeating: 0, count: x.heads * x.tokens * x.headDim)
    let g = x.heads / x.kvHeads
    for h in 0..<x.heads {
        for i in 0..<x.tokens {
            let n = x.causal ? i + 1 : x.tokens
            var s = (0..<n).map { j in
                (0..<x.headDim).reduce(0.0) { $0 + Double(x.q[(h * x.tokens + i) * x.headDim + $1]) * Double(x.k[((h / g) * x.tokens + j) * x.headDim + $1]) } * x.scale
            }
            let m = s.max()!
            s = s.map { exp($0 - m) }
            let z = s.reduce(0, +)
            for j in 0..<n {
                for c in 0..<x.headDim { out[(h * x.tokens + i) * x.headDim + c] += s[j] / z * Double(x.v[((h / g) * x.tokens + j) * x.headDim + c]) }
            }
        }
    }
    return out
}

@Suite struct FunctionalTests {
    @Test func sixteenBitDatapathEqualsFloatAttention() {
        var cfg = AttentionConfig()
        cfg.qBits = 16; cfg.kBits = 16; cfg.vBits = 16; cfg.accBits = 64
        let x = randomLayer(seed: 1)
        let r = FunctionalAttention(config: cfg).run(x)
        let ref = referenceAttention(x)
        var err = 0.0, norm = 0.0
        for i in 0..<ref.count { err += pow(Double(r.output[i]) - ref[i], 2); norm += ref[i] * ref[i] }
        #expect((err / norm).squareRoot() <= 1e-3)
        #expect(r.prefill.relativeL2 <= 1e-3)
        #expect(r.prefill.keptFraction == 1)
        #expect(abs(r.prefill.attentionMassKept - 1) < 1e-12)
        #expect(r.prefill.saturations == 0)
    }

    @Test func floatPathIsExact() {
        var cfg = AttentionConfig()
        cfg.qBits = 0; cfg.kBits = 0; cfg.vBits = 0
        let x = randomLayer(seed: 2, causal: false)
        let r = FunctionalAttention(config: cfg).run(x)
        #expect(r.prefill.relativeL2 < 1e-6)
    }

    @Test func jiLogLevelsForThreeBits() {
        let q = ProbabilityQuantizer(.log(bits: 3, threshold: 1e-3))
        let expected = [1.64e-3, 4.39e-3, 1.18e-2, 3.16e-2, 8.48e-2, 0.228, 0.611]
        #expect(q.levels.count == 7)
        for (a, b) in zip(q.levels, expected) { #expect(abs(a - b) / b < 0.01, "\(a) vs \(b)") }
        #expect(q.quantize(1e-3) == 0)          // p ≤ t → zero code
        #expect(q.quantize(1.0) == q.levels[6]) // p = 1 comes back as 0.611
    }

    @Test func jiBinOfAValueByHand() {
        // Δ = log2(1000)/7 = 1.4238; p = 0.05: (log2 0.05 − log2 0.001)/Δ = (−4.3219 + 9.9658)/1.4238 = 3.964 → bin 3.
        let q = ProbabilityQuantizer(.log(bits: 3, threshold: 1e-3))
        #expect(q.quantize(0.05) == q.levels[3])
        #expect(abs(q.levels[3] - 0.0316) < 1e-3)
    }

    @Test func powerOfTwoAndUniformQuantizers() {
        let p2 = ProbabilityQuantizer(.logPowerOfTwo(bits: 3))
        let powers: [Double] = [0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1]
        #expect(p2.levels == powers)
        #expect(p2.quantize(0.3) == 0.25)      // log2 0.3 = −1.74 → −2
        #expect(p2.quantize(0.4) == 0.5)       // −1.32 → −1
        #expect(p2.quantize(0.001) == 0)       // below half the smallest level
        let u = ProbabilityQuantizer(.uniform(bits: 2))
        #expect(u.quantize(0.5) == 2.0 / 3)    // 0.5·3 = 1.5 → 2
        #expect(u.quantize(0.1) == 0)
    }

    @Test func probabilityThresholdPrunesWithoutRenormalizing() {
        // One head, one row of 3 keys (non-causal, d = 1): scores 0, ln 2, ln 7 → p = 0.1, 0.2, 0.7.
        let x = LayerInput(sequence: 0, layer: 0, heads: 1, kvHeads: 1, tokens: 3, headDim: 1, causal: false, scale: 1,
                           promptTokens: 3, q: [1, 1, 1], k: [0, Float(log(2.0)), Float(log(7.0))], v: [10, 20, 30])
        var cfg = AttentionConfig()
        cfg.qBits = 0; cfg.kBits = 0; cfg.vBits = 0
        cfg.pruning = .probability(threshold: 0.15)
        let r = FunctionalAttention(config: cfg).run(x)
        // Kept 0.2 and 0.7, not renormalized: 0.2·20 + 0.7·30 = 25 (exact: 1 + 4 + 21 = 26).
        #expect(abs(Double(r.output[0]) - 25) < 1e-4)
        #expect(r.prefill.kept == 6 && r.prefill.visible == 9)
        #expect(abs(r.prefill.attentionMassKept - 0.9) < 1e-6)
        #expect(r.prefill.below1e2 == 0)
    }

    @Test func topThetaCompensations() {
        // Same row; θ between ln 2 and ln 7 on scores keeps only the last key.
        let x = LayerInput(sequence: 0, layer: 0, heads: 1, kvHeads: 1, tokens: 3, headDim: 1, causal: false, scale: 1,
                           promptTokens: 3, q: [1, 1, 1], k: [0, Float(log(2.0)), Float(log(7.0))], v: [10, 20, 30])
        let theta = TopThetaThresholds(layers: 1, heads: 1, maxLength: 3, theta: [.nan, .nan, .nan, 1.0],
                                       constants: [0.5], samples: [1])
        func out(_ denom: DenominatorCompensation, vMean: Bool = false) -> Double {
            var t = AttentionConfig.TopTheta(k: 1)
            t.denominator = denom
            t.vMean = vMean
            t.denseLayers = 0
            var cfg = AttentionConfig()
            cfg.qBits = 0; cfg.kBits = 0; cfg.vBits = 0
            cfg.pruning = .topTheta(t)
            return Double(FunctionalAttention(config: cfg, thresholds: theta).run(x).output[0])
        }
        // e^(s − max): 1/7, 2/7, 1.
        #expect(abs(out(.none) - 30) < 1e-4)                        // softmax over kept: p = 1
        #expect(abs(out(.exact) - 0.7 * 30) < 1e-4)                  // denominator 10/7
        #expect(abs(out(.countBound) - 30 / (1 + 2 * exp(1.0 - log(7.0)))) < 1e-4)
        #expect(abs(out(.constant) - 30 / 1.5) < 1e-4)
        // V-mean: exact denominator keeps 0.7; adds 0.3 × mean(10, 20, 30) = 6.
        #expect(abs(out(.exact, vMean: true) - (21 + 6)) < 1e-4)
    }

    @Test func calibratedThresholdsKeepExactlyKOnTheCalibrationRows() {
        let x = randomLayer(seed: 5, heads: 2, kvHeads: 1, tokens: 24, dim: 8)
        var t = AttentionConfig.TopTheta(k: 4)
        t.stdFactor = 0
        t.denseLayers = 0
        var cfg = AttentionConfig()
        cfg.pruning = .topTheta(t)
        var cal = TopThetaCalibrator(config: cfg, layers: 1, heads: 2, maxLength: 24)
        cal.add(x)
        let r = FunctionalAttention(config: cfg, thresholds: cal.thresholds()).run(x)
        // Rows 0..3 have ≤ 4 keys (dense); every later row keeps exactly k = 4 (one sample per length).
        let dense = (1...4).reduce(0, +) * 2
        #expect(r.prefill.kept == dense + 20 * 4 * 2)
        #expect(r.prefill.keepMaxEvents == 0)
    }

    @Test func topKKeepsTheKLargest() {
        let x = randomLayer(seed: 8, heads: 1, kvHeads: 1, tokens: 10, dim: 4, causal: false)
        var cfg = AttentionConfig()
        cfg.pruning = .topK(3)
        let r = FunctionalAttention(config: cfg).run(x)
        #expect(r.prefill.kept == 30)
        #expect(r.prefill.attentionMassKept < 1)
    }

    @Test func pegBeatsPerTensorWithOutlierDimensions() {
        // One dimension 8× larger than the rest (Bondarenko et al.'s structured outliers): a per-tensor
        // 4-bit scale rounds the other dimensions to almost nothing; PEG gives them their own scale.
        let x = randomLayer(seed: 11, heads: 2, kvHeads: 2, tokens: 16, dim: 16, causal: false, outlierDim: 3, outlierScale: 8)
        func error(_ g: AttentionConfig.Granularity, groups: Int = 4) -> Double {
            var c = AttentionConfig()
            c.qBits = 4; c.kBits = 4; c.vBits = 0
            c.granularity = g
            c.pegGroups = groups
            return FunctionalAttention(config: c).run(x).prefill.relativeL2
        }
        let tensor = error(.tensor), peg1 = error(.peg, groups: 1), peg4 = error(.peg, groups: 4), peg16 = error(.peg, groups: 16)
        #expect(peg1 == tensor)              // one group is per-tensor quantization
        #expect(peg4 < 0.7 * tensor, "PEG-4 \(peg4) vs per-tensor \(tensor)")
        #expect(peg16 <= peg4)               // more groups, finer scales
    }

    @Test func accumulatorSaturationIsCounted() {
        var cfg = AttentionConfig()
        cfg.accBits = 8
        let r = FunctionalAttention(config: cfg).run(randomLayer(seed: 4))
        #expect(r.prefill.saturations > 0)
    }

    @Test func activitiesSplitPhasesAndGroupHeads() {
        // Causal, 4 heads over 2 KV heads, 6 prompt rows + 4 decode rows, top-k 2.
        let x = randomLayer(seed: 6, heads: 4, kvHeads: 2, tokens: 10, dim: 4, prompt: 6)
        var cfg = AttentionConfig()
        cfg.pruning = .topK(2)
        let r = FunctionalAttention(config: cfg).run(x)
        #expect(r.activities.count == 4)
        let decode = r.activities.filter { $0.phase == .decode }
        #expect(decode.count == 2)
        #expect(decode[0].keyCounts == [7, 8, 9, 10])
        #expect(decode[0].firstRowPosition == 6)
        #expect(decode[0].queryHeads == 2)
        for a in r.activities {
            for h in 0..<a.queryHeads {
                for row in 0..<a.rows { #expect(a.keptCount(head: h, row: row) == min(2, Int(a.keyCounts[row]))) }
            }
        }
        #expect(r.decode.rows == 4 * 4)
        #expect(r.prefill.rows == 6 * 4)
    }

    @Test func keepNothingRowsKeepTheirMaximum() {
        let x = randomLayer(seed: 12, heads: 1, kvHeads: 1, tokens: 5, dim: 4, causal: false)
        var cfg = AttentionConfig()
        cfg.pruning = .probability(threshold: 0.99)
        let r = FunctionalAttention(config: cfg).run(x)
        #expect(r.prefill.keepMaxEvents == 5)
        #expect(r.prefill.kept == 5)
    }
}

@Suite struct FunctionalDefectRegressionTests {
    /// A saturating accumulator clamps after every addition: partial sums that overflow and come back
    /// within range still saturate (found by an independent reimplementation).
    @Test func accumulatorClampsAfterEveryAddition() {
        // Codes q = [127, 127, 127, −127, −127, −127], k = 127 everywhere: partial sums 16129, 32258,
        // 48387 (> 2^15 − 1 for a 16-bit accumulator: clamps to 32767), then 16638, 509, −15620.
        // The exact sum is 0; the saturating accumulator ends at 32767 − 3·16129.
        let x = LayerInput(sequence: 0, layer: 0, heads: 1, kvHeads: 1, tokens: 1, headDim: 6, causal: false, scale: 1,
                           promptTokens: 1, q: [1, 1, 1, -1, -1, -1], k: [1, 1, 1, 1, 1, 1], v: [1, 1, 1, 1, 1, 1])
        var cfg = AttentionConfig()
        cfg.accBits = 16
        cfg.vBits = 0
        let fa = FunctionalAttention(config: cfg)
        var s = [Double](repeating: 0, count: 1)
        var sat = 0
        fa.scores(x, fa.quantize(x), head: 0, row: 0, count: 1, into: &s, saturations: &sat)
        let scale = (1.0 / 127) * (1.0 / 127)
        #expect(abs(s[0] - Double(32767 - 3 * 16129) * scale) < 1e-12)
        #expect(sat == 1)
    }

    /// With no pruning but log quantization, probabilities below t get the zero code: they are not
    /// kept and their V rows are not needed.
    @Test func zeroCodesAreNotKept() {
        let x = randomLayer(seed: 21, heads: 2, kvHeads: 1, tokens: 24, dim: 8, causal: true, spread: 3)
        var cfg = AttentionConfig()
        cfg.probabilityQuantization = .log(bits: 3, threshold: 0.05)
        let r = FunctionalAttention(config: cfg).run(x)
        #expect(r.prefill.kept < r.prefill.visible)
        let act = r.activities[0]
        #expect(!act.isDense)
        let keptBits = (0..<act.queryHeads).reduce(0) { h, head in h + (0..<act.rows).reduce(0) { $0 + act.keptCount(head: head, row: $1) } }
        #expect(keptBits == r.prefill.kept)
    }
}

@Suite struct QueryRowRangeTests {
    /// Only some query rows (a decode step calls the unit on the newest row) give exactly those rows
    /// of the full run, with the same kept bits, when Q's quantization does not depend on the other rows.
    @Test func singleRowsEqualTheFullRun() {
        var cfg = AttentionConfig()
        cfg.qBits = 0
        cfg.pruning = .topK(3)
        cfg.probabilityQuantization = .log(bits: 3, threshold: 1e-3)
        let x = randomLayer(seed: 11, heads: 4, kvHeads: 2, tokens: 10, dim: 8, causal: true, prompt: 6)
        let fa = FunctionalAttention(config: cfg)
        let full = fa.run(x)
        let d = x.headDim
        var decodeKept = 0, decodeRows = 0
        for i in 0..<x.tokens {
            var q: [Float] = []
            for h in 0..<x.heads { q += x.q[((h * x.tokens + i) * d)..<((h * x.tokens + i + 1) * d)] }
            let one = LayerInput(sequence: 0, layer: 0, heads: x.heads, kvHeads: x.kvHeads, tokens: x.tokens, headDim: d,
                                 causal: true, scale: x.scale, promptTokens: x.promptTokens, queryRows: i..<(i + 1),
                                 q: q, k: x.k, v: x.v)
            let r = fa.run(one)
            #expect(r.output.count == x.heads * d)
            for h in 0..<x.heads {
                for c in 0..<d { #expect(r.output[h * d + c] == full.output[(h * x.tokens + i) * d + c]) }
            }
            // The row lands in its own phase, with one activity per KV head.
            #expect(r.activities.count == x.kvHeads)
            #expect(r.activities.allSatisfy { $0.phase == (i < x.promptTokens ? .prefill : .decode) && $0.firstRowPosition == i })
            if i >= x.promptTokens { decodeKept += r.decode.kept; decodeRows += r.decode.rows }
            #expect((i < x.promptTokens ? r.decode.rows : r.prefill.rows) == 0)
        }
        #expect(decodeKept == full.decode.kept)
        #expect(decodeRows == full.decode.rows)
        #expect(abs(full.decode.errSq - 0) > 0)
    }
}

@Suite struct ScoreStageTests {
    /// The SIMD Q·Kᵀ paths (16-bit products, Int32 lanes) give bit for bit the scores of a scalar
    /// saturating Int64 accumulator written here from the datapath's definition, for every path:
    /// 16-bit products (8×8 and 4×8 bits, odd head size), Int32 lanes (12×12, 16×4 bits), the Int64
    /// path (16×16 bits with a 64-bit accumulator) and the saturating path (12-bit accumulator).
    @Test(arguments: [(8, 8, 32, 64), (4, 8, 32, 37), (12, 12, 32, 24), (16, 4, 32, 70), (16, 16, 64, 64), (8, 8, 12, 64)])
    func simdScoresEqualScalarSaturatingSums(qBits: Int, kBits: Int, accBits: Int, dim: Int) {
        var cfg = AttentionConfig()
        cfg.qBits = qBits
        cfg.kBits = kBits
        cfg.accBits = accBits
        let x = randomLayer(seed: UInt64(qBits * 1000 + kBits * 100 + dim), heads: 4, kvHeads: 2, tokens: 19, dim: dim,
                            causal: true, outlierDim: 3, outlierScale: 6)
        let fa = FunctionalAttention(config: cfg)
        let ops = fa.quantize(x)
        let expect16 = FixedPoint.maxCode(bits: qBits) * FixedPoint.maxCode(bits: kBits) <= Int(Int16.max)
        // 16-bit-product operands, or (where the CPU has AVX-512 VNNI) the native int8 packing instead.
        let narrowPath = (!ops.q16.isEmpty && !ops.k16.isEmpty) || !ops.k8.isEmpty
        #expect(narrowPath == expect16)
        let (scores, saturations) = fa.scoreStage(x)
        var mismatches = 0, refSaturations = 0
        let lo = accBits >= 64 ? Int64.min : -(Int64(1) << (accBits - 1)), hi = accBits >= 64 ? Int64.max : (Int64(1) << (accBits - 1)) - 1
        for h in 0..<x.heads {
            let kvh = h / (x.heads / x.kvHeads)
            let sc = ops.q.scales[h] * ops.k.scales[kvh] * x.scale
            for i in 0..<x.tokens {
                for j in 0..<x.tokens {
                    var acc: Int64 = 0, clipped = false
                    for c in 0..<dim {
                        let p = Int64(ops.q.codes[(h * x.tokens + i) * dim + c]) * Int64(ops.k.codes[(kvh * x.tokens + j) * dim + c])
                        let (sum, overflow) = acc.addingReportingOverflow(p)
                        acc = overflow ? (p > 0 ? hi : lo) : min(hi, max(lo, sum))
                        if overflow || sum > hi || sum < lo { clipped = true }
                    }
                    let want = j <= i ? Double(acc) * sc : 0
                    if scores[(h * x.tokens + i) * x.tokens + j] != want { mismatches += 1 }
                    if clipped && j <= i { refSaturations += 1 }
                }
            }
        }
        #expect(mismatches == 0)
        // One saturation event per (row, visible key) whose accumulator clipped; only the 12-bit one does.
        #expect(saturations == refSaturations)
        #expect((accBits == 12) == (saturations > 0))
    }
}

/// The 8-lane quantizer of per-tensor/per-head scales gives every code and saturation count of the
/// scalar `FixedPoint.code`, for each rounding rule, bit width and a length off the lane count.
@Suite struct QuantizerLaneTests {
    @Test func lanesEqualTheScalarCode() {
        var rng = SeededRNG(seed: 77)
        let n = 8 * 37 + 5
        var x = (0..<n).map { _ in Float.random(in: -4...4, using: &rng) }
        x[3] = 0.5; x[4] = -0.5; x[5] = 1.5; x[6] = -2.5; x[7] = 1e-30; x[8] = -0.0  // ties and tiny values
        for rounding in AttentionConfig.Rounding.allCases {
            for bits in [2, 4, 8, 12] {
                // A scale that makes |x| > 2 saturate, and one that fits everything.
                for scale in [2.0 / Double(FixedPoint.maxCode(bits: bits)), 4.5 / Double(FixedPoint.maxCode(bits: bits))] {
                    var expected = [Int32](), sat = 0
                    for v in x { expected.append(FixedPoint.code(v, scale: scale, bits: bits, rounding: rounding, saturated: &sat)) }
                    var got = [Int32](repeating: 99, count: n)
                    let s = x.withUnsafeBufferPointer { xp in
                        got.withUnsafeMutableBufferPointer { QuantizedTensor.codes(xp.baseAddress!, count: n, scale: scale, bits: bits,
                                                                                  rounding: rounding, into: $0.baseAddress!) }
                    }
                    #expect(got == expected, "\(rounding) \(bits) bits, scale \(scale)")
                    #expect(s == sat)
                }
            }
            var zeros = [Int32](repeating: 7, count: 9)
            let s0 = x.withUnsafeBufferPointer { xp in
                zeros.withUnsafeMutableBufferPointer { QuantizedTensor.codes(xp.baseAddress!, count: 9, scale: 0, bits: 8, rounding: rounding, into: $0.baseAddress!) }
            }
            #expect(zeros == [Int32](repeating: 0, count: 9) && s0 == 0)
        }
    }
}

/// Top-θ calibration selects the (k+1)-th largest value instead of sorting each row: the same value,
/// and the same multiset below it, as the sort (ties, ±0, infinities, every k).
@Suite struct CalibrationSelectTests {
    @Test func selectionEqualsTheSort() {
        var rng = SeededRNG(seed: 5)
        for n in [1, 2, 3, 7, 64, 200] {
            for trial in 0..<6 {
                var a: [Double] = (0..<n).map { _ in Double(Int.random(in: -5...5, using: &rng)) * (trial % 2 == 0 ? 1 : 0.37) }
                if trial == 3 && n > 2 { a[0] = .infinity; a[1] = -.infinity; a[2] = -0.0 }
                if trial == 4 { a = a.map { _ in Double.random(in: -1...1, using: &rng) } }
                let sorted = a.sorted(by: >)
                for k in 0..<n {
                    var b = a
                    TopThetaCalibrator.selectDescending(&b, k)
                    #expect(b[k] == sorted[k], "n \(n) trial \(trial) k \(k)")
                    #expect(b[k...].sorted(by: >) == Array(sorted[k...]), "n \(n) trial \(trial) k \(k)")
                    #expect(b.sorted(by: >) == sorted)
                }
            }
        }
    }
}
