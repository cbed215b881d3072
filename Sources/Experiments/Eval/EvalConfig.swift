import Accelerator
import AttnCore
import Foundation

/// One point of `attnsim eval`: a task on a reference model, with the accelerator's arithmetic
/// (`attention:`) in every attention call and its hardware (`hardware:`) costing the calls.
/// docs/eval.md lists every key.
public struct EvalConfig: Sendable {
    public enum Task: String, Sendable, CaseIterable {
        case sentiment
        case languageModel = "language_model"
    }

    /// Sentiment probe on a BERT encoder's mean-pooled embeddings (movie-review snippets).
    public struct Sentiment: Sendable, Equatable {
        public var data = ""
        public var head = ""
        public var seed: UInt64 = 1
        public var testSentences = 2000
        /// 0: every labelled sentence not in the test split.
        public var trainSentences = 0
        public var minAbsRating = 0.5
        public var maxTokens = 128
        /// Top-θ thresholds are calibrated on the first N training sentences (never on test sentences).
        public var calibrationSentences = 256
        public var batch = 16
        /// L2 regularization of the logistic-regression head (on standardized features).
        public var l2 = 1e-3
    }

    /// Perplexity of a Llama decoder on held-out passages, as one prefill pass and token by token.
    public struct LanguageModel: Sendable, Equatable {
        public var texts: [String] = []
        public var startLine = 1
        public var tokens = 256
        public var modes: [Mode] = [.prefill, .decode]
        /// Decode mode: tokens run as one prefill before decoding the rest one at a time.
        public var promptTokens = 1
        /// Decode mode: the prompt's prefill runs on the accelerator (and its predictions are scored
        /// with the decode steps'), or once per passage in float, shared by every point, with only the
        /// decode steps scored.
        public var decodePrompt = DecodePrompt.accelerator
        public var calibrationTexts: [String] = []
        public var calibrationTokens = 256
    }

    public enum Mode: String, Sendable, CaseIterable {
        case prefill, decode
    }

    public enum DecodePrompt: String, Sendable, CaseIterable {
        case accelerator, float
    }

    public var task: Task
    public var model: String
    public var sentiment = Sentiment()
    public var languageModel = LanguageModel()
    public var hardware: HardwareConfig
    public var attention: AttentionConfig
    /// The `eval:` section as given, `hardware:` and `attention:` normalized (defaults filled): what
    /// `config_id` hashes.
    public var node: ConfigNode
    /// The `eval:` section alone: points with the same one share baselines, heads and calibration data.
    public var taskKey: String
    /// Points with the same key compute the same numbers (only the hardware differs).
    public var arithmeticKey: String

    public var configID: String { node.configID }

    public init(from node: ConfigNode, baseDirectory: String) throws(AttnError) {
        func path(_ p: String) -> String {
            p.hasPrefix("/") ? p : (baseDirectory as NSString).appendingPathComponent(p)
        }
        let r = try ConfigReader(node)
        guard r.has("eval") else {
            throw r.error(nil, "missing 'eval': the task to evaluate (task: sentiment or language_model, model: ...); see docs/eval.md")
        }
        let e = try r.child("eval")
        task = try e.choice("task")
        model = path(try e.string("model", nonEmpty: true))
        switch task {
        case .sentiment:
            var s = Sentiment()
            s.data = path(try e.string("data", nonEmpty: true))
            s.head = path(try e.string("head", nonEmpty: true))
            s.seed = UInt64(try e.int("seed", default: 1, range: 0...Int.max))
            s.testSentences = try e.int("test_sentences", default: s.testSentences, range: 1...10_000_000)
            s.trainSentences = try e.int("train_sentences", default: s.trainSentences, range: 0...10_000_000)
            s.minAbsRating = try e.double("min_abs_rating", default: s.minAbsRating, range: 0...100)
            s.maxTokens = try e.int("max_tokens", default: s.maxTokens, range: 2...1_000_000)
            s.calibrationSentences = try e.int("calibration_sentences", default: s.calibrationSentences, range: 1...10_000_000)
            s.batch = try e.int("batch", default: s.batch, range: 1...4096)
            s.l2 = try e.double("l2", default: s.l2, range: 0...1e6)
            sentiment = s
        case .languageModel:
            var l = LanguageModel()
            l.texts = (try e.strings("texts", default: [], count: 1...10_000)).map(path)
            l.startLine = try e.int("start_line", default: l.startLine, range: 1...100_000_000)
            l.tokens = try e.int("tokens", default: l.tokens, range: 2...1_000_000)
            let modes = try e.strings("modes", default: ["prefill", "decode"], count: 1...2)
            l.modes = []
            for m in modes {
                guard let mode = Mode(rawValue: m) else { throw e.error("modes", "expected prefill and/or decode, got '\(m)'") }
                if !l.modes.contains(mode) { l.modes.append(mode) }
            }
            l.promptTokens = try e.int("prompt_tokens", default: l.promptTokens, range: 1...1_000_000)
            if l.promptTokens >= l.tokens {
                throw e.error("prompt_tokens", "\(l.promptTokens) leaves nothing to decode in passages of \(l.tokens) tokens")
            }
            l.decodePrompt = try e.choice("decode_prompt", default: .accelerator)
            l.calibrationTexts = (try e.strings("calibration_texts", default: [], count: 0...10_000)).map(path)
            l.calibrationTokens = try e.int("calibration_tokens", default: l.calibrationTokens, range: 2...1_000_000)
            if let both = l.calibrationTexts.first(where: { l.texts.contains($0) }) {
                throw e.error("calibration_texts", "\((both as NSString).lastPathComponent) is also an evaluation text; calibration and evaluation must be disjoint")
            }
            languageModel = l
        }
        // Keys of the other task are rejected by finish() (unknown key, with did-you-mean).
        try e.finish()
        hardware = try HardwareConfig(from: try r.child("hardware"))
        let attentionSection = try r.child("attention")
        attention = try AttentionConfig(from: attentionSection)
        try hardware.checkDataflow(supports: attention, section: attentionSection)
        if case .topTheta = attention.pruning, task == .languageModel, languageModel.calibrationTexts.isEmpty {
            throw e.error(nil, "Top-θ pruning needs calibration_texts (held apart from texts) to calibrate its thresholds on")
        }
        r.allow("sweep", "zip", "base")
        try r.finish()
        let evalNode = node["eval"] ?? .mapping([])
        self.node = .mapping([("eval", evalNode), ("hardware", hardware.configNode), ("attention", attention.configNode)])
        taskKey = ConfigNode.mapping([("eval", evalNode)]).configID
        arithmeticKey = ConfigNode.mapping([("eval", evalNode), ("attention", attention.configNode)]).configID
    }
}

public struct EvalPoint: Sendable {
    public var index: Int
    public var config: EvalConfig
    public var swept: [SweptValue]
    public var configID: String { config.configID }
}

public enum EvalLoader {
    public static func load(path: String, overrides: [String] = [], maxPoints: Int = ConfigSweep.defaultMaxPoints) throws(AttnError) -> [EvalPoint] {
        var doc = try ConfigLoader.load(path: path)
        for o in overrides { try ConfigLoader.applyOverride(o, to: &doc, flag: "--set") }
        let base = (path as NSString).deletingLastPathComponent
        var out: [EvalPoint] = []
        for p in try ConfigSweep.expand(doc, maxPoints: maxPoints) {
            out.append(EvalPoint(index: p.index, config: try EvalConfig(from: p.config, baseDirectory: base.isEmpty ? "." : base),
                                 swept: p.sweptValues))
        }
        return out
    }
}
