import AttnCore
import Foundation
import ReferenceModels
import Testing
@testable import Experiments

/// Long context against PyTorch (Scripts/smollm2_long_golden.py, Tests/Fixtures/decoder/smollm2_long.json):
/// 8,192 tokens of Macbeth from line 300 through a plain PyTorch Llama over the same GGUF weights.
/// The eval passage's 8,192 ids equal HF tokenizers'; the Swift decoder's prefill, logits taken in
/// chunks as `eval` does, gives each 512-position bucket's mean NLL within 0.005 nats of PyTorch's
/// (perplexity within 0.5%) and the same top-1 token at ≥ 99% of the positions. CI runs the first
/// 1,024 tokens (two buckets, a few seconds); ATTNSIM_LONG_GOLDEN_TOKENS=8192 checks all of it
/// (docs/eval.md, "Long passages", gives that run's figures).
@Suite struct LongContextGoldenTests {
    @Test func longPassageMatchesPyTorch() throws {
        let data = try Data(contentsOf: EvalFixtures.root.appendingPathComponent("Tests/Fixtures/decoder/smollm2_long.json"))
        let g = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let tokens = g["tokens"] as! Int, bucket = g["bucket"] as! Int
        let bpe = try ByteLevelBPE(gguf: GGUFFile(path: EvalFixtures.smollm2))
        let ids = try Passages.passage(EvalFixtures.play("macbeth"), startLine: g["start_line"] as! Int, tokens: tokens, bpe: bpe)
        #expect(ids == g["ids"] as! [Int])
        let env = ProcessInfo.processInfo.environment["ATTNSIM_LONG_GOLDEN_TOKENS"].flatMap(Int.init)
        let n = min(tokens, max(2 * bucket, env ?? 2 * bucket))
        let model = try LlamaModel(path: EvalFixtures.smollm2)
        let r = try NextTokenResults.run(model, Array(ids.prefix(n)), mode: .prefill, promptTokens: 1, seam: FastExactAttention(), sequence: 0)
        #expect(r.nll.count == n - 1)
        let means = g["bucket_mean_nll"] as! [Double], top1 = g["top1"] as! [Int]
        for b in 0..<((n - 1) / bucket) {
            let swift = r.nll[(b * bucket)..<((b + 1) * bucket)].reduce(0, +) / Double(bucket)
            #expect(abs(swift - means[b]) < 0.005, "positions \(b * bucket)..<\((b + 1) * bucket): mean NLL \(swift) vs PyTorch \(means[b])")
        }
        let agree = zip(r.argmax, top1).filter { $0 == $1 }.count
        #expect(Double(agree) >= 0.99 * Double(r.argmax.count), "top-1 agrees at \(agree) of \(r.argmax.count) positions")
        if n == tokens {
            let ppl = exp(r.nll.reduce(0, +) / Double(r.nll.count)), ref = g["perplexity"] as! Double
            #expect(abs(ppl / ref - 1) < 0.005, "perplexity \(ppl) vs PyTorch \(ref)")
        }
    }
}
