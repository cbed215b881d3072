import Foundation
import AttnCore

/// Symmetric fixed-point quantization: x ≈ scale · q with q an integer in [−(2^(b−1) − 1), 2^(b−1) − 1],
/// scale = range / (2^(b−1) − 1), range = max |x| (or a percentile of |x|) over the values sharing
/// the scale. Values beyond the range saturate (and are counted).
public enum FixedPoint {
    /// Rounds with the configured mode.
    @inlinable public static func round(_ x: Double, _ mode: AttentionConfig.Rounding) -> Double {
        switch mode {
        case .nearestEven: return x.rounded(.toNearestOrEven)
        case .nearestAway: return x.rounded(.toNearestOrAwayFromZero)
        case .floor: return x.rounded(.down)
        }
    }

    /// The range of `values` per the calibration rule (max |x|, or the percentile of |x|).
    public static func range<C: Collection>(_ values: C, _ rule: AttentionConfig.RangeCalibration) -> Double where C.Element == Float {
        switch rule {
        case .minMax:
            var m: Float = 0
            for v in values { m = max(m, abs(v)) }
            return Double(m)
        case .percentile(let p):
            let sorted = values.map { abs($0) }.sorted()
            guard !sorted.isEmpty else { return 0 }
            let idx = min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded(.up)))
            return Double(sorted[idx])
        }
    }

    /// Largest code of a signed b-bit symmetric format.
    @inlinable public static func maxCode(bits: Int) -> Int { (1 << (bits - 1)) - 1 }

    /// Quantize-dequantize `x` with `scale` (0 scale → 0). Increments `saturated` when clipped.
    @inlinable public static func code(_ x: Float, scale: Double, bits: Int, rounding: AttentionConfig.Rounding,
                                       saturated: inout Int) -> Int32 {
        guard scale > 0 else { return 0 }
        let m = Double(maxCode(bits: bits))
        var q = round(Double(x) / scale, rounding)
        if q > m { q = m; saturated += 1 } else if q < -m { q = -m; saturated += 1 }
        return Int32(q)
    }

    /// Saturates an accumulator to `bits` (two's complement); counts events.
    @inlinable public static func saturate(_ acc: Int64, bits: Int, events: inout Int) -> Int64 {
        if bits >= 64 { return acc }
        let hi = (Int64(1) << (bits - 1)) - 1, lo = -(Int64(1) << (bits - 1))
        if acc > hi { events += 1; return hi }
        if acc < lo { events += 1; return lo }
        return acc
    }
}

/// A quantized tensor [heads, T, d] of one layer: integer codes and the scale of each element's
/// group (per tensor, per head, or per head and embedding group), plus the dimension → group map
/// for PEG.
public struct QuantizedTensor: Sendable {
    public let heads: Int, tokens: Int, dim: Int
    public let bits: Int
    /// Codes, [heads, T, d]; when bits == 0 the tensor is not quantized and `values` holds floats.
    public var codes: [Int32]
    public var values: [Float]
    /// scales[head * groups + group]
    public var scales: [Double]
    public let groups: Int
    /// Group of each of the d dimensions (identical across heads for PEG, computed per layer).
    public var groupOfDim: [Int]
    public var saturated = 0

    /// Quantizes `x` ([heads, T, d]). PEG: dimensions sorted by their range (max over heads and
    /// tokens), split into `groups` contiguous groups of the sorted order, so outliers share a group.
    public init(_ x: [Float], heads: Int, tokens: Int, dim: Int, bits: Int, granularity: AttentionConfig.Granularity,
                pegGroups: Int, calibration: AttentionConfig.RangeCalibration, rounding: AttentionConfig.Rounding,
                sharedGroups: [Int]? = nil) {
        self.heads = heads
        self.tokens = tokens
        self.dim = dim
        self.bits = bits
        if bits == 0 {
            codes = []
            values = x
            scales = []
            groups = 1
            groupOfDim = .init(repeating: 0, count: dim)
            return
        }
        values = []
        let g: Int
        var groupOfDim = [Int](repeating: 0, count: dim)
        switch granularity {
        case .tensor, .head:
            g = 1
        case .peg:
            g = min(pegGroups, dim)
            groupOfDim = sharedGroups ?? Self.pegGroups([x], dim: dim, groups: g)
        }
        self.groups = g
        self.groupOfDim = groupOfDim
        let maxCode = Double(FixedPoint.maxCode(bits: bits))
        var scales = [Double](repeating: 0, count: heads * g)
        switch granularity {
        case .tensor:
            let s = FixedPoint.range(x, calibration) / maxCode
            for i in 0..<scales.count { scales[i] = s }
        case .head:
            let per = tokens * dim
            for h in 0..<heads { scales[h] = FixedPoint.range(x[(h * per)..<((h + 1) * per)], calibration) / maxCode }
        case .peg:
            // PEG scales are per group across heads too (one range per embedding group of the layer).
            var members = [[Float]](repeating: [], count: g)
            for i in stride(from: 0, to: x.count, by: dim) {
                for c in 0..<dim { members[groupOfDim[c]].append(x[i + c]) }
            }
            for gi in 0..<g {
                let s = FixedPoint.range(members[gi], calibration) / maxCode
                for h in 0..<heads { scales[h * g + gi] = s }
            }
        }
        self.scales = scales
        var codes = [Int32](repeating: 0, count: x.count)
        var sat = 0
        if g == 1 {
            // One scale per head: the same division and rounding per element, 8 lanes at a time
            // (a decode step re-quantizes the whole KV cache, so this loop is long at long context).
            let per = tokens * dim
            x.withUnsafeBufferPointer { xp in
                codes.withUnsafeMutableBufferPointer { cp in
                    for h in 0..<heads {
                        sat += Self.codes(xp.baseAddress! + h * per, count: per, scale: scales[h], bits: bits, rounding: rounding,
                                          into: cp.baseAddress! + h * per)
                    }
                }
            }
            self.codes = codes
            self.saturated = sat
            return
        }
        for h in 0..<heads {
            for t in 0..<tokens {
                let base = (h * tokens + t) * dim
                for c in 0..<dim {
                    codes[base + c] = FixedPoint.code(x[base + c], scale: scales[h * g + groupOfDim[c]], bits: bits,
                                                      rounding: rounding, saturated: &sat)
                }
            }
        }
        self.codes = codes
        self.saturated = sat
    }

