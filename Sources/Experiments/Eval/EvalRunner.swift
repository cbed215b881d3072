import Accelerator
import AttnCore
import Foundation
import ReferenceModels

/// What one arithmetic computed on one task mode: the activities the timing model costs, the
/// attention-level fidelity, and the task metrics.
public struct EvalOutcome: Sendable {
    public var mode: String
    public var phase: HeadActivity.Phase
    /// The cost of the mode's calls on each hardware the outcome was computed for (by hardware key).
    public var costs: [String: PhaseCost] = [:]
    public var fidelity = Fidelity()
    public var metrics: [String: String] = [:]
}

/// `attnsim eval`: runs reference models with the accelerator's functional model in every attention
/// call. The float baselines, the sentiment head and the calibration data are computed once per
/// `eval:` section; the model runs once per distinct arithmetic; every point is costed on its own
/// hardware.
public final class EvalRunner: @unchecked Sendable {
    /// The metric columns, after the cost and fidelity columns.
    public static let metricColumns: [(name: String, meaning: String)] = [
        ("examples", "sentiment: test sentences; language model: predicted tokens"),
        ("accuracy", "sentiment: test accuracy of the probe head on the accelerator's embeddings"),
        ("accuracy_ci_low", "95% Wilson interval of accuracy, low end"),
        ("accuracy_ci_high", "95% Wilson interval of accuracy, high end"),
        ("float_accuracy", "the same head on exact float attention's embeddings"),
        ("accuracy_change", "accuracy − float_accuracy (points of 1)"),
        ("relative_accuracy_loss", "(float_accuracy − accuracy) / float_accuracy"),
        ("prediction_agreement", "fraction of test sentences (sentiment) or positions (LM: top-1) predicted as the float model does"),
        ("embedding_cosine", "mean cosine of sentence embeddings to the float model's"),
        ("perplexity", "language model: exp(mean next-token NLL) with the accelerator in the loop"),
        ("float_perplexity", "the same with exact float attention"),
        ("perplexity_change", "perplexity / float_perplexity − 1"),
    ]

    /// Eval report header: identification, the trace report's cost and fidelity columns, the metrics, swept keys.
    public static func header(sweptPaths: [String]) -> [String] {
        ["config_id", "point", SweepOutput.revisionColumn, "task", "model", "mode", "phase"] + costColumns.map(\.name) + metricColumns.map(\.name) + sweptPaths
    }

    static let costStart = ReportRow.columns.firstIndex { $0.name == "cycles" }!
    static let costEnd = ReportRow.columns.firstIndex { $0.name == "rows" }! + 1
    static var costColumns: ArraySlice<(name: String, meaning: String)> { ReportRow.columns[costStart..<costEnd] }

    let lock = NSLock()
    var sentimentStates: [String: SentimentState] = [:]
    var languageStates: [String: LanguageState] = [:]
    var outcomes: [String: [EvalOutcome]] = [:]
    /// Per arithmetic key, the hardware of every point that shares it (`prepare`), by hardware key.
    var hardwareSets: [String: [String: EvalConfig]] = [:]
    /// Top-θ thresholds per (task, calibration-relevant arithmetic): shared by points that differ
    /// only in compensations or hardware.
    var thresholdCache: [String: TopThetaThresholds] = [:]
    let log: (@Sendable (String) -> Void)?

    public init(log: (@Sendable (String) -> Void)? = nil) {
        self.log = log
    }

    /// Registers the points to run, so that each model run costs its activities, as they come, on
    /// the hardware of every point sharing its arithmetic (instead of keeping them all).
    public func prepare(_ points: [EvalPoint]) {
        lock.lock(); defer { lock.unlock() }
        for p in points { hardwareSets[p.config.arithmeticKey, default: [:]][Self.hardwareKey(p.config)] = p.config }
    }

    static func hardwareKey(_ c: EvalConfig) -> String { c.hardware.configNode.configID }

