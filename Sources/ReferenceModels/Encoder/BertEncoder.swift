import AttnCore
import Foundation

/// One sequence's encoder outputs.
public struct BertEncoderOutput: Sendable {
    public let tokens: Int
    public let hiddenSize: Int
    /// Last hidden state, [tokens, hiddenSize] row-major.
    public var hidden: [Float]
    /// Mean of the hidden rows (sentence-transformers `Pooling(mean)`: Σ h_t / T over real tokens).
    public var pooled: [Float]
    /// `pooled / max(‖pooled‖₂, 1e-12)` — the all-MiniLM-L6-v2 sentence embedding (`F.normalize`).
    public var embedding: [Float]
}

/// A BERT encoder (HF `BertModel` without pooler) with sentence-transformers mean pooling:
///
///     x₀ = LayerNorm(E_word[id_t] + E_pos[t] + E_type[type_t])
///     for each layer:  a = LayerNorm(x + Attn(x)·W_oᵀ + b_o)            (post-LN, Devlin et al. 2019)
///                      x = LayerNorm(a + GELU(a·W_iᵀ + b_i)·W_2ᵀ + b_2)  (exact-erf GELU)
///     Attn: q,k,v = x·W_{q,k,v}ᵀ + b split into heads [heads, T, d]; softmax(q·kᵀ/√d + mask)·v
///           computed by the `AttentionSeam` (padding keys masked via `validKeys`).
public struct BertEncoder: Sendable {
    public let config: BertConfig
    public let weights: BertWeights
    public let tokenizer: WordPieceTokenizer

    public init(config: BertConfig, weights: BertWeights, tokenizer: WordPieceTokenizer) {
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
    }

    /// Loads an HF model directory: `config.json`, `model.safetensors` and `vocab.txt` (+ `tokenizer.json`
    /// when present). The tokenizer's `maxLength` is the model's position count.
    public init(directory: String) throws(AttnError) {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent("config.json").path
        let weightsPath = dir.appendingPathComponent("model.safetensors").path
        for p in [configPath, weightsPath] where !FileManager.default.fileExists(atPath: p) {
            throw AttnError.input(file: p, item: nil, message: "missing; expected an HF BERT directory (config.json, model.safetensors, vocab.txt)")
        }
        let config = try BertConfig(path: configPath)
        let weights = try BertWeights(file: try SafetensorsFile(path: weightsPath), config: config)
        let tokenizer = try WordPieceTokenizer(directory: directory, maxLength: config.maxPositionEmbeddings)
        guard tokenizer.tokens.count <= config.vocabSize else {
            throw AttnError.input(file: dir.appendingPathComponent("vocab.txt").path, item: nil,
                                  message: "\(tokenizer.tokens.count) tokens, but config.json vocab_size is \(config.vocabSize)")
        }
        self.init(config: config, weights: weights, tokenizer: tokenizer)
    }

    /// Tokenizes `text` (with [CLS]/[SEP], truncated to the model's positions) and runs `forward`.
    public func embed(_ text: String, seam: any AttentionSeam = FastExactAttention(), sequence: Int = 0) throws(AttnError) -> BertEncoderOutput {
        try forward(tokenizer.encode(text), seam: seam, sequence: sequence)
    }

    /// Runs one sequence (token type 0 unless `tokenTypes` is given).
    public func forward(_ ids: [Int32], tokenTypes: [Int32]? = nil, seam: any AttentionSeam = FastExactAttention(),
                        sequence: Int = 0) throws(AttnError) -> BertEncoderOutput {
        try forward(batch: [ids], tokenTypes: tokenTypes.map { [$0] }, seam: seam, firstSequence: sequence)[0]
    }

