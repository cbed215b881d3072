import AttnCore
import Foundation

/// Hyper-parameters of a Llama-family decoder, read from GGUF metadata (`llama.*` keys).
public struct LlamaConfig: Sendable, Equatable {
    public var layers: Int
    public var hidden: Int
    public var ffn: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocab: Int
    public var ropeTheta: Double
    public var rmsEps: Float
    public var contextLength: Int

    init(_ f: GGUFFile) throws(AttnError) {
        func need(_ key: String) throws(AttnError) -> GGUFFile.Value {
            guard let v = f.metadata[key] else { throw AttnError.input(file: f.path, item: key, message: "missing metadata key (a Llama-family GGUF needs it)") }
            return v
        }
        func int(_ key: String) throws(AttnError) -> Int {
            guard let v = try need(key).int, v > 0 else { throw AttnError.input(file: f.path, item: key, message: "expected a positive integer") }
            return v
        }
        let arch = f.metadata["general.architecture"]?.string ?? "?"
        guard arch == "llama" else {
            throw AttnError.input(file: f.path, item: "general.architecture", message: "'\(arch)' is not supported (expected llama)")
        }
        layers = try int("llama.block_count")
        hidden = try int("llama.embedding_length")
        ffn = try int("llama.feed_forward_length")
        heads = try int("llama.attention.head_count")
        kvHeads = f.metadata["llama.attention.head_count_kv"] == nil ? heads : try int("llama.attention.head_count_kv")
        guard hidden % heads == 0, heads % kvHeads == 0 else {
            throw AttnError.input(file: f.path, item: "llama.attention.head_count", message: "embedding_length \(hidden), heads \(heads), kv heads \(kvHeads) are inconsistent")
        }
        headDim = hidden / heads
        ropeTheta = f.metadata["llama.rope.freq_base"]?.double ?? 10_000
        rmsEps = Float(f.metadata["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        contextLength = f.metadata["llama.context_length"]?.int ?? 2048
        guard let tokens = f.metadata["tokenizer.ggml.tokens"]?.array else {
            throw AttnError.input(file: f.path, item: "tokenizer.ggml.tokens", message: "missing vocabulary")
        }
        vocab = tokens.count
    }
}

/// A Llama-family decoder over a GGUF file's weights, dequantized to Float at load: RMSNorm, RoPE,
/// grouped-query attention through the `AttentionSeam`, SwiGLU MLP, tied embeddings when `output.weight`
/// is absent, and a KV cache for incremental decoding.
///
/// RoPE: llama.cpp stores the Q and K projection rows permuted for interleaved-pair rotation; they are
/// un-permuted at load so Q and K come out in the Hugging Face layout (`rotate_half`: dimension i pairs
/// with i + head_dim/2) — what the committed traces hold.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let path: String
    struct Layer {
        var attnNorm, ffnNorm: [Float]
        var wq, wk, wv, wo, gate, up, down: [Float]
        /// The same matrices in their GGUF blocks (Q4_1/Q8_0), for single-token decode steps; Q, K, V
        /// stacked into one matrix and gate, up into another (one parallel product each).
        var qkv, qo, gateUp, qdown: QuantizedMatrix?
    }
    let quantizedOutput: QuantizedMatrix?
    let embedding: [Float]
    let output: [Float]
    let finalNorm: [Float]
    let layers: [Layer]
    let invFreq: [Double]

    public init(path: String) throws(AttnError) {
        let f = try GGUFFile(path: path)
        self.path = path
        let c = try LlamaConfig(f)
        config = c
        func load(_ name: String, rows: Int, cols: Int) throws(AttnError) -> [Float] {
            let t = try f.tensor(name)
            guard t.rows == rows, t.rowLength == cols else {
                throw AttnError.input(file: path, item: name, message: "expected [\(rows), \(cols)] (rows × row length), found dims \(t.dims)")
            }
            return try f.floats(name)
        }
        func unpermute(_ w: [Float], heads: Int) -> [Float] {
            // GGUF row order per head: (pair i, half j) at i·2 + j; HF order: j·(hd/2) + i.
            let hd = c.headDim, cols = c.hidden
            var out = [Float](repeating: 0, count: w.count)
            for h in 0..<heads {
                for i in 0..<(hd / 2) {
                    for j in 0..<2 {
                        let src = (h * hd + i * 2 + j) * cols, dst = (h * hd + j * (hd / 2) + i) * cols
                        for x in 0..<cols { out[dst + x] = w[src + x] }
                    }
                }
            }
            return out
        }
        // Row order that undoes the permutation, for the quantized copies (dst row ← src row).
        func permutation(heads: Int) -> [Int] {
            let hd = c.headDim
            var order = [Int](repeating: 0, count: heads * hd)
            for h in 0..<heads { for i in 0..<(hd / 2) { for j in 0..<2 { order[h * hd + j * (hd / 2) + i] = h * hd + i * 2 + j } } }
            return order
        }
        // One fused matrix when every part has a fast kernel in the same format; else the Float path.
        func stacked(_ parts: [QuantizedMatrix?]) -> QuantizedMatrix? {
            let present = parts.compactMap { $0 }
            guard present.count == parts.count, present.allSatisfy({ $0.format == present[0].format }) else { return nil }
            return QuantizedMatrix(stacking: present)
        }
        embedding = try load("token_embd.weight", rows: c.vocab, cols: c.hidden)
        quantizedOutput = try QuantizedMatrix(f, f.contains("output.weight") ? "output.weight" : "token_embd.weight")
        output = f.contains("output.weight") ? try load("output.weight", rows: c.vocab, cols: c.hidden) : embedding
        finalNorm = try load("output_norm.weight", rows: 1, cols: c.hidden)
        var layers: [Layer] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            layers.append(Layer(
                attnNorm: try load(p + "attn_norm.weight", rows: 1, cols: c.hidden),
                ffnNorm: try load(p + "ffn_norm.weight", rows: 1, cols: c.hidden),
                wq: unpermute(try load(p + "attn_q.weight", rows: c.heads * c.headDim, cols: c.hidden), heads: c.heads),
                wk: unpermute(try load(p + "attn_k.weight", rows: c.kvHeads * c.headDim, cols: c.hidden), heads: c.kvHeads),
                wv: try load(p + "attn_v.weight", rows: c.kvHeads * c.headDim, cols: c.hidden),
                wo: try load(p + "attn_output.weight", rows: c.hidden, cols: c.heads * c.headDim),
                gate: try load(p + "ffn_gate.weight", rows: c.ffn, cols: c.hidden),
                up: try load(p + "ffn_up.weight", rows: c.ffn, cols: c.hidden),
                down: try load(p + "ffn_down.weight", rows: c.hidden, cols: c.ffn),
                qkv: stacked([try QuantizedMatrix(f, p + "attn_q.weight", rowOrder: permutation(heads: c.heads)),
                              try QuantizedMatrix(f, p + "attn_k.weight", rowOrder: permutation(heads: c.kvHeads)),
                              try QuantizedMatrix(f, p + "attn_v.weight")]),
                qo: try QuantizedMatrix(f, p + "attn_output.weight"),
                gateUp: stacked([try QuantizedMatrix(f, p + "ffn_gate.weight"), try QuantizedMatrix(f, p + "ffn_up.weight")]),
                qdown: try QuantizedMatrix(f, p + "ffn_down.weight")))
        }
        self.layers = layers
        invFreq = (0..<(c.headDim / 2)).map { 1 / pow(c.ropeTheta, Double(2 * $0) / Double(c.headDim)) }
    }