    /// The hardware keys and pipelines an arithmetic's run costs on: the prepared points' and `c`'s own.
    func pipelines(_ c: EvalConfig) -> (keys: [String], pipelines: [AttentionPipeline]) {
        lock.lock()
        var set = hardwareSets[c.arithmeticKey] ?? [:]
        lock.unlock()
        set[Self.hardwareKey(c)] = c
        let keys = set.keys.sorted()
        return (keys, keys.map { AttentionPipeline(hardware: set[$0]!.hardware, workload: set[$0]!.attention.timingWorkload) })
    }

    static func outcome(_ mode: String, _ phase: HeadActivity.Phase, _ seam: AcceleratorSeam, keys: [String]) -> EvalOutcome {
        var o = EvalOutcome(mode: mode, phase: phase)
        o.costs = Dictionary(uniqueKeysWithValues: zip(keys, seam.costs(phase)))
        o.fidelity = seam.fidelity[phase] ?? Fidelity()
        return o
    }

    // MARK: - Sentiment

    final class SentimentState {
        let encoder: BertEncoder
        let test: [MovieReview]
        let train: [MovieReview]
        let head: LogisticProbe
        let floatEmbeddings: [[Float]]
        let floatPredictions: [Bool]
        let calibrationTexts: [String]
        let maxTokens: Int, batch: Int
        /// Q/K/V of the calibration sentences under float attention, recorded on first use (Top-θ only).
        var recorded: CalibrationSeam?
        var tacRecorded: [String: CalibrationSeam] = [:]
        let maxLength: Int

        init(_ c: EvalConfig, log: ((String) -> Void)?) throws(AttnError) {
            let s = c.sentiment
            encoder = try BertEncoder(directory: c.model)
            let reviews = try MovieReviews.load(s.data)
            (train, test) = try MovieReviews.split(reviews, minAbsRating: s.minAbsRating, seed: s.seed, test: s.testSentences,
                                                   train: s.trainSentences, file: s.data)
            guard s.calibrationSentences <= train.count else {
                throw AttnError.input(file: s.data, item: nil, message: "calibration_sentences = \(s.calibrationSentences) exceeds the \(train.count) training sentences it is taken from")
            }
            let exact = FastExactAttention()
            let expected: [String: String] = [
                "model": (c.model as NSString).lastPathComponent, "data": (s.data as NSString).lastPathComponent,
                "seed": String(s.seed), "test_sentences": String(s.testSentences), "train_sentences": String(train.count),
                "min_abs_rating": CSV.number(s.minAbsRating), "max_tokens": String(s.maxTokens), "l2": CSV.number(s.l2),
            ]
            if FileManager.default.fileExists(atPath: s.head) {
                let h = try LogisticProbe.load(s.head)
                for (k, v) in expected.sorted(by: { $0.key < $1.key }) where h.metadata[k] != v {
                    throw AttnError.input(file: s.head, item: "__metadata__.\(k)",
                                          message: "the head was trained with \(k) = \(h.metadata[k] ?? "(none)"), this config has \(v); delete the file to retrain or point eval.head elsewhere")
                }
                guard h.dimension == encoder.config.hiddenSize else {
                    throw AttnError.input(file: s.head, item: "weight", message: "\(h.dimension) weights, the model's embeddings have \(encoder.config.hiddenSize)")
                }
                head = h
            } else {
                log?("eval: training the sentiment head on \(train.count) float embeddings → \(s.head)")
                let features = try encoder.embeddings(train.map(\.text), maxTokens: s.maxTokens, batch: s.batch, seam: exact)
                var h = LogisticProbe.train(features, train.map(\.positive), l2: s.l2)
                let trainCorrect = zip(features, train).filter { h.predict($0) == $1.positive }.count
                h.metadata = expected.merging(["train_accuracy": CSV.number(Double(trainCorrect) / Double(train.count))]) { a, _ in a }
                try h.write(to: s.head)
                head = h
            }
            floatEmbeddings = try encoder.embeddings(test.map(\.text), maxTokens: s.maxTokens, batch: s.batch, seam: exact)
            let probe = head
            floatPredictions = floatEmbeddings.map { probe.predict($0) }
            calibrationTexts = train.prefix(s.calibrationSentences).map(\.text)
            maxTokens = s.maxTokens
            batch = s.batch
            maxLength = min(s.maxTokens, encoder.config.maxPositionEmbeddings)
        }

