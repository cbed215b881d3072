import AttnCore

/// An attention seam that records what the attention unit sees — Q of the new rows and the new K
/// and V rows — per (sequence, layer), and forwards the call to another seam (exact attention by
/// default). `trace(sequence:layer:)` returns the accumulated [heads, T, d] / [kvHeads, T, d] tensors.
public final class TraceRecorder: AttentionSeam, @unchecked Sendable {
    let inner: any AttentionSeam
    /// [sequence][layer] → (q rows per head, k rows per kv head, v rows per kv head), appended in order.
    private(set) var store: [Int: [Int: (q: [[Float]], k: [[Float]], v: [[Float]], heads: Int, kvHeads: Int, d: Int)]] = [:]

    public init(forwardingTo inner: any AttentionSeam = ExactAttention()) {
        self.inner = inner
    }

    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows, tk = call.keyRows
        var entry = store[call.sequence]?[call.layer] ?? (q: .init(repeating: [], count: call.heads),
                                                          k: .init(repeating: [], count: call.kvHeads),
                                                          v: .init(repeating: [], count: call.kvHeads),
                                                          heads: call.heads, kvHeads: call.kvHeads, d: d)
        for h in 0..<call.heads { entry.q[h] += Array(q[(h * tq * d)..<((h + 1) * tq * d)]) }
        // The new keys are the last `tq` rows of the cache (all of them in a bidirectional call).
        let newRows = call.causal ? tq : tk
        let first = tk - newRows
        for h in 0..<call.kvHeads {
            entry.k[h] += Array(k[((h * tk + first) * d)..<((h + 1) * tk * d)])
            entry.v[h] += Array(v[((h * tk + first) * d)..<((h + 1) * tk * d)])
        }
        store[call.sequence, default: [:]][call.layer] = entry
        inner.attend(call, q: q, k: k, v: v, out: out)
    }

    /// (q, k, v) flattened as [heads, T, d] and [kvHeads, T, d].
    public func tensors(sequence s: Int, layer l: Int) -> (q: [Float], k: [Float], v: [Float])? {
        guard let e = store[s]?[l] else { return nil }
        return (e.q.flatMap { $0 }, e.k.flatMap { $0 }, e.v.flatMap { $0 })
    }
}
