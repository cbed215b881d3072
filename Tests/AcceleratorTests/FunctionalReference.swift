import Foundation
@testable import Accelerator

/// An independent oracle of the functional model, written from docs/algorithms.md and docs/model.md
/// on plain Swift arrays: its own fixed-point quantizer (min-max range, nearest-even, per tensor, per
/// head or PEG), integer Q·Kᵀ with a saturating accumulator (one per PEG group), softmax exponent (float or fixed LUT),
/// pruning (probability threshold, Top-θ from a plain θ table, top-k by sorting), denominator and
/// V-mean compensation, probability quantizers (log, power-of-two, uniform), P·V, the Double exact
/// reference and the fidelity sums. It calls none of the production kernels (`scores`, `exponent`,
/// `ProbabilityQuantizer`, `QuantizedTensor`, `FixedPoint`, `ExactSoftmax`, `TopThetaThresholds`'
/// lookup), so a regression in any of them shows as a difference (`FunctionalBitIdentityTests`).
///
/// It reproduces the production arithmetic's order of operations (the documented formulas written
/// the obvious way), so the functional model must agree with it bit for bit. Not covered: percentile
/// ranges and the non-default roundings.
struct FunctionalOracle {
    /// The (layer, head, n) → θ table the oracle prunes with (every length present) and the
    /// per-head `constant` compensation; `thresholds` is the same table for the functional model.
    struct Table {
        let heads: Int, maxLength: Int
        let theta: [Double], constants: [Float]
        func θ(head h: Int, length n: Int) -> Double { theta[h * (maxLength + 1) + n] }
        var thresholds: TopThetaThresholds {
            TopThetaThresholds(layers: 1, heads: heads, maxLength: maxLength, theta: theta, constants: constants,
                               samples: .init(repeating: 1, count: heads))
        }
    }

    /// Per-phase accuracy, summed as docs/algorithms.md "P·V and accuracy" describes.
    struct Accuracy {
        var errSq = 0.0, refSq = 0.0, dot = 0.0, outSq = 0.0
        var rows = 0, visible = 0, kept = 0, massKept = 0.0
        var saturations = 0, keepMax = 0, below1e3 = 0, below1e2 = 0
        var worstRelL2 = 0.0, worstHead = "", worstCosine = 1.0
        var relL2: Double { refSq > 0 ? (errSq / refSq).squareRoot() : 0 }
        var cosine: Double { refSq > 0 && outSq > 0 ? dot / (refSq * outSq).squareRoot() : 1 }

        mutating func add(_ b: Accuracy) {
            errSq += b.errSq; refSq += b.refSq; dot += b.dot; outSq += b.outSq
            rows += b.rows; visible += b.visible; kept += b.kept; massKept += b.massKept
            saturations += b.saturations; keepMax += b.keepMax; below1e3 += b.below1e3; below1e2 += b.below1e2
        }
    }

    struct Result {
        var output: [Float]
        var prefill = Accuracy(), decode = Accuracy()
        /// kept[h][row index][j]
        var kept: [[[Bool]]]
    }

    /// A quantized tensor: codes, one scale per (head, group), the group of each dimension.
    struct Codes {
        var codes: [Int64] = [], scales: [Double] = [], groups = 1, groupOf: [Int] = [], saturated = 0
        func scale(_ h: Int, _ c: Int) -> Double { scales[h * groups + groupOf[c]] }
    }

    let config: AttentionConfig
    let table: Table?

    /// PEG's grouping: dimensions sorted by max |x| over the tensors (ties by index), the sorted
    /// order cut into `groups` equal parts.
    static func pegGroups(_ tensors: [[Float]], d: Int, groups: Int) -> [Int] {
        var range = [Float](repeating: 0, count: d)
        for x in tensors { for (i, v) in x.enumerated() { range[i % d] = max(range[i % d], abs(v)) } }
        let order = (0..<d).sorted { range[$0] != range[$1] ? range[$0] < range[$1] : $0 < $1 }
        var groupOf = [Int](repeating: 0, count: d)
        for (rank, c) in order.enumerated() { groupOf[c] = rank * groups / d }
        return groupOf
    }