        /// `tac`: record under exact top-k attention (`calib_tac`), one recording per k schedule.
        func calibration(_ tac: AttentionConfig.TopTheta?) throws(AttnError) -> CalibrationSeam {
            if tac == nil, let r = recorded { return r }
            if let t = tac, let r = tacRecorded[t.kScheduleKey] { return r }
            let seam = CalibrationSeam(topK: tac)
            _ = try encoder.embeddings(calibrationTexts, maxTokens: maxTokens, batch: batch, seam: seam)
            if let t = tac { tacRecorded[t.kScheduleKey] = seam } else { recorded = seam }
            return seam
        }
    }

    func sentimentState(_ c: EvalConfig) throws(AttnError) -> SentimentState {
        lock.lock(); defer { lock.unlock() }
        if let s = sentimentStates[c.taskKey] { return s }
        let s = try SentimentState(c, log: log)
        sentimentStates[c.taskKey] = s
        return s
    }

    /// Top-θ thresholds for `c` (nil for other pruning); the calibration data is recorded only then.
    /// Thresholds depend on the calibration data, the datapath and k, placement and std factor — not
    /// on the compensations — so points that differ only in those share one calibration pass.
    func thresholds(_ c: EvalConfig, _ cal: (AttentionConfig.TopTheta?) throws(AttnError) -> CalibrationSeam, layers: Int, heads: Int,
                    maxLength: Int) throws(AttnError) -> TopThetaThresholds? {
        guard case .topTheta(let topTheta) = c.attention.pruning else { return nil }
        var t = topTheta
        t.denominator = .none
        t.vMean = false
        var a = c.attention
        a.pruning = .topTheta(t)
        // calib_tac records under exact top-k attention: key on the whole attention config then.
        let key = c.taskKey + "\u{0}" + (topTheta.calibTAC ? c.attention : a).configNode.configID + "\u{0}\(maxLength)"
        lock.lock()
        if let th = thresholdCache[key] { lock.unlock(); return th }
        lock.unlock()
        let th = try cal(topTheta.calibTAC ? topTheta : nil).thresholds(for: c.attention, layers: layers, heads: heads, maxLength: maxLength)
        lock.lock()
        thresholdCache[key] = th
        lock.unlock()
        return th
    }

    func runSentiment(_ c: EvalConfig) throws(AttnError) -> [EvalOutcome] {
        let st = try sentimentState(c)
        let e = st.encoder.config
        let fa = FunctionalAttention(config: c.attention, thresholds: try thresholds(c, st.calibration, layers: e.numHiddenLayers,
                                                                                 heads: e.numAttentionHeads, maxLength: st.maxLength))
        let hw = pipelines(c)
        let seam = AcceleratorSeam(fa, pipelines: hw.pipelines)
        let emb = try st.encoder.embeddings(st.test.map(\.text), maxTokens: c.sentiment.maxTokens, batch: c.sentiment.batch, seam: seam)
        var correct = 0, floatCorrect = 0, agree = 0, cosSum = 0.0
        for (i, r) in st.test.enumerated() {
            let p = st.head.predict(emb[i])
            if p == r.positive { correct += 1 }
            if st.floatPredictions[i] == r.positive { floatCorrect += 1 }
            if p == st.floatPredictions[i] { agree += 1 }
            var dot = 0.0, a = 0.0, b = 0.0
            for j in 0..<emb[i].count {
                dot += Double(emb[i][j]) * Double(st.floatEmbeddings[i][j])
                a += Double(emb[i][j]) * Double(emb[i][j])
                b += Double(st.floatEmbeddings[i][j]) * Double(st.floatEmbeddings[i][j])
            }
            cosSum += a > 0 && b > 0 ? dot / (a * b).squareRoot() : 0
        }
        let n = st.test.count
        let acc = Double(correct) / Double(n), floatAcc = Double(floatCorrect) / Double(n)
        let ci = wilsonInterval(successes: correct, trials: n)
        var o = Self.outcome("prefill", .prefill, seam, keys: hw.keys)
        o.metrics = [
            "examples": String(n), "accuracy": CSV.number(acc), "accuracy_ci_low": CSV.number(ci.low),
            "accuracy_ci_high": CSV.number(ci.high), "float_accuracy": CSV.number(floatAcc),
            "accuracy_change": CSV.number(acc - floatAcc),
            "relative_accuracy_loss": CSV.number(floatAcc > 0 ? (floatAcc - acc) / floatAcc : 0),
            "prediction_agreement": CSV.number(Double(agree) / Double(n)), "embedding_cosine": CSV.number(cosSum / Double(n)),
        ]
        return [o]
    }

