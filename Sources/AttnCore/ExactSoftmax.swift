import CKernels
import Foundation

/// Exact softmax attention of one query row — scores sⱼ = scale · q·kⱼ over keys 0..<n, a
/// max-subtracted softmax, then Σⱼ pⱼ·vⱼ — the one kernel behind every exact attention in AttnSim:
/// the reference transformers' seams (`FastExactAttention`, the default of both models, and
/// `ExactAttention`, the trace recorder's), the functional model's exact reference
/// (`FunctionalAttention.referenceRow`, the yardstick of every fidelity column) and the
/// probabilities of `attnsim inspect`.
///
/// One algorithm (`row`), generic over the arithmetic, because two precisions are both needed:
/// - **Float** (`ModelFloat`, `ModelFloatInOrder`): the models compute like PyTorch's float32
///   forward — their hidden states, tokens and perplexities are tested against PyTorch fixtures and
///   the recorded traces, so attention stays in Float. `ModelFloat` sums each dot product in SIMD4
///   partial sums (fast); `ModelFloatInOrder` sums it over c in order, eight keys per SIMD8 register
///   (K transposed by `attnsim_transpose8_f32`) — the results of a scalar one-key-at-a-time loop,
///   which the trace recorder's `ExactAttention` keeps.
/// - **Double** (`ReferenceDouble`): the functional model's reference must sit far below the errors
///   it measures (a fixed-point datapath a few Float ULPs from exact at best); products of Float
///   inputs are exact in Double. With K in `attnsim_ref_scores_f64`'s layout the AVX-512 kernels
///   compute the same Doubles (`NativeKernelTests`).
///
/// The arithmetics differ only where they must: the dot product's precision and order, `exp` vs
/// `expf`, and two details each model has always had (Float multiplies by 1/Σ and adds every key's
/// p·v; Double divides by Σ and skips keys whose p is 0), kept so every result stays bit for bit.
public enum ExactSoftmax {
    /// Keys of one head: row j's d floats at `k + j · d`; `transposed`, when given, is the same keys
    /// in `attnsim_transpose8_f32`'s layout (blocks of 8 keys) for the arithmetics that use it.
    public struct Keys {
        public var k: UnsafePointer<Float>
        public var transposed: UnsafePointer<Float>?
        public init(_ k: UnsafePointer<Float>, transposed: UnsafePointer<Float>? = nil) {
            self.k = k
            self.transposed = transposed
        }
    }

    /// One row: probabilities of keys 0..<n into `p[0..<n]` (`p` holds at least ⌈n/8⌉·8 scalars
    /// for `ModelFloatInOrder`); with `v` (row j's d floats at `v + j · d`) the output Σⱼ pⱼ·vⱼ into
    /// `out[0..<d]`.
    @inline(__always)
    static func row<A: ExactArithmetic>(_: A.Type, q: UnsafePointer<Float>, keys: Keys, v: UnsafePointer<Float>?, d: Int, n: Int,
                                        scale: A.Scalar, p: UnsafeMutablePointer<A.Scalar>, out: UnsafeMutablePointer<A.Scalar>?) {
        A.scores(q, keys, d: d, n: n, scale: scale, into: p)
        softmax(A.self, p, n: n)
        if let v, let out { A.values(p, v, d: d, n: n, native: keys.transposed != nil, into: out) }
    }

    /// Scores p[0..<n] → probabilities, in place (max-subtracted, `A.exp`, `A.normalize`).
    @inline(__always)
    static func softmax<A: ExactArithmetic>(_: A.Type, _ p: UnsafeMutablePointer<A.Scalar>, n: Int) {
        var m = -A.Scalar.infinity
        for j in 0..<n where p[j] > m { m = p[j] }
        var sum: A.Scalar = 0
        for j in 0..<n {
            let e = A.exp(p[j] - m)
            p[j] = e
            sum += e
        }
        A.normalize(p, n: n, sum: sum)
    }

    /// k[tokens][d] into `kt` in the transposed layout of `Keys.transposed` (blocks of 8 keys,
    /// zero padded: ⌈tokens/8⌉·8·d floats).
    public static func transpose8(_ k: UnsafePointer<Float>, tokens: Int, d: Int, into kt: UnsafeMutablePointer<Float>) {
        attnsim_transpose8_f32(k, tokens, d, kt)
    }

    /// The models' row (Float, SIMD4 dot products).
    public static func modelRow(q: UnsafePointer<Float>, keys: Keys, v: UnsafePointer<Float>, d: Int, n: Int, scale: Float,
                                scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        row(ModelFloat.self, q: q, keys: keys, v: v, d: d, n: n, scale: scale, p: scores, out: out)
    }