    /// Symmetric b-bit codes of x ([heads, tokens, d]): scale = max|x| / (2^(b−1) − 1) over the
    /// tensor, the head, or (PEG) the dimension group across heads; code = round-to-nearest-even(x /
    /// scale), clamped.
    static func quantize(_ x: [Float], heads: Int, d: Int, bits: Int, granularity: AttentionConfig.Granularity,
                         groupOf: [Int], groups: Int) -> Codes {
        var out = Codes(groups: groups, groupOf: groupOf)
        let maxCode = Double((1 << (bits - 1)) - 1), per = x.count / heads
        var ranges = [Float](repeating: 0, count: heads * groups)
        for (i, v) in x.enumerated() {
            let g = groupOf[i % d]
            for h in 0..<heads where granularity == .tensor || (granularity == .head && h == i / per) || granularity == .peg {
                ranges[h * groups + g] = max(ranges[h * groups + g], abs(v))
            }
        }
        out.scales = ranges.map { Double($0) / maxCode }
        for (i, v) in x.enumerated() {
            let s = out.scale(i / per, i % d)
            guard s > 0 else { out.codes.append(0); continue }
            var q = (Double(v) / s).rounded(.toNearestOrEven)
            if q > maxCode { q = maxCode; out.saturated += 1 }
            if q < -maxCode { q = -maxCode; out.saturated += 1 }
            out.codes.append(Int64(q))
        }
        return out
    }

    /// e^z through the softmax unit: exp, or the fixed LUT (input and output rounded to 2^−frac).
    func exponent(_ z: Double) -> Double {
        guard case .fixed(let inFrac, let outFrac) = config.softmax else { return exp(z) }
        let zin = (z * Double(1 << inFrac)).rounded(.toNearestOrEven) / Double(1 << inFrac)
        return (exp(zin) * Double(1 << outFrac)).rounded(.toNearestOrEven) / Double(1 << outFrac)
    }

    /// The probability quantizers of docs/algorithms.md.
    func quantizeProbability(_ p: Double) -> Double {
        switch config.probabilityQuantization {
        case .none:
            return p
        case .log(let b, let t):
            if p <= t { return 0 }
            let levels = Double((1 << b) - 1), delta = -log2(t) / levels
            let bin = min(Double((1 << b) - 2), max(0, ((log2(p) - log2(t)) / delta).rounded(.down)))
            return pow(2, log2(t) + (bin + 0.5) * delta)
        case .logPowerOfTwo(let b):
            // Rounded in the log domain: 0 when log₂p rounds below the smallest level's exponent.
            let smallest = -Double((1 << b) - 2), e = log2(p).rounded()
            if p <= 0 || e < smallest { return 0 }
            return pow(2, min(0, e))
        case .uniform(let b):
            let levels = Double((1 << b) - 1)
            return (min(1, max(0, p)) * levels).rounded() / levels
        }
    }

    /// The exact reference of row r of head h in Double on the float Q, K, V: probabilities, output.
    static func exact(_ x: LayerInput, head h: Int, row r: Int, count n: Int) -> ([Double], [Double]) {
        let d = x.headDim, t = x.tokens, kvh = h / (x.heads / x.kvHeads)
        var ref = [Double](repeating: 0, count: n)
        for j in 0..<n {
            var dot = 0.0
            for c in 0..<d { dot += Double(x.q[(h * x.queryRows.count + r) * d + c]) * Double(x.k[(kvh * t + j) * d + c]) }
            ref[j] = dot * x.scale
        }
        let refMax = ref.max()!
        var refSum = 0.0
        for j in 0..<n { ref[j] = exp(ref[j] - refMax); refSum += ref[j] }
        for j in 0..<n { ref[j] /= refSum }
        var oRef = [Double](repeating: 0, count: d)
        for j in 0..<n where ref[j] > 0 { for c in 0..<d { oRef[c] += ref[j] * Double(x.v[(kvh * t + j) * d + c]) } }
        return (ref, oRef)
    }