    /// Keys and values of every position so far, per layer, stored [kvHeads, capacity, headDim]
    /// (capacity doubles as needed) so appending a decode step writes only its own rows.
    public struct KVCache: Sendable {
        var k: [[Float]]
        var v: [[Float]]
        var capacity = 0
        public internal(set) var count = 0
        let kvHeads: Int, headDim: Int

        public init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int = 0) {
            k = .init(repeating: [], count: layers)
            v = .init(repeating: [], count: layers)
            self.kvHeads = kvHeads
            self.headDim = headDim
            if capacity > 0 { reserve(capacity) }
        }

        /// Forgets every position from `count` on (a shorter prefix stays cached; storage is kept).
        public mutating func truncate(to count: Int) {
            precondition(count >= 0 && count <= self.count)
            self.count = count
        }

        /// Makes room for `needed` positions in every layer.
        mutating func reserve(_ needed: Int) {
            guard needed > capacity else { return }
            let newCap = max(needed, capacity * 2, 64), d = headDim
            for l in 0..<k.count {
                var k2 = [Float](repeating: 0, count: kvHeads * newCap * d), v2 = k2
                if capacity > 0 {
                    for h in 0..<kvHeads {
                        let n = count * d
                        k2.withUnsafeMutableBufferPointer { dst in k[l].withUnsafeBufferPointer { src in
                            dst.baseAddress!.advanced(by: h * newCap * d).update(from: src.baseAddress!.advanced(by: h * capacity * d), count: n) } }
                        v2.withUnsafeMutableBufferPointer { dst in v[l].withUnsafeBufferPointer { src in
                            dst.baseAddress!.advanced(by: h * newCap * d).update(from: src.baseAddress!.advanced(by: h * capacity * d), count: n) } }
                    }
                }
                k[l] = k2
                v[l] = v2
            }
            capacity = newCap
        }

