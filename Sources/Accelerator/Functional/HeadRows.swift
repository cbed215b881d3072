import AttnCore
import CKernels
import Foundation

extension FunctionalAttention {
    /// One query head of a layer through the datapath, row by row, in the named kernels of
    /// `HeadRows`: outputs into `out`, kept (row, key) bits into `bits` (`words` UInt64 per row), and
    /// the head's accuracy per phase. `shared`: the head's exact reference computed once for several
    /// configurations (`run(_:_:)`); without it each row's reference is computed here.
    func runHead(_ x: LayerInput, _ ops: Operands, head h: Int, words: Int, out: SharedBuffer<Float>,
                 bits: SharedBuffer<UInt64>, shared: HeadReference? = nil) -> (prefill: Fidelity, decode: Fidelity) {
        LayerViews.with(x, ops) { views in
            var rows = HeadRows(self, x, ops, views, head: h, shared: shared)
            defer { rows.deallocate() }
            var pre = Fidelity(), dec = Fidelity()
            for i in x.queryRows {
                let n = x.visible(i)
                rows.datapathScores(row: i, count: n)
                let exact = rows.exactRow(i)
                let m = rows.maxScore(count: n)
                // Σ e over every key only where it is read (`allExponentials`); else NaN, unread.
                let sumAll = rows.allExponentials ? rows.exponentials(count: n, max: m) : .nan
                let threshold = rows.prune(count: n, max: m, sum: sumAll)
                var fid = rows.keepAtLeastOne(count: n)
                if !rows.allExponentials { rows.keptExponentials(count: n, max: m) }
                let denom = rows.denominator(count: n, kept: fid.kept, max: m, sum: sumAll, threshold: threshold)
                let pSum = rows.probabilitiesAndPV(row: i, count: n, denominator: denom, exact: exact.probabilities,
                                                   fidelity: &fid, bits: bits, words: words)
                if rows.vMeanOn { rows.vMean(count: n, missing: 1 - pSum) }
                rows.fidelity(row: i, count: n, exact: exact.output, out: out, into: &fid)
                if i < x.promptTokens { pre += fid } else { dec += fid }
            }
            return rows.headTotals(prefill: pre, decode: dec)
        }
    }
}

/// Base addresses of a layer's float Q, K, V, of V's codes and unquantized values and of the
/// transposed float K (`Operands.kT`), valid inside `with`'s body (an empty array's may be nil or not:
/// test the array, not the pointer).
struct LayerViews {
    let q, k, v: UnsafePointer<Float>?
    let vCodes: UnsafePointer<Int32>?, vValues: UnsafePointer<Float>?, kT: UnsafePointer<Float>?