    /// The models' row with in-order dot products (needs `keys.transposed`).
    public static func modelRowInOrder(q: UnsafePointer<Float>, keys: Keys, v: UnsafePointer<Float>, d: Int, n: Int, scale: Float,
                                       scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        row(ModelFloatInOrder.self, q: q, keys: keys, v: v, d: d, n: n, scale: scale, p: scores, out: out)
    }

    /// The reference row (Double): probabilities into `probabilities[0..<n]`, and with `v` the
    /// output into `out[0..<d]`. `keys.transposed` selects the AVX-512 kernels (the caller checks
    /// the CPU).
    public static func referenceRow(q: UnsafePointer<Float>, keys: Keys, v: UnsafePointer<Float>?, d: Int, n: Int, scale: Double,
                                    probabilities: UnsafeMutablePointer<Double>, out: UnsafeMutablePointer<Double>?) {
        row(ReferenceDouble.self, q: q, keys: keys, v: v, d: d, n: n, scale: scale, p: probabilities, out: out)
    }

    /// Most rows `referenceRows` computes per pass over the keys.
    public static let referenceRowsPerPass = Int(ATTNSIM_REF_MAX_ROWS)

    /// `referenceRow` of several rows against the same keys and V: row r's query `q[r]`, keys
    /// 0..<`n[r]`, probabilities into `probabilities[r][0..<n[r]]` and, with `v`, output into
    /// `out[r][0..<d]` — the same Doubles as `referenceRow` row by row (`NativeKernelTests`). With
    /// `keys.transposed` the multi-row AVX-512 kernels take up to `referenceRowsPerPass` rows per pass
    /// (each key block and V row loaded once for all of them, each row's sums in its own order) and
    /// the softmax is `attnsim_ref_softmax_f64_rows` (vector e^x equal to libm's `exp`); without it,
    /// `referenceRow` row by row (the portable twin).
    public static func referenceRows(q: [UnsafePointer<Float>], keys: Keys, v: UnsafePointer<Float>?, d: Int, n: [Int],
                                     scale: Double, probabilities: [UnsafeMutablePointer<Double>],
                                     out: [UnsafeMutablePointer<Double>]?) {
        precondition(q.count == n.count && q.count == probabilities.count && (out?.count ?? q.count) == q.count)
        guard let kt = keys.transposed else {
            for r in q.indices {
                referenceRow(q: q[r], keys: keys, v: v, d: d, n: n[r], scale: scale, probabilities: probabilities[r], out: out?[r])
            }
            return
        }
        var r0 = 0
        while r0 < q.count {
            let rows = min(referenceRowsPerPass, q.count - r0)
            let qs: [UnsafePointer<Float>?] = Array(q[r0..<r0 + rows])
            let ns = Array(n[r0..<r0 + rows])
            let ps: [UnsafeMutablePointer<Double>?] = Array(probabilities[r0..<r0 + rows])
            attnsim_ref_scores_f64_rows(qs, Int32(rows), kt, d, ns, scale, ps)
            // `softmax` (ReferenceDouble) of each row, the same Doubles: a vector e^x that returns
            // libm's `exp` bit for bit (`attnsim_ref_exp_f64`), the sums in order.
            _ = attnsim_ref_softmax_f64_rows(ps, Int32(rows), ns)
            if let v, let out {
                let pc: [UnsafePointer<Double>?] = probabilities[r0..<r0 + rows].map { UnsafePointer($0) }
                let os: [UnsafeMutablePointer<Double>?] = Array(out[r0..<r0 + rows])
                attnsim_ref_pv_f64_rows(pc, Int32(rows), v, d, ns, os)
            }
            r0 += rows
        }
    }
}

/// The arithmetic of `ExactSoftmax.row`: its precision and the order of its sums.
protocol ExactArithmetic {
    associatedtype Scalar: BinaryFloatingPoint
    /// s[j] = scale · Σ_c q[c]·k[j][c] for j < n.
    static func scores(_ q: UnsafePointer<Float>, _ keys: ExactSoftmax.Keys, d: Int, n: Int, scale: Scalar,
                       into s: UnsafeMutablePointer<Scalar>)
    static func exp(_ x: Scalar) -> Scalar
    /// e[0..<n] (Σ = sum) → probabilities.
    static func normalize(_ e: UnsafeMutablePointer<Scalar>, n: Int, sum: Scalar)
    /// out[c] = Σⱼ p[j]·v[j][c], j in order (`native`: the keys came transposed, AVX-512 allowed).
    static func values(_ p: UnsafePointer<Scalar>, _ v: UnsafePointer<Float>, d: Int, n: Int, native: Bool,
                       into out: UnsafeMutablePointer<Scalar>)
}

