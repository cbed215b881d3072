import AttnCore
import Foundation

/// Per-layer statistics of a trace: value ranges and outliers of Q/K/V (Bondarenko et al. 2021) and
/// the attention-probability distribution (Ji et al. 2021; the "no-op" mass on the first and last
/// tokens, Bondarenko et al. 2023), computed with exact float attention.
public struct LayerStatistics: Sendable {
    public var layer: Int
    /// max |x|, and excess-free kurtosis E[(x − μ)⁴]/σ⁴ (3 for a Gaussian) of Q, K, V.
    public var maxAbs: [Double]
    public var kurtosis: [Double]
    /// Largest per-dimension range divided by the median per-dimension range, for Q, K, V.
    public var outlierRatio: [Double]
    public var probabilities = 0
    public var below1e3 = 0, below1e2 = 0
    /// Σ over rows of the probability on the first token and on the last visible token.
    public var massFirst = 0.0, massLast = 0.0
    public var rows = 0

    /// Counts one row's probabilities p[0..<n].
    mutating func count(_ p: UnsafePointer<Double>, n: Int) {
        for j in 0..<n {
            if p[j] < 1e-3 { below1e3 += 1 }
            if p[j] < 1e-2 { below1e2 += 1 }
        }
        probabilities += n
        massFirst += p[0]
        massLast += p[n - 1]
        rows += 1
    }
}

public enum TraceInspector {
    public static func statistics(_ r: TraceReader) throws(AttnError) -> [LayerStatistics] {
        let m = r.metadata
        var stats: [LayerStatistics] = []
        for l in 0..<m.layers {
            var all: [[Float]] = [[], [], []]
            var st = LayerStatistics(layer: l, maxAbs: [], kurtosis: [], outlierRatio: [])
            for s in 0..<m.sequences {
                let x = try r.layer(sequence: s, layer: l)
                all[0] += x.q; all[1] += x.k; all[2] += x.v
                let t = x.tokens, d = m.headDim, g = m.heads / m.kvHeads
                var p = [Double](repeating: 0, count: t)
                // Exact attention probabilities of every row (`ExactSoftmax`, Double: the same
                // probabilities as the functional model's reference).
                x.q.withUnsafeBufferPointer { q in
                    x.k.withUnsafeBufferPointer { k in
                        p.withUnsafeMutableBufferPointer { pb in
                            for h in 0..<m.heads {
                                for i in 0..<t {
                                    let n = m.causal ? i + 1 : t
                                    ExactSoftmax.referenceRow(q: q.baseAddress! + (h * t + i) * d, keys: .init(k.baseAddress! + (h / g) * t * d),
                                                              v: nil, d: d, n: n, scale: Double(m.scale), probabilities: pb.baseAddress!, out: nil)
                                    st.count(pb.baseAddress!, n: n)
                                }
                            }
                        }
                    }
                }
            }
            for values in all {
                var mean = 0.0
                for v in values { mean += Double(v) }
                mean /= Double(max(1, values.count))
                var m2 = 0.0, m4 = 0.0, mx = 0.0
                for v in values {
                    let dv = Double(v) - mean
                    m2 += dv * dv
                    m4 += dv * dv * dv * dv
                    mx = max(mx, abs(Double(v)))
                }
                m2 /= Double(max(1, values.count)); m4 /= Double(max(1, values.count))
                st.maxAbs.append(mx)
                st.kurtosis.append(m2 > 0 ? m4 / (m2 * m2) : 0)
                var ranges = [Double](repeating: 0, count: m.headDim)
                for (j, v) in values.enumerated() { ranges[j % m.headDim] = max(ranges[j % m.headDim], abs(Double(v))) }
                let sorted = ranges.sorted()
                let median = sorted[sorted.count / 2]
                st.outlierRatio.append(median > 0 ? sorted.last! / median : 0)
            }
            stats.append(st)
        }
        return stats
    }

    /// The `attnsim inspect` report.
    public static func report(_ r: TraceReader, statistics: [LayerStatistics]) -> String {
        let m = r.metadata
        var s = """
        trace          \(r.path)
        model          \(m.model) (\(m.architecture))
        layers         \(m.layers)
        heads          \(m.heads) query, \(m.kvHeads) KV (group \(m.heads / m.kvHeads)), head_dim \(m.headDim)
        causal         \(m.causal)
        softmax scale  \(m.scale)
        sequences      \(m.sequences): tokens \(r.lengths.map(String.init).joined(separator: " ")); prompt \(m.promptTokens.map(String.init).joined(separator: " "))
        dtype          \(m.extras["dtype"] ?? "?")

        """
        for (k, v) in m.extras.sorted(by: { $0.key < $1.key }) where k != "dtype" { s += "\(k): \(v)\n" }
        s += "\n"
        let header = ["layer", "max|q|", "max|k|", "max|v|", "kurt_q", "kurt_k", "kurt_v", "outlier_q", "outlier_k", "outlier_v",
                      "p<1e-3", "p<1e-2", "mass_first", "mass_last"]
        s += header.joined(separator: "\t") + "\n"
        var tb3 = 0, tb2 = 0, tp = 0
        for st in statistics {
            func f(_ v: Double) -> String { String(format: "%.3g", v) }
            let cols = [String(st.layer)] + st.maxAbs.map(f) + st.kurtosis.map(f) + st.outlierRatio.map(f) + [
                f(Double(st.below1e3) / Double(st.probabilities)), f(Double(st.below1e2) / Double(st.probabilities)),
                f(st.massFirst / Double(st.rows)), f(st.massLast / Double(st.rows)),
            ]
            s += cols.joined(separator: "\t") + "\n"
            tb3 += st.below1e3; tb2 += st.below1e2; tp += st.probabilities
        }
        s += String(format: "\nall layers: %.1f%% of attention probabilities below 1e-3, %.1f%% below 1e-2 (%d probabilities)\n",
                    100 * Double(tb3) / Double(max(tp, 1)), 100 * Double(tb2) / Double(max(tp, 1)), tp)
        s += "kurt: E[(x−μ)⁴]/σ⁴ (3 for a Gaussian); outlier: largest per-dimension max|x| / median; mass_first/last: mean probability on the first / last visible token\n"
        return s
    }
}
