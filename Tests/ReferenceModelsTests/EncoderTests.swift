import AttnCore
import Foundation
import Testing
@testable import ReferenceModels

/// Records layer-0 head-0 attention probabilities computed (in Double) from the q/k the model hands
/// to the seam, then delegates to exact attention.
final class ProbeAttention: AttentionSeam {
    let inner = ExactAttention()
    var calls: [AttentionCall] = []
    var probsL0H0: [Double] = []

    func attend(_ call: AttentionCall, q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>,
                v: UnsafeBufferPointer<Float>, out: UnsafeMutableBufferPointer<Float>) {
        calls.append(call)
        if call.layer == 0 {
            let d = call.headDim, n = call.validKeys
            probsL0H0 = []
            for i in 0..<call.queryRows {
                let s = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + Double(q[i * d + $1]) * Double(k[j * d + $1]) } * Double(call.scale) }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                probsL0H0 += e.map { $0 / z }
            }
        }
        inner.attend(call, q: q, k: k, v: v, out: out)
    }
}

@Suite("BERT encoder (all-MiniLM-L6-v2) vs PyTorch")
struct EncoderTests {
    /// Loaded once per test process (the 90 MB checkpoint dominates debug-build test time).
    static let shared: Result<BertEncoder, any Error> = Result { try BertEncoder(directory: try EncoderFixtures.minilmDirectory) }

    static func load() throws -> (BertEncoder, SafetensorsFile, [String]) {
        let model = try shared.get()
        let golden = try SafetensorsFile(path: EncoderFixtures.fixture("minilm_golden.safetensors"))
        let sentences = try JSONDecoder().decode([String].self, from: Data(golden.metadata["sentences"]!.utf8))
        return (model, golden, sentences)
    }

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    @Test func configAndWeightsLoad() throws {
        let (model, _, _) = try Self.load()
        #expect(model.config == BertConfig(hiddenSize: 384, numAttentionHeads: 12, numHiddenLayers: 6, intermediateSize: 1536,
                                           layerNormEps: 1e-12, maxPositionEmbeddings: 512, typeVocabSize: 2, vocabSize: 30522))
        #expect(model.weights.layers.count == 6)
        #expect(model.weights.layers[0].qkvWeight.count == 3 * 384 * 384)
    }

    /// Held-out sentences: ids equal HF's, last hidden state within 1e-4 (max abs), embedding cosine
    /// > 0.9999, pooled within 1e-4, layer-0 head-0 probabilities within 1e-5.
    @Test func matchesPyTorchOnHeldOutSentences() throws {
        let (model, golden, sentences) = try Self.load()
        #expect(sentences.count == 6)
        let probsSentence = Int(golden.metadata["probs_sentence"]!)!
        var worstHidden: Float = 0
        for (i, s) in sentences.enumerated() {
            let ids = try golden.integers("s\(i).ids").map { Int32($0) }
            #expect(model.tokenizer.encode(s) == ids, "sentence \(i)")
            let probe = ProbeAttention()
            let out = try model.forward(ids, seam: probe, sequence: i)
            let hidden = try golden.floats("s\(i).hidden")
            let diff = Self.maxAbsDiff(out.hidden, hidden)
            worstHidden = max(worstHidden, diff)
            #expect(diff < 1e-4, "sentence \(i) (\(ids.count) tokens): last hidden max abs diff \(diff)")
            #expect(Self.maxAbsDiff(out.pooled, try golden.floats("s\(i).pooled")) < 1e-4)
            let cos = Self.cosine(out.embedding, try golden.floats("s\(i).embedding"))
            #expect(cos > 0.9999, "sentence \(i): embedding cosine \(cos)")
            #expect(Self.maxAbsDiff(out.embedding, try golden.floats("s\(i).embedding")) < 1e-5)
            #expect(probe.calls.count == 6)
            #expect(probe.calls.allSatisfy { $0.sequence == i && $0.heads == 12 && $0.headDim == 32 && $0.queryRows == ids.count && !$0.causal })
            if i == probsSentence {
                let ref = try golden.floats("s\(i).probs_l0h0")
                #expect(ref.count == ids.count * ids.count)
                let pdiff = zip(probe.probsL0H0, ref).reduce(0.0) { max($0, abs($1.0 - Double($1.1))) }
                #expect(pdiff < 1e-5, "layer 0 head 0 probabilities max abs diff \(pdiff)")
            }
        }
        print("encoder: worst last-hidden max abs diff vs PyTorch = \(worstHidden)")
    }

    /// A right-padded batch gives PyTorch's padded-batch outputs on the real tokens (padding keys masked).
    @Test func paddedBatchMatchesPyTorch() throws {
        let (model, golden, _) = try Self.load()
        let a = try golden.integers("s1.ids").map { Int32($0) }
        let b = try golden.integers("s3.ids").map { Int32($0) }
        let probe = ProbeAttention()
        let outs = try model.forward(batch: [a, b], seam: probe, firstSequence: 10)
        let ref = try golden.floats("batch.hidden")
        let tMax = max(a.count, b.count)
        #expect(ref.count == 2 * tMax * 384)
        for (n, out) in outs.enumerated() {
            let expected = Array(ref[(n * tMax * 384)..<((n * tMax + out.tokens) * 384)])
            #expect(Self.maxAbsDiff(out.hidden, expected) < 1e-4, "batch row \(n)")
        }
        #expect(outs[0].tokens == a.count && outs[1].tokens == b.count)
        #expect(probe.calls.map(\.validKeys).prefix(2) == [a.count, b.count])
        #expect(probe.calls.map(\.sequence).prefix(2) == [10, 11])
    }

    /// The default seam (FastExactAttention) and text entry point give PyTorch's embedding.
    @Test func embedWithDefaultSeam() throws {
        let (model, golden, sentences) = try Self.load()
        let out = try model.embed(sentences[4])
        #expect(out.tokens > 64)
        #expect(Self.maxAbsDiff(out.hidden, try golden.floats("s4.hidden")) < 1e-4)
        #expect(Self.cosine(out.embedding, try golden.floats("s4.embedding")) > 0.9999)
    }

    @Test func badInputsAreClearErrors() throws {
        let (model, _, _) = try Self.load()
        #expect(throws: AttnError.self) { try model.forward([101, 40000, 102]) }
        #expect(throws: AttnError.self) { try model.forward([]) }
        #expect(throws: AttnError.self) { try model.forward([Int32](repeating: 1000, count: 513)) }
        let negative = #expect(throws: AttnError.self) { try model.forward([101, -1]) }
        #expect(negative?.description.contains("position 1") == true, "\(String(describing: negative))")
    }
}