    /// Tokens `r` of every head, with the same scales and groups (`saturated` stays the whole
    /// tensor's count).
    public func rows(_ r: Range<Int>) -> QuantizedTensor {
        precondition(r.lowerBound >= 0 && r.upperBound <= tokens)
        func slice<T>(_ x: [T]) -> [T] { x.isEmpty ? [] : x.headRows(r, heads: heads, tokens: tokens, dim: dim) }
        return QuantizedTensor(heads: heads, tokens: r.count, dim: dim, bits: bits, codes: slice(codes), values: slice(values),
                               scales: scales, saturated: saturated, groups: groups, groupOfDim: groupOfDim)
    }

    /// `FixedPoint.code` of `count` values with one scale, into `out`; returns the saturations.
    static func codes(_ x: UnsafePointer<Float>, count n: Int, scale: Double, bits: Int, rounding: AttentionConfig.Rounding,
                      into out: UnsafeMutablePointer<Int32>) -> Int {
        guard scale > 0 else {
            out.update(repeating: 0, count: n)
            return 0
        }
        let rule: FloatingPointRoundingRule = switch rounding {
        case .nearestEven: .toNearestOrEven
        case .nearestAway: .toNearestOrAwayFromZero
        case .floor: .down
        }
        let m = Double(FixedPoint.maxCode(bits: bits))
        let sv = SIMD8<Double>(repeating: scale), hi = SIMD8<Double>(repeating: m), lo = SIMD8<Double>(repeating: -m)
        var sat = 0, i = 0
        while i + 8 <= n {
            let xf = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            var q = (SIMD8<Double>(xf) / sv).rounded(rule)
            let over = q .> hi, under = q .< lo
            if any(over .| under) {
                for l in 0..<8 where over[l] || under[l] { sat += 1 }
                q.replace(with: hi, where: over)
                q.replace(with: lo, where: under)
            }
            for l in 0..<8 { out[i + l] = Int32(q[l]) }
            i += 8
        }
        while i < n {
            out[i] = FixedPoint.code(x[i], scale: scale, bits: bits, rounding: rounding, saturated: &sat)
            i += 1
        }
        return sat
    }

    /// PEG's range-based permutation: dimensions sorted by their range (max |x| over every tensor
    /// given, all heads and tokens) and split into `groups` equal groups of the sorted order, so the
    /// outlier dimensions share a group. Q and K must share one grouping (their dot product is
    /// accumulated per group).
    public static func pegGroups(_ tensors: [[Float]], dim: Int, groups: Int) -> [Int] {
        var dimRange = [Float](repeating: 0, count: dim)
        for x in tensors {
            for i in stride(from: 0, to: x.count, by: dim) {
                for c in 0..<dim { dimRange[c] = max(dimRange[c], abs(x[i + c])) }
            }
        }
        let order = (0..<dim).sorted { (dimRange[$0], $0) < (dimRange[$1], $1) }
        var groupOfDim = [Int](repeating: 0, count: dim)
        for (rank, c) in order.enumerated() { groupOfDim[c] = rank * groups / dim }
        return groupOfDim
    }

    /// The dequantized value (for V and for float paths).
    @inlinable public func value(head: Int, token: Int, dim c: Int) -> Double {
        let i = (head * tokens + token) * dim + c
        if bits == 0 { return Double(values[i]) }
        return Double(codes[i]) * scales[head * groups + groupOfDim[c]]
    }
}
