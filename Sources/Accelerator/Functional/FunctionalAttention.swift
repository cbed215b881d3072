import AttnCore
import CKernels
import Dispatch
import Foundation

/// Q, K, V of one (sequence, layer) as the attention unit sees them.
public struct LayerInput: Sendable {
    public var sequence: Int
    public var layer: Int
    public var heads: Int
    public var kvHeads: Int
    public var tokens: Int
    public var headDim: Int
    public var causal: Bool
    public var scale: Double
    /// Rows before this are prefill; each later row is one decode step.
    public var promptTokens: Int
    /// Absolute positions of the query rows `q` holds: all T rows for a replayed trace layer; a
    /// sub-range when the unit is called on some rows only (a decode step: the last row).
    public var queryRows: Range<Int>
    /// [heads, queryRows.count, d]
    public var q: [Float]
    /// Q of every row 0..<T [heads, T, d], when `q` holds a sub-range of a replayed layer: the
    /// input quantizer takes Q's ranges (and PEG groups) from all rows, so the sub-range's codes are
    /// the ones a replay computing every row uses (nil: from `q`).
    public var qAllRows: [Float]?
    /// [kvHeads, T, d]
    public var k: [Float]
    public var v: [Float]

    public init(sequence: Int, layer: Int, heads: Int, kvHeads: Int, tokens: Int, headDim: Int, causal: Bool,
                scale: Double, promptTokens: Int, queryRows: Range<Int>? = nil, q: [Float], qAllRows: [Float]? = nil, k: [Float], v: [Float]) {
        let rows = queryRows ?? 0..<tokens
        precondition(rows.lowerBound >= 0 && rows.upperBound <= tokens)
        precondition(q.count == heads * rows.count * headDim && k.count == kvHeads * tokens * headDim && v.count == k.count)
        precondition(qAllRows.map { $0.count == heads * tokens * headDim } ?? true)
        self.qAllRows = qAllRows
        precondition(heads % kvHeads == 0)
        self.queryRows = rows
        self.sequence = sequence
        self.layer = layer
        self.heads = heads
        self.kvHeads = kvHeads
        self.tokens = tokens
        self.headDim = headDim
        self.causal = causal
        self.scale = scale
        self.promptTokens = promptTokens
        self.q = q
        self.k = k
        self.v = v
    }

    /// Keys visible to row i (an absolute position).
    @inlinable public func visible(_ i: Int) -> Int { causal ? i + 1 : tokens }

    /// Offset of absolute row i of head h in `q` (and in the output).
    @inlinable public func qOffset(head h: Int, row i: Int) -> Int { (h * queryRows.count + i - queryRows.lowerBound) * headDim }
}

/// Accuracy and work counters, summable over heads, layers, sequences.
public struct Fidelity: Sendable, Equatable {
    /// Σ‖o − o_ref‖², Σ‖o_ref‖², Σ o·o_ref, Σ‖o‖² over every output row counted.
    public var errSq = 0.0, refSq = 0.0, dot = 0.0, outSq = 0.0
    /// Worst per-head relative L2 error and the head it came from ("s0.l3.h5").
    public var worstHeadRelL2 = 0.0
    public var worstHead = ""
    /// Worst per-head cosine similarity.
    public var worstHeadCosine = 1.0
    public var rows = 0
    public var visible = 0
    public var kept = 0
    /// Σ over rows of the exact attention probability mass on kept positions.
    public var massKept = 0.0
    public var saturations = 0
    public var keepMaxEvents = 0
    /// Σ over rows of visible elements with exact probability below 1e-3 and 1e-2.
    public var below1e3 = 0, below1e2 = 0

    public init() {}

    public var relativeL2: Double { refSq > 0 ? (errSq / refSq).squareRoot() : 0 }
    public var cosine: Double { refSq > 0 && outSq > 0 ? dot / (refSq * outSq).squareRoot() : 1 }
    public var keptFraction: Double { visible > 0 ? Double(kept) / Double(visible) : 1 }
    public var attentionMassKept: Double { rows > 0 ? massKept / Double(rows) : 1 }

    public static func += (a: inout Fidelity, b: Fidelity) {
        a.errSq += b.errSq; a.refSq += b.refSq; a.dot += b.dot; a.outSq += b.outSq
        if b.worstHeadRelL2 > a.worstHeadRelL2 || a.worstHead.isEmpty && !b.worstHead.isEmpty {
            if b.worstHeadRelL2 >= a.worstHeadRelL2 { a.worstHeadRelL2 = b.worstHeadRelL2; a.worstHead = b.worstHead }
        }
        a.worstHeadCosine = min(a.worstHeadCosine, b.worstHeadCosine)
        a.rows += b.rows; a.visible += b.visible; a.kept += b.kept; a.massKept += b.massKept
        a.saturations += b.saturations; a.keepMaxEvents += b.keepMaxEvents
        a.below1e3 += b.below1e3; a.below1e2 += b.below1e2
    }
}

