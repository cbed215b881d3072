import Foundation

/// Quantizers for kept attention probabilities (what enters P·V).
///
/// Ji et al. (Findings of ACL 2021), log-scaled: p ≤ t → 0; otherwise with Δ = −log₂(t)/(2^b − 1) the
/// bin i = min(2^b − 2, ⌊(log₂p − log₂t)/Δ⌋) and p̂ = 2^(log₂t + (i + ½)Δ), the bin's log-midpoint.
/// For b = 3, t = 1e-3: 1.64e-3, 4.39e-3, 1.18e-2, 3.16e-2, 8.48e-2, 0.228, 0.611.
/// Power-of-two variant (ours, for shift-only PEs): p̂ = 2^round(log₂p), at most 1, and 0 when
/// round(log₂p) < −(2^b − 2) (the smallest level 2^−(2^b − 2); rounded in the log domain).
/// Uniform: p̂ = round(p · (2^b − 1)) / (2^b − 1).
public struct ProbabilityQuantizer: Sendable {
    public let mode: AttentionConfig.ProbabilityQuantization
    public let levels: [Double]

    public init(_ mode: AttentionConfig.ProbabilityQuantization) {
        self.mode = mode
        switch mode {
        case .log(let b, let t):
            let n = (1 << b) - 1
            let delta = -log2(t) / Double(n)
            levels = (0..<n).map { pow(2, log2(t) + (Double($0) + 0.5) * delta) }
        case .logPowerOfTwo(let b):
            let n = (1 << b) - 1
            levels = (0..<n).map { pow(2, -Double(n - 1 - $0)) }
        case .uniform(let b):
            let n = (1 << b) - 1
            levels = (1...n).map { Double($0) / Double(n) }
        case .none:
            levels = []
        }
    }

    @inlinable public func quantize(_ p: Double) -> Double {
        switch mode {
        case .none:
            return p
        case .log(let b, let t):
            if p <= t { return 0 }
            let n = (1 << b) - 1
            let delta = -log2(t) / Double(n)
            let i = min(n - 1, max(0, Int(((log2(p) - log2(t)) / delta).rounded(.down))))
            return levels[i]
        case .logPowerOfTwo(let b):
            let n = (1 << b) - 1
            if p <= 0 { return 0 }
            let e = (log2(p)).rounded()
            if e < -Double(n - 1) - 0.5 || p < pow(2, -Double(n - 1)) / 2 { return 0 }
            return pow(2, max(-Double(n - 1), min(0, e)))
        case .uniform(let b):
            let n = Double((1 << b) - 1)
            return (min(1, max(0, p)) * n).rounded() / n
        }
    }
}
