import Foundation

/// Static Top-θ thresholds per (layer, head, row length n), calibrated as in Berestizshevsky et al.
/// (arXiv 2502.08363, and their released code): on each calibration row with n > k visible elements,
/// take the (k+1)-th largest value (score, or probability for placement after softmax) — the value
/// that keeps exactly k with a strict `>` — and combine the samples of each (layer, head, n) as
/// mean + stdFactor · std (population std). Rows with n ≤ k stay dense. A length with no calibration
/// sample uses the nearest calibrated length (below first, else above) of the same layer and head;
/// a (layer, head) with no samples at all stays dense.
///
/// The calibrated-constant denominator compensation uses, per (layer, head), the mean over
/// calibration rows of Σ e^(s − max) over the elements exact top-k dropped.
public struct TopThetaThresholds: Sendable, Equatable {
    public let layers: Int, heads: Int, maxLength: Int
    /// θ[(layer · heads + head) · (maxLength + 1) + n]; NaN where not calibrated.
    public var theta: [Double]
    /// Per (layer, head).
    public var constants: [Float]
    /// Calibration rows used per (layer, head) (for reports).
    public var samples: [Int32]

    public init(layers: Int, heads: Int, maxLength: Int, theta: [Double], constants: [Float], samples: [Int32]) {
        precondition(theta.count == layers * heads * (maxLength + 1) && constants.count == layers * heads)
        self.layers = layers
        self.heads = heads
        self.maxLength = maxLength
        self.theta = theta
        self.constants = constants
        self.samples = samples
    }

    /// The threshold for a row of n visible elements; −∞ (keep all) when n ≤ k or uncalibrated.
    public func threshold(layer l: Int, head h: Int, length n: Int, k: Int) -> Double {
        if n <= k || l >= layers || h >= heads { return -.infinity }
        let base = (l * heads + h) * (maxLength + 1)
        let start = min(n, maxLength)
        var i = start
        while i > k {
            if !theta[base + i].isNaN { return theta[base + i] }
            i -= 1
        }
        i = start + 1
        while i <= maxLength {
            if !theta[base + i].isNaN { return theta[base + i] }
            i += 1
        }
        return -.infinity
    }

    public func constant(layer l: Int, head h: Int) -> Double {
        l < layers && h < heads ? Double(constants[l * heads + h]) : 0
    }
}

/// Accumulates calibration rows and produces `TopThetaThresholds`.
public struct TopThetaCalibrator: Sendable {
    public let config: AttentionConfig
    public let topTheta: AttentionConfig.TopTheta
    let layers: Int, heads: Int, maxLength: Int
    var sum: [Double], sumSq: [Double], count: [Int32]
    var constSum: [Double], constCount: [Int32]

    public init(config: AttentionConfig, layers: Int, heads: Int, maxLength: Int) {
        guard case .topTheta(let t) = config.pruning else { preconditionFailure("calibrating without Top-θ pruning") }
        self.config = config
        self.topTheta = t
        self.layers = layers
        self.heads = heads
        self.maxLength = maxLength
        let n = layers * heads * (maxLength + 1)
        sum = .init(repeating: 0, count: n)
        sumSq = .init(repeating: 0, count: n)
        count = .init(repeating: 0, count: n)
        constSum = .init(repeating: 0, count: layers * heads)
        constCount = .init(repeating: 0, count: layers * heads)
    }

    /// Adds every row (prefill and decode) of one (sequence, layer).
    public mutating func add(_ x: LayerInput) {
        let fa = FunctionalAttention(config: { var c = config; c.pruning = .none; return c }())
        let ops = fa.quantize(x)
        let k = topTheta.k(forLayer: x.layer)
        var s = [Double](repeating: 0, count: x.tokens)
        var sat = 0
        for h in 0..<x.heads {
            for i in 0..<x.tokens {
                let n = x.visible(i)
                guard n > k, n <= maxLength else { continue }
                fa.scores(x, ops, head: h, row: i, count: n, into: &s, saturations: &sat)
                var values = Array(s[0..<n])
                let m = values.max()!
                if topTheta.placement == .probabilities {
                    var total = 0.0
                    for j in 0..<n { total += fa.exponent(values[j] - m) }
                    for j in 0..<n { values[j] = fa.exponent(values[j] - m) / total }
                }
                // (k+1)-th largest by selection, not a sort (O(n) per row: calibration at 2k tokens sorted 2 M rows).
                Self.selectDescending(&values, k)
                let kth = values[k]
                let idx = (x.layer * heads + h) * (maxLength + 1) + n
                sum[idx] += kth
                sumSq[idx] += kth * kth
                count[idx] += 1
                // Mass exact top-k drops, for the calibrated-constant compensation: the n − k smallest scores.
                var dropped = 0.0
                var scoresSelected = values
                if topTheta.placement != .scores {
                    scoresSelected = Array(s[0..<n])
                    Self.selectDescending(&scoresSelected, k)
                }
                for j in k..<n { dropped += fa.exponent(scoresSelected[j] - m) }
                constSum[x.layer * heads + h] += dropped
                constCount[x.layer * heads + h] += 1
            }
        }
    }