@Suite("Encoder math kernels")
struct EncoderMathTests {
    struct LCG { var s: UInt64; mutating func next() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: s >> 11) % 2001 - 1000) / 1000 } }

    @Test(arguments: [(1, 8, 1), (3, 13, 5), (7, 384, 70), (130, 64, 9)])
    func linearMatchesReference(rows: Int, inDim: Int, outDim: Int) {
        var g = LCG(s: UInt64(rows * 1000 + inDim * 10 + outDim))
        let x = (0..<rows * inDim).map { _ in g.next() }
        let w = (0..<outDim * inDim).map { _ in g.next() }
        let b = (0..<outDim).map { _ in g.next() }
        var y = [Float](repeating: .nan, count: rows * outDim)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer { EncoderMath.linear(xp, rows: rows, inDim: inDim, weight: wp, bias: bp, outDim: outDim, into: $0) }
        } } }
        let ref = EncoderMath.linearReference(x, rows: rows, inDim: inDim, weight: w, bias: b, outDim: outDim)
        let diff = zip(y, ref).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff < 1e-4 * Float(inDim).squareRoot())
    }

    @Test func layerNormMatchesReference() {
        var g = LCG(s: 42)
        let rows = 5, dim = 37
        let x = (0..<rows * dim).map { _ in g.next() * 3 + 1 }
        let gamma = (0..<dim).map { _ in g.next() }, beta = (0..<dim).map { _ in g.next() }
        var y = x
        y.withUnsafeMutableBufferPointer { yp in gamma.withUnsafeBufferPointer { gp in beta.withUnsafeBufferPointer { bp in
            EncoderMath.layerNorm(yp, rows: rows, dim: dim, gamma: gp, beta: bp, eps: 1e-12)
        } } }
        let ref = EncoderMath.layerNormReference(x, rows: rows, dim: dim, gamma: gamma, beta: beta, eps: 1e-12)
        #expect(zip(y, ref).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// The SIMD/parallel attention kernel equals the seam's reference `ExactAttention` (bidirectional
    /// with padding, causal with an offset, grouped-query heads, odd head size).
    @Test(arguments: [(12, 12, 32, 40, 40, 0, false, 33), (9, 3, 64, 5, 21, 16, true, 21), (4, 2, 7, 6, 6, 0, true, 6),
                      (2, 1, 8, 1, 300, 299, true, 300)])
    func fastAttentionMatchesExactAttention(heads: Int, kvHeads: Int, d: Int, tq: Int, tk: Int, offset: Int, causal: Bool, valid: Int) {
        var g = LCG(s: UInt64(heads * 7 + d + tk))
        let q = (0..<heads * tq * d).map { _ in g.next() * 2 }
        let k = (0..<kvHeads * tk * d).map { _ in g.next() * 2 }
        let v = (0..<kvHeads * tk * d).map { _ in g.next() }
        let call = AttentionCall(sequence: 0, layer: 0, heads: heads, kvHeads: kvHeads, headDim: d, queryRows: tq, keyRows: tk,
                                 queryOffset: offset, causal: causal, validKeys: valid, scale: 1 / Float(d).squareRoot())
        var a = [Float](repeating: .nan, count: heads * tq * d), b = a
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
            a.withUnsafeMutableBufferPointer { ExactAttention().attend(call, q: qp, k: kp, v: vp, out: $0) }
            b.withUnsafeMutableBufferPointer { FastExactAttention().attend(call, q: qp, k: kp, v: vp, out: $0) }
        } } }
        let diff = zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff < 1e-5)
    }

    /// K/V heads `kvHeadStride` rows apart (the decoder's KV cache in place, NaN in the unused rows):
    /// both seams that accept it give exactly their contiguous results, and never read the padding.
    @Test(arguments: [(9, 3, 64, 1, 21, 20, true), (4, 2, 8, 6, 6, 0, true), (2, 2, 16, 3, 3, 0, false)])
    func stridedKVEqualsContiguous(heads: Int, kvHeads: Int, d: Int, tq: Int, tk: Int, offset: Int, causal: Bool) {
        var g = LCG(s: UInt64(heads * 13 + d + tk))
        let stride = tk + 5
        let q = (0..<heads * tq * d).map { _ in g.next() * 2 }
        let k = (0..<kvHeads * tk * d).map { _ in g.next() * 2 }
        let v = (0..<kvHeads * tk * d).map { _ in g.next() }
        var ks = [Float](repeating: .nan, count: kvHeads * stride * d), vs = ks
        for h in 0..<kvHeads {
            for i in 0..<(tk * d) { ks[h * stride * d + i] = k[h * tk * d + i]; vs[h * stride * d + i] = v[h * tk * d + i] }
        }
        let call = AttentionCall(sequence: 0, layer: 0, heads: heads, kvHeads: kvHeads, headDim: d, queryRows: tq, keyRows: tk,
                                 queryOffset: offset, causal: causal, scale: 1 / Float(d).squareRoot())
        var strided = call
        strided.kvHeadStride = stride
        for seam in [ExactAttention(), FastExactAttention()] as [any AttentionSeam] {
            #expect(seam.acceptsStridedKV)
            var a = [Float](repeating: .nan, count: heads * tq * d), b = a
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                    a.withUnsafeMutableBufferPointer { seam.attend(call, q: qp, k: kp, v: vp, out: $0) }
                } }
                ks.withUnsafeBufferPointer { kp in vs.withUnsafeBufferPointer { vp in
                    b.withUnsafeMutableBufferPointer { seam.attend(strided, q: qp, k: kp, v: vp, out: $0) }
                } }
            }
            #expect(a.allSatisfy { $0.isFinite } && a == b)
        }
        #expect(!TraceRecorder().acceptsStridedKV)
    }

    /// Exact GELU at points with known values: gelu(0)=0, gelu(1)=0.8413447, gelu(-1)=-0.1586553
    /// (x·Φ(x) with Φ the standard normal CDF), gelu(3)=2.9959502.
    @Test func geluIsExactErf() {
        var x: [Float] = [0, 1, -1, 3]
        x.withUnsafeMutableBufferPointer { EncoderMath.gelu($0) }
        let expected: [Float] = [0, 0.8413447, -0.1586553, 2.9959502]
        #expect(zip(x, expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }
}