    static func with<R>(_ x: LayerInput, _ ops: FunctionalAttention.Operands, _ body: (LayerViews) -> R) -> R {
        x.q.withUnsafeBufferPointer { q in
            x.k.withUnsafeBufferPointer { k in
                x.v.withUnsafeBufferPointer { v in
                    ops.v.codes.withUnsafeBufferPointer { vc in
                        ops.v.values.withUnsafeBufferPointer { vv in
                            ops.kT.withUnsafeBufferPointer { kt in
                                body(LayerViews(q: q.baseAddress, k: k.baseAddress, v: v.baseAddress, vCodes: vc.baseAddress,
                                                vValues: vv.baseAddress, kT: kt.baseAddress))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The working memory of one query head's rows and the row kernels `runHead` calls in order:
/// datapath scores, exact row, exponentials, prune, keep-at-least-one, denominator, probabilities
/// and P·V, V-mean, fidelity. Every buffer is allocated once per head, sized for the longest row
/// (T keys, d dimensions), and freed by `deallocate`.
struct HeadRows {
    let fa: FunctionalAttention, x: LayerInput, ops: FunctionalAttention.Operands, views: LayerViews
    let h: Int, kvh: Int, d: Int, t: Int
    let shared: HeadReference?
    let blocked: BlockedScores
    /// The current row's datapath scores, e^(s − max), kept flags, top-k heap and output.
    let s, e: UnsafeMutablePointer<Double>
    let keep: UnsafeMutablePointer<Bool>
    let order: UnsafeMutablePointer<Int>
    /// Scratch of the top-k selection.
    let candidates: UnsafeMutablePointer<Int>
    let o: UnsafeMutablePointer<Double>
    /// The current row's exact probabilities and output, when not `shared`.
    let ref, oRef: UnsafeMutablePointer<Double>
    /// V's scale for each dimension (quantized V): V(j, c) = Double(code) · vScale[c].
    let vScale: UnsafeMutablePointer<Double>
    let quantizedV: Bool
    /// The kept rows and their probabilities for the native P·V (one call per query row).
    let nativePV: Bool
    let keptRows: UnsafeMutablePointer<Int32>, keptP: UnsafeMutablePointer<Double>
    /// V-mean compensation on, and the running Σ of V rows 0..<vSumRows.
    let vMeanOn: Bool
    let vSum: UnsafeMutablePointer<Double>
    var vSumRows = 0
    /// Q·Kᵀ accumulator saturations of the head's rows.
    var saturations = 0
    /// Whether the pruning reads e[j] of unkept keys or Σ e over every key (`exponentials`):
    /// probability pruning, Top-θ on probabilities or with the exact denominator, no pruning (whose
    /// denominator is that Σ). Otherwise (top-k, Top-θ on scores with another denominator) only
    /// the kept keys' e[j] are read, and only they are computed (`keptExponentials`): the same
    /// Doubles where they are read.
    let allExponentials: Bool

    init(_ fa: FunctionalAttention, _ x: LayerInput, _ ops: FunctionalAttention.Operands, _ views: LayerViews,
         head h: Int, shared: HeadReference?) {
        self.fa = fa; self.x = x; self.ops = ops; self.views = views; self.h = h; self.shared = shared
        d = x.headDim; t = x.tokens
        kvh = h / (x.heads / x.kvHeads)
        blocked = BlockedScores(fa, x, ops, head: h)
        let rows = max(t, 1), dims = max(d, 1)
        s = .allocate(capacity: rows); e = .allocate(capacity: rows)
        keep = .allocate(capacity: rows); order = .allocate(capacity: rows)
        if case .topK = fa.config.pruning { candidates = .allocate(capacity: rows) } else { candidates = .allocate(capacity: 1) }
        o = .allocate(capacity: dims)
        let block = ExactSoftmax.referenceRowsPerPass
        ref = .allocate(capacity: shared == nil ? block * rows : 1); oRef = .allocate(capacity: block * dims)
        quantizedV = ops.v.bits != 0
        vScale = .allocate(capacity: dims)
        if quantizedV { for c in 0..<d { vScale[c] = ops.v.scales[kvh * ops.v.groups + ops.v.groupOfDim[c]] } }
        nativePV = fa.nativeKernels && quantizedV
        keptRows = .allocate(capacity: nativePV ? rows : 1); keptP = .allocate(capacity: nativePV ? rows : 1)
        if case .topTheta(let tt) = fa.config.pruning { vMeanOn = tt.vMean } else { vMeanOn = false }
        switch fa.config.pruning {
        case .none, .probability: allExponentials = true
        case .topK: allExponentials = false
        case .topTheta(let tt): allExponentials = tt.placement == .probabilities || tt.denominator == .exact
        }
        vSum = .allocate(capacity: dims)
        vSum.initialize(repeating: 0, count: dims)
    }

    func deallocate() {
        blocked.deallocate()
        for p in [s, e, o, ref, oRef, vScale, keptP, vSum] { p.deallocate() }
        keep.deallocate(); order.deallocate(); candidates.deallocate(); keptRows.deallocate()
    }

    /// The datapath's fixed-point scores of row i against keys 0..<n into `s`.
    mutating func datapathScores(row i: Int, count n: Int) {
        blocked.scores(row: i, count: n, into: s, saturations: &saturations)
    }

    /// The exact reference of row i: float scores, softmax, P·V on float V (`ExactSoftmax`), shared
    /// or computed into `ref`, `oRef`. Called in increasing row order: computed for
    /// `ExactSoftmax.referenceRowsPerPass` rows at once (`referenceRows`, the same Doubles), row
    /// i0 + b into ref + b·t, oRef + b·d.
    func exactRow(_ i: Int) -> (probabilities: UnsafePointer<Double>, output: UnsafePointer<Double>) {
        let r = i - x.queryRows.lowerBound
        if let shared { return (UnsafePointer(shared.probs + shared.offsets[r]), UnsafePointer(shared.oRef + r * d)) }
        let block = ExactSoftmax.referenceRowsPerPass, b = r % block
        if b == 0 {
            let kT = ops.kT.isEmpty ? nil : views.kT! + kvh * ops.kTStride
            let rows = i..<min(i + block, x.queryRows.upperBound)
            FunctionalAttention.referenceRows(x, q: views.q!, k: views.k!, v: views.v!, kT: kT, head: h, rows: rows,
                                              ref: rows.map { ref + ($0 - i) * t }, oRef: rows.map { oRef + ($0 - i) * d })
        }
        return (UnsafePointer(ref + b * t), UnsafePointer(oRef + b * d))
    }

    /// The row's max score.
    func maxScore(count n: Int) -> Double {
        var m = -Double.infinity
        for j in 0..<n { m = max(m, s[j]) }
        return m
    }

    /// e[j] = e^(s[j] − max) through the softmax unit for every key; Σ e.
    func exponentials(count n: Int, max m: Double) -> Double {
        var sum = 0.0
        for j in 0..<n { e[j] = fa.exponent(s[j] - m); sum += e[j] }
        return sum
    }

    /// `exponentials` of the kept keys only (after `keepAtLeastOne`): the e[j] later kernels read
    /// when not `allExponentials`.
    func keptExponentials(count n: Int, max m: Double) {
        forEachKept(count: n) { j in e[j] = fa.exponent(s[j] - m) }
    }

    /// body(j) for every j < n with keep[j], in increasing j: the flags read eight at a time (a
    /// Bool is one byte, 0 or 1), so rows that keep few keys skip the rest a word at a time.
    @inline(__always) func forEachKept(count n: Int, _ body: (Int) -> Void) {
        let raw = UnsafeRawPointer(keep)
        var w = 0
        while w + 8 <= n {
            var word = raw.loadUnaligned(fromByteOffset: w, as: UInt64.self)
            while word != 0 {
                body(w + word.trailingZeroBitCount >> 3)
                word &= word &- 1  // each byte holds at most its lowest bit
            }
            w += 8
        }
        while w < n {
            if keep[w] { body(w) }
            w += 1
        }
    }

    /// The pruning decision into `keep[0..<n]`; the Top-θ threshold (−∞ for the other kinds).
    func prune(count n: Int, max m: Double, sum sumAll: Double) -> Double {
        switch fa.config.pruning {
        case .none:
            for j in 0..<n { keep[j] = true }
        case .probability(let tp):
            for j in 0..<n { keep[j] = e[j] / sumAll > tp }
        case .topTheta(let tt):
            let threshold = fa.thresholds!.threshold(layer: x.layer, head: h, length: n, k: tt.k(forLayer: x.layer))
            if tt.placement == .scores {
                for j in 0..<n { keep[j] = s[j] > threshold }
            } else {
                for j in 0..<n { keep[j] = e[j] / sumAll > threshold }
            }
            return threshold
        case .topK(let k):
            keepTopK(count: n, k: k)
        }
        return -.infinity
    }

    /// keep[j] for the k best scores under "higher score, then lower index" (all when n ≤ k).
    func keepTopK(count n: Int, k: Int) {
        if n <= k {
            for j in 0..<n { keep[j] = true }
            return
        }
        keep.update(repeating: false, count: n)
        guard k > 0 else { return }
        var nans = 0
        if fa.nativeKernels {
            nans = attnsim_count_nan_f64(s, n)
        } else {
            for j in 0..<n { nans &+= s[j].isNaN ? 1 : 0 }
        }
        if nans > 0 {
            // NaN makes the heap's order inconsistent: keep the full sort's (implementation-defined) choice.
            for j in 0..<n { order[j] = j }
            var ob = UnsafeMutableBufferPointer(start: order, count: n)
            ob.sort { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
        } else {
            // The first k of that sort, as a set, by a min-heap of k: O(n log k), not O(n log n).
            FunctionalAttention.topK(s, n: n, k: k, heap: order, candidates: candidates, native: fa.nativeKernels)
        }
        for r in 0..<k { keep[order[r]] = true }
    }

    /// When pruning kept nothing, the key with the highest score (first on ties) stays. The row's
    /// fidelity so far: kept count and keep-the-max event.
    func keepAtLeastOne(count n: Int) -> Fidelity {
        var fid = Fidelity()
        let raw = UnsafeRawPointer(keep)
        var w = 0
        while w + 8 <= n {
            fid.kept += raw.loadUnaligned(fromByteOffset: w, as: UInt64.self).nonzeroBitCount
            w += 8
        }
        while w < n {
            if keep[w] { fid.kept += 1 }
            w += 1
        }
        if fid.kept == 0 {
            var argmax = 0
            for j in 0..<n where s[j] > s[argmax] { argmax = j }
            keep[argmax] = true
            fid.kept = 1
            fid.keepMaxEvents = 1
        }
        return fid
    }

    /// The softmax denominator: Σ e over every key, or over the kept ones plus Top-θ's compensation
    /// (docs/algorithms.md).
    func denominator(count n: Int, kept: Int, max m: Double, sum sumAll: Double, threshold: Double) -> Double {
        var sumKept = 0.0
        forEachKept(count: n) { j in sumKept += e[j] }
        switch fa.config.pruning {
        case .none, .probability:
            return sumAll
        case .topK:
            return sumKept
        case .topTheta(let tt):
            if tt.placement == .probabilities { return sumAll }
            switch tt.denominator {
            case .none: return sumKept
            case .exact: return sumAll
            case .countBound:
                let bound = threshold.isFinite ? fa.exponent(min(0, threshold - m)) : 0
                return sumKept + Double(n - kept) * bound
            case .constant: return sumKept + fa.thresholds!.constant(layer: x.layer, head: h)
            }
        }
    }

    /// The probability entering P·V of a kept key: e / denominator, the fixed softmax output's
    /// rounding, clipped softmax, the probability quantizer.
    @inline(__always) func probability(_ ej: Double, denominator: Double, count n: Int) -> Double {
        var p = ej / denominator
        if case .fixed(_, let outFrac) = fa.config.softmax {
            p = (p * Double(1 << outFrac)).rounded(.toNearestOrEven) / Double(1 << outFrac)
        }
        if let clip = fa.config.clippedSoftmax {
            let gamma = -clip.alpha / Double(n)
            p = min(1, max(0, (clip.zeta - gamma) * p + gamma))
        }
        return fa.probabilityQuantizer.quantize(p)
    }

    /// Row i's probabilities and o = Σ p·V over the kept keys (in key order), kept bits set; the
    /// exact-probability counters and kept mass into `fid`. Returns Σ p.
    func probabilitiesAndPV(row i: Int, count n: Int, denominator: Double, exact ref: UnsafePointer<Double>,
                            fidelity fid: inout Fidelity, bits: SharedBuffer<UInt64>, words: Int) -> Double {
        for c in 0..<d { o[c] = 0 }
        var pSum = 0.0, pvRows = 0
        let bitRow = (h * x.queryRows.count + i - x.queryRows.lowerBound) * words
        // The exact-probability counters: integer counts, any order (no branches, SIMD lanes).
        var below1e3 = 0, below1e2 = 0
        if fa.nativeKernels {
            attnsim_count_below_f64(ref, n, 1e-3, 1e-2, &below1e3, &below1e2)
        } else {
            for j in 0..<n {
                below1e3 &+= ref[j] < 1e-3 ? 1 : 0
                below1e2 &+= ref[j] < 1e-2 ? 1 : 0
            }
        }
        fid.below1e3 += below1e3
        fid.below1e2 += below1e2
        forEachKept(count: n) { j in
            let pr = ref[j]
            let p = probability(e[j], denominator: denominator, count: n)
            // A probability that quantizes (or clips) to zero is pruned too: the hardware neither
            // multiplies it nor fetches its V row.
            guard p != 0 else { fid.kept -= 1; return }
            pSum += p
            fid.massKept += pr
            if nativePV {
                keptRows[pvRows] = Int32(j)
                keptP[pvRows] = p
                pvRows += 1
            } else {
                addV(p, row: j)
            }
            bits[bitRow + j >> 6] |= UInt64(1) << UInt64(j & 63)
        }
        if pvRows > 0 {
            // The same o[c] += p · (code · scale) in the same row order, 8 dimensions per register (CKernels).
            attnsim_pv_codes_f64(keptRows, keptP, pvRows, views.vCodes! + kvh * t * d, d, vScale, o)
        }
        return pSum
    }

    /// o[c] += w · V(j, c) for every c (V dequantized as `QuantizedTensor.value` does).
    @inline(__always) func addV(_ w: Double, row j: Int) {
        if quantizedV {
            let vc = views.vCodes! + (kvh * t + j) * d
            for c in 0..<d { o[c] += w * (Double(vc[c]) * vScale[c]) }
        } else {
            let vf = views.vValues! + (kvh * t + j) * d
            for c in 0..<d { o[c] += w * Double(vf[c]) }
        }
    }

    /// V-mean compensation: the dropped mass times the mean of the visible V rows, kept in hardware
    /// as a running sum. Rows come in increasing order and n never decreases, so the running Σ adds
    /// rows 0..<n in the same order as a sum from scratch: the same Doubles.
    mutating func vMean(count n: Int, missing: Double) {
        precondition(n >= vSumRows)
        while vSumRows < n {
            if quantizedV {
                let vc = views.vCodes! + (kvh * t + vSumRows) * d
                for c in 0..<d { vSum[c] += Double(vc[c]) * vScale[c] }
            } else {
                let vf = views.vValues! + (kvh * t + vSumRows) * d
                for c in 0..<d { vSum[c] += Double(vf[c]) }
            }
            vSumRows += 1
        }
        for c in 0..<d { o[c] += missing * vSum[c] / Double(n) }
    }

    /// Row i's output as Float into `out`, its error against the exact output into `fid`.
    func fidelity(row i: Int, count n: Int, exact oRef: UnsafePointer<Double>, out: SharedBuffer<Float>, into fid: inout Fidelity) {
        let ob = x.qOffset(head: h, row: i)
        for c in 0..<d {
            out[ob + c] = Float(o[c])
            let diff = o[c] - oRef[c]
            fid.errSq += diff * diff
            fid.refSq += oRef[c] * oRef[c]
            fid.outSq += o[c] * o[c]
            fid.dot += o[c] * oRef[c]
        }
        fid.rows = 1
        fid.visible = n
    }

    /// The head's per-phase totals: its relative L2 error and cosine as the worst-head candidates,
    /// and the Q·Kᵀ saturations (counted with the first phase that has rows).
    func headTotals(prefill: Fidelity, decode: Fidelity) -> (prefill: Fidelity, decode: Fidelity) {
        var totals = (prefill, decode), sat = saturations
        for isPre in [true, false] {
            var a = isPre ? totals.0 : totals.1
            guard a.rows > 0 else { continue }
            a.worstHeadRelL2 = a.relativeL2
            a.worstHeadCosine = a.cosine
            a.worstHead = "s\(x.sequence).l\(x.layer).h\(h)"
            a.saturations += sat
            sat = 0
            if isPre { totals.0 = a } else { totals.1 = a }
        }
        return totals
    }
}