        /// Writes new rows ([kvHeads, n, d] each) of a layer after the `count` stored ones.
        mutating func append(layer: Int, k newK: [Float], v newV: [Float], rows n: Int) {
            let d = headDim, cap = capacity, count = count
            precondition(count + n <= cap && newK.count == kvHeads * n * d && newV.count == newK.count)
            let heads = kvHeads
            func write(_ src: [Float], into dst: inout [Float]) {
                src.withUnsafeBufferPointer { s in
                    dst.withUnsafeMutableBufferPointer { t in
                        for h in 0..<heads { (t.baseAddress! + (h * cap + count) * d).update(from: s.baseAddress! + h * n * d, count: n * d) }
                    }
                }
            }
            write(newK, into: &k[layer])
            write(newV, into: &v[layer])
        }

        /// K and V of a layer for `rows` positions, contiguous [kvHeads, rows, d] as the seam wants.
        func contiguous(layer: Int, rows: Int) -> (k: [Float], v: [Float]) {
            let d = headDim
            if rows == capacity { return (k[layer], v[layer]) }
            var kc = [Float](repeating: 0, count: kvHeads * rows * d), vc = kc
            for h in 0..<kvHeads {
                kc.withUnsafeMutableBufferPointer { dst in k[layer].withUnsafeBufferPointer { src in
                    dst.baseAddress!.advanced(by: h * rows * d).update(from: src.baseAddress!.advanced(by: h * capacity * d), count: rows * d) } }
                vc.withUnsafeMutableBufferPointer { dst in v[layer].withUnsafeBufferPointer { src in
                    dst.baseAddress!.advanced(by: h * rows * d).update(from: src.baseAddress!.advanced(by: h * capacity * d), count: rows * d) } }
            }
            return (kc, vc)
        }
    }

    /// An empty cache; `capacity` positions are allocated up front (it grows by doubling past them).
    public func makeCache(capacity: Int = 0) -> KVCache {
        KVCache(layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, capacity: capacity)
    }

    /// x·Wᵀ; a single row uses the quantized blocks when the weights have them (decode steps).
    func project(_ x: [Float], rows: Int, _ w: [Float], _ q: QuantizedMatrix?, inDim: Int, outDim: Int) -> [Float] {
        if rows == 1, let q, useQuantizedDecode { return q.multiply(x) }
        return linear(x, rows: rows, w, inDim: inDim, outDim: outDim)
    }

    /// Decode steps multiply the GGUF blocks directly (true) or the dequantized Float weights.
    public var useQuantizedDecode = true

    func linear(_ x: [Float], rows: Int, _ w: [Float], inDim: Int, outDim: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outDim)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    EncoderMath.linear(xp, rows: rows, inDim: inDim, weight: wp, bias: nil, outDim: outDim, into: yp)
                }
            }
        }
        return y
    }

    func rmsNorm(_ x: [Float], rows: Int, weight: [Float]) -> [Float] {
        let d = config.hidden
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            var ss: Float = 0
            for c in 0..<d { ss += x[r * d + c] * x[r * d + c] }
            let inv = 1 / (ss / Float(d) + config.rmsEps).squareRoot()
            for c in 0..<d { y[r * d + c] = x[r * d + c] * inv * weight[c] }
        }
        return y
    }

    /// cos and sin of the rotary angles of positions start..<start+n, [n, headDim/2] each (the same
    /// for every layer, so computed once per forward).
    func ropeTable(rows n: Int, start: Int) -> (cos: [Float], sin: [Float]) {
        let half = config.headDim / 2
        var cs = [Float](repeating: 0, count: n * half), sn = cs
        for t in 0..<n {
            let pos = Double(start + t)
            for i in 0..<half {
                let a = pos * invFreq[i]
                cs[t * half + i] = Float(cos(a))
                sn[t * half + i] = Float(sin(a))
            }
        }
        return (cs, sn)
    }

    /// Rotary embedding in the rotate_half layout, in place on [heads, n, headDim] rows, with the
    /// angles of `ropeTable` for their positions.
    func rope(_ x: inout [Float], heads: Int, rows n: Int, table: (cos: [Float], sin: [Float])) {
        let hd = config.headDim, half = hd / 2
        for t in 0..<n {
            for i in 0..<half {
                let cs = table.cos[t * half + i], sn = table.sin[t * half + i]
                for h in 0..<heads {
                    let b = (h * n + t) * hd
                    let x1 = x[b + i], x2 = x[b + i + half]
                    x[b + i] = x1 * cs - x2 * sn
                    x[b + i + half] = x2 * cs + x1 * sn
                }
            }
        }
    }

    /// Runs `tokens` at positions cache.count..< and returns the logits of every new position
    /// ([n, vocab]). Attention goes through `seam` with `sequence` as the call's sequence index.
    public func forward(_ tokens: [Int], cache: inout KVCache, seam: any AttentionSeam = FastExactAttention(), sequence: Int = 0,
                        logitsFor lastOnly: Bool = false) throws(AttnError) -> [Float] {
        let c = config, n = tokens.count, d = c.hidden, hd = c.headDim
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocab }) {
            throw AttnError.input(file: path, item: "token \(bad)", message: "outside the vocabulary of \(c.vocab)")
        }
        guard n > 0 else { return [] }
        let x = hiddenStates(tokens, cache: &cache, seam: seam, sequence: sequence, n: n, d: d, hd: hd)
        let rows = lastOnly ? 1 : n
        let last = Array(x[((n - rows) * d)...])
        let normed = rmsNorm(last, rows: rows, weight: finalNorm)
        return project(normed, rows: rows, output, quantizedOutput, inDim: d, outDim: c.vocab)
    }

    /// `forward` for long passages: the logits of every new position are handed to `body` (position
    /// index within `tokens`, its `vocab` logits) `chunk` rows at a time instead of being returned as
    /// one [n, vocab] array (1.6 GB at 8,192 tokens). The same numbers as `forward`: each chunk is
    /// the same row-independent product (a single token keeps `forward`'s quantized decode path).
    public func forward(_ tokens: [Int], cache: inout KVCache, seam: any AttentionSeam = FastExactAttention(), sequence: Int = 0,
                        chunk: Int, eachLogits body: (Int, ArraySlice<Float>) throws(AttnError) -> Void) throws(AttnError) {
        precondition(chunk > 0)
        let c = config, n = tokens.count, d = c.hidden, v = c.vocab
        if n <= 1 {
            let l = try forward(tokens, cache: &cache, seam: seam, sequence: sequence)
            if n == 1 { try body(0, l[...]) }
            return
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocab }) {
            throw AttnError.input(file: path, item: "token \(bad)", message: "outside the vocabulary of \(c.vocab)")
        }
        let x = hiddenStates(tokens, cache: &cache, seam: seam, sequence: sequence, n: n, d: d, hd: c.headDim)
        var r0 = 0
        while r0 < n {
            let rows = min(chunk, n - r0)
            let normed = rmsNorm(Array(x[(r0 * d)..<((r0 + rows) * d)]), rows: rows, weight: finalNorm)
            // `linear` even for a last chunk of one row: `forward` projects n > 1 rows this way.
            let logits = linear(normed, rows: rows, output, inDim: d, outDim: v)
            for r in 0..<rows { try body(r0 + r, logits[(r * v)..<((r + 1) * v)]) }
            r0 += rows
        }
    }

    /// Runs the layers over `tokens` at positions cache.count..< (appending to the cache) and returns
    /// the final residual stream [n, hidden], before the output norm.
    private func hiddenStates(_ tokens: [Int], cache: inout KVCache, seam: any AttentionSeam, sequence: Int,
                              n: Int, d: Int, hd: Int) -> [Float] {
        let c = config
        let start = cache.count
        cache.reserve(start + n)
        var x = [Float](repeating: 0, count: n * d)
        for (t, id) in tokens.enumerated() { for j in 0..<d { x[t * d + j] = embedding[id * d + j] } }
        let table = ropeTable(rows: n, start: start)
        let qDim = c.heads * hd, kvDim = c.kvHeads * hd
        for (l, L) in layers.enumerated() {
            let h = rmsNorm(x, rows: n, weight: L.attnNorm)
            // Projections, then [n, heads·hd] → [heads, n, hd] (the same layout when n == 1).
            func split(_ y: [Float], heads: Int) -> [Float] {
                if n == 1 { return y }
                var out = [Float](repeating: 0, count: y.count)
                for t in 0..<n { for hh in 0..<heads { for e in 0..<hd { out[(hh * n + t) * hd + e] = y[t * heads * hd + hh * hd + e] } } }
                return out
            }
            var q: [Float], k: [Float], v: [Float]
            if n == 1, useQuantizedDecode, let qkv = L.qkv {
                let y = qkv.multiply(h)
                q = Array(y[0..<qDim])
                k = Array(y[qDim..<(qDim + kvDim)])
                v = Array(y[(qDim + kvDim)...])
            } else {
                q = split(linear(h, rows: n, L.wq, inDim: d, outDim: qDim), heads: c.heads)
                k = split(linear(h, rows: n, L.wk, inDim: d, outDim: kvDim), heads: c.kvHeads)
                v = split(linear(h, rows: n, L.wv, inDim: d, outDim: kvDim), heads: c.kvHeads)
            }
            rope(&q, heads: c.heads, rows: n, table: table)
            rope(&k, heads: c.kvHeads, rows: n, table: table)
            cache.append(layer: l, k: k, v: v, rows: n)
            let total = start + n
            var ctx = [Float](repeating: 0, count: c.heads * n * hd)
            // Seams that read strided K/V get the cache in place; the others a contiguous copy.
            let inPlace = seam.acceptsStridedKV || total == cache.capacity
            let call = AttentionCall(sequence: sequence, layer: l, heads: c.heads, kvHeads: c.kvHeads, headDim: hd, queryRows: n,
                                     keyRows: total, queryOffset: start, causal: true, scale: 1 / Float(hd).squareRoot(),
                                     kvHeadStride: inPlace ? cache.capacity : total)
            func attend(_ kAll: [Float], _ vAll: [Float]) {
                q.withUnsafeBufferPointer { qp in
                    kAll.withUnsafeBufferPointer { kp in
                        vAll.withUnsafeBufferPointer { vp in
                            ctx.withUnsafeMutableBufferPointer { op in seam.attend(call, q: qp, k: kp, v: vp, out: op) }
                        }
                    }
                }
            }
            if inPlace {
                attend(cache.k[l], cache.v[l])
            } else {
                let (kAll, vAll) = cache.contiguous(layer: l, rows: total)
                attend(kAll, vAll)
            }
            var merged = ctx
            if n > 1 {
                for t in 0..<n { for hh in 0..<c.heads { for e in 0..<hd { merged[t * c.heads * hd + hh * hd + e] = ctx[(hh * n + t) * hd + e] } } }
            }
            let o = project(merged, rows: n, L.wo, L.qo, inDim: c.heads * hd, outDim: d)
            for i in 0..<x.count { x[i] += o[i] }
            let h2 = rmsNorm(x, rows: n, weight: L.ffnNorm)
            var g: [Float], u: [Float]
            if n == 1, useQuantizedDecode, let gateUp = L.gateUp {
                let y = gateUp.multiply(h2)
                g = Array(y[0..<c.ffn])
                u = Array(y[c.ffn...])
            } else {
                g = linear(h2, rows: n, L.gate, inDim: d, outDim: c.ffn)
                u = linear(h2, rows: n, L.up, inDim: d, outDim: c.ffn)
            }
            var act = [Float](repeating: 0, count: g.count)
            for i in 0..<g.count { act[i] = g[i] / (1 + expf(-g[i])) * u[i] }
            let down = project(act, rows: n, L.down, L.qdown, inDim: c.ffn, outDim: d)
            for i in 0..<x.count { x[i] += down[i] }
        }
        cache.count = start + n
        return x
    }

    /// Greedy continuation: prefill `prompt`, then `count` tokens one step at a time with the cache.
    /// Every generated token is also fed back (so a recording seam sees one decode row per generated
    /// token). Also returns the mean negative log-likelihood of the prompt (for perplexity).
    public func generate(prompt: [Int], count: Int, seam: any AttentionSeam = FastExactAttention(), sequence: Int = 0)
        throws(AttnError) -> (tokens: [Int], promptNLL: Double) {
        var cache = makeCache(capacity: prompt.count + count)
        let logits = try forward(prompt, cache: &cache, seam: seam, sequence: sequence)
        let v = config.vocab
        var nll = 0.0
        for t in 0..<(prompt.count - 1) { nll -= Self.logSoftmax(logits[(t * v)..<((t + 1) * v)], at: prompt[t + 1]) }
        var out: [Int] = []
        var next = Self.argmax(logits[((prompt.count - 1) * v)...])
        for _ in 0..<count {
            out.append(next)
            let l = try forward([next], cache: &cache, seam: seam, sequence: sequence, logitsFor: true)
            next = Self.argmax(l[...])
        }
        return (out, prompt.count > 1 ? nll / Double(prompt.count - 1) : 0)
    }

    static func argmax(_ x: ArraySlice<Float>) -> Int {
        var best = x.startIndex
        for i in x.indices where x[i] > x[best] { best = i }
        return best - x.startIndex
    }

    static func logSoftmax(_ x: ArraySlice<Float>, at i: Int) -> Double {
        let m = Double(x.max()!)
        var s = 0.0
        for v in x { s += exp(Double(v) - m) }
        return Double(x[x.startIndex + i]) - m - log(s)
    }
}