/// The result of one (sequence, layer) through the functional model.
public struct LayerResult: Sendable {
    /// Approximate attention output [heads, T, d].
    public var output: [Float]
    /// Accuracy over prefill rows and decode rows separately.
    public var prefill: Fidelity
    public var decode: Fidelity
    /// One per KV head and phase that has rows.
    public var activities: [HeadActivity]
}

/// The bit-accurate functional model of the attention unit for one configuration.
public struct FunctionalAttention: Sendable {
    public let config: AttentionConfig
    public let thresholds: TopThetaThresholds?
    let probabilityQuantizer: ProbabilityQuantizer
    /// Whether the integer Q·Kᵀ, the quantized P·V and the exact reference may use the CKernels
    /// AVX-512 kernels (when the CPU has them): the same integers and Doubles as the portable Swift
    /// path, bit for bit (`NativeKernelTests`).
    public let nativeKernels: Bool

    /// Whether this CPU runs the AVX-512 VNNI kernels.
    public static let cpuHasVNNI = attnsim_has_avx512_vnni() != 0

    public init(config: AttentionConfig, thresholds: TopThetaThresholds? = nil, nativeKernels: Bool = true) {
        if case .topTheta = config.pruning { precondition(thresholds != nil, "Top-θ needs calibrated thresholds") }
        self.config = config
        self.thresholds = thresholds
        self.probabilityQuantizer = ProbabilityQuantizer(config.probabilityQuantization)
        self.nativeKernels = nativeKernels && Self.cpuHasVNNI
    }

    /// Quantized operands of one layer.
    struct Operands {
        let q: QuantizedTensor, k: QuantizedTensor, v: QuantizedTensor
        /// Q and K codes as Int16, when one scale group each and max|q|·max|k| fits Int16 (Q·Kᵀ
        /// products are then exact 16-bit multiplies; `scores` uses them). Empty otherwise.
        var q16: [Int16] = [], k16: [Int16] = []
        /// K codes packed per KV head for `attnsim_qk_i8_vnni` (`kPackedStride` bytes each) and
        /// their row sums, when the native kernel is on and Q, K are 8-bit codes with one scale
        /// group each and d ≤ ATTNSIM_QK_MAX_D. Empty otherwise.
        var k8: [Int8] = [], kSum: [Int32] = []
        var kPackedStride = 0
        /// Float K in `attnsim_ref_scores_f64`'s layout (blocks of 8 keys transposed), `kTStride`
        /// floats per KV head, for the exact reference with the native kernels. Empty otherwise.
        var kT: [Float] = []
        var kTStride = 0

        init(q: QuantizedTensor, k: QuantizedTensor, v: QuantizedTensor, native: Bool = false) {
            self.q = q
            self.k = k
            self.v = v
            if Self.packsK(qBits: q.bits, kBits: k.bits, groups: max(q.groups, k.groups), dim: k.dim, native: native) {
                let stride = attnsim_qk_packed_bytes(k.tokens, k.dim)
                var packed = [Int8](repeating: 0, count: k.heads * stride)
                var sums = [Int32](repeating: 0, count: k.heads * k.tokens)
                k.codes.withUnsafeBufferPointer { kc in
                    packed.withUnsafeMutableBufferPointer { pb in
                        sums.withUnsafeMutableBufferPointer { sb in
                            for h in 0..<k.heads {
                                attnsim_qk_pack_i8(kc.baseAddress! + h * k.tokens * k.dim, k.tokens, k.dim,
                                                   pb.baseAddress! + h * stride, sb.baseAddress! + h * k.tokens)
                            }
                        }
                    }
                }
                k8 = packed
                kSum = sums
                kPackedStride = stride
                return
            }
            if Self.int16Codes(qBits: q.bits, kBits: k.bits, groups: max(q.groups, k.groups)) {
                q16 = q.codes.map { Int16($0) }
                k16 = k.codes.map { Int16($0) }
            }
        }

        /// Whether `init` packs K for the VNNI kernel (`k8`): the native kernels on, Q and K 8-bit
        /// codes or narrower, one scale group, d ≤ ATTNSIM_QK_MAX_D.
        static func packsK(qBits: Int, kBits: Int, groups: Int, dim: Int, native: Bool) -> Bool {
            native && qBits > 0 && kBits > 0 && qBits <= 8 && kBits <= 8 && groups == 1 && dim <= Int(ATTNSIM_QK_MAX_D)
        }

        /// Whether `init` keeps Q and K codes as Int16 (`q16`, `k16`) when it does not pack K.
        static func int16Codes(qBits: Int, kBits: Int, groups: Int) -> Bool {
            qBits > 0 && kBits > 0 && groups == 1 && FixedPoint.maxCode(bits: qBits) * FixedPoint.maxCode(bits: kBits) <= Int(Int16.max)
        }

