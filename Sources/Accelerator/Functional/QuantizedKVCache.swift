import AttnCore
import CKernels
import Foundation

/// One decoder layer's KV cache as the functional model holds it between decode steps: the float
/// K and V rows, their codes, ranges and scales, the VNNI-packed K (or its Int16 codes) and the
/// float K in the exact reference's transposed layout. A decode step appends one row to each and
/// codes only that row — unless the row raises a range: a per-tensor or per-head scale is the
/// maximum |x| over every row, so then every row of the heads sharing that scale is coded again,
/// exactly as `FunctionalAttention.quantize` codes the whole cache. Each step's `LayerResult` is
/// the one `FunctionalAttention.run` gives on the same call, bit for bit (`QuantizedKVCacheTests`),
/// at O(d) work per KV head and step for the quantizer and the packing instead of O(t·d).
///
/// Rows are kept per KV head `capacity` rows apart (the model's KV cache capacity, doubled when
/// exceeded), and the layer goes to `run` as a causal layer of `capacity` tokens whose one query
/// row is the step's position: the rows after it are zeros that no computation of that row reads
/// (causal rows see keys 0...position; the ranges and codes are those of rows 0...position).
///
/// Every step checks that the call's rows before its position are the rows it holds (a `memcmp` of
/// the float K and V) and that the position follows the last step's; anything else — another
/// sequence, a truncated or rewritten cache, a gap — loads the call's rows from scratch.
/// Per-embedding-group (PEG) scales depend on Q, and a percentile range on every row: those
/// configurations are not supported (`supports`), and their callers quantize each call whole.
public final class QuantizedKVCache {
    public let functional: FunctionalAttention
    /// Steps that loaded the call's rows from scratch, and rows coded again because a scale changed
    /// (for tests and profiles).
    public private(set) var loads = 0, recodedRows = 0
    /// Rows held: positions 0..<count.
    public private(set) var count = 0
    private(set) var capacity = 0
    private var sequence = -1, layer = -1, heads = 0, kvHeads = 0, dim = 0
    private var k: Rows, v: Rows
    /// Which derived layouts of K `run` reads for this configuration, and those layouts (per KV
    /// head `kPackedStride` bytes, `capacity` sums, `kTStride` floats).
    private var packs = false, int16 = false, transposes = false
    private var k8: [Int8] = [], kSum: [Int32] = [], k16: [Int16] = [], kT: [Float] = []
    private var kPackedStride = 0, kTStride = 0

    /// Whether the configuration's K and V scales follow from running maxima: per-tensor or
    /// per-head scales from min/max ranges (or K and V not quantized), and no PEG (whose groups
    /// depend on Q).
    public static func supports(_ c: AttentionConfig) -> Bool {
        c.granularity != .peg && (c.rangeCalibration == .minMax || c.kBits == 0 && c.vBits == 0)
    }

    public init(_ functional: FunctionalAttention) {
        precondition(Self.supports(functional.config))
        self.functional = functional
        k = Rows(bits: functional.config.kBits)
        v = Rows(bits: functional.config.vBits)
    }

