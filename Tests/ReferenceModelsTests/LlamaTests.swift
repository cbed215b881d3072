import AttnCore
import Foundation
import Testing
@testable import ReferenceModels

/// The Swift Llama decoder against the PyTorch forward pass that recorded the committed SmolLM2 trace
/// (Scripts/record_reference_traces.py: same GGUF weights dequantized by the gguf package).
@Suite struct LlamaTests {
    static let model: Result<LlamaModel, AttnError> = {
        do { return .success(try LlamaModel(path: try EncoderFixtures.asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))) } catch let e as AttnError {
            return .failure(e)
        } catch {
            return .failure(.runtime("\(error)"))
        }
    }()

    @Test func configFromGGUFMetadata() throws {
        let c = try Self.model.get().config
        #expect(c.layers == 30 && c.heads == 9 && c.kvHeads == 3 && c.headDim == 64 && c.hidden == 576 && c.ffn == 1536)
        #expect(c.vocab == 49152 && c.ropeTheta == 100_000)
    }

    /// Prefill of the 48-token Macbeth prompt and 16 greedy decode steps with the KV cache: the same
    /// tokens PyTorch generated, and Q (after RoPE), K, V per layer within F16 storage precision.
    @Test func reproducesTheRecordedTraceAndGreedyTokens() throws {
        let model = try Self.model.get()
        let trace = try TraceReader(path: EncoderFixtures.packageRoot.appendingPathComponent("Traces/smollm2-shakespeare.safetensors").path)
        let s = 1
        let tokens = try trace.tokens(sequence: s)
        let prompt = trace.metadata.promptTokens[s]
        let recorder = TraceRecorder()
        let (generated, nll) = try model.generate(prompt: Array(tokens[..<prompt]), count: tokens.count - prompt, seam: recorder, sequence: s)
        #expect(generated == Array(tokens[prompt...]))
        // The PyTorch recorder printed perplexity 236.385 for this prompt.
        #expect(abs(exp(nll) - 236.385) / 236.385 < 0.005, "perplexity \(exp(nll))")
        var worst = 0.0
        for l in [0, 7, 15, 29] {
            let ref = try trace.layer(sequence: s, layer: l)
            let got = try #require(recorder.tensors(sequence: s, layer: l))
            let rows = tokens.count
            for (name, a, b, heads) in [("q", got.q, ref.q, 9), ("k", got.k, ref.k, 3), ("v", got.v, ref.v, 3)] {
                var maxAbs: Float = 0, scale: Float = 0
                for h in 0..<heads {
                    for t in 0..<rows {
                        for c in 0..<64 {
                            let x = a[(h * rows + t) * 64 + c], y = b[(h * tokens.count + t) * 64 + c]
                            maxAbs = max(maxAbs, abs(x - y))
                            scale = max(scale, abs(y))
                        }
                    }
                }
                // F16 keeps 11 significant bits: relative 2^-11 of the largest value, plus float noise.
                #expect(maxAbs <= scale * 2e-3 + 1e-3, "layer \(l) \(name): max |diff| \(maxAbs), max |x| \(scale)")
                worst = max(worst, Double(maxAbs / scale))
            }
        }
    }

    @Test func kvCacheDecodeEqualsFullRecomputation() throws {
        let model = try Self.model.get()
        let ids = [504, 3458, 282, 4649, 314, 1345, 30, 216]
        var full = model.makeCache()
        let all = try model.forward(ids, cache: &full)
        var inc = model.makeCache()
        _ = try model.forward(Array(ids.prefix(5)), cache: &inc)
        var last: [Float] = []
        for t in ids.dropFirst(5) { last = try model.forward([t], cache: &inc, logitsFor: true) }
        let v = model.config.vocab
        let ref = Array(all[((ids.count - 1) * v)...])
        let diff = zip(last, ref).map { abs($0 - $1) }.max()!
        let scale = ref.map { abs($0) }.max()!
        #expect(diff <= 1e-4 * scale, "max diff \(diff) of \(scale)")
        #expect(throws: AttnError.self) { try model.forward([v], cache: &inc) }
    }

    /// A truncated cache decodes as if the dropped positions had never been seen (their rows are
    /// overwritten), and a cache allocated up front gives the same logits as one that grows.
    @Test func truncatedCacheRedecodesTheSameLogits() throws {
        let model = try Self.model.get()
        let prompt = [504, 3458, 282, 4649, 314]
        var grown = model.makeCache()
        _ = try model.forward(prompt, cache: &grown)
        let first = try model.forward([1345], cache: &grown, logitsFor: true)
        var big = model.makeCache(capacity: 300)
        _ = try model.forward(prompt, cache: &big)
        _ = try model.forward([30, 216, 42], cache: &big)
        big.truncate(to: prompt.count)
        #expect(big.count == prompt.count)
        let again = try model.forward([1345], cache: &big, logitsFor: true)
        #expect(again.count == model.config.vocab && again == first)
    }
}

