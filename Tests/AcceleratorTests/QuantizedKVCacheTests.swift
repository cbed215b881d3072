import Testing
@testable import Accelerator

/// `QuantizedKVCache.step` — the quantized KV cache kept between decode steps, one row appended per
/// step — against `FunctionalAttention.run` of the same step from scratch (the whole cache
/// quantized again): every output bit, Fidelity field and kept bit the same, across steps where a
/// new row raises a per-head or per-tensor scale (every row coded again) and where it does not.
struct QuantizedKVCacheTests {
    /// A causal layer of `tokens` rows whose K and V rows grow an outlier now and then, so that
    /// some decode steps raise a scale: K of KV head 1 at row 14, V of KV head 0 at row 19, every
    /// K and V head at row 26.
    static func layer(tokens: Int, dim: Int) -> LayerInput {
        var x = randomLayer(seed: 7, heads: 4, kvHeads: 2, tokens: tokens, dim: dim)
        for c in 0..<dim {
            x.k[(1 * tokens + 14) * dim + c] *= 3
            x.v[(0 * tokens + 19) * dim + c] *= 4
            for h in 0..<2 {
                x.k[(h * tokens + 26) * dim + c] *= 5
                x.v[(h * tokens + 26) * dim + c] *= 5
            }
        }
        return x
    }

    /// The from-scratch input of the decode step at `position`: rows 0...position, the last one queried.
    static func step(_ x: LayerInput, position p: Int, sequence: Int = 0) -> LayerInput {
        let d = x.headDim, t = x.tokens
        func rows(_ a: [Float]) -> [Float] {
            var out: [Float] = []
            for h in 0..<x.kvHeads { out += a[(h * t * d)..<((h * t + p + 1) * d)] }
            return out
        }
        return LayerInput(sequence: sequence, layer: x.layer, heads: x.heads, kvHeads: x.kvHeads, tokens: p + 1, headDim: d,
                          causal: true, scale: x.scale, promptTokens: p, queryRows: p..<(p + 1), q: queryRow(x, p), k: rows(x.k), v: rows(x.v))
    }

    /// Q of row p, every head: [heads, d].
    static func queryRow(_ x: LayerInput, _ p: Int) -> [Float] {
        var q: [Float] = []
        for h in 0..<x.heads { q += x.q[((h * x.tokens + p) * x.headDim)..<((h * x.tokens + p + 1) * x.headDim)] }
        return q
    }

    /// K or V of `x` as a decoder's KV cache holds it in place: `stride` rows per KV head, rows 0..<rows filled.
    static func strided(_ a: [Float], _ x: LayerInput, stride: Int, rows: Int) -> [Float] {
        let d = x.headDim
        var out = [Float](repeating: .nan, count: x.kvHeads * stride * d)
        for h in 0..<x.kvHeads {
            for i in 0..<(rows * d) { out[h * stride * d + i] = a[h * x.tokens * d + i] }
        }
        return out
    }

    /// Runs the decode steps `positions` of `x` through `cache` (K/V in place `stride` rows apart,
    /// or nil: contiguous, `position + 1` rows per head, so the cache grows) and compares each with
    /// `run` from scratch.
    static func compare(_ cache: QuantizedKVCache, _ x: LayerInput, positions: Range<Int>, stride: Int?, sequence: Int = 0,
                        label: String) {
        for p in positions {
            let s = stride ?? (p + 1)
            let k = strided(x.k, x, stride: s, rows: p + 1), v = strided(x.v, x, stride: s, rows: p + 1)
            let q = queryRow(x, p)
            let got = q.withUnsafeBufferPointer { qb in
                k.withUnsafeBufferPointer { kb in
                    v.withUnsafeBufferPointer { vb in
                        cache.step(sequence: sequence, layer: x.layer, heads: x.heads, kvHeads: x.kvHeads, headDim: x.headDim, scale: x.scale,
                                   position: p, q: qb, k: kb, v: vb, kvHeadStride: s)
                    }
                }
            }
            FunctionalBitIdentityTests.expectSame(got, cache.functional.run(step(x, position: p, sequence: sequence)), "\(label) position \(p)")
        }
    }