    /// One decode step: query row `position` (q: [heads, d]) against keys 0...position, given in
    /// place as k, v [kvHeads, kvHeadStride, d] (rows after `position` are not read). The same
    /// `LayerResult` as `functional.run` of the layer input with `tokens` = position + 1,
    /// `queryRows` = position..<position + 1 and `promptTokens` = position.
    public func step(sequence: Int, layer: Int, heads: Int, kvHeads: Int, headDim d: Int, scale: Double, position: Int,
                     q: UnsafeBufferPointer<Float>, k kIn: UnsafeBufferPointer<Float>, v vIn: UnsafeBufferPointer<Float>,
                     kvHeadStride: Int) -> LayerResult {
        precondition(position >= 0 && kvHeadStride > position && kvHeads > 0 && heads % kvHeads == 0 && q.count >= heads * d)
        precondition(min(kIn.count, vIn.count) >= ((kvHeads - 1) * kvHeadStride + position + 1) * d)
        let c = functional.config
        let same = sequence == self.sequence && layer == self.layer && heads == self.heads && kvHeads == self.kvHeads
            && d == dim && position == count && holds(kIn.baseAddress!, vIn.baseAddress!, stride: kvHeadStride)
        if same {
            if count == capacity { load(from: nil, stride: capacity, rows: count, capacity: max(2 * capacity, kvHeadStride)) }
            append(kIn.baseAddress! + position * d, vIn.baseAddress! + position * d, stride: kvHeadStride)
        } else {
            (self.sequence, self.layer, self.heads, self.kvHeads, dim) = (sequence, layer, heads, kvHeads, d)
            packs = FunctionalAttention.Operands.packsK(qBits: c.qBits, kBits: c.kBits, groups: 1, dim: d, native: functional.nativeKernels)
            int16 = !packs && FunctionalAttention.Operands.int16Codes(qBits: c.qBits, kBits: c.kBits, groups: 1)
            transposes = functional.nativeKernels && d > 0
            load(from: (kIn.baseAddress!, vIn.baseAddress!), stride: kvHeadStride, rows: position + 1,
                 capacity: max(kvHeadStride, position + 1))
            loads += 1
        }
        // Q as `quantize` quantizes it (one row per head; no PEG groups shared with K).
        let qs = Array(q[0..<(heads * d)])
        let qT = QuantizedTensor(qs, heads: heads, tokens: 1, dim: d, bits: c.qBits, granularity: c.granularity, pegGroups: c.pegGroups,
                                 calibration: c.rangeCalibration, rounding: c.rounding)
        var ops = FunctionalAttention.Operands(quantized: qT, k: k.tensor(heads: kvHeads, tokens: capacity, dim: d),
                                               v: v.tensor(heads: kvHeads, tokens: capacity, dim: d))
        if packs {
            (ops.k8, ops.kSum, ops.kPackedStride) = (k8, kSum, kPackedStride)
        } else if int16 {
            (ops.q16, ops.k16) = (qT.codes.map { Int16($0) }, k16)
        }
        if transposes { (ops.kT, ops.kTStride) = (kT, kTStride) }
        let x = LayerInput(sequence: sequence, layer: layer, heads: heads, kvHeads: kvHeads, tokens: capacity, headDim: d, causal: true,
                           scale: scale, promptTokens: position, queryRows: position..<(position + 1), q: qs, k: k.floats, v: v.floats)
        return FunctionalAttention.run([functional], x, operands: [ops])[0]
    }

    /// Whether rows 0..<count of every KV head of k and v (`stride` rows apart) are the rows held, bit for bit.
    private func holds(_ kIn: UnsafePointer<Float>, _ vIn: UnsafePointer<Float>, stride: Int) -> Bool {
        let bytes = count * dim * MemoryLayout<Float>.size
        for (x, rows) in [(kIn, k), (vIn, v)] {
            let equal = rows.floats.withUnsafeBufferPointer { f in
                (0..<kvHeads).allSatisfy { h in memcmp(f.baseAddress! + h * capacity * dim, x + h * stride * dim, bytes) == 0 }
            }
            if !equal { return false }
        }
        return true
    }

    /// Holds `rows` rows of K and V `capacity` apart per KV head — copied from `source` (`stride`
    /// rows apart per KV head) or, with nil, from the rows held — and codes and lays out all of them.
    private func load(from source: (k: UnsafePointer<Float>, v: UnsafePointer<Float>)?, stride: Int, rows: Int, capacity: Int) {
        let d = dim
        func copy(_ x: UnsafePointer<Float>) -> [Float] {
            var out = [Float](repeating: 0, count: kvHeads * capacity * d)
            out.withUnsafeMutableBufferPointer { o in
                for h in 0..<kvHeads { (o.baseAddress! + h * capacity * d).update(from: x + h * stride * d, count: rows * d) }
            }
            return out
        }
        let (kf, vf): ([Float], [Float])
        if let source {
            (kf, vf) = (copy(source.k), copy(source.v))
        } else {
            (kf, vf) = (k.floats.withUnsafeBufferPointer { copy($0.baseAddress!) }, v.floats.withUnsafeBufferPointer { copy($0.baseAddress!) })
        }
        self.capacity = capacity
        count = rows
        let c = functional.config
        k.load(kf, heads: kvHeads, capacity: capacity, dim: d, rows: rows, tensorScale: c.granularity == .tensor, rounding: c.rounding)
        v.load(vf, heads: kvHeads, capacity: capacity, dim: d, rows: rows, tensorScale: c.granularity == .tensor, rounding: c.rounding)
        kPackedStride = packs ? attnsim_qk_packed_bytes(capacity, d) : 0
        k8 = packs ? [Int8](repeating: 0, count: kvHeads * kPackedStride) : []
        kSum = packs ? [Int32](repeating: 0, count: kvHeads * capacity) : []
        k16 = int16 ? [Int16](repeating: 0, count: kvHeads * capacity * d) : []
        kTStride = transposes ? (capacity + 7) / 8 * 8 * d : 0
        kT = transposes ? [Float](repeating: 0, count: max(kvHeads * kTStride, 1)) : []
        for h in 0..<kvHeads {
            layOutCodes(head: h, from: 0)
            layOutFloats(head: h, from: 0)
        }
    }