    /// Runs a batch right-padded to its longest sequence: the dense layers see all rows at once;
    /// attention runs per sequence (`AttentionCall.sequence = firstSequence + b`) with
    /// queryRows = keyRows = longest length and `validKeys` = the sequence's length. Outputs are trimmed
    /// to each sequence's real tokens.
    public func forward(batch: [[Int32]], tokenTypes: [[Int32]]? = nil, seam: any AttentionSeam = FastExactAttention(),
                        firstSequence: Int = 0) throws(AttnError) -> [BertEncoderOutput] {
        let c = config
        let h = c.hiddenSize, heads = c.numAttentionHeads, d = c.headDim, inter = c.intermediateSize
        guard !batch.isEmpty else { return [] }
        try validate(batch: batch, tokenTypes: tokenTypes)
        let tMax = batch.map(\.count).max()!
        let rows = batch.count * tMax
        let w = weights

        var x = embeddings(batch: batch, tokenTypes: tokenTypes, tMax: tMax)

        var qkv = [Float](repeating: 0, count: rows * 3 * h)
        var q = [Float](repeating: 0, count: heads * tMax * d)
        var k = q, v = q, ctxHeads = q
        var ctx = [Float](repeating: 0, count: rows * h)
        var attnOut = [Float](repeating: 0, count: rows * h)
        var mid = [Float](repeating: 0, count: rows * inter)
        var ffnOut = [Float](repeating: 0, count: rows * h)
        let scale = 1 / Float(d).squareRoot()

        for (l, lw) in w.layers.enumerated() {
            Self.linear(x, rows: rows, inDim: h, lw.qkvWeight, lw.qkvBias, outDim: 3 * h, into: &qkv)
            for (b, ids) in batch.enumerated() {
                // [T, 3H] → q, k, v as [heads, T, d].
                for t in 0..<tMax {
                    let src = (b * tMax + t) * 3 * h
                    for hh in 0..<heads {
                        let dst = (hh * tMax + t) * d
                        for j in 0..<d {
                            q[dst + j] = qkv[src + hh * d + j]
                            k[dst + j] = qkv[src + h + hh * d + j]
                            v[dst + j] = qkv[src + 2 * h + hh * d + j]
                        }
                    }
                }
                let call = AttentionCall(sequence: firstSequence + b, layer: l, heads: heads, kvHeads: heads, headDim: d,
                                         queryRows: tMax, keyRows: tMax, queryOffset: 0, causal: false,
                                         validKeys: ids.count, scale: scale)
                q.withUnsafeBufferPointer { qp in
                    k.withUnsafeBufferPointer { kp in
                        v.withUnsafeBufferPointer { vp in
                            ctxHeads.withUnsafeMutableBufferPointer { op in seam.attend(call, q: qp, k: kp, v: vp, out: op) }
                        }
                    }
                }
                // [heads, T, d] → [T, H].
                for t in 0..<tMax {
                    let dst = (b * tMax + t) * h
                    for hh in 0..<heads {
                        let src = (hh * tMax + t) * d
                        for j in 0..<d { ctx[dst + hh * d + j] = ctxHeads[src + j] }
                    }
                }
            }
            Self.linear(ctx, rows: rows, inDim: h, lw.attentionOutWeight, lw.attentionOutBias, outDim: h, into: &attnOut)
            Self.addNorm(&x, attnOut, rows: rows, dim: h, lw.attentionNormGamma, lw.attentionNormBeta, eps: c.layerNormEps)
            Self.linear(x, rows: rows, inDim: h, lw.intermediateWeight, lw.intermediateBias, outDim: inter, into: &mid)
            mid.withUnsafeMutableBufferPointer { EncoderMath.gelu($0) }
            Self.linear(mid, rows: rows, inDim: inter, lw.outputWeight, lw.outputBias, outDim: h, into: &ffnOut)
            Self.addNorm(&x, ffnOut, rows: rows, dim: h, lw.outputNormGamma, lw.outputNormBeta, eps: c.layerNormEps)
        }

        return batch.enumerated().map { b, ids in
            let n = ids.count
            let hidden = Array(x[(b * tMax * h)..<((b * tMax + n) * h)])
            let pooled = Self.meanPool(hidden, tokens: n, dim: h)
            return BertEncoderOutput(tokens: n, hiddenSize: h, hidden: hidden, pooled: pooled, embedding: Self.l2Normalized(pooled))
        }
    }

