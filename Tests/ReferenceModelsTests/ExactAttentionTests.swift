import Foundation
import Testing
@testable import ReferenceModels

/// `ExactAttention` (heads in parallel, eight keys per SIMD8 lane group) against the scalar loop it
/// replaced, kept verbatim here: every output Float must have the same bits.
struct ExactAttentionTests {
    /// The previous `ExactAttention.attend`: one head, one row, one key at a time.
    static func scalarAttend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                             v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows, tk = call.keyRows
        let group = call.heads / call.kvHeads
        var scores = [Float](repeating: 0, count: tk)
        for h in 0..<call.heads {
            let kvh = h / group
            let kBase = kvh * call.kvHeadStride * d
            for i in 0..<tq {
                let qBase = (h * tq + i) * d
                var visible = call.validKeys
                if call.causal { visible = min(visible, call.queryOffset + i + 1) }
                var maxScore = -Float.infinity
                for j in 0..<visible {
                    var dot: Float = 0
                    for c in 0..<d { dot += q[qBase + c] * k[kBase + j * d + c] }
                    let s = dot * call.scale
                    scores[j] = s
                    if s > maxScore { maxScore = s }
                }
                var sum: Float = 0
                for j in 0..<visible {
                    let e = expf(scores[j] - maxScore)
                    scores[j] = e
                    sum += e
                }
                let oBase = (h * tq + i) * d
                for c in 0..<d { out[oBase + c] = 0 }
                let inv = visible > 0 ? 1 / sum : 0
                for j in 0..<visible {
                    let p = scores[j] * inv
                    let vBase = kBase + j * d
                    for c in 0..<d { out[oBase + c] += p * v[vBase + c] }
                }
            }
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var heads, kvHeads, d, tq, tk, offset: Int
        var causal: Bool
        var validKeys: Int?
        var stride: Int?
        var description: String { "\(heads)/\(kvHeads) d \(d) q \(tq) k \(tk) off \(offset) causal \(causal) valid \(validKeys ?? tk) stride \(stride ?? tk)" }
    }

    static let cases: [Case] = [
        Case(heads: 9, kvHeads: 3, d: 64, tq: 37, tk: 37, offset: 0, causal: true),            // prefill
        Case(heads: 9, kvHeads: 3, d: 64, tq: 1, tk: 70, offset: 69, causal: true, stride: 96),  // decode step, cache in place
        Case(heads: 4, kvHeads: 4, d: 5, tq: 11, tk: 11, offset: 0, causal: false, validKeys: 7), // padded encoder batch
        Case(heads: 2, kvHeads: 1, d: 16, tq: 3, tk: 20, offset: 17, causal: true),            // several new rows after a cache
        Case(heads: 3, kvHeads: 1, d: 8, tq: 8, tk: 8, offset: 0, causal: false),               // exactly one 8-key block
    ]

    @Test(arguments: cases)
    func sameBitsAsTheScalarLoop(_ c: Case) {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15 &+ UInt64(c.d * 1000 + c.tk)
        func r() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 250
        }
        let stride = c.stride ?? c.tk
        let q = (0..<(c.heads * c.tq * c.d)).map { _ in r() }
        let k = (0..<(c.kvHeads * stride * c.d)).map { _ in r() }
        let v = (0..<(c.kvHeads * stride * c.d)).map { _ in r() }
        let call = AttentionCall(sequence: 0, layer: 0, heads: c.heads, kvHeads: c.kvHeads, headDim: c.d, queryRows: c.tq,
                                 keyRows: c.tk, queryOffset: c.offset, causal: c.causal, validKeys: c.validKeys,
                                 scale: 1 / Float(c.d).squareRoot(), kvHeadStride: stride)
        var fast = [Float](repeating: .nan, count: c.heads * c.tq * c.d), slow = fast
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
            fast.withUnsafeMutableBufferPointer { ExactAttention().attend(call, q: qp, k: kp, v: vp, out: $0) }
            slow.withUnsafeMutableBufferPointer { Self.scalarAttend(call, q: qp, k: kp, v: vp, out: $0) }
        } } }
        #expect(!slow.contains { $0.isNaN })
        #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern))
    }
}