    /// Appends row `count` (k and v point at its KV head 0, heads `stride` rows apart).
    private func append(_ kRow: UnsafePointer<Float>, _ vRow: UnsafePointer<Float>, stride: Int) {
        let c = functional.config
        let j = count
        count += 1
        let kRecoded = k.append(kRow, stride: stride, row: j, heads: kvHeads, capacity: capacity, dim: dim,
                                tensorScale: c.granularity == .tensor, rounding: c.rounding)
        let vRecoded = v.append(vRow, stride: stride, row: j, heads: kvHeads, capacity: capacity, dim: dim,
                                tensorScale: c.granularity == .tensor, rounding: c.rounding)
        recodedRows += (kRecoded.filter { $0 }.count + vRecoded.filter { $0 }.count) * count
        for h in 0..<kvHeads {
            layOutCodes(head: h, from: kRecoded[h] ? 0 : j)
            layOutFloats(head: h, from: j)
        }
    }

    /// The packed K (or its Int16 codes) of KV head h for rows `first`..<count (from the start of
    /// `first`'s block of 16 keys).
    private func layOutCodes(head h: Int, from first: Int) {
        let d = dim
        if packs {
            let b = first / 16
            k.codes.withUnsafeBufferPointer { kc in
                k8.withUnsafeMutableBufferPointer { pb in
                    kSum.withUnsafeMutableBufferPointer { sb in
                        attnsim_qk_pack_i8(kc.baseAddress! + (h * capacity + b * 16) * d, count - b * 16, d,
                                           pb.baseAddress! + h * kPackedStride + attnsim_qk_packed_bytes(b * 16, d),
                                           sb.baseAddress! + h * capacity + b * 16)
                    }
                }
            }
        } else if int16 {
            for i in ((h * capacity + first) * d)..<((h * capacity + count) * d) { k16[i] = Int16(k.codes[i]) }
        }
    }

    /// The float K of KV head h in the reference's layout for rows `first`..<count (from the start
    /// of `first`'s block of 8 keys).
    private func layOutFloats(head h: Int, from first: Int) {
        guard transposes else { return }
        let d = dim, b = first / 8
        k.floats.withUnsafeBufferPointer { kf in
            kT.withUnsafeMutableBufferPointer { tb in
                attnsim_transpose8_f32(kf.baseAddress! + (h * capacity + b * 8) * d, count - b * 8, d, tb.baseAddress! + h * kTStride + b * 8 * d)
            }
        }
    }

    /// One tensor's rows (K or V), [heads, capacity, d]: floats, and with `bits` > 0 their codes,
    /// each head's running max |x| and scale, and the saturations of its codes.
    struct Rows {
        let bits: Int
        var floats: [Float] = [], codes: [Int32] = []
        var range: [Float] = [], scales: [Double] = []
        var saturated: [Int] = []

        init(bits: Int) { self.bits = bits }

        /// As `QuantizedTensor` quantizes the held rows (`tokens` = capacity, rows past `count` zero).
        func tensor(heads: Int, tokens: Int, dim: Int) -> QuantizedTensor {
            QuantizedTensor(heads: heads, tokens: tokens, dim: dim, bits: bits, codes: codes, values: bits == 0 ? floats : [],
                            scales: scales, saturated: saturated.reduce(0, +))
        }

        /// Holds `floats` ([heads, capacity, d], `rows` rows per head) and codes them.
        mutating func load(_ floats: [Float], heads: Int, capacity: Int, dim d: Int, rows: Int, tensorScale: Bool,
                           rounding: AttentionConfig.Rounding) {
            self.floats = floats
            guard bits > 0 else { return }
            range = [Float](repeating: 0, count: heads)
            floats.withUnsafeBufferPointer { f in
                for h in 0..<heads { range[h] = Self.maxAbs(f.baseAddress! + h * capacity * d, count: rows * d, from: 0) }
            }
            scales = scales(heads: heads, tensorScale: tensorScale)
            codes = [Int32](repeating: 0, count: heads * capacity * d)
            saturated = [Int](repeating: 0, count: heads)
            for h in 0..<heads { code(head: h, rows: 0..<rows, capacity: capacity, dim: d, rounding: rounding) }
        }

