import AttnCore

/// An attention seam that records what the attention unit sees — Q of the new rows and the new K
/// and V rows — per (sequence, layer), and forwards the call to another seam (exact attention by
/// default). `trace(sequence:layer:)` returns the accumulated [heads, T, d] / [kvHeads, T, d] tensors.
public final class TraceRecorder: AttentionSeam, @unchecked Sendable {
    let inner: any AttentionSeam
    /// Rows of one (sequence, layer) per head, appended in order (a class: appending a decode step
    /// adds its rows in place instead of copying the whole entry out of the dictionary and back).
    final class Entry {
        var q: [[Float]], k: [[Float]], v: [[Float]]
        init(heads: Int, kvHeads: Int) {
            q = .init(repeating: [], count: heads)
            k = .init(repeating: [], count: kvHeads)
            v = .init(repeating: [], count: kvHeads)
        }
    }
    /// [sequence][layer] → the rows recorded so far.
    private(set) var store: [Int: [Int: Entry]] = [:]

    public init(forwardingTo inner: any AttentionSeam = ExactAttention()) {
        self.inner = inner
    }

    public func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                       v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        let d = call.headDim, tq = call.queryRows, tk = call.keyRows
        let entry: Entry
        if let e = store[call.sequence]?[call.layer] {
            entry = e
        } else {
            entry = Entry(heads: call.heads, kvHeads: call.kvHeads)
            store[call.sequence, default: [:]][call.layer] = entry
        }
        for h in 0..<call.heads { entry.q[h] += q[(h * tq * d)..<((h + 1) * tq * d)] }
        // The new keys are the last `tq` rows of the cache (all of them in a bidirectional call).
        let newRows = call.causal ? tq : tk
        let first = tk - newRows
        for h in 0..<call.kvHeads {
            entry.k[h] += k[((h * tk + first) * d)..<((h + 1) * tk * d)]
            entry.v[h] += v[((h * tk + first) * d)..<((h + 1) * tk * d)]
        }
        inner.attend(call, q: q, k: k, v: v, out: out)
    }

    /// (q, k, v) flattened as [heads, T, d] and [kvHeads, T, d].
    public func tensors(sequence s: Int, layer l: Int) -> (q: [Float], k: [Float], v: [Float])? {
        guard let e = store[s]?[l] else { return nil }
        return (e.q.flatMap { $0 }, e.k.flatMap { $0 }, e.v.flatMap { $0 })
    }

    /// `tensors(sequence:layer:)`, then forgets that entry (so a long recording holds each layer
    /// once, not twice, while it is written).
    public func take(sequence s: Int, layer l: Int) -> (q: [Float], k: [Float], v: [Float])? {
        let t = tensors(sequence: s, layer: l)
        store[s]?[l] = nil
        return t
    }
}