    // MARK: - Language model

    final class LanguageState {
        let model: LlamaModel
        let passages: [[Int]]
        var floatResults: [EvalConfig.Mode: [NextTokenResults]] = [:]
        /// `decode_prompt: float`: each passage's KV cache after its float prompt, shared by every point.
        var promptCaches: [LlamaModel.KVCache] = []
        /// Token ids of the calibration passages (tokenized up front, so a bad text fails early).
        let calibrationPassages: [[Int]]
        var recorded: CalibrationSeam?
        var tacRecorded: [String: CalibrationSeam] = [:]
        let maxLength: Int

        init(_ c: EvalConfig) throws(AttnError) {
            let l = c.languageModel
            model = try LlamaModel(path: c.model)
            let bpe = try ByteLevelBPE(gguf: GGUFFile(path: c.model))
            guard l.tokens <= model.config.contextLength else {
                throw AttnError.input(file: c.model, item: "context_length", message: "eval.tokens = \(l.tokens) exceeds the model's context of \(model.config.contextLength)")
            }
            var ps: [[Int]] = []
            for t in l.texts { ps.append(try Passages.passage(t, startLine: l.startLine, tokens: l.tokens, bpe: bpe)) }
            passages = ps
            var cal: [[Int]] = []
            for t in l.calibrationTexts { cal.append(try Passages.passage(t, startLine: l.startLine, tokens: l.calibrationTokens, bpe: bpe)) }
            calibrationPassages = cal
            maxLength = max(l.tokens, l.calibrationTokens)
            if l.modes.contains(.decode) && l.decodePrompt == .float {
                for (i, p) in passages.enumerated() {
                    promptCaches.append(try NextTokenResults.floatPrompt(model, p, promptTokens: l.promptTokens, sequence: i))
                }
            }
            for mode in l.modes {
                var rs: [NextTokenResults] = []
                for (i, p) in passages.enumerated() {
                    rs.append(try NextTokenResults.run(model, p, mode: mode, promptTokens: l.promptTokens, seam: FastExactAttention(),
                                                       sequence: i, promptCache: promptCaches.isEmpty ? nil : promptCaches[i]))
                }
                floatResults[mode] = rs
            }
        }

        /// `tac`: record under exact top-k attention (`calib_tac`), one recording per k schedule.
        func calibration(_ tac: AttentionConfig.TopTheta?) throws(AttnError) -> CalibrationSeam {
            if tac == nil, let r = recorded { return r }
            if let t = tac, let r = tacRecorded[t.kScheduleKey] { return r }
            let seam = CalibrationSeam(topK: tac)
            for (i, ids) in calibrationPassages.enumerated() {
                var cache = model.makeCache(capacity: ids.count)
                _ = try model.forward(ids, cache: &cache, seam: seam, sequence: i, logitsFor: true)
            }
            if let t = tac { tacRecorded[t.kScheduleKey] = seam } else { recorded = seam }
            return seam
        }
    }

    func languageState(_ c: EvalConfig) throws(AttnError) -> LanguageState {
        lock.lock(); defer { lock.unlock() }
        if let s = languageStates[c.taskKey] { return s }
        let s = try LanguageState(c)
        languageStates[c.taskKey] = s
        return s
    }