        /// The float K of the layer (`k` is [kvHeads, T, d]) in `attnsim_ref_scores_f64`'s layout
        /// and the floats per KV head.
        static func transposed(_ x: LayerInput) -> (kT: [Float], stride: Int) {
            let stride = (x.tokens + 7) / 8 * 8 * x.headDim
            var out = [Float](repeating: 0, count: max(x.kvHeads * stride, 1))
            x.k.withUnsafeBufferPointer { kb in
                out.withUnsafeMutableBufferPointer { ob in
                    for h in 0..<x.kvHeads {
                        attnsim_transpose8_f32(kb.baseAddress! + h * x.tokens * x.headDim, x.tokens, x.headDim, ob.baseAddress! + h * stride)
                    }
                }
            }
            return (out, stride)
        }
    }

    /// Q, K and (unless `values` is false: V left unquantized) V through the input quantizers.
    func quantize(_ x: LayerInput, values: Bool = true) -> Operands {
        let c = config
        let qSource = x.qAllRows ?? x.q
        let qkGroups = c.granularity == .peg
            ? QuantizedTensor.pegGroups([qSource, x.k], dim: x.headDim, groups: min(c.pegGroups, x.headDim)) : nil
        var q = QuantizedTensor(qSource, heads: x.heads, tokens: x.qAllRows == nil ? x.queryRows.count : x.tokens, dim: x.headDim,
                                bits: c.qBits, granularity: c.granularity, pegGroups: c.pegGroups, calibration: c.rangeCalibration,
                                rounding: c.rounding, sharedGroups: qkGroups)
        if x.qAllRows != nil { q = q.rows(x.queryRows) }
        return Operands(
            q: q,
            k: QuantizedTensor(x.k, heads: x.kvHeads, tokens: x.tokens, dim: x.headDim, bits: c.kBits, granularity: c.granularity,
                               pegGroups: c.pegGroups, calibration: c.rangeCalibration, rounding: c.rounding, sharedGroups: qkGroups),
            v: QuantizedTensor(x.v, heads: x.kvHeads, tokens: x.tokens, dim: x.headDim, bits: values ? c.vBits : 0, granularity: c.granularity,
                               pegGroups: c.pegGroups, calibration: c.rangeCalibration, rounding: c.rounding),
            native: nativeKernels)
    }

    /// Whether plain integer sums of d products of qBits × kBits codes are exact under the
    /// accumulator (no partial sum can leave its range, so it never clamps), and that bound
    /// d · max|q| · max|k|.
    func exactSums(d: Int, qBits: Int, kBits: Int) -> (fits: Bool, bound: Int64) {
        let bound = Int64(d) * Int64(FixedPoint.maxCode(bits: qBits)) * Int64(FixedPoint.maxCode(bits: kBits))
        return (config.accBits >= 64 || bound <= (Int64(1) << (config.accBits - 1)) - 1, bound)
    }

    /// The factor that turns head h's integer Q·Kᵀ sums into scores when `scores` takes the VNNI
    /// kernel for it (K packed: 8-bit codes, one scale group; sums that cannot saturate), else nil.
    /// Then `nativeDots` of up to ATTNSIM_QK_MAX_ROWS rows at once, times this factor, are the
    /// Doubles `scores` writes.
    func nativeScoreScale(_ x: LayerInput, _ ops: Operands, head h: Int) -> Double? {
        guard !ops.k8.isEmpty else { return nil }
        let (fits, bound) = exactSums(d: x.headDim, qBits: ops.q.bits, kBits: ops.k.bits)
        guard fits && bound <= Int64(Int32.max) else { return nil }
        let kvh = h / (x.heads / x.kvHeads)
        return ops.q.scales[h] * ops.k.scales[kvh] * x.scale
    }

    /// Exact Int32 Σ q·k of query rows `rows` (absolute, at most ATTNSIM_QK_MAX_ROWS) of head h
    /// against keys 0..<n (VNNI kernel, K loaded once for all the rows): dots[r · stride + j].
    /// Needs `ops.k8` (packed K).
    func nativeDots(_ x: LayerInput, _ ops: Operands, head h: Int, rows: Range<Int>, count n: Int,
                    into dots: UnsafeMutablePointer<Int32>, stride: Int) {
        precondition(rows.count >= 1 && rows.count <= Int(ATTNSIM_QK_MAX_ROWS) && !ops.k8.isEmpty)
        let kvh = h / (x.heads / x.kvHeads)
        ops.q.codes.withUnsafeBufferPointer { qc in
            ops.k8.withUnsafeBufferPointer { kp in
                ops.kSum.withUnsafeBufferPointer { ks in
                    attnsim_qk_i8_vnni_rows(qc.baseAddress! + x.qOffset(head: h, row: rows.lowerBound), x.headDim, Int32(rows.count),
                                            x.headDim, kp.baseAddress! + kvh * ops.kPackedStride, ks.baseAddress! + kvh * x.tokens,
                                            n, dots, stride)
                }
            }
        }
    }