    /// Rejects an empty sequence, one longer than the model's positions, and token ids or types
    /// outside the vocabularies.
    private func validate(batch: [[Int32]], tokenTypes: [[Int32]]?) throws(AttnError) {
        let c = config
        let source = "<token ids>"
        if let tokenTypes, tokenTypes.count != batch.count {
            throw AttnError.input(file: source, item: "tokenTypes", message: "\(tokenTypes.count) rows for \(batch.count) sequences")
        }
        for (b, ids) in batch.enumerated() {
            guard !ids.isEmpty else { throw AttnError.input(file: source, item: "sequence \(b)", message: "empty sequence") }
            guard ids.count <= c.maxPositionEmbeddings else {
                throw AttnError.input(file: source, item: "sequence \(b)", message: "\(ids.count) tokens exceed the model's \(c.maxPositionEmbeddings) positions")
            }
            if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
                throw AttnError.input(file: source, item: "sequence \(b) position \(bad)", message: "token id \(ids[bad]) outside 0..<\(c.vocabSize)")
            }
            if let types = tokenTypes?[b] {
                guard types.count == ids.count else {
                    throw AttnError.input(file: source, item: "sequence \(b)", message: "\(types.count) token types for \(ids.count) tokens")
                }
                if let bad = types.firstIndex(where: { $0 < 0 || Int($0) >= c.typeVocabSize }) {
                    throw AttnError.input(file: source, item: "sequence \(b) position \(bad)", message: "token type \(types[bad]) outside 0..<\(c.typeVocabSize)")
                }
            }
        }
    }

    /// The layer-normalized sum of word, position and token-type embeddings, [batch × tMax, hidden]
    /// (padding positions take the pad token).
    private func embeddings(batch: [[Int32]], tokenTypes: [[Int32]]?, tMax: Int) -> [Float] {
        let c = config, h = c.hiddenSize, rows = batch.count * tMax, w = weights
        var x = [Float](repeating: 0, count: rows * h)
        for (b, ids) in batch.enumerated() {
            for t in 0..<tMax {
                let id = t < ids.count ? Int(ids[t]) : Int(tokenizer.padID)
                let type = t < ids.count ? Int(tokenTypes?[b][t] ?? 0) : 0
                let row = (b * tMax + t) * h
                for j in 0..<h {
                    x[row + j] = w.wordEmbeddings[id * h + j] + w.positionEmbeddings[t * h + j] + w.tokenTypeEmbeddings[type * h + j]
                }
            }
        }
        x.withUnsafeMutableBufferPointer { xp in
            w.embeddingNormGamma.withUnsafeBufferPointer { g in
                w.embeddingNormBeta.withUnsafeBufferPointer { be in
                    EncoderMath.layerNorm(xp, rows: rows, dim: h, gamma: g, beta: be, eps: c.layerNormEps)
                }
            }
        }
        return x
    }

    /// Mean over `tokens` rows of a [tokens, dim] buffer, summed in Double.
    public static func meanPool(_ hidden: [Float], tokens: Int, dim: Int) -> [Float] {
        var sum = [Double](repeating: 0, count: dim)
        for t in 0..<tokens { for j in 0..<dim { sum[j] += Double(hidden[t * dim + j]) } }
        let denom = max(Double(tokens), 1e-9)
        return sum.map { Float($0 / denom) }
    }

    /// x / max(‖x‖₂, 1e-12), as PyTorch `F.normalize(p=2)`.
    public static func l2Normalized(_ x: [Float]) -> [Float] {
        let norm = max(x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
        return x.map { Float(Double($0) / norm) }
    }

    private static func linear(_ x: [Float], rows: Int, inDim: Int, _ weight: [Float], _ bias: [Float], outDim: Int,
                               into y: inout [Float]) {
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        EncoderMath.linear(xp, rows: rows, inDim: inDim, weight: wp, bias: bp, outDim: outDim, into: yp)
                    }
                }
            }
        }
    }

    /// x ← LayerNorm(x + r).
    private static func addNorm(_ x: inout [Float], _ r: [Float], rows: Int, dim: Int, _ gamma: [Float], _ beta: [Float], eps: Float) {
        x.withUnsafeMutableBufferPointer { xp in
            r.withUnsafeBufferPointer { rp in EncoderMath.add(rp, into: xp) }
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { be in EncoderMath.layerNorm(xp, rows: rows, dim: dim, gamma: g, beta: be, eps: eps) }
            }
        }
    }
}