        /// Appends row `row` of every head (`x` at head 0, heads `stride` rows apart); codes it, or
        /// every row of a head whose scale it changed. Returns which heads were coded again.
        mutating func append(_ x: UnsafePointer<Float>, stride: Int, row j: Int, heads: Int, capacity: Int, dim d: Int,
                             tensorScale: Bool, rounding: AttentionConfig.Rounding) -> [Bool] {
            floats.withUnsafeMutableBufferPointer { f in
                for h in 0..<heads { (f.baseAddress! + (h * capacity + j) * d).update(from: x + h * stride * d, count: d) }
            }
            guard bits > 0 else { return .init(repeating: false, count: heads) }
            floats.withUnsafeBufferPointer { f in
                for h in 0..<heads { range[h] = Self.maxAbs(f.baseAddress! + (h * capacity + j) * d, count: d, from: range[h]) }
            }
            let new = scales(heads: heads, tensorScale: tensorScale)
            var recoded = [Bool](repeating: false, count: heads)
            for h in 0..<heads {
                if new[h].bitPattern != scales[h].bitPattern {
                    scales[h] = new[h]
                    recoded[h] = true
                    code(head: h, rows: 0..<(j + 1), capacity: capacity, dim: d, rounding: rounding)
                } else {
                    code(head: h, rows: j..<(j + 1), capacity: capacity, dim: d, rounding: rounding, adding: true)
                }
            }
            return recoded
        }

        /// `FixedPoint.range(_, .minMax)`'s running maximum over `count` more values, as a Float.
        static func maxAbs(_ x: UnsafePointer<Float>, count n: Int, from start: Float) -> Float {
            var m = start
            for i in 0..<n { m = max(m, abs(x[i])) }
            return m
        }

        /// Each head's scale from the ranges: `QuantizedTensor`'s range / max code, per head or
        /// one over all heads (the largest range).
        func scales(heads: Int, tensorScale: Bool) -> [Double] {
            let maxCode = Double(FixedPoint.maxCode(bits: bits))
            if tensorScale {
                var m: Float = 0
                for r in range { m = max(m, r) }
                return .init(repeating: Double(m) / maxCode, count: heads)
            }
            return range.map { Double($0) / maxCode }
        }

        /// Codes `rows` of head h with its scale (`QuantizedTensor.codes`, element by element the same
        /// as one call over the whole head) and sets (or, `adding`, adds to) its saturation count.
        mutating func code(head h: Int, rows: Range<Int>, capacity: Int, dim d: Int, rounding: AttentionConfig.Rounding,
                           adding: Bool = false) {
            let (bits, scale) = (self.bits, scales[h])
            let sat = floats.withUnsafeBufferPointer { f in
                codes.withUnsafeMutableBufferPointer { c in
                    let o = (h * capacity + rows.lowerBound) * d
                    return QuantizedTensor.codes(f.baseAddress! + o, count: rows.count * d, scale: scale, bits: bits, rounding: rounding,
                                                 into: c.baseAddress! + o)
                }
            }
            saturated[h] = adding ? saturated[h] + sat : sat
        }
    }
}

extension FunctionalAttention.Operands {
    /// Operands without the derived layouts (`k8`, `q16`, `kT`, …): the caller sets those it keeps.
    init(quantized q: QuantizedTensor, k: QuantizedTensor, v: QuantizedTensor) {
        self.q = q
        self.k = k
        self.v = v
    }
}

extension QuantizedTensor {
    /// A tensor from codes and scales already computed (by default one scale group).
    init(heads: Int, tokens: Int, dim: Int, bits: Int, codes: [Int32], values: [Float], scales: [Double], saturated: Int,
         groups: Int = 1, groupOfDim: [Int]? = nil) {
        self.heads = heads
        self.tokens = tokens
        self.dim = dim
        self.bits = bits
        self.codes = codes
        self.values = values
        self.scales = scales
        self.groups = groups
        self.groupOfDim = groupOfDim ?? .init(repeating: 0, count: dim)
        self.saturated = saturated
    }
}