    /// Scores of row i of query head h against keys 0..<n through the fixed-point datapath:
    /// integer Q·Kᵀ per scale group (accumulators saturate at accBits), rescaled, times the softmax scale.
    func scores(_ x: LayerInput, _ ops: Operands, head h: Int, row i: Int, count n: Int, into s: UnsafeMutablePointer<Double>,
                saturations: inout Int) {
        if ops.q.bits == 0 || ops.k.bits == 0 {
            floatScores(x, ops, head: h, row: i, count: n, into: s)
        } else if max(ops.q.groups, ops.k.groups) == 1 {
            integerScores(x, ops, head: h, row: i, count: n, into: s, saturations: &saturations)
        } else {
            pegScores(x, ops, head: h, row: i, count: n, into: s, saturations: &saturations)
        }
    }

    /// `scores` when Q or K is not quantized: Σ of Double products of the (dequantized) values.
    func floatScores(_ x: LayerInput, _ ops: Operands, head h: Int, row i: Int, count n: Int, into s: UnsafeMutablePointer<Double>) {
        let kvh = h / (x.heads / x.kvHeads)
        for j in 0..<n {
            var dot = 0.0
            for c in 0..<x.headDim {
                dot += ops.q.value(head: h, token: i - x.queryRows.lowerBound, dim: c) * ops.k.value(head: kvh, token: j, dim: c)
            }
            s[j] = dot * x.scale
        }
    }

