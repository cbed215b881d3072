/// A register-by-register simulation of one fold of the systolic array, for small sizes only: it
/// moves every operand one PE per cycle, multiplies real integers, and reports the product and the
/// number of cycles until the last result is complete. Tests check `SystolicArray`'s closed forms
/// against it (and its product against a plain matrix multiply).
///
/// Conventions shared with SCALE-Sim: a fold always occupies the whole R × C array (unused PEs
/// compute on zero padding), operands enter skewed (row i of the west edge is i cycles late, column j
/// of the north edge j cycles late), and a cycle is counted if any PE does useful work or a result
/// is still moving.
public enum CycleSteppedArray {
    public struct Result: Equatable, Sendable {
        /// out[M][N], row-major.
        public var product: [Int64]
        public var cycles: Int
    }

    /// One fold of an M × K × N GEMM that fits the array in the dataflow's stationary dimensions:
    /// os: M ≤ R, N ≤ C; ws: K ≤ R, N ≤ C; is: K ≤ R, M ≤ C.
    public static func run(a: [Int64], b: [Int64], m: Int, k: Int, n: Int, rows: Int, cols: Int,
                           dataflow: SystolicArray.Dataflow) -> Result {
        precondition(a.count == m * k && b.count == k * n)
        switch dataflow {
        case .os:
            precondition(m <= rows && n <= cols, "os fold: M ≤ R and N ≤ C")
            return outputStationary(a: a, b: b, m: m, k: k, n: n, rows: rows, cols: cols)
        case .ws:
            precondition(k <= rows && n <= cols, "ws fold: K ≤ R and N ≤ C")
            return weightStationary(input: a, weights: b, m: m, k: k, n: n, rows: rows, cols: cols)
        case .is:
            precondition(k <= rows && m <= cols, "is fold: K ≤ R and M ≤ C")
            // outᵀ = Bᵀ·Aᵀ: the stationary operand is Aᵀ (K × M), the streamed one Bᵀ (N × K).
            var at = [Int64](repeating: 0, count: k * m), bt = [Int64](repeating: 0, count: n * k)
            for i in 0..<m { for j in 0..<k { at[j * m + i] = a[i * k + j] } }
            for i in 0..<k { for j in 0..<n { bt[j * k + i] = b[i * n + j] } }
            let r = weightStationary(input: bt, weights: at, m: n, k: k, n: m, rows: rows, cols: cols)
            var out = [Int64](repeating: 0, count: m * n)
            for i in 0..<n { for j in 0..<m { out[j * n + i] = r.product[i * m + j] } }
            return Result(product: out, cycles: r.cycles)
        }
    }

    /// Output stationary: PE(i, j) accumulates out[i][j]; A[i][t] enters row i from the west at cycle
    /// t + i, B[t][j] enters column j from the north at cycle t + j, both move one PE per cycle.
    static func outputStationary(a: [Int64], b: [Int64], m: Int, k: Int, n: Int, rows: Int, cols: Int) -> Result {
        let r = rows, c = cols
        var aReg = [Int64?](repeating: nil, count: r * c)
        var bReg = [Int64?](repeating: nil, count: r * c)
        var acc = [Int64](repeating: 0, count: r * c)
        var cycle = 0
        var lastBusy = -1
        // Zero padding streams through unused rows/columns, as in SCALE-Sim's schedule.
        while cycle < k + r + c {
            // Shift east and south (from the far edge back so each value moves once).
            for i in 0..<r { for j in stride(from: c - 1, to: 0, by: -1) { aReg[i * c + j] = aReg[i * c + j - 1] } }
            for j in 0..<c { for i in stride(from: r - 1, to: 0, by: -1) { bReg[i * c + j] = bReg[(i - 1) * c + j] } }
            for i in 0..<r {
                let t = cycle - i
                aReg[i * c] = (t >= 0 && t < k) ? (i < m ? a[i * k + t] : 0) : nil
            }
            for j in 0..<c {
                let t = cycle - j
                bReg[j] = (t >= 0 && t < k) ? (j < n ? b[t * n + j] : 0) : nil
            }
            for p in 0..<(r * c) {
                if let x = aReg[p], let y = bReg[p] {
                    acc[p] += x * y
                    lastBusy = cycle
                }
            }
            cycle += 1
        }
        var out = [Int64](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { out[i * n + j] = acc[i * c + j] } }
        return Result(product: out, cycles: lastBusy + 1)
    }

    /// Weight stationary: R cycles shift the K × N weight tile in from the north (one row per cycle);
    /// then input[t][i] enters row i from the west at cycle t + i and moves east, partial sums move
    /// south, and out[t][j] leaves the bottom of column j. Counts cycles until the last output leaves.
    static func weightStationary(input: [Int64], weights: [Int64], m: Int, k: Int, n: Int, rows: Int, cols: Int) -> Result {
        let r = rows, c = cols
        // Preload: after R shifts PE(i, j) holds W[i][j] (zero padding beyond K × N).
        var w = [Int64?](repeating: nil, count: r * c)
        var cycle = 0
        for step in 0..<r {
            for i in stride(from: r - 1, to: 0, by: -1) { for j in 0..<c { w[i * c + j] = w[(i - 1) * c + j] } }
            let row = r - 1 - step   // the bottom row's weights enter first
            for j in 0..<c { w[j] = (row < k && j < n) ? weights[row * n + j] : 0 }
            cycle += 1
        }
        var aReg = [Int64?](repeating: nil, count: r * c)
        var psum = [(value: Int64, t: Int)?](repeating: nil, count: r * c)
        var out = [Int64](repeating: 0, count: m * n)
        var lastBusy = cycle - 1
        var local = 0
        while local < m + r + c {
            for i in 0..<r { for j in stride(from: c - 1, to: 0, by: -1) { aReg[i * c + j] = aReg[i * c + j - 1] } }
            // Partial sums leaving the bottom row are outputs; the rest move one row down.
            for j in 0..<c {
                if let p = psum[(r - 1) * c + j], j < n { out[p.t * n + j] = p.value }
            }
            for i in stride(from: r - 1, to: 0, by: -1) { for j in 0..<c { psum[i * c + j] = psum[(i - 1) * c + j] } }
            for j in 0..<c { psum[j] = nil }
            for i in 0..<r {
                let t = local - i
                aReg[i * c] = (t >= 0 && t < m) ? (i < k ? input[t * k + i] : 0) : nil
            }
            for i in 0..<r {
                for j in 0..<c {
                    let p = i * c + j
                    guard let x = aReg[p] else { continue }
                    // The input row t that reaches PE(i, j) now is local − i − j.
                    let t = local - i - j
                    guard t >= 0 && t < m else { continue }
                    let incoming = i == 0 ? 0 : (psum[p]?.value ?? 0)
                    psum[p] = (incoming + x * w[p]!, t)
                    lastBusy = cycle
                }
            }
            cycle += 1
            local += 1
        }
        for j in 0..<c { if let p = psum[(r - 1) * c + j], j < n { out[p.t * n + j] = p.value } }
        return Result(product: out, cycles: lastBusy + 1)
    }
}