    /// A row's kept keys (pruning, then the keep-the-max fallback), whether the fallback fired, and
    /// the softmax denominator with its compensation.
    func prune(_ s: [Double], _ e: [Double], max m: Double, sum sumAll: Double, head h: Int)
        -> (keep: [Bool], keepMax: Bool, denominator: Double) {
        let n = s.count
        var keep = [Bool](repeating: true, count: n)
        var theta = -Double.infinity
        switch config.pruning {
        case .none:
            break
        case .probability(let tp):
            for j in 0..<n { keep[j] = e[j] / sumAll > tp }
        case .topTheta(let tt):
            if n > tt.k { theta = table!.θ(head: h, length: n) }
            for j in 0..<n { keep[j] = (tt.placement == .scores ? s[j] : e[j] / sumAll) > theta }
        case .topK(let kk):
            let ranked = (0..<n).sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
            for j in 0..<n { keep[j] = false }
            for j in ranked.prefix(kk) { keep[j] = true }
        }
        var kept = keep.filter { $0 }.count, keepMax = false
        if kept == 0 {
            keep[(0..<n).max { s[$0] < s[$1] || (s[$0] == s[$1] && $0 > $1) }!] = true
            kept = 1
            keepMax = true
        }
        // Denominator and its compensation.
        var sumKept = 0.0
        for j in 0..<n where keep[j] { sumKept += e[j] }
        var denom = sumKept
        switch config.pruning {
        case .none, .probability: denom = sumAll
        case .topK: denom = sumKept
        case .topTheta(let tt):
            if tt.placement == .probabilities {
                denom = sumAll
            } else {
                switch tt.denominator {
                case .none: denom = sumKept
                case .exact: denom = sumAll
                case .countBound: denom = sumKept + Double(n - kept) * (theta.isFinite ? exponent(min(0, theta - m)) : 0)
                case .constant: denom = sumKept + Double(table!.constants[h])
                }
            }
        }
        return (keep, keepMax, denom)
    }