    /// `scores` with one scale per head for Q and K: one integer accumulator per score.
    func integerScores(_ x: LayerInput, _ ops: Operands, head h: Int, row i: Int, count n: Int, into s: UnsafeMutablePointer<Double>,
                       saturations: inout Int) {
        let d = x.headDim
        let kvh = h / (x.heads / x.kvHeads)
        let qT = ops.q, kT = ops.k
        let qBase = x.qOffset(head: h, row: i)
        let sc = qT.scales[h] * kT.scales[kvh] * x.scale
        // A saturating accumulator clamps after every addition. When no partial sum can leave
        // the accumulator's range (d · max|q| · max|k| fits), plain integer sums are exact, in
        // any order: SIMD lanes. With Int32 lanes when the bound fits Int32 too (always for the
        // default 32-bit accumulator), from 16-bit products when max|q|·max|k| fits Int16.
        let (fits, bound) = exactSums(d: d, qBits: qT.bits, kBits: kT.bits)
        if fits && bound <= Int64(Int32.max) {
            if !ops.k8.isEmpty {
                // AVX-512 VNNI: 8-bit codes, exact Int32 sums (the bound above), 64 MACs per instruction.
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(n, 1)) { dots in
                    nativeDots(x, ops, head: h, rows: i..<i + 1, count: n, into: dots.baseAddress!, stride: n)
                    for j in 0..<n { s[j] = Double(dots[j]) * sc }
                }
            } else if !ops.q16.isEmpty {
                ops.q16.withUnsafeBufferPointer { qc in
                    ops.k16.withUnsafeBufferPointer { kc in
                        for j in 0..<n {
                            s[j] = Double(Self.dot16(qc.baseAddress! + qBase, kc.baseAddress! + (kvh * x.tokens + j) * d, d)) * sc
                        }
                    }
                }
            } else {
                qT.codes.withUnsafeBufferPointer { qc in
                    kT.codes.withUnsafeBufferPointer { kc in
                        for j in 0..<n {
                            s[j] = Double(Self.dot32(qc.baseAddress! + qBase, kc.baseAddress! + (kvh * x.tokens + j) * d, d)) * sc
                        }
                    }
                }
            }
            return
        }
        qT.codes.withUnsafeBufferPointer { qc in
            kT.codes.withUnsafeBufferPointer { kc in
                for j in 0..<n {
                    let kBase = (kvh * x.tokens + j) * d
                    var acc: Int64 = 0
                    if fits {
                        for c in 0..<d { acc &+= Int64(qc[qBase + c]) &* Int64(kc[kBase + c]) }
                    } else {
                        var clipped = false
                        for c in 0..<d {
                            var unused = 0
                            let next = FixedPoint.saturate(acc + Int64(qc[qBase + c]) * Int64(kc[kBase + c]), bits: config.accBits, events: &unused)
                            if unused > 0 { clipped = true }
                            acc = next
                        }
                        if clipped { saturations += 1 }
                    }
                    s[j] = Double(acc) * sc
                }
            }
        }
    }

    /// `scores` under PEG: one accumulator per embedding group, rescaled and summed (K rescales per output).
    func pegScores(_ x: LayerInput, _ ops: Operands, head h: Int, row i: Int, count n: Int, into s: UnsafeMutablePointer<Double>,
                   saturations: inout Int) {
        let d = x.headDim
        let kvh = h / (x.heads / x.kvHeads)
        let qT = ops.q, kT = ops.k
        let groups = max(qT.groups, kT.groups)
        let qBase = x.qOffset(head: h, row: i)
        var acc = [Int64](repeating: 0, count: groups)
        for j in 0..<n {
            let kBase = (kvh * x.tokens + j) * d
            for g in 0..<groups { acc[g] = 0 }
            var clipped = 0
            for c in 0..<d {
                let g = qT.groupOfDim[c]
                acc[g] = FixedPoint.saturate(acc[g] + Int64(qT.codes[qBase + c]) * Int64(kT.codes[kBase + c]),
                                             bits: config.accBits, events: &clipped)
            }
            if clipped > 0 { saturations += 1 }
            var total = 0.0
            for g in 0..<groups {
                total += Double(acc[g]) * qT.scales[h * qT.groups + g] * kT.scales[kvh * kT.groups + g]
            }
            s[j] = total * x.scale
        }
    }

    /// The datapath's first stage alone: the fixed-point Q·Kᵀ scores of every query row against its
    /// visible keys, [heads, queryRows.count, tokens] (keys a row cannot see stay 0), and the number
    /// of (row, key) dot products whose accumulator saturated. Q and K are quantized as in `run`;
    /// heads in parallel. The same `scores` that `run` uses.
    public func scoreStage(_ x: LayerInput) -> (scores: [Double], saturations: Int) {
        let ops = quantize(x, values: false)
        let t = x.tokens, nq = x.queryRows.count
        var out = [Double](repeating: 0, count: x.heads * nq * t)
        var sats = [Int](repeating: 0, count: x.heads)
        out.withUnsafeMutableBufferPointer { ob in
            sats.withUnsafeMutableBufferPointer { sb in
                let o = SharedBuffer(ob), sp = SharedBuffer(sb)
                DispatchQueue.concurrentPerform(iterations: x.heads) { h in
                    var row = [Double](repeating: 0, count: t)
                    var sat = 0
                    let blocked = BlockedScores(self, x, ops, head: h)
                    defer { blocked.deallocate() }
                    for i in x.queryRows {
                        let n = x.visible(i)
                        blocked.scores(row: i, count: n, into: &row, saturations: &sat)
                        let base = (h * nq + i - x.queryRows.lowerBound) * t
                        for j in 0..<n { o[base + j] = row[j] }
                    }
                    sp[h] = sat
                }
            }
        }
        return (out, sats.reduce(0, +))
    }

    /// Σ q[c]·k[c] for 16-bit codes whose products fit Int16, summed in Int32 (exact when the
    /// caller's bound d·max|q|·max|k| fits Int32). Eight 16-bit products per multiply; each pair of
    /// products, seen as one Int32 lane, is split back into two sign-extended halves by shifts.
    @inline(__always) static func dot16(_ q: UnsafePointer<Int16>, _ k: UnsafePointer<Int16>, _ d: Int) -> Int32 {
        let qr = UnsafeRawPointer(q), kr = UnsafeRawPointer(k)
        var acc0 = SIMD4<Int32>(), acc1 = SIMD4<Int32>()
        var c = 0
        while c + 16 <= d {
            let p0 = qr.loadUnaligned(fromByteOffset: 2 * c, as: SIMD8<Int16>.self) &* kr.loadUnaligned(fromByteOffset: 2 * c, as: SIMD8<Int16>.self)
            let p1 = qr.loadUnaligned(fromByteOffset: 2 * c + 16, as: SIMD8<Int16>.self) &* kr.loadUnaligned(fromByteOffset: 2 * c + 16, as: SIMD8<Int16>.self)
            let w0 = unsafeBitCast(p0, to: SIMD4<Int32>.self), w1 = unsafeBitCast(p1, to: SIMD4<Int32>.self)
            acc0 &+= ((w0 &<< 16) &>> 16) &+ (w0 &>> 16)
            acc1 &+= ((w1 &<< 16) &>> 16) &+ (w1 &>> 16)
            c += 16
        }
        var total = (acc0 &+ acc1).wrappedSum()
        while c < d { total &+= Int32(q[c]) &* Int32(k[c]); c += 1 }
        return total
    }

    /// Σ q[c]·k[c] in Int32 lanes (exact when the caller's bound d·max|q|·max|k| fits Int32).
    @inline(__always) static func dot32(_ q: UnsafePointer<Int32>, _ k: UnsafePointer<Int32>, _ d: Int) -> Int32 {
        let qr = UnsafeRawPointer(q), kr = UnsafeRawPointer(k)
        var acc = SIMD8<Int32>()
        var c = 0
        while c + 8 <= d {
            acc &+= qr.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Int32>.self) &* kr.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Int32>.self)
            c += 8
        }
        var total = acc.wrappedSum()
        while c < d { total &+= q[c] &* k[c]; c += 1 }
        return total
    }

    /// The indices of the k best of s[0..<n] (no NaN; 0 < k < n) under "a before b when s[a] > s[b],
    /// or s[a] == s[b] and a < b" into heap[0..<k], in heap order; `candidates` holds n Ints of
    /// scratch; `native`: `topKCandidates` by its AVX-512 twin (the same Ints).
    ///
    /// First the candidates (`topKCandidates`), then a min-heap of k over them.
    static func topK(_ s: UnsafePointer<Double>, n: Int, k: Int, heap: UnsafeMutablePointer<Int>,
                     candidates: UnsafeMutablePointer<Int>, native: Bool) {
        precondition(k > 0 && k < n)
        let count = native ? attnsim_topk_candidates_f64(s, n, k, candidates) : topKCandidates(s, n: n, k: k, into: candidates)
        @inline(__always) func before(_ a: Int, _ b: Int) -> Bool { s[a] > s[b] || (s[a] == s[b] && a < b) }
        // Min-heap: heap[0] is the worst of the kept (every parent comes after its children).
        @inline(__always) func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < k && before(heap[worst], heap[l]) { worst = l }
                if r < k && before(heap[worst], heap[r]) { worst = r }
                if worst == i { return }
                let t = heap[i]; heap[i] = heap[worst]; heap[worst] = t
                i = worst
            }
        }
        for r in 0..<k { heap[r] = candidates[r] }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        // Candidate j enters when before(j, heap[0]). Candidates come in increasing index order, so
        // every index in the heap is below j and the tie clause (equal scores, j < heap[0]) never
        // holds: j enters exactly when s[j] > s[heap[0]], the heap's worst score, kept in `worst`.
        var worst = s[heap[0]]
        for c in k..<count {
            let j = candidates[c]
            if s[j] > worst {
                heap[0] = j
                siftDown(0)
                worst = s[heap[0]]
            }
        }
    }

    /// The keys that can be among the k best of s[0..<n] (no NaN; 0 < k < n), in increasing index
    /// order, into candidates[0..<count]; returns count. Split the keys into m ≥ k blocks
    /// (b·n/m ..< (b+1)·n/m, none empty): the m block maxima are m distinct keys, so the k-th best
    /// score is at least L, the k-th largest of the block maxima. Keys scoring below L cannot be
    /// among the k best (k keys score L or more), and at least k keys score L or more: the k best
    /// of those (under `topK`'s order) are the k best of all. m = `topKBlocks`: 4k blocks for small
    /// k (a tighter L, fewer candidates), k for larger k (where keeping the k best maxima would cost
    /// more than it saves).
    static func topKCandidates(_ s: UnsafePointer<Double>, n: Int, k: Int, into candidates: UnsafeMutablePointer<Int>) -> Int {
        let m = topKBlocks(n: n, k: k)
        // The k largest block maxima, in decreasing order (a value equal to the k-th changes nothing).
        let bound = withUnsafeTemporaryAllocation(of: Double.self, capacity: k) { best -> Double in
            best.initialize(repeating: -.infinity)
            for b in 0..<m {
                var mx = -Double.infinity
                for j in (b * n / m)..<((b + 1) * n / m) where s[j] > mx { mx = s[j] }
                guard mx > best[k - 1] else { continue }
                var i = k - 1
                while i > 0 && best[i - 1] < mx { best[i] = best[i - 1]; i -= 1 }
                best[i] = mx
            }
            return best[k - 1]
        }
        var count = 0
        for j in 0..<n where s[j] >= bound {
            candidates[count] = j
            count += 1
        }
        return count
    }

    /// The number of blocks `topKCandidates` (and `attnsim_topk_candidates_f64`) split a row into.
    static func topKBlocks(n: Int, k: Int) -> Int { k <= Int(ATTNSIM_TOPK_SMALL_K) ? min(4 * k, n) : k }

    /// e^(s − max) through the softmax unit's arithmetic.
    @inlinable func exponent(_ z: Double) -> Double {
        switch config.softmax {
        case .float:
            return exp(z)
        case .fixed(let inFrac, let outFrac):
            let zq = (z * Double(1 << inFrac)).rounded(.toNearestOrEven) / Double(1 << inFrac)
            return (exp(zq) * Double(1 << outFrac)).rounded(.toNearestOrEven) / Double(1 << outFrac)
        }
    }

    public func run(_ x: LayerInput) -> LayerResult { Self.run([self], x)[0] }

    /// `run` of every configuration in `fas` on the same layer: the same results, bit for bit
    /// (`SharedReferenceTests`), but with more than one configuration the exact float reference of
    /// each head (softmax probabilities of every row, n·(n+1)/2 Doubles causal, and the reference
    /// outputs) is computed once and read by all of them. Heads run in parallel; each worker holds
    /// one head's reference at a time.
    public static func run(_ fas: [FunctionalAttention], _ x: LayerInput) -> [LayerResult] { run(fas, x, operands: nil) }

    /// `run(_:_:)` on operands already quantized (`operands[m]` for `fas[m]`, with `kT` set as
    /// `run` would when the configuration computes its own reference) — a decode step's kept
    /// `QuantizedKVCache` — or, with nil, quantized here.
    static func run(_ fas: [FunctionalAttention], _ x: LayerInput, operands: [Operands]?) -> [LayerResult] {
        precondition(!fas.isEmpty && (operands?.count ?? fas.count) == fas.count)
        let sharing = fas.count > 1
        let d = x.headDim, t = x.tokens, nq = x.queryRows.count
        let words = (t + 63) / 64
        // Float K in the native reference layout: per configuration when each computes its own
        // reference, once for the shared one.
        let sharedKT = sharing && fas[0].nativeKernels && d > 0 ? Operands.transposed(x) : nil
        let opsList = operands ?? fas.map { fa in
            var q = fa.quantize(x)
            if !sharing && fa.nativeKernels && d > 0 { (q.kT, q.kTStride) = Operands.transposed(x) }
            return q
        }
        let outs = fas.map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: x.heads * nq * d) }
        let bits = fas.map { _ in UnsafeMutableBufferPointer<UInt64>.allocate(capacity: x.heads * nq * words) }
        let fids = fas.map { _ in UnsafeMutableBufferPointer<(Fidelity, Fidelity)>.allocate(capacity: x.heads) }
        defer { for m in fas.indices { outs[m].deallocate(); bits[m].deallocate(); fids[m].deallocate() } }
        for m in fas.indices {
            outs[m].initialize(repeating: 0)
            bits[m].initialize(repeating: 0)
            fids[m].initialize(repeating: (Fidelity(), Fidelity()))
        }
        let outP = outs.map(SharedBuffer.init), bitP = bits.map(SharedBuffer.init), fidP = fids.map(SharedBuffer.init)
        DispatchQueue.concurrentPerform(iterations: x.heads) { h in
            let shared = sharing ? HeadReference(x, kT: sharedKT, head: h) : nil
            for m in fas.indices {
                fidP[m][h] = fas[m].runHead(x, opsList[m], head: h, words: words, out: outP[m], bits: bitP[m], shared: shared)
            }
        }
        return fas.indices.map { m in
            fas[m].finish(x, opsList[m], output: Array(outs[m]), keptBits: Array(bits[m]), fidelity: Array(fids[m]))
        }
    }

    /// The layer's result from its heads' outputs, kept bits and fidelity.
    func finish(_ x: LayerInput, _ ops: Operands, output: [Float], keptBits: [UInt64], fidelity: [(Fidelity, Fidelity)]) -> LayerResult {
        let d = x.headDim, t = x.tokens
        let group = x.heads / x.kvHeads
        let words = (t + 63) / 64
        let nq = x.queryRows.count
        let pre = fidelity.map(\.0), dec = fidelity.map(\.1)
        let initialSaturations = ops.q.saturated + ops.k.saturated + ops.v.saturated
        var prefill = Fidelity(), decode = Fidelity()
        for h in 0..<x.heads {
            prefill += pre[h]
            decode += dec[h]
        }
        prefill.saturations += initialSaturations

        var activities: [HeadActivity] = []
        let q0 = x.queryRows.lowerBound
        let phases: [(HeadActivity.Phase, Range<Int>)] = [(HeadActivity.Phase.prefill, 0..<x.promptTokens), (.decode, x.promptTokens..<t)]
            .map { (phase: HeadActivity.Phase, rows: Range<Int>) in (phase, rows.clamped(to: x.queryRows)) }
        for (phase, rows) in phases where !rows.isEmpty {
            let keyCounts = rows.map { Int32(x.visible($0)) }
            let wpr = ((keyCounts.max().map(Int.init) ?? 0) + 63) / 64
            for kvh in 0..<x.kvHeads {
                var kept: [UInt64] = []
                if config.pruning != .none || config.probabilityQuantization != .none || config.clippedSoftmax != nil {
                    kept = [UInt64](repeating: 0, count: group * rows.count * wpr)
                    for gh in 0..<group {
                        let h = kvh * group + gh
                        for (ri, r) in rows.enumerated() {
                            for w in 0..<wpr { kept[(gh * rows.count + ri) * wpr + w] = keptBits[(h * nq + r - q0) * words + w] }
                        }
                    }
                }
                activities.append(HeadActivity(sequence: x.sequence, layer: x.layer, kvHead: kvh, queryHeads: group,
                                               headDim: d, phase: phase, firstRowPosition: rows.lowerBound,
                                               keyCounts: keyCounts, kept: kept))
            }
        }
        return LayerResult(output: output, prefill: prefill, decode: decode, activities: activities)
    }

    /// The exact reference of absolute row i of head h: float scores, softmax, P·V on float V
    /// (`ExactSoftmax.referenceRow`, Double) — probabilities into ref[0..<visible(i)], outputs into
    /// oRef[0..<d]. q, k, v are the layer's float tensors; with kT (this KV head's K in
    /// `attnsim_ref_scores_f64`'s layout) the AVX-512 kernels compute the same Doubles.
    static func referenceRow(_ x: LayerInput, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             kT: UnsafePointer<Float>?, head h: Int, row i: Int,
                             ref: UnsafeMutablePointer<Double>, oRef: UnsafeMutablePointer<Double>) {
        let kv = h / (x.heads / x.kvHeads) * x.tokens * x.headDim
        ExactSoftmax.referenceRow(q: q + x.qOffset(head: h, row: i), keys: .init(k + kv, transposed: kT), v: v + kv, d: x.headDim,
                                  n: x.visible(i), scale: x.scale, probabilities: ref, out: oRef)
    }

    /// `referenceRow` of consecutive absolute rows of head h (`ExactSoftmax.referenceRows`: several
    /// rows per pass over K and V, the same Doubles): row `rows.lowerBound + r` into ref[r], oRef[r].
    static func referenceRows(_ x: LayerInput, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              kT: UnsafePointer<Float>?, head h: Int, rows: Range<Int>,
                              ref: [UnsafeMutablePointer<Double>], oRef: [UnsafeMutablePointer<Double>]) {
        let kv = h / (x.heads / x.kvHeads) * x.tokens * x.headDim
        ExactSoftmax.referenceRows(q: rows.map { q + x.qOffset(head: h, row: $0) }, keys: .init(k + kv, transposed: kT), v: v + kv,
                                   d: x.headDim, n: rows.map { x.visible($0) }, scale: x.scale, probabilities: ref, out: oRef)
    }
}

