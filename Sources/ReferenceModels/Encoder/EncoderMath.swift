import AttnCore
import Dispatch
import Foundation

/// Dense kernels of the BERT encoder over flat row-major `[Float]` buffers. Each fast kernel has a
/// slow reference twin (`…Reference`) that the tests compare against on seeded random inputs.
public enum EncoderMath {
    /// y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]  — PyTorch `nn.Linear` (weight stored [out, in]).
    ///
    /// x is [rows, inDim], w is [outDim, inDim], y is [rows, outDim]. Blocks of 64 outputs run in
    /// parallel (`concurrentPerform`); inside a block a 2-row × 4-output tile accumulates SIMD8 partial
    /// sums over k (no fma: plain `acc += a * b`, see style.md), so each loaded x/w vector is used
    /// four/two times.
    public static func linear(_ x: UnsafeBufferPointer<Float>, rows: Int, inDim: Int,
                              weight w: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?, outDim: Int,
                              into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count >= rows * inDim && w.count >= outDim * inDim && y.count >= rows * outDim)
        precondition(bias == nil || bias!.count >= outDim)
        let block = 64
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

    /// Outputs [n0, n1) for all rows.
    static func linearBlock(_ x: UnsafePointer<Float>, rows: Int, inDim k: Int, _ w: UnsafePointer<Float>,
                            _ bias: UnsafePointer<Float>?, outDim: Int, from n0: Int, to n1: Int,
                            y: UnsafeMutablePointer<Float>) {
        let k8 = k & ~7
        var m = 0
        while m < rows {
            let twoRows = m + 1 < rows
            let x0 = x + m * k
            let x1 = twoRows ? x0 + k : x0
            var n = n0
            while n < n1 {
                let nn = min(4, n1 - n)
                // Up to 4 weight rows; missing ones alias the last valid row (results discarded).
                let w0 = w + n * k
                let w1 = nn > 1 ? w0 + k : w0
                let w2 = nn > 2 ? w0 + 2 * k : w0
                let w3 = nn > 3 ? w0 + 3 * k : w0
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
                var c = 0
                while c < k8 {
                    let xv0 = load8(x0 + c), xv1 = load8(x1 + c)
                    let wv0 = load8(w0 + c), wv1 = load8(w1 + c), wv2 = load8(w2 + c), wv3 = load8(w3 + c)
                    a00 += xv0 * wv0; a01 += xv0 * wv1; a02 += xv0 * wv2; a03 += xv0 * wv3
                    a10 += xv1 * wv0; a11 += xv1 * wv1; a12 += xv1 * wv2; a13 += xv1 * wv3
                    c += 8
                }
                var s0 = SIMD4<Float>(a00.sum(), a01.sum(), a02.sum(), a03.sum())
                var s1 = SIMD4<Float>(a10.sum(), a11.sum(), a12.sum(), a13.sum())
                if k8 < k {
                    let ws = [w0, w1, w2, w3]
                    for j in 0..<4 {
                        var t0: Float = 0, t1: Float = 0
                        for cc in k8..<k { t0 += x0[cc] * ws[j][cc]; t1 += x1[cc] * ws[j][cc] }
                        s0[j] += t0; s1[j] += t1
                    }
                }
                for j in 0..<nn {
                    let b = bias?[n + j] ?? 0
                    y[m * outDim + n + j] = s0[j] + b
                    if twoRows { y[(m + 1) * outDim + n + j] = s1[j] + b }
                }
                n += 4
            }
            m += 2
        }
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
    public static func gelu(_ x: UnsafeMutableBufferPointer<Float>) {
        let invSqrt2: Float = 0.70710678118654752440
        for i in x.indices {
            let v = x[i]
            x[i] = v * 0.5 * (1 + erff(v * invSqrt2))
        }
    }

    /// y ← y + x (residual connection).
    public static func add(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count == y.count)
        for i in y.indices { y[i] += x[i] }
    }
}