@Suite struct ByteLevelBPETests {
    static let tokenizer: Result<ByteLevelBPE, AttnError> = {
        do { return .success(try ByteLevelBPE(gguf: GGUFFile(path: try EncoderFixtures.asset("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))) }
        catch let e as AttnError { return .failure(e) } catch { return .failure(.runtime("\(error)")) }
    }()

    /// Identical ids to Hugging Face `tokenizers` (Scripts/decoder_golden.py) on 300 Shakespeare lines
    /// and edge cases (digits, contractions, whitespace runs, accents, CJK, emoji, NBSP).
    @Test func matchesHuggingFaceTokenizers() throws {
        let bpe = try Self.tokenizer.get()
        let data = try Data(contentsOf: EncoderFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/decoder/bpe_cases.json"))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        #expect(cases.count > 300)
        var mismatches: [String] = []
        for c in cases {
            let text = c["text"] as! String, ids = (c["ids"] as! [NSNumber]).map(\.intValue)
            let got = bpe.encode(text)
            if got != ids { mismatches.append("\(text.debugDescription): \(got) vs \(ids)") }
            #expect(bpe.decode(got) == text)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// "The capital of France is" continues with " Paris." greedily, as in PyTorch (Traces/README.md).
    @Test func capitalOfFrance() throws {
        let bpe = try Self.tokenizer.get()
        let model = try LlamaTests.model.get()
        let prompt = bpe.encode("The capital of France is")
        let (ids, _) = try model.generate(prompt: prompt, count: 8)
        #expect(bpe.decode(ids) == " Paris.\n\nThe answer is:")
    }
}

/// Next-token logits and perplexity against PyTorch (Scripts/smollm2_logits_golden.py).
@Suite struct LlamaLogitsTests {
    @Test func logitsWithinOneThousandthAndPerplexity() throws {
        let model = try LlamaTests.model.get()
        let data = try Data(contentsOf: EncoderFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/decoder/smollm2_logits.json"))
        let g = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let ids = (g["prompt_ids"] as! [NSNumber]).map(\.intValue)
        var cache = model.makeCache()
        let logits = try model.forward(ids, cache: &cache)
        let v = model.config.vocab
        for entry in g["prompt_logits"] as! [[String: Any]] {
            let pos = (entry["position"] as! NSNumber).intValue
            let row = Array(logits[(pos * v)..<((pos + 1) * v)])
            let top = (entry["top_ids"] as! [NSNumber]).map(\.intValue)
            let values = (entry["top_values"] as! [NSNumber]).map(\.floatValue)
            let first8 = (entry["first8"] as! [NSNumber]).map(\.floatValue)
            let scale = max(abs((entry["max"] as! NSNumber).floatValue), abs((entry["min"] as! NSNumber).floatValue))
            var worst: Float = 0
            for (i, id) in top.enumerated() { worst = max(worst, abs(row[id] - values[i])) }
            for c in 0..<8 { worst = max(worst, abs(row[c] - first8[c])) }
            #expect(worst / scale <= 1e-3, "position \(pos): max |diff| \(worst) / max |logit| \(scale)")
            #expect(LlamaModel.argmax(row[...]) == top[0])
            let mean = row.reduce(0.0) { $0 + Double($1) } / Double(v)
            #expect(abs(mean - (entry["mean"] as! NSNumber).doubleValue) <= 1e-3 * Double(scale))
        }
        // Perplexity of 128 Hamlet tokens: PyTorch 25.646.
        let passage = (g["passage_ids"] as! [NSNumber]).map(\.intValue)
        var c2 = model.makeCache()
        let l2 = try model.forward(passage, cache: &c2)
        var nll = 0.0
        for t in 0..<(passage.count - 1) { nll -= LlamaModel.logSoftmax(l2[(t * v)..<((t + 1) * v)], at: passage[t + 1]) }
        let ppl = exp(nll / Double(passage.count - 1))
        let ref = (g["passage_perplexity"] as! NSNumber).doubleValue
        #expect(abs(ppl - ref) / ref <= 0.005, "perplexity \(ppl) vs PyTorch \(ref)")
    }
}