/// The models' Float softmax and P·V (shared by both Float arithmetics): p = e · (1/Σ), every key
/// added (SIMD4 lanes over c: each out[c] still sums over j in order).
extension ExactArithmetic where Scalar == Float {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }

    @inline(__always) static func normalize(_ e: UnsafeMutablePointer<Float>, n: Int, sum: Float) {
        let inv: Float = n > 0 ? 1 / sum : 0
        for j in 0..<n { e[j] *= inv }
    }

    @inline(__always) static func values(_ p: UnsafePointer<Float>, _ v: UnsafePointer<Float>, d: Int, n: Int, native: Bool,
                                         into o: UnsafeMutablePointer<Float>) {
        let d4 = d & ~3
        for c in 0..<d { o[c] = 0 }
        for j in 0..<n {
            let vj = v + j * d
            let pv = SIMD4<Float>(repeating: p[j])
            var c = 0
            while c < d4 {
                let r = UnsafeMutableRawPointer(o + c)
                r.storeBytes(of: r.loadUnaligned(as: SIMD4<Float>.self) + pv * UnsafeRawPointer(vj + c).loadUnaligned(as: SIMD4<Float>.self),
                             as: SIMD4<Float>.self)
                c += 4
            }
            while c < d { o[c] += p[j] * vj[c]; c += 1 }
        }
    }
}

/// Float, dot products in SIMD4 partial sums (in order in debug builds).
enum ModelFloat: ExactArithmetic {
    @inline(__always) static func scores(_ q: UnsafePointer<Float>, _ keys: ExactSoftmax.Keys, d: Int, n: Int, scale: Float,
                                         into s: UnsafeMutablePointer<Float>) {
        let d4 = d & ~3
        for j in 0..<n {
            let kj = keys.k + j * d
            #if DEBUG
            var dot: Float = 0
            for c in 0..<d { dot += q[c] * kj[c] }
            #else
            var acc = SIMD4<Float>()
            var c = 0
            while c < d4 {
                acc += UnsafeRawPointer(q + c).loadUnaligned(as: SIMD4<Float>.self) * UnsafeRawPointer(kj + c).loadUnaligned(as: SIMD4<Float>.self)
                c += 4
            }
            var dot = acc.sum()
            while c < d { dot += q[c] * kj[c]; c += 1 }
            #endif
            s[j] = dot * scale
        }
    }
}

/// Float, each dot product summed over c in order, eight keys per SIMD8 register (`keys.transposed`
/// required; writes ⌈n/8⌉·8 scores).
enum ModelFloatInOrder: ExactArithmetic {
    @inline(__always) static func scores(_ q: UnsafePointer<Float>, _ keys: ExactSoftmax.Keys, d: Int, n: Int, scale: Float,
                                         into s: UnsafeMutablePointer<Float>) {
        let kt = keys.transposed!
        var b = 0
        while b * 8 < n {
            var dot = SIMD8<Float>()
            let kb = kt + b * d * 8
            for c in 0..<d { dot += SIMD8<Float>(repeating: q[c]) * UnsafeRawPointer(kb + c * 8).loadUnaligned(as: SIMD8<Float>.self) }
            UnsafeMutableRawPointer(s + b * 8).storeBytes(of: dot * scale, as: SIMD8<Float>.self)
            b += 1
        }
    }
}

/// Double: products of the Float inputs (exact) summed over c in order; p = e / Σ; keys with p = 0
/// skipped in P·V. With `keys.transposed` the same Doubles from the AVX-512 kernels.
enum ReferenceDouble: ExactArithmetic {
    @inline(__always) static func scores(_ q: UnsafePointer<Float>, _ keys: ExactSoftmax.Keys, d: Int, n: Int, scale: Double,
                                         into s: UnsafeMutablePointer<Double>) {
        if let kt = keys.transposed {
            attnsim_ref_scores_f64(q, kt, d, n, scale, s)
            return
        }
        for j in 0..<n {
            var dot = 0.0
            let kp = keys.k + j * d
            for c in 0..<d { dot += Double(q[c]) * Double(kp[c]) }
            s[j] = dot * scale
        }
    }

    @inline(__always) static func exp(_ x: Double) -> Double { Foundation.exp(x) }

    @inline(__always) static func normalize(_ e: UnsafeMutablePointer<Double>, n: Int, sum: Double) {
        for j in 0..<n { e[j] /= sum }
    }

    @inline(__always) static func values(_ p: UnsafePointer<Double>, _ v: UnsafePointer<Float>, d: Int, n: Int, native: Bool,
                                         into o: UnsafeMutablePointer<Double>) {
        if native {
            attnsim_ref_pv_f64(p, v, d, n, o)
            return
        }
        for c in 0..<d { o[c] = 0 }
        for j in 0..<n where p[j] > 0 {
            let vf = v + j * d
            for c in 0..<d { o[c] += p[j] * Double(vf[c]) }
        }
    }
}
