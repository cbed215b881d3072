import AttnCore
import Dispatch
import Foundation
@testable import Accelerator

/// The functional model's `run`/`runHead` as they were before the runHead speed-up (commit
/// 74260af), kept verbatim as the bit-identity reference for the optimized implementation.
extension FunctionalAttention {
    func referenceRun(_ x: LayerInput) -> LayerResult {
        let ops = quantize(x)
        let d = x.headDim, t = x.tokens
        let group = x.heads / x.kvHeads
        let words = (t + 63) / 64
        let nq = x.queryRows.count
        var output = [Float](repeating: 0, count: x.heads * nq * d)
        var keptBits = [UInt64](repeating: 0, count: x.heads * nq * words)
        var pre = [Fidelity](repeating: Fidelity(), count: x.heads)
        var dec = [Fidelity](repeating: Fidelity(), count: x.heads)
        let initialSaturations = ops.q.saturated + ops.k.saturated + ops.v.saturated

        output.withUnsafeMutableBufferPointer { outBuf in
            keptBits.withUnsafeMutableBufferPointer { bitBuf in
                pre.withUnsafeMutableBufferPointer { preBuf in
                    dec.withUnsafeMutableBufferPointer { decBuf in
                        let outP = SharedBuffer(outBuf), bitP = SharedBuffer(bitBuf)
                        let preP = SharedBuffer(preBuf), decP = SharedBuffer(decBuf)
                        DispatchQueue.concurrentPerform(iterations: x.heads) { h in
                            let (p, d) = self.referenceRunHead(x, ops, head: h, words: words, out: outP, bits: bitP)
                            preP[h] = p
                            decP[h] = d
                        }
                    }
                }
            }
        }
        var prefill = Fidelity(), decode = Fidelity()
        for h in 0..<x.heads {
            prefill += pre[h]
            decode += dec[h]
        }
        prefill.saturations += initialSaturations

        var activities: [HeadActivity] = []
        let q0 = x.queryRows.lowerBound
        let phases: [(HeadActivity.Phase, Range<Int>)] = [(HeadActivity.Phase.prefill, 0..<x.promptTokens), (.decode, x.promptTokens..<t)]
            .map { (phase: HeadActivity.Phase, rows: Range<Int>) in (phase, rows.clamped(to: x.queryRows)) }
        for (phase, rows) in phases where !rows.isEmpty {
            let keyCounts = rows.map { Int32(x.visible($0)) }
            let wpr = ((keyCounts.max().map(Int.init) ?? 0) + 63) / 64
            for kvh in 0..<x.kvHeads {
                var kept: [UInt64] = []
                if config.pruning != .none || config.probabilityQuantization != .none || config.clippedSoftmax != nil {
                    kept = [UInt64](repeating: 0, count: group * rows.count * wpr)
                    for gh in 0..<group {
                        let h = kvh * group + gh
                        for (ri, r) in rows.enumerated() {
                            for w in 0..<wpr { kept[(gh * rows.count + ri) * wpr + w] = keptBits[(h * nq + r - q0) * words + w] }
                        }
                    }
                }
                activities.append(HeadActivity(sequence: x.sequence, layer: x.layer, kvHead: kvh, queryHeads: group,
                                               headDim: d, phase: phase, firstRowPosition: rows.lowerBound,
                                               keyCounts: keyCounts, kept: kept))
            }
        }
        return LayerResult(output: output, prefill: prefill, decode: decode, activities: activities)
    }

