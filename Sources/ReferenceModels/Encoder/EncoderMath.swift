import AttnCore
import Dispatch
import Foundation

/// Dense kernels of the BERT encoder over flat row-major `[Float]` buffers. Each fast kernel has a
/// slow reference twin (`…Reference`) that the tests compare against on seeded random inputs.
public enum EncoderMath {
    /// y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]  — PyTorch `nn.Linear` (weight stored [out, in]).
    ///
    /// x is [rows, inDim], w is [outDim, inDim], y is [rows, outDim]. Blocks of 48 outputs run in
    /// parallel (`concurrentPerform`); inside a block a 4-row × 3-output tile accumulates SIMD4 partial
    /// sums over k (no fma: plain `acc += a * b`, see style.md), so each loaded x/w vector is used
    /// three/four times.
    public static func linear(_ x: UnsafeBufferPointer<Float>, rows: Int, inDim: Int,
                              weight w: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?, outDim: Int,
                              into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count >= rows * inDim && w.count >= outDim * inDim && y.count >= rows * outDim)
        precondition(bias == nil || bias!.count >= outDim)
        let block = 48
        let blocks = (outDim + block - 1) / block
        let shared = SharedBuffer(y)
        let xb = x.baseAddress!, wb = w.baseAddress!
        let bb = bias?.baseAddress
        let work = rows * inDim * outDim
        if work < 1 << 16 || blocks == 1 {
            for b in 0..<blocks {
                linearBlock(xb, rows: rows, inDim: inDim, wb, bb, outDim: outDim,
                            from: b * block, to: min(outDim, (b + 1) * block), y: shared.base.baseAddress!)
            }
        } else {
            let pointers = SendablePointers(x: xb, w: wb, bias: bb)
            DispatchQueue.concurrentPerform(iterations: blocks) { b in
                linearBlock(pointers.x, rows: rows, inDim: inDim, pointers.w, pointers.bias, outDim: outDim,
                            from: b * block, to: min(outDim, (b + 1) * block), y: shared.base.baseAddress!)
            }
        }
    }

    struct SendablePointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let w: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    /// Outputs [n0, n1) for all rows: a 4-row × 3-output register tile of SIMD4 partial sums (12
    /// accumulators + 4 x vectors fit the 16 SSE registers of the default x86-64 target; measured
    /// ~2× faster than a SIMD8 2×4 tile, which spills). Tiles at the edges alias the last valid
    /// row/output and discard the duplicate results.
    static func linearBlock(_ x: UnsafePointer<Float>, rows: Int, inDim k: Int, _ w: UnsafePointer<Float>,
                            _ bias: UnsafePointer<Float>?, outDim: Int, from n0: Int, to n1: Int,
                            y: UnsafeMutablePointer<Float>) {
        #if DEBUG
        // Unoptimized builds: SIMD operators are generic calls at -Onone (~70× slower than scalar code
        // on pointers), so debug test runs use this scalar twin of the tile below.
        for m in 0..<rows {
            for n in n0..<n1 {
                let xr = x + m * k, wr = w + n * k
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                var c = 0
                while c + 4 <= k {
                    s0 += xr[c] * wr[c]; s1 += xr[c + 1] * wr[c + 1]; s2 += xr[c + 2] * wr[c + 2]; s3 += xr[c + 3] * wr[c + 3]
                    c += 4
                }
                while c < k { s0 += xr[c] * wr[c]; c += 1 }
                y[m * outDim + n] = (s0 + s1) + (s2 + s3) + (bias?[n] ?? 0)
            }
        }
        #else
        let k4 = k & ~3
        var m = 0
        while m < rows {
            let mm = min(4, rows - m)
            let x0 = x + m * k
            let x1 = mm > 1 ? x0 + k : x0
            let x2 = mm > 2 ? x0 + 2 * k : x0
            let x3 = mm > 3 ? x0 + 3 * k : x0
            var n = n0
            while n < n1 {
                let nn = min(3, n1 - n)
                let w0 = w + n * k
                let w1 = nn > 1 ? w0 + k : w0
                let w2 = nn > 2 ? w0 + 2 * k : w0
                var a00 = SIMD4<Float>(), a01 = SIMD4<Float>(), a02 = SIMD4<Float>()
                var a10 = SIMD4<Float>(), a11 = SIMD4<Float>(), a12 = SIMD4<Float>()
                var a20 = SIMD4<Float>(), a21 = SIMD4<Float>(), a22 = SIMD4<Float>()
                var a30 = SIMD4<Float>(), a31 = SIMD4<Float>(), a32 = SIMD4<Float>()
                var c = 0
                while c < k4 {
                    let xv0 = load4(x0 + c), xv1 = load4(x1 + c), xv2 = load4(x2 + c), xv3 = load4(x3 + c)
                    let wv0 = load4(w0 + c)
                    a00 += xv0 * wv0; a10 += xv1 * wv0; a20 += xv2 * wv0; a30 += xv3 * wv0
                    let wv1 = load4(w1 + c)
                    a01 += xv0 * wv1; a11 += xv1 * wv1; a21 += xv2 * wv1; a31 += xv3 * wv1
                    let wv2 = load4(w2 + c)
                    a02 += xv0 * wv2; a12 += xv1 * wv2; a22 += xv2 * wv2; a32 += xv3 * wv2
                    c += 4
                }
                // s_r = (row r · w0, row r · w1, row r · w2, unused)
                var s0 = SIMD4<Float>(a00.sum(), a01.sum(), a02.sum(), 0)
                var s1 = SIMD4<Float>(a10.sum(), a11.sum(), a12.sum(), 0)
                var s2 = SIMD4<Float>(a20.sum(), a21.sum(), a22.sum(), 0)
                var s3 = SIMD4<Float>(a30.sum(), a31.sum(), a32.sum(), 0)
                while c < k {
                    let wc = SIMD4<Float>(w0[c], w1[c], w2[c], 0)
                    s0 += x0[c] * wc; s1 += x1[c] * wc; s2 += x2[c] * wc; s3 += x3[c] * wc
                    c += 1
                }
                for j in 0..<nn {
                    let b = bias?[n + j] ?? 0
                    let o = y + m * outDim + n + j
                    o[0] = s0[j] + b
                    if mm > 1 { o[outDim] = s1[j] + b }
                    if mm > 2 { o[2 * outDim] = s2[j] + b }
                    if mm > 3 { o[3 * outDim] = s3[j] + b }
                }
                n += 3
            }
            m += 4
        }
        #endif
    }

    /// Reference twin of `linear`: one Double dot product per output.
    public static func linearReference(_ x: [Float], rows: Int, inDim: Int, weight w: [Float], bias: [Float]?,
                                       outDim: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outDim)
        for m in 0..<rows {
            for n in 0..<outDim {
                var s = 0.0
                for c in 0..<inDim { s += Double(x[m * inDim + c]) * Double(w[n * inDim + c]) }
                y[m * outDim + n] = Float(s + Double(bias?[n] ?? 0))
            }
        }
        return y
    }

    /// In place, per row of `dim`: x ← (x − mean) / sqrt(var + eps) · gamma + beta, with the biased
    /// variance (PyTorch `nn.LayerNorm`). Two passes over the row, SIMD8 partial sums.
    public static func layerNorm(_ x: UnsafeMutableBufferPointer<Float>, rows: Int, dim: Int,
                                 gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>, eps: Float) {
        precondition(x.count >= rows * dim && gamma.count >= dim && beta.count >= dim)
        let d8 = dim & ~7
        let inv = 1 / Float(dim)
        for r in 0..<rows {
            let p = x.baseAddress! + r * dim
            #if DEBUG
            var sum: Float = 0
            for c in 0..<dim { sum += p[c] }
            let mean = sum * inv
            var sq: Float = 0
            for c in 0..<dim { let t = p[c] - mean; sq += t * t }
            #else
            var acc = SIMD8<Float>()
            var c = 0
            while c < d8 { acc += load8(p + c); c += 8 }
            var sum = acc.sum()
            while c < dim { sum += p[c]; c += 1 }
            let mean = sum * inv
            let mv = SIMD8<Float>(repeating: mean)
            var acc2 = SIMD8<Float>()
            c = 0
            while c < d8 { let t = load8(p + c) - mv; acc2 += t * t; c += 8 }
            var sq = acc2.sum()
            while c < dim { let t = p[c] - mean; sq += t * t; c += 1 }
            #endif
            let rstd = 1 / (sq * inv + eps).squareRoot()
            for c in 0..<dim { p[c] = (p[c] - mean) * rstd * gamma[c] + beta[c] }
        }
    }

    /// Reference twin of `layerNorm` (Double accumulation, returns a new buffer).
    public static func layerNormReference(_ x: [Float], rows: Int, dim: Int, gamma: [Float], beta: [Float], eps: Float) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = (0..<dim).map { Double(x[r * dim + $0]) }
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(dim)
            let rstd = 1 / (variance + Double(eps)).squareRoot()
            for c in 0..<dim { y[r * dim + c] = Float((row[c] - mean) * rstd * Double(gamma[c]) + Double(beta[c])) }
        }
        return y
    }

    /// Exact GELU in place: gelu(x) = x · ½ · (1 + erf(x / √2)) (Hendrycks & Gimpel 2016; PyTorch
    /// `F.gelu` default, HF `hidden_act: "gelu"`).
    /// Large buffers are split into chunks run in parallel (erff dominates: ~20 ns per element).
    public static func gelu(_ x: UnsafeMutableBufferPointer<Float>) {
        let chunk = 16_384
        let chunks = (x.count + chunk - 1) / chunk
        let shared = SharedBuffer(x)
        if chunks > 1 {
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                geluRange(shared.base, from: c * chunk, to: min(shared.base.count, (c + 1) * chunk))
            }
        } else {
            geluRange(x, from: 0, to: x.count)
        }
    }

    static func geluRange(_ x: UnsafeMutableBufferPointer<Float>, from i0: Int, to i1: Int) {
        let invSqrt2: Float = 0.70710678118654752440
        for i in i0..<i1 {
            let v = x[i]
            x[i] = v * 0.5 * (1 + erff(v * invSqrt2))
        }
    }

    /// y ← y + x (residual connection).
    public static func add(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count)
        for i in y.indices { y[i] += x[i] }
    }

    /// softmax(scale · q·kᵀ + mask) · v with exactly `ExactAttention`'s semantics (causal rows see keys
    /// [0, queryOffset + i], keys ≥ validKeys masked, query head h reads KV head h / (heads / kvHeads),
    /// max-subtracted softmax in Float), but with SIMD4 dot products (`ExactSoftmax.modelRow`) and
    /// heads in parallel.
    /// A drop-in body for `ExactAttention.attend` (the tests compare the two); `FastExactAttention`
    /// wraps it as a seam.
    public static func attention(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                                 v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows, tk = call.keyRows
        precondition(q.count >= call.heads * tq * d && out.count >= call.heads * tq * d)
        let kvNeeded = ((call.kvHeads - 1) * call.kvHeadStride + tk) * d
        precondition(k.count >= kvNeeded && v.count >= kvNeeded)
        let shared = SharedBuffer(out)
        let ptrs = SendablePointers(x: q.baseAddress!, w: k.baseAddress!, bias: v.baseAddress!)
        if call.heads > 1 && tq * tk * d >= 1 << 14 {
            DispatchQueue.concurrentPerform(iterations: call.heads) { h in
                attentionHead(call, head: h, q: ptrs.x, k: ptrs.w, v: ptrs.bias!, out: shared.base.baseAddress!)
            }
        } else {
            for h in 0..<call.heads {
                attentionHead(call, head: h, q: ptrs.x, k: ptrs.w, v: ptrs.bias!, out: shared.base.baseAddress!)
            }
        }
    }

    static func attentionHead(_ call: AttentionCall, head h: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                              v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let d = call.headDim, tq = call.queryRows
        let kv = h / (call.heads / call.kvHeads) * call.kvHeadStride * d
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(call.keyRows, 1))
        defer { scores.deallocate() }
        for i in 0..<tq {
            var visible = call.validKeys
            if call.causal { visible = min(visible, call.queryOffset + i + 1) }
            ExactSoftmax.modelRow(q: q + (h * tq + i) * d, keys: .init(k + kv), v: v + kv, d: d, n: visible, scale: call.scale,
                                  scores: scores, out: out + (h * tq + i) * d)
        }
    }
}

/// Exact float attention computed by `EncoderMath.attention` (SIMD, heads in parallel): same results
/// as `ExactAttention` up to Float summation order.
public final class FastExactAttention: AttentionSeam {
    public init() {}
    public var acceptsStridedKV: Bool { true }
    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        EncoderMath.attention(call, q: q, k: k, v: v, out: out)
    }
}