    func run(_ x: LayerInput) -> Result {
        let d = x.headDim, t = x.tokens, group = x.heads / x.kvHeads, nq = x.queryRows.count
        let gran = config.granularity, peg = gran == .peg
        let groups = peg ? min(config.pegGroups, d) : 1
        let qkGroups = peg ? Self.pegGroups([x.q, x.k], d: d, groups: groups) : [Int](repeating: 0, count: d)
        let vGroups = peg ? Self.pegGroups([x.v], d: d, groups: groups) : qkGroups
        let q = config.qBits > 0 ? Self.quantize(x.q, heads: x.heads, d: d, bits: config.qBits, granularity: gran, groupOf: qkGroups, groups: groups) : nil
        let k = config.kBits > 0 ? Self.quantize(x.k, heads: x.kvHeads, d: d, bits: config.kBits, granularity: gran, groupOf: qkGroups, groups: groups) : nil
        let v = config.vBits > 0 ? Self.quantize(x.v, heads: x.kvHeads, d: d, bits: config.vBits, granularity: gran, groupOf: vGroups, groups: groups) : nil
        // Dequantized operands, as the datapath's Doubles.
        func qValue(_ h: Int, _ r: Int, _ c: Int) -> Double {
            let i = (h * nq + r) * d + c
            return q.map { Double($0.codes[i]) * $0.scale(h, c) } ?? Double(x.q[i])
        }
        func kValue(_ h: Int, _ j: Int, _ c: Int) -> Double {
            let i = (h * t + j) * d + c
            return k.map { Double($0.codes[i]) * $0.scale(h, c) } ?? Double(x.k[i])
        }
        func vValue(_ h: Int, _ j: Int, _ c: Int) -> Double {
            let i = (h * t + j) * d + c
            return v.map { Double($0.codes[i]) * $0.scale(h, c) } ?? Double(x.v[i])
        }
        var result = Result(output: .init(repeating: 0, count: x.heads * nq * d), kept: [])
        var heads: [(Accuracy, Accuracy)] = []
        for h in 0..<x.heads {
            let kvh = h / group
            var pre = Accuracy(), dec = Accuracy(), saturations = 0
            var keptRows: [[Bool]] = []
            for (r, i) in x.queryRows.enumerated() {
                let n = x.causal ? i + 1 : t
                // Datapath scores: integer Σ q·k per group (saturating accumulators) · s_q · s_k · scale.
                var s = [Double](repeating: 0, count: n)
                for j in 0..<n {
                    if let q, let k {
                        let limit = config.accBits >= 64 ? Int64.max : (Int64(1) << (config.accBits - 1)) - 1
                        var acc = [Int64](repeating: 0, count: groups), clipped = false
                        for c in 0..<d {
                            let g = qkGroups[c]
                            acc[g] += q.codes[(h * nq + r) * d + c] * k.codes[(kvh * t + j) * d + c]
                            if acc[g] > limit { acc[g] = limit; clipped = true }
                            if acc[g] < -limit - 1 { acc[g] = -limit - 1; clipped = true }
                        }
                        if clipped { saturations += 1 }
                        if peg {
                            var total = 0.0
                            for g in 0..<groups { total += Double(acc[g]) * q.scales[h * groups + g] * k.scales[kvh * groups + g] }
                            s[j] = total * x.scale
                        } else {
                            s[j] = Double(acc[0]) * (q.scales[h] * k.scales[kvh] * x.scale)
                        }
                    } else {
                        var dot = 0.0
                        for c in 0..<d { dot += qValue(h, r, c) * kValue(kvh, j, c) }
                        s[j] = dot * x.scale
                    }
                }
                let (ref, oRef) = Self.exact(x, head: h, row: r, count: n)
                // Softmax numerators.
                let m = s.max()!
                let e = s.map { exponent($0 - m) }
                var sumAll = 0.0
                for ej in e { sumAll += ej }
                var acc = Accuracy()
                let (keep, keepMax, denom) = prune(s, e, max: m, sum: sumAll, head: h)
                var kept = keep.filter { $0 }.count
                acc.keepMax = keepMax ? 1 : 0
                // Probabilities, P·V.
                var o = [Double](repeating: 0, count: d)
                var pSum = 0.0
                var keptRow = [Bool](repeating: false, count: t)
                for j in 0..<n {
                    if ref[j] < 1e-3 { acc.below1e3 += 1 }
                    if ref[j] < 1e-2 { acc.below1e2 += 1 }
                    guard keep[j] else { continue }
                    var p = e[j] / denom
                    if case .fixed(_, let outFrac) = config.softmax {
                        p = (p * Double(1 << outFrac)).rounded(.toNearestOrEven) / Double(1 << outFrac)
                    }
                    if let clip = config.clippedSoftmax {
                        let gamma = -clip.alpha / Double(n)
                        p = min(1, max(0, (clip.zeta - gamma) * p + gamma))
                    }
                    p = quantizeProbability(p)
                    if p == 0 { kept -= 1; continue }
                    pSum += p
                    acc.massKept += ref[j]
                    keptRow[j] = true
                    for c in 0..<d { o[c] += p * vValue(kvh, j, c) }
                }
                if case .topTheta(let tt) = config.pruning, tt.vMean {
                    for c in 0..<d {
                        var column = 0.0
                        for j in 0..<n { column += vValue(kvh, j, c) }
                        o[c] += (1 - pSum) * column / Double(n)
                    }
                }
                for c in 0..<d {
                    result.output[(h * nq + r) * d + c] = Float(o[c])
                    acc.errSq += (o[c] - oRef[c]) * (o[c] - oRef[c])
                    acc.refSq += oRef[c] * oRef[c]
                    acc.outSq += o[c] * o[c]
                    acc.dot += o[c] * oRef[c]
                }
                acc.rows = 1; acc.visible = n; acc.kept = kept
                if i < x.promptTokens { pre.add(acc) } else { dec.add(acc) }
                keptRows.append(keptRow)
            }
            if pre.rows > 0 { pre.saturations += saturations } else { dec.saturations += saturations }
            heads.append((pre, dec))
            result.kept.append(keptRows)
        }
        // The layer: heads summed in order; the worst head is the first with the largest error.
        for (phase, pick) in [(0, { (a: (Accuracy, Accuracy)) in a.0 }), (1, { $0.1 })] {
            var total = Accuracy()
            for (h, a) in heads.map(pick).enumerated() where a.rows > 0 {
                total.add(a)
                if total.worstHead.isEmpty || a.relL2 > total.worstRelL2 { total.worstRelL2 = a.relL2; total.worstHead = "s\(x.sequence).l\(x.layer).h\(h)" }
                total.worstCosine = min(total.worstCosine, a.cosine)
            }
            if phase == 0 {
                total.saturations += (q?.saturated ?? 0) + (k?.saturated ?? 0) + (v?.saturated ?? 0)
                result.prefill = total
            } else {
                result.decode = total
            }
        }
        return result
    }
}