    /// Reorders `a` so that `a[k]` is its (k+1)-th largest value, `a[..<k]` the k largest (any order)
    /// and `a[(k+1)...]` the rest: quickselect with a median-of-three pivot.
    static func selectDescending(_ a: inout [Double], _ k: Int) {
        precondition(k >= 0 && k < a.count)
        a.withUnsafeMutableBufferPointer { a in
            var lo = 0, hi = a.count - 1
            while lo < hi {
                let x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi]
                let pivot = max(min(x, y), min(max(x, y), z))
                var i = lo, j = hi
                while i <= j {
                    while a[i] > pivot { i += 1 }
                    while a[j] < pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { return }
            }
        }
    }

    public func thresholds() -> TopThetaThresholds {
        var theta = [Double](repeating: .nan, count: sum.count)
        for i in 0..<sum.count where count[i] > 0 {
            let n = Double(count[i])
            let mean = sum[i] / n
            let variance = max(0, sumSq[i] / n - mean * mean)
            theta[i] = mean + topTheta.stdFactor * variance.squareRoot()
        }
        var constants = [Float](repeating: 0, count: constSum.count)
        var samples = [Int32](repeating: 0, count: constSum.count)
        for i in 0..<constSum.count where constCount[i] > 0 {
            constants[i] = Float(constSum[i] / Double(constCount[i]))
            samples[i] = constCount[i]
        }
        return TopThetaThresholds(layers: layers, heads: heads, maxLength: maxLength, theta: theta, constants: constants, samples: samples)
    }
}

/// The threshold table as hardware stores it: entries only at the row lengths the bucketing keeps,
/// other lengths read from them (nearest stored length, or linear interpolation between the two
/// around it). See docs/algorithms.md, "Threshold table".
extension AttentionConfig.TopTheta {
    /// Stored row lengths of a layer: the bucket lengths in (k, maxLength] (every length without
    /// buckets); when no bucket length falls there but rows longer than k exist, maxLength alone.
    public func storedLengths(layer l: Int, maxLength: Int) -> [Int] {
        let k = k(forLayer: l)
        guard maxLength > k else { return [] }
        var out: [Int] = []
        switch buckets {
        case .none: out = Array((k + 1)...maxLength)
        case .powersOfTwo:
            var p = 1
            while p <= maxLength { if p > k { out.append(p) }; p *= 2 }
        case .every(let n):
            var p = n
            while p <= maxLength { if p > k { out.append(p) }; p += n }
        }
        return out.isEmpty ? [maxLength] : out
    }

    /// Bytes of the threshold table for `layers` × `heads` up to rows of `maxLength`: one entry of
    /// `entryBytes` per (layer, head, stored length), plus one per (layer, head) for the constant
    /// denominator compensation.
    public func tableBytes(layers: Int, heads: Int, maxLength: Int, entryBytes: Int) -> Int {
        var entries = 0
        for l in 0..<layers { entries += storedLengths(layer: l, maxLength: maxLength).count }
        entries *= heads
        if denominator == .constant { entries += layers * heads }
        return entries * entryBytes
    }
}

extension TopThetaThresholds {
    /// The thresholds the hardware uses with `t`'s bucketing: for every row length n > k, the value
    /// read from the stored lengths (each stored value is the calibrated threshold at that length,
    /// with the usual fallback to the nearest calibrated length). Unchanged without buckets.
    public func bucketed(_ t: AttentionConfig.TopTheta) -> TopThetaThresholds {
        guard t.buckets != .none else { return self }
        var out = self
        for l in 0..<layers {
            let k = t.k(forLayer: l)
            let stored = t.storedLengths(layer: l, maxLength: maxLength)
            guard !stored.isEmpty else { continue }
            for h in 0..<heads {
                let values = stored.map { threshold(layer: l, head: h, length: $0, k: k) }
                let base = (l * heads + h) * (maxLength + 1)
                var j = 0   // stored[j] is the first stored length ≥ n (or the last one)
                for n in (k + 1)...maxLength {
                    while j < stored.count - 1 && stored[j] < n { j += 1 }
                    let value: Double
                    if stored[j] == n || j == 0 || stored[j] < n {
                        value = values[j]
                    } else {
                        let (l0, l1, v0, v1) = (stored[j - 1], stored[j], values[j - 1], values[j])
                        if t.interpolation == .linear && v0.isFinite && v1.isFinite {
                            value = v0 + (v1 - v0) * Double(n - l0) / Double(l1 - l0)
                        } else {
                            value = n - l0 <= l1 - n ? v0 : v1
                        }
                    }
                    out.theta[base + n] = value
                }
            }
        }
        return out
    }
}