    func referenceRunHead(_ x: LayerInput, _ ops: Operands, head h: Int, words: Int, out: SharedBuffer<Float>,
                 bits: SharedBuffer<UInt64>) -> (prefill: Fidelity, decode: Fidelity) {
        let d = x.headDim, t = x.tokens
        let kvh = h / (x.heads / x.kvHeads)
        var s = [Double](repeating: 0, count: t)
        var ref = [Double](repeating: 0, count: t)
        var e = [Double](repeating: 0, count: t)
        var keep = [Bool](repeating: false, count: t)
        var o = [Double](repeating: 0, count: d)
        var oRef = [Double](repeating: 0, count: d)
        var vMean = [Double](repeating: 0, count: d)
        var headPre = Fidelity(), headDec = Fidelity()
        var sat = 0
        var order: [Int] = []
        for i in x.queryRows {
            let n = x.visible(i)
            scores(x, ops, head: h, row: i, count: n, into: &s, saturations: &sat)
            // Exact reference: float scores, softmax, P·V on float V.
            var refMax = -Double.infinity
            for j in 0..<n {
                var dot = 0.0
                let qb = x.qOffset(head: h, row: i), kb = (kvh * t + j) * d
                for c in 0..<d { dot += Double(x.q[qb + c]) * Double(x.k[kb + c]) }
                ref[j] = dot * x.scale
                refMax = max(refMax, ref[j])
            }
            var refSum = 0.0
            for j in 0..<n { ref[j] = exp(ref[j] - refMax); refSum += ref[j] }
            for j in 0..<n { ref[j] /= refSum }

            var m = -Double.infinity
            for j in 0..<n { m = max(m, s[j]) }
            var sumAll = 0.0
            for j in 0..<n { e[j] = exponent(s[j] - m); sumAll += e[j] }

            // Pruning decision.
            var threshold = -Double.infinity
            switch config.pruning {
            case .none:
                for j in 0..<n { keep[j] = true }
            case .probability(let tp):
                for j in 0..<n { keep[j] = e[j] / sumAll > tp }
            case .topTheta(let tt):
                threshold = thresholds!.threshold(layer: x.layer, head: h, length: n, k: tt.k(forLayer: x.layer))
                if tt.placement == .scores {
                    for j in 0..<n { keep[j] = s[j] > threshold }
                } else {
                    for j in 0..<n { keep[j] = e[j] / sumAll > threshold }
                }
            case .topK(let k):
                if n <= k {
                    for j in 0..<n { keep[j] = true }
                } else {
                    order = Array(0..<n)
                    order.sort { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
                    for j in 0..<n { keep[j] = false }
                    for j in order.prefix(k) { keep[j] = true }
                }
            }
            var keptCount = 0
            var argmax = 0
            for j in 0..<n {
                if keep[j] { keptCount += 1 }
                if s[j] > s[argmax] { argmax = j }
            }
            var fid = Fidelity()
            if keptCount == 0 {
                keep[argmax] = true
                keptCount = 1
                fid.keepMaxEvents = 1
            }

            // Denominator.
            var sumKept = 0.0
            for j in 0..<n where keep[j] { sumKept += e[j] }
            var denom = sumKept
            switch config.pruning {
            case .none, .probability:
                denom = sumAll
            case .topTheta(let tt):
                if tt.placement == .probabilities {
                    denom = sumAll
                } else {
                    switch tt.denominator {
                    case .none: denom = sumKept
                    case .exact: denom = sumAll
                    case .countBound:
                        let bound = threshold.isFinite ? exponent(min(0, threshold - m)) : 0
                        denom = sumKept + Double(n - keptCount) * bound
                    case .constant: denom = sumKept + thresholds!.constant(layer: x.layer, head: h)
                    }
                }
            case .topK:
                denom = sumKept
            }

            // Probabilities, clipped softmax, quantization, P·V.
            for c in 0..<d { o[c] = 0; oRef[c] = 0 }
            var pSum = 0.0
            let clip = config.clippedSoftmax
            for j in 0..<n {
                let vb = (kvh * t + j) * d
                let pr = ref[j]
                if pr > 0 { for c in 0..<d { oRef[c] += pr * Double(x.v[vb + c]) } }
                if pr < 1e-3 { fid.below1e3 += 1 }
                if pr < 1e-2 { fid.below1e2 += 1 }
                guard keep[j] else { continue }
                var p = e[j] / denom
                if case .fixed(_, let outFrac) = config.softmax {
                    p = (p * Double(1 << outFrac)).rounded(.toNearestOrEven) / Double(1 << outFrac)
                }
                if let clip {
                    let gamma = -clip.alpha / Double(n)
                    p = min(1, max(0, (clip.zeta - gamma) * p + gamma))
                }
                p = probabilityQuantizer.quantize(p)
                // A probability that quantizes (or clips) to zero is pruned too: the hardware neither
                // multiplies it nor fetches its V row.
                guard p != 0 else { keptCount -= 1; continue }
                pSum += p
                fid.massKept += pr
                for c in 0..<d { o[c] += p * ops.v.value(head: kvh, token: j, dim: c) }
                bits[(h * x.queryRows.count + i - x.queryRows.lowerBound) * words + j >> 6] |= UInt64(1) << UInt64(j & 63)
            }
            if case .topTheta(let tt) = config.pruning, tt.vMean {
                // V-mean compensation: the dropped mass times the mean of the visible V rows
                // (maintained incrementally in hardware as a running sum).
                for c in 0..<d { vMean[c] = 0 }
                for j in 0..<n { for c in 0..<d { vMean[c] += ops.v.value(head: kvh, token: j, dim: c) } }
                let missing = 1 - pSum
                for c in 0..<d { o[c] += missing * vMean[c] / Double(n) }
            }
            let ob = x.qOffset(head: h, row: i)
            for c in 0..<d {
                out[ob + c] = Float(o[c])
                let diff = o[c] - oRef[c]
                fid.errSq += diff * diff
                fid.refSq += oRef[c] * oRef[c]
                fid.outSq += o[c] * o[c]
                fid.dot += o[c] * oRef[c]
            }
            fid.rows = 1
            fid.visible = n
            fid.kept = keptCount
            if i < x.promptTokens { headPre += fid } else { headDec += fid }
        }
        for (acc, isPre) in [(headPre, true), (headDec, false)] where acc.rows > 0 {
            var a = acc
            a.worstHeadRelL2 = a.relativeL2
            a.worstHeadCosine = a.cosine
            a.worstHead = "s\(x.sequence).l\(x.layer).h\(h)"
            if isPre { headPre = a; headPre.saturations += sat; sat = 0 } else { headDec = a; headDec.saturations += sat; sat = 0 }
        }
        return (headPre, headDec)
    }
}