    func runLanguageModel(_ c: EvalConfig) throws(AttnError) -> [EvalOutcome] {
        let st = try languageState(c)
        let m = st.model.config
        let th = try thresholds(c, st.calibration, layers: m.layers, heads: m.heads, maxLength: st.maxLength)
        var out: [EvalOutcome] = []
        let hw = pipelines(c)
        for mode in c.languageModel.modes {
            let seam = AcceleratorSeam(FunctionalAttention(config: c.attention, thresholds: th), pipelines: hw.pipelines)
            var nll = 0.0, floatNLL = 0.0, agree = 0, count = 0
            for (i, p) in st.passages.enumerated() {
                let r = try NextTokenResults.run(st.model, p, mode: mode, promptTokens: c.languageModel.promptTokens, seam: seam, sequence: i,
                                                 promptCache: st.promptCaches.isEmpty ? nil : st.promptCaches[i])
                let f = st.floatResults[mode]![i]
                for t in 0..<r.nll.count {
                    nll += r.nll[t]
                    floatNLL += f.nll[t]
                    if r.argmax[t] == f.argmax[t] { agree += 1 }
                }
                count += r.nll.count
            }
            let ppl = exp(nll / Double(count)), floatPPL = exp(floatNLL / Double(count))
            let phase: HeadActivity.Phase = mode == .prefill ? .prefill : .decode
            // A decode-mode run's prompt rows are prefill calls; its cost and fidelity are the decode steps'.
            var o = Self.outcome(mode.rawValue, phase, seam, keys: hw.keys)
            o.metrics = [
                "examples": String(count), "perplexity": CSV.number(ppl), "float_perplexity": CSV.number(floatPPL),
                "perplexity_change": CSV.number(ppl / floatPPL - 1),
                "prediction_agreement": CSV.number(Double(agree) / Double(count)),
            ]
            out.append(o)
        }
        return out
    }

    // MARK: - Points

    /// The outcomes of `c`'s arithmetic (computed once per arithmetic key).
    public func outcomes(_ c: EvalConfig) throws(AttnError) -> [EvalOutcome] {
        lock.lock()
        // A cached run that was not costed on this point's hardware (a point not `prepare`d) runs again.
        if let o = outcomes[c.arithmeticKey], o.allSatisfy({ $0.costs[Self.hardwareKey(c)] != nil }) { lock.unlock(); return o }
        lock.unlock()
        let o = c.task == .sentiment ? try runSentiment(c) : try runLanguageModel(c)
        lock.lock()
        outcomes[c.arithmeticKey] = o
        lock.unlock()
        return o
    }

    /// Drops the activities kept for `c`'s arithmetic (when no later point shares it).
    public func release(_ c: EvalConfig) {
        lock.lock()
        outcomes[c.arithmeticKey] = nil
        lock.unlock()
    }

    /// One row per task mode of a point: its hardware's cost of the recorded activity, fidelity, metrics.
    public func rows(for p: EvalPoint, sweptPaths: [String]) throws(AttnError) -> [[String]] {
        let c = p.config
        let area = AreaModel(hardware: c.hardware, multiplierBits: max(c.attention.qBits, 8)).totalMM2
        var rows: [[String]] = []
        for o in try outcomes(c) {
            let cost = o.costs[Self.hardwareKey(c)]!
            let exp = ExperimentConfig(traces: [], phases: [o.phase], calibrationSequences: [], thresholdsFile: nil,
                                       evaluationSequences: nil, allowNonFinite: false, hardware: c.hardware, attention: c.attention)
            let context = ReportRow.Context(point: ExperimentPoint(index: p.index, config: exp, swept: p.swept), trace: "",
                                            phase: o.phase, evaluated: [], calibration: [], clockGHz: c.hardware.clockGHz, areaMM2: area)
            let report = ReportRow(context, layer: nil, kvHead: nil, cost: cost, fidelity: o.fidelity)
            let task = c.task == .sentiment
                ? "sentiment:" + (c.sentiment.data as NSString).lastPathComponent
                : "perplexity:" + c.languageModel.texts.map { ($0 as NSString).lastPathComponent }.joined(separator: "+")
            var fields = [p.configID, String(p.index), String(AttnSimVersion.modelRevision), task, (c.model as NSString).lastPathComponent, o.mode, o.phase.rawValue]
            fields += report.values[Self.costStart..<Self.costEnd]
            fields += Self.metricColumns.map { o.metrics[$0.name] ?? "" }
            fields += sweptPaths.map { path in p.swept.first { $0.path == path }?.value ?? "" }
            rows.append(fields)
        }
        return rows
    }
}