/// `FunctionalAttention.scores` of one head's query rows, called in increasing row order: where the
/// VNNI kernel applies, the integer sums of ATTNSIM_QK_MAX_ROWS rows are computed at once (each K
/// block loaded once for all of them) and each row's scores are read from them — the same Doubles
/// (`NativeKernelTests`); elsewhere `scores` row by row.
struct BlockedScores {
    let fa: FunctionalAttention, x: LayerInput, ops: FunctionalAttention.Operands, head: Int
    let scale: Double?
    let dots: UnsafeMutablePointer<Int32>
    static let rows = Int(ATTNSIM_QK_MAX_ROWS)

    init(_ fa: FunctionalAttention, _ x: LayerInput, _ ops: FunctionalAttention.Operands, head: Int) {
        self.fa = fa; self.x = x; self.ops = ops; self.head = head
        scale = fa.nativeScoreScale(x, ops, head: head)
        dots = .allocate(capacity: scale == nil ? 1 : Self.rows * max(x.tokens, 1))
    }

    func deallocate() { dots.deallocate() }

    func scores(row i: Int, count n: Int, into s: UnsafeMutablePointer<Double>, saturations: inout Int) {
        guard let sc = scale else {
            fa.scores(x, ops, head: head, row: i, count: n, into: s, saturations: &saturations)
            return
        }
        let q0 = x.queryRows.lowerBound, t = x.tokens
        let r = (i - q0) % Self.rows
        if r == 0 {
            let rows = i..<min(i + Self.rows, x.queryRows.upperBound)
            // The last row of the block sees the most keys (causal) or all of them.
            fa.nativeDots(x, ops, head: head, rows: rows, count: x.visible(rows.upperBound - 1), into: dots, stride: t)
        }
        let dr = dots + r * t
        for j in 0..<n { s[j] = Double(dr[j]) * sc }
    }
}