    static var configs: [(String, AttentionConfig)] {
        var list: [(String, AttentionConfig)] = [("int8 per head", AttentionConfig())]
        var c = AttentionConfig(); c.granularity = .tensor; list.append(("int8 per tensor", c))
        c = AttentionConfig(); c.granularity = .tensor; c.qBits = 4; c.kBits = 4; c.vBits = 4; c.pruning = .topK(5)
        list.append(("4-bit per tensor, top-k", c))
        c = AttentionConfig(); c.qBits = 0; c.kBits = 0; c.vBits = 0; list.append(("float", c))
        c = AttentionConfig(); c.vBits = 0; c.probabilityQuantization = .log(bits: 3, threshold: 1e-3); list.append(("float v", c))
        c = AttentionConfig(); c.accBits = 16; c.qBits = 12; c.kBits = 12; list.append(("saturating acc16", c))
        c = AttentionConfig(); c.qBits = 6; c.kBits = 6; c.rounding = .floor; list.append(("6-bit floor", c))
        return list
    }

    @Test func decodeStepsEqualQuantizingTheWholeCacheEachStep() {
        let x = Self.layer(tokens: 40, dim: 16)
        var topTheta = AttentionConfig.TopTheta(k: 4)
        (topTheta.vMean, topTheta.denominator, topTheta.denseLayers) = (true, .exact, 0)
        var thetaConfig = AttentionConfig()
        thetaConfig.pruning = .topTheta(topTheta)
        var cal = TopThetaCalibrator(config: thetaConfig, layers: 1, heads: x.heads, maxLength: x.tokens)
        cal.add(randomLayer(seed: 8, heads: 4, kvHeads: 2, tokens: 40, dim: 16))
        var fas = Self.configs.map { ($0.0, FunctionalAttention(config: $0.1)) }
        fas.append(("Top-θ, both compensations", FunctionalAttention(config: thetaConfig, thresholds: cal.thresholds())))
        fas += fas.map { ($0.0 + ", portable", FunctionalAttention(config: $0.1.config, thresholds: $0.1.thresholds, nativeKernels: false)) }
        for (name, fa) in fas {
            for stride in [48, nil] as [Int?] {
                let cache = QuantizedKVCache(fa)
                Self.compare(cache, x, positions: 6..<40, stride: stride, label: "\(name), stride \(stride.map(String.init) ?? "tight")")
                #expect(cache.loads == 1, "\(name)")
                #expect(cache.count == 40)
                // The outliers at rows 14, 19 and 26 changed scales: rows were coded again.
                let quantized = fa.config.kBits > 0 || fa.config.vBits > 0
                #expect(quantized ? cache.recodedRows >= 27 : cache.recodedRows == 0, "\(name): \(cache.recodedRows)")
            }
        }
    }

    /// A cache that does not hold the call's earlier rows — another sequence, a gap, an earlier row
    /// rewritten (a truncated and refilled KV cache) — loads the call's rows again: still equal.
    @Test func rowsThatAreNotTheCachedOnesAreLoadedAgain() {
        let x = Self.layer(tokens: 30, dim: 8)
        let cache = QuantizedKVCache(FunctionalAttention(config: AttentionConfig()))
        Self.compare(cache, x, positions: 5..<12, stride: 32, label: "first")
        #expect(cache.loads == 1)
        Self.compare(cache, x, positions: 12..<13, stride: 32, sequence: 1, label: "another sequence")
        #expect(cache.loads == 2)
        Self.compare(cache, x, positions: 13..<14, stride: 32, sequence: 1, label: "next step")
        #expect(cache.loads == 2)
        Self.compare(cache, x, positions: 20..<21, stride: 32, sequence: 1, label: "gap")
        #expect(cache.loads == 3)
        var y = x
        y.k[(1 * y.tokens + 3) * y.headDim + 2] = 0.125
        Self.compare(cache, y, positions: 21..<22, stride: 32, sequence: 1, label: "row 3 of K rewritten")
        #expect(cache.loads == 4)
        y.v[(0 * y.tokens + 21) * y.headDim] = -0.5
        Self.compare(cache, y, positions: 22..<24, stride: 32, sequence: 1, label: "row 21 of V rewritten")
        #expect(cache.loads == 5)
    }

    @Test func scalesThatDependOnMoreThanRunningMaximaAreNotCached() {
        var c = AttentionConfig()
        #expect(QuantizedKVCache.supports(c))
        c.granularity = .peg
        #expect(!QuantizedKVCache.supports(c))
        c.granularity = .head
        c.rangeCalibration = .percentile(99)
        #expect(!QuantizedKVCache.supports(c))
        (c.kBits, c.vBits) = (0, 0)
        #expect(QuantizedKVCache.supports(c))
    }
}
