import CKernels
import Foundation
import Testing
@testable import Accelerator
@testable import AttnCore

/// The reference softmax's vector e^x (`attnsim_ref_exp_f64`, CKernels/softmax.c) returns libm's
/// `exp` bit for bit, and `attnsim_ref_softmax_f64_rows` equals the portable `ExactSoftmax.softmax`
/// (ReferenceDouble) row by row, Double for Double.
struct ReferenceExpTests {
    /// The inputs of one test block (mode 0–5): the range the softmax uses (s − max in [−512, 0]
    /// and [−40, 0]), tiny arguments of every scale, arguments next to the table's points k·ln2/32
    /// (where the reduced argument is smallest), any negative double (subnormals, −∞, NaN, huge),
    /// and both signs past the range (every one a fallback to `exp`).
    static func inputs(mode: Int, count: Int, rng: inout SeededRNG) -> [Double] {
        func unit() -> Double { Double(rng.next() >> 11) * 0x1p-53 }
        return (0..<count).map { _ in
            switch mode {
            case 0: return -512 * unit()
            case 1: return -40 * unit()
            case 2: return -Foundation.scalbn(unit(), -Int(rng.next() % 60))
            case 3: return Double(-Int(rng.next() % 23_700)) * (M_LN2 / 32) + (unit() - 0.5) * 1e-12
            case 4: return Double(bitPattern: rng.next() | (1 << 63))
            default: return (unit() - 0.5) * 1500
            }
        }
    }

    /// 16.8 million inputs (the C harness of docs/performance.md ran 10⁹ more): every result equals
    /// `exp`'s bits. In the softmax's range only a few percent of the lanes fall back to `exp`, so
    /// the vector method is what produced the others.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI)) func vectorExpEqualsLibmExp() {
        var rng = SeededRNG(seed: 20_261_203)
        let block = 1 << 16
        var out = [Double](repeating: 0, count: block)
        var differing = 0, inRange = 0, inRangeFallbacks = 0
        for b in 0..<256 {
            let mode = b % 6
            let x = Self.inputs(mode: mode, count: block, rng: &rng)
            let fallbacks = attnsim_ref_exp_f64(x, block, &out)
            for j in 0..<block where out[j].bitPattern != Foundation.exp(x[j]).bitPattern {
                if differing < 5 { Issue.record("exp(\(x[j])): libm \(Foundation.exp(x[j])), kernel \(out[j])") }
                differing += 1
            }
            if mode <= 1 { inRange += block; inRangeFallbacks += fallbacks }
        }
        #expect(differing == 0)
        let share = Double(inRangeFallbacks) / Double(inRange)
        #expect(share > 0.01 && share < 0.04, "fallback share in [−512, 0]: \(share)")
    }

    /// The start-up constants: ln 2 in double-double (its high part is the double nearest ln 2, as
    /// `log(2)` and M_LN2 give it), and 2^(j/32) whose squares and 32nd power match the table and 2
    /// to double-double accuracy.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI)) func vectorExpConstants() {
        var hi = [Double](repeating: 0, count: 32), lo = hi, ln2 = [0.0, 0.0]
        attnsim_ref_exp_constants(&hi, &lo, &ln2)
        #expect(ln2[0] == M_LN2 && ln2[0] == Foundation.log(2.0))
        #expect(abs(ln2[1]) < 0x1p-53 && ln2[1] != 0)
        // (a + b)² − (c + d) in double-double, relative to c.
        func squareError(_ a: Double, _ b: Double, _ c: Double, _ d: Double) -> Double {
            let ph = a * a, pl = (-ph).addingProduct(a, a) + 2 * a * b  // a² exactly as ph + fma part
            return abs(((ph - c) + pl) - d) / c
        }
        for j in 0..<16 {
            #expect(squareError(hi[j], lo[j], hi[2 * j], lo[2 * j]) < 0x1p-100, "2^(\(j)/32) squared")
        }
        for j in 16..<32 {
            #expect(squareError(hi[j], lo[j], 2 * hi[2 * j - 32], 2 * lo[2 * j - 32]) < 0x1p-100, "2^(\(j)/32) squared")
            #expect(abs(hi[j] - Foundation.exp2(Double(j) / 32)) <= hi[j].ulp, "2^(\(j)/32) against exp2")
        }
        #expect(hi[0] == 1 && lo[0] == 0)
    }

    /// `attnsim_ref_softmax_f64_rows` against `ExactSoftmax.softmax` (ReferenceDouble) row by row:
    /// 1–4 rows of different lengths (0, off the 8-lane blocks, past one 1,024-key chunk), scores of
    /// attention size and far apart (s − max below −512: `exp` fallbacks and underflow to 0), ties at
    /// the max, +0 and −0 maxima, rows with NaN, ±∞, all −∞.
    @Test(.enabled(if: FunctionalAttention.cpuHasVNNI)) func softmaxRowsEqualsSwift() {
        var rng = SeededRNG(seed: 31_337)
        func unit() -> Double { Double(rng.next() >> 11) * 0x1p-53 }
        let lengths: [[Int]] = [[0], [1], [7, 8, 9], [2112, 2113, 2114, 2115], [1025, 3, 0, 64], [300, 300], [17, 1500, 9, 4]]
        for (li, ns) in lengths.enumerated() {
            for kind in 0..<6 {
                let rows: [[Double]] = ns.map { n in
                    var s = (0..<n).map { _ -> Double in
                        switch kind {
                        case 0: return (unit() - 0.5) * 20
                        case 1: return (unit() - 0.9) * 2000
                        case 2: return Double(Int(rng.next() % 5)) - 4  // ties, integers
                        default: return (unit() - 0.5) * 60
                        }
                    }
                    if n > 3 {
                        switch kind {
                        case 3: s[n / 2] = .nan; s[0] = -.infinity
                        case 4: s = s.map { min($0, 0) }; s[1] = -0.0; s[n - 1] = 0.0
                        case 5: s[n - 2] = .infinity
                        default: break
                        }
                    }
                    if kind == 5 && n == 1 { s[0] = -.infinity }
                    return s
                }
                var native = rows.map { $0 + [-7] }  // one past n: must stay
                var portable = rows
                for r in rows.indices {
                    portable[r].withUnsafeMutableBufferPointer { ExactSoftmax.softmax(ReferenceDouble.self, $0.baseAddress!, n: ns[r]) }
                }
                let bufs = native.map { row -> UnsafeMutablePointer<Double> in
                    let p = UnsafeMutablePointer<Double>.allocate(capacity: row.count)
                    p.initialize(from: row, count: row.count)
                    return p
                }
                defer { bufs.forEach { $0.deallocate() } }
                let ps: [UnsafeMutablePointer<Double>?] = bufs
                _ = attnsim_ref_softmax_f64_rows(ps, Int32(ns.count), ns)
                for r in rows.indices {
                    native[r] = Array(UnsafeBufferPointer(start: bufs[r], count: ns[r] + 1))
                    #expect(native[r][..<ns[r]].map(\.bitPattern) == portable[r].map(\.bitPattern), "lengths \(li) kind \(kind) row \(r)")
                    #expect(native[r][ns[r]] == -7, "lengths \(li) kind \(kind) row \(r): written past n")
                }
            }
        }
    }
}
