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

/// softmax(scale · q·kᵀ + mask) · v in Float (`ExactSoftmax`, in-order dot products): the trace
/// recorder's default.
public final class ExactAttention: AttentionSeam {
    public init() {}
    public var acceptsStridedKV: Bool { true }

    /// Every Float operation of every output element happens in the same order as in the scalar
    /// loops (dot products summed over c in order, P·V over j in order, no fused multiply-adds),
    /// so the results are bit for bit those of one head at a time, one key at a time
    /// (`ExactAttentionTests` keeps that scalar version): heads run in parallel, and the Q·Kᵀ of
    /// eight keys at a time sits in the eight lanes of a SIMD8<Float> (K transposed per KV head,
    /// `ExactSoftmax.modelRowInOrder`).
    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows
        let group = call.heads / call.kvHeads
        let keys = min(call.validKeys, call.keyRows)
        let headFloats = (keys + 7) / 8 * 8 * d
        guard let kp = k.baseAddress, let vp = v.baseAddress, let qp = q.baseAddress, headFloats > 0 else {
            out.update(repeating: 0)
            return
        }
        // Kᵀ per KV head in blocks of 8 keys.
        var kt = [Float](repeating: 0, count: call.kvHeads * headFloats)
        kt.withUnsafeMutableBufferPointer { ktb in
            for kvh in 0..<call.kvHeads {
                ExactSoftmax.transpose8(kp + kvh * call.kvHeadStride * d, tokens: keys, d: d, into: ktb.baseAddress! + kvh * headFloats)
            }
        }
        // Read-only views shared by the worker threads (SharedBuffer is the package's Sendable wrapper).
        let o = SharedBuffer(out)
        let ptrs = EncoderMath.SendablePointers(x: qp, w: kp, bias: vp)
        kt.withUnsafeMutableBufferPointer { ktb in
            let kts = SharedBuffer(ktb)
            DispatchQueue.concurrentPerform(iterations: call.heads) { h in
                let kvh = h / group
                let kv = kvh * call.kvHeadStride * d
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: headFloats / d)
                defer { scores.deallocate() }
                for i in 0..<tq {
                    var visible = call.validKeys
                    if call.causal { visible = min(visible, call.queryOffset + i + 1) }
                    let keys = ExactSoftmax.Keys(ptrs.w + kv, transposed: UnsafePointer(kts.base.baseAddress! + kvh * headFloats))
                    ExactSoftmax.modelRowInOrder(q: ptrs.x + (h * tq + i) * d, keys: keys, v: ptrs.bias! + kv, d: d, n: visible,
                                                 scale: call.scale, scores: scores, out: o.base.baseAddress! + (h * tq + i) * d)
                }
            }
        }
    }
}
