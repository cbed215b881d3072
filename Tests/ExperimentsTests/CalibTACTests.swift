import Testing
@testable import Accelerator
@testable import Experiments
import ReferenceModels

/// `calib_tac`: the calibration seam answers with exact top-k attention instead of exact attention.
@Suite struct CalibTACTests {
    // One head, head_dim 2, 3 query rows × 3 keys (bidirectional), scale 1.
    static let q: [Float] = [1, 0, 0, 1, 1, 1]
    static let k: [Float] = [2, 0, 0, 3, 1, 1]
    static let v: [Float] = [10, 0, 0, 20, 5, 5]
    static let call = AttentionCall(sequence: 0, layer: 0, heads: 1, kvHeads: 1, headDim: 2, queryRows: 3, keyRows: 3,
                                    queryOffset: 0, causal: false, scale: 1)

    static func attend(_ seam: CalibrationSeam) -> [Float] {
        var out = [Float](repeating: -1, count: 6)
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { seam.attend(call, q: qb, k: kb, v: vb, out: $0) }
                }
            }
        }
        return out
    }

    @Test func topOneAttentionCopiesTheBestKeysValue() {
        // Scores: row 0 (q = [1, 0]) → [2, 0, 1], best key 0; row 1 ([0, 1]) → [0, 3, 1], key 1;
        // row 2 ([1, 1]) → [2, 3, 2], key 1. Top-1 attention outputs those V rows exactly.
        let seam = CalibrationSeam(topK: AttentionConfig.TopTheta(k: 1))
        #expect(Self.attend(seam) == [10, 0, 0, 20, 0, 20])
        #expect(seam.inputs.count == 1)
        // Exact attention mixes the rows instead.
        let exact = Self.attend(CalibrationSeam())
        #expect(exact[0] < 10 && exact[0] > 5)
    }

    @Test func kAboveTheRowLengthIsExactAttention() {
        let tac = Self.attend(CalibrationSeam(topK: AttentionConfig.TopTheta(k: 8)))
        let exact = Self.attend(CalibrationSeam())
        for i in 0..<6 { #expect(abs(tac[i] - exact[i]) < 1e-4, "\(i): \(tac[i]) vs \(exact[i])") }
    }
}