/// The exact float reference of one head of a layer, every query row: its softmax probabilities
/// (row r's visible keys from `offsets[r]`) and reference outputs (d per row). Computed once and
/// read by every configuration of `FunctionalAttention.run(_:_:)`, a few rows per pass over K and V
/// (`referenceRows`); n·(n+1)/2 Doubles for a causal
/// head of n rows (268 MB at 8,192 tokens), freed when the head is done.
final class HeadReference: @unchecked Sendable {
    let probs: UnsafeMutablePointer<Double>, oRef: UnsafeMutablePointer<Double>
    let offsets: [Int]

    init(_ x: LayerInput, kT: (kT: [Float], stride: Int)?, head h: Int) {
        var offsets: [Int] = [], total = 0
        for i in x.queryRows { offsets.append(total); total += x.visible(i) }
        self.offsets = offsets
        probs = .allocate(capacity: max(total, 1))
        oRef = .allocate(capacity: max(x.queryRows.count * x.headDim, 1))
        let kvh = h / (x.heads / x.kvHeads)
        x.q.withUnsafeBufferPointer { q in
            x.k.withUnsafeBufferPointer { k in
                x.v.withUnsafeBufferPointer { v in
                    (kT?.kT ?? []).withUnsafeBufferPointer { kt in
                        // Every row at once: `referenceRows` takes them a few per pass over K and V.
                        let rows = x.queryRows, q0 = rows.lowerBound
                        FunctionalAttention.referenceRows(x, q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!,
                                                          kT: kT.map { kt.baseAddress! + kvh * $0.stride }, head: h, rows: rows,
                                                          ref: rows.map { probs + offsets[$0 - q0] },
                                                          oRef: rows.map { oRef + ($0 - q0) * x.headDim })
                    }
                }
            }
        }
    }

    deinit {
        probs.deallocate()
        oRef.deallocate()
    }
}