@Suite("BERT loading errors")
struct EncoderLoadingErrorTests {
    static let config = BertConfig(hiddenSize: 8, numAttentionHeads: 2, numHiddenLayers: 1, intermediateSize: 16,
                                   layerNormEps: 1e-12, maxPositionEmbeddings: 4, typeVocabSize: 2, vocabSize: 10)

    @Test func missingConfigKeyNamesFileAndKey() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try #"{"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1, "layer_norm_eps": 1e-12, "max_position_embeddings": 4, "type_vocab_size": 2, "vocab_size": 10, "hidden_act": "gelu"}"#
            .write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try BertConfig(path: url.path)
            Issue.record("expected a missing-key error")
        } catch {
            #expect(error.description == "\(url.path): intermediate_size: missing key (expected a positive integer)")
        }
    }

    @Test func missingAndMisshapedTensorsAreNamed() throws {
        var w = SafetensorsWriter()
        w.add("bert.embeddings.word_embeddings.weight", floats: [Float](repeating: 0, count: 80), shape: [10, 8])
        w.add("bert.embeddings.position_embeddings.weight", floats: [Float](repeating: 0, count: 24), shape: [3, 8])
        let file = try SafetensorsFile(data: w.serialized(), path: "tiny.safetensors")
        do {
            _ = try BertWeights(file: file, config: Self.config)
            Issue.record("expected a shape error")
        } catch {
            #expect(error.description == "tiny.safetensors: bert.embeddings.position_embeddings.weight: shape [3, 8], expected [4, 8] from config.json")
        }
        var w2 = SafetensorsWriter()
        w2.add("embeddings.word_embeddings.weight", floats: [Float](repeating: 0, count: 80), shape: [10, 8])
        let file2 = try SafetensorsFile(data: w2.serialized(), path: "tiny2.safetensors")
        do {
            _ = try BertWeights(file: file2, config: Self.config)
            Issue.record("expected a missing-tensor error")
        } catch {
            #expect(error.description == "tiny2.safetensors: embeddings.position_embeddings.weight: tensor not found; expected shape [4, 8]")
        }
    }
}
