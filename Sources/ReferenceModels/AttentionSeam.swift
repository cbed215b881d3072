import AttnCore
import Dispatch
import Foundation

/// One call of the attention unit: the shapes and positions of `attend`'s buffers.
///
/// Layouts (row-major, contiguous): q and out are [heads, queryRows, headDim]; k and v are
/// [kvHeads, keyRows, headDim] (heads `kvHeadStride` rows apart for seams that accept it) and hold
/// every key so far (the whole KV cache in decode). Query head
/// `h` reads KV head `h / (heads / kvHeads)` (grouped-query attention).
public struct AttentionCall: Sendable {
    /// Sequence index within the current recording or evaluation run.
    public var sequence: Int
    public var layer: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var queryRows: Int
    public var keyRows: Int
    /// Absolute position of query row 0. With `causal`, row i sees keys [0, queryOffset + i].
    public var queryOffset: Int
    public var causal: Bool
    /// Keys at index >= validKeys are padding and are masked out (encoder batches). Equal to
    /// `keyRows` when there is no padding.
    public var validKeys: Int
    /// Softmax scale applied to q·k (1/sqrt(headDim) for both model families here).
    public var scale: Float
    /// Rows between the starts of consecutive KV heads in k and v: `keyRows` (contiguous) unless the
    /// seam's `acceptsStridedKV` is true, in which case the decoder may pass its KV cache in place
    /// ([kvHeads, kvHeadStride, headDim] with only the first `keyRows` rows of each head valid).
    public var kvHeadStride: Int

    public init(sequence: Int, layer: Int, heads: Int, kvHeads: Int, headDim: Int, queryRows: Int,
                keyRows: Int, queryOffset: Int, causal: Bool, validKeys: Int? = nil, scale: Float, kvHeadStride: Int? = nil) {
        self.sequence = sequence
        self.layer = layer
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.queryRows = queryRows
        self.keyRows = keyRows
        self.queryOffset = queryOffset
        self.causal = causal
        self.validKeys = validKeys ?? keyRows
        self.scale = scale
        self.kvHeadStride = kvHeadStride ?? keyRows
        precondition(self.kvHeadStride >= keyRows)
    }
}

/// The one seam through which both reference models compute attention. Exact float attention is
/// the default; the trace recorder and the accelerator's bit-accurate functional model are the
/// other implementations. Q and K arrive after any rotary embedding — exactly what the unit sees.
public protocol AttentionSeam: AnyObject {
    func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>)
    /// True when `attend` honours `call.kvHeadStride`; otherwise callers always pass contiguous K and V
    /// (`kvHeadStride == keyRows`). Default false.
    var acceptsStridedKV: Bool { get }
}

extension AttentionSeam {
    public var acceptsStridedKV: Bool { false }
}

/// softmax(scale · q·kᵀ + mask) · v in Float, with a Double-free max-subtracted softmax.
public final class ExactAttention: AttentionSeam {
    public init() {}
    public var acceptsStridedKV: Bool { true }

    /// Every Float operation of every output element happens in the same order as in the scalar
    /// loops (dot products summed over c in order, P·V over j in order, no fused multiply-adds),
    /// so the results are bit for bit those of one head at a time, one key at a time
    /// (`ExactAttentionTests` keeps that scalar version): heads run in parallel, and the Q·Kᵀ of
    /// eight keys at a time sits in the eight lanes of a SIMD8<Float> (K transposed per KV head).
    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows
        let group = call.heads / call.kvHeads
        let keys = min(call.validKeys, call.keyRows)
        let blocks = (keys + 7) / 8
        // Kᵀ per KV head in blocks of 8 keys: kt[((kvh · blocks + b) · d + c) · 8 + lane].
        var kt = [Float](repeating: 0, count: max(call.kvHeads * blocks * d * 8, 1))
        kt.withUnsafeMutableBufferPointer { ktb in
            for kvh in 0..<call.kvHeads {
                let kBase = kvh * call.kvHeadStride * d
                for j in 0..<keys {
                    let dst = ((kvh * blocks + j / 8) * d) * 8 + j % 8
                    for c in 0..<d { ktb[dst + c * 8] = k[kBase + j * d + c] }
                }
            }
        }
        // Read-only views shared by the worker threads (SharedBuffer is the package's Sendable wrapper).
        let o = SharedBuffer(out), qs = SharedBuffer(UnsafeMutableBufferPointer(mutating: q))
        let vs = SharedBuffer(UnsafeMutableBufferPointer(mutating: v))
        kt.withUnsafeMutableBufferPointer { ktb in
            let kts = SharedBuffer(ktb)
            DispatchQueue.concurrentPerform(iterations: call.heads) { h in
                let kvh = h / group
                let kBase = kvh * call.kvHeadStride * d
                let ktp = UnsafePointer(kts.base.baseAddress!), q = qs.base, v = vs.base
                var scores = [Float](repeating: 0, count: max(blocks * 8, 1))
                let acc = UnsafeMutablePointer<Float>.allocate(capacity: max(d, 1))
                scores.withUnsafeMutableBufferPointer { sb in
                    let sp = UnsafeMutableRawPointer(sb.baseAddress!)
                    for i in 0..<tq {
                        let qBase = (h * tq + i) * d
                        var visible = call.validKeys
                        if call.causal { visible = min(visible, call.queryOffset + i + 1) }
                        var maxScore = -Float.infinity
                        var b = 0
                        while b * 8 < visible {
                            var dot = SIMD8<Float>()
                            let kb = ktp + (kvh * blocks + b) * d * 8
                            for c in 0..<d {
                                dot += SIMD8<Float>(repeating: q[qBase + c]) * UnsafeRawPointer(kb + c * 8).loadUnaligned(as: SIMD8<Float>.self)
                            }
                            sp.storeBytes(of: dot * call.scale, toByteOffset: b * 32, as: SIMD8<Float>.self)
                            b += 1
                        }
                        for j in 0..<visible where sb[j] > maxScore { maxScore = sb[j] }
                        var sum: Float = 0
                        for j in 0..<visible {
                            let e = expf(sb[j] - maxScore)
                            sb[j] = e
                            sum += e
                        }
                        let oBase = (h * tq + i) * d
                        for c in 0..<d { acc[c] = 0 }
                        let inv = visible > 0 ? 1 / sum : 0
                        for j in 0..<visible {
                            let p = sb[j] * inv
                            let vr = v.baseAddress! + kBase + j * d
                            for c in 0..<d { acc[c] += p * vr[c] }
                        }
                        for c in 0..<d { o[oBase + c] = acc[c] }
                    }
                }
                acc.deallocate()
            }
        }
    }
}
