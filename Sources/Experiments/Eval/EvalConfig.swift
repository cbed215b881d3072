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
    /// The `eval:` section as given (after sweep expansion).
    public var evalSection: ConfigNode = .mapping([])
    /// The `eval:` section as given, `hardware:` and `attention:` normalized (defaults filled): what
    /// `config_id` hashes.
    public var node: ConfigNode
    /// The `eval:` section alone: points with the same one share baselines, heads and calibration data.
    public var taskKey: String
    /// Points with the same key compute the same numbers (only the hardware differs).
    public var arithmeticKey: String

    public var configID: String { node.configID }

    public init(from node: ConfigNode, baseDirectory: String) throws(AttnError) {
        self = try ConfigSchema.decode(from: try ConfigReader(node), baseDirectory: baseDirectory)
        self.node = ConfigSchema.node(of: self)
        taskKey = ConfigNode.mapping([("eval", evalSection)]).configID
        arithmeticKey = ConfigNode.mapping([("eval", evalSection), ("attention", attention.configNode)]).configID
    }
}

extension EvalConfig: ConfigSection {
    /// Every key at its default (no model).
    public init() {
        task = .sentiment
        model = ""
        hardware = HardwareConfig()
        attention = AttentionConfig()
        node = .mapping([])
        taskKey = ""
        arithmeticKey = ""
    }

    /// The top-level keys of an eval config, declared once. The `eval:` section is written to the
    /// canonical config as given (its keys' order and spelling kept, defaults not filled), so the
    /// `config_id`s of committed eval configs stay.
    public static let keys: [ConfigKey<EvalConfig>] = [
        ConfigKey(path: "eval", type: "mapping", defaultText: "— (required)", doc: "the task: the `eval:` tables in docs/eval.md",
                  read: { (s, c) throws(AttnError) in
                      guard s.root.has("eval") else {
                          throw s.root.error(nil, "missing 'eval': the task to evaluate (task: sentiment or language_model, model: ...); see docs/eval.md")
                      }
                      let e = try s.reader("eval")
                      // Keys of the other task are rejected here (unknown key, with did-you-mean).
                      try ConfigSchema.decode(evalKeys, from: ConfigSectionReader(e, baseDirectory: s.baseDirectory), into: &c)
                      c.evalSection = e.node
                  },
                  write: { $0.evalSection }),
        .section("hardware", \.hardware, doc: "the accelerator's hardware (docs/config-reference.md)"),
        .section("attention", \.attention, doc: "the accelerator's arithmetic (docs/config-reference.md)",
                 check: { (c, s) throws(AttnError) in
                     try c.hardware.checkDataflow(supports: c.attention, section: try s.reader("attention"))
                     if case .topTheta = c.attention.pruning, c.task == .languageModel, c.languageModel.calibrationTexts.isEmpty {
                         throw try s.reader("eval").error(nil, "Top-θ pruning needs calibration_texts (held apart from texts) to calibrate its thresholds on")
                     }
                 }),
    ] + ConfigSweep.keys()

    /// Every key of the `eval:` section: the task's keys apply to that task only.
    public static var evalKeys: [ConfigKey<EvalConfig>] { commonKeys + sentimentKeys + languageModelKeys }

    static let commonKeys: [ConfigKey<EvalConfig>] = [
        .choice("task", \.task, required: true, doc: "`sentiment`: a probe on a BERT encoder; `language_model`: perplexity of a Llama decoder"),
        .string("model", \.model, required: true, nonEmpty: true, isPath: true,
                doc: "`sentiment`: HF BERT directory (config.json, model.safetensors, vocab.txt); `language_model`: GGUF file (Llama family)"),
    ]

    private static func sentimentTask(_ c: EvalConfig) -> ConfigKeyUse { c.task == .sentiment ? .read : .absent }
    private static func languageModelTask(_ c: EvalConfig) -> ConfigKeyUse { c.task == .languageModel ? .read : .absent }

    static let sentimentKeys: [ConfigKey<EvalConfig>] = [
        .string("data", \.sentiment.data, required: true, nonEmpty: true, isPath: true, when: sentimentTask,
                doc: "`movieReviewSnippets_GroundTruth.txt`: `id<TAB>mean rating<TAB>sentence` per line"),
        .string("head", \.sentiment.head, required: true, nonEmpty: true, isPath: true, when: sentimentTask,
                doc: "probe head file (safetensors); trained on first use, then reused"),
        .int("seed", \.sentiment.seedValue, range: 0...Int.max, when: sentimentTask, doc: "SplitMix64 seed of the split"),
        .int("test_sentences", \.sentiment.testSentences, range: 1...10_000_000, when: sentimentTask, doc: "test split size"),
        .int("train_sentences", \.sentiment.trainSentences, range: 0...10_000_000, when: sentimentTask,
             doc: "training split size; 0 = every other labelled sentence"),
        .double("min_abs_rating", \.sentiment.minAbsRating, range: 0...100, when: sentimentTask,
                doc: "sentences with \\|rating\\| below are dropped; label = rating > 0"),
        .int("max_tokens", \.sentiment.maxTokens, range: 2...1_000_000, when: sentimentTask, doc: "WordPiece truncation (with [CLS]/[SEP])"),
        .int("calibration_sentences", \.sentiment.calibrationSentences, range: 1...10_000_000, when: sentimentTask,
             doc: "Top-θ thresholds come from the first N *training* sentences"),
        .int("batch", \.sentiment.batch, range: 1...4096, when: sentimentTask,
             doc: "sentences per encoder batch (sorted by length; padding keys masked)"),
        .double("l2", \.sentiment.l2, range: 0...1e6, when: sentimentTask, doc: "L2 regularization of the head"),
    ]

    static let languageModelKeys: [ConfigKey<EvalConfig>] = [
        .strings("texts", \.languageModel.texts, count: 1...10_000, isPath: true, defaultText: "—", when: languageModelTask,
                 doc: "evaluation text files, one passage each"),
        .int("start_line", \.languageModel.startLine, range: 1...100_000_000, when: languageModelTask,
             doc: "first line (1-based) of each passage"),
        .int("tokens", \.languageModel.tokens, range: 2...1_000_000, when: languageModelTask, doc: "tokens per passage"),
        .choices("modes", \.languageModel.modes, count: 1...2, when: languageModelTask,
                 doc: "`prefill`: one pass over the passage; `decode`: `prompt_tokens` in one pass, then one token per step with the KV cache"),
        .int("prompt_tokens", \.languageModel.promptTokens, range: 1...1_000_000, when: languageModelTask, doc: "for `decode`",
             check: { (c, s) throws(AttnError) in
                 let l = c.languageModel
                 if l.promptTokens >= l.tokens {
                     throw s.root.error("prompt_tokens", "\(l.promptTokens) leaves nothing to decode in passages of \(l.tokens) tokens")
                 }
             }),
        .choice("decode_prompt", \.languageModel.decodePrompt, when: languageModelTask,
                doc: "for `decode`: `accelerator` runs the prompt's prefill through the accelerator and scores its predictions with the decode steps'; `float` runs it once per passage with exact float attention (its KV cache shared by every point) and scores only the decode steps (`tokens` − 1 − `prompt_tokens` per passage)"),
        .strings("calibration_texts", \.languageModel.calibrationTexts, count: 0...10_000, isPath: true, when: languageModelTask,
                 doc: "Top-θ calibration texts (required with Top-θ; must differ from `texts`)",
                 check: { (c, s) throws(AttnError) in
                     let l = c.languageModel
                     if let both = l.calibrationTexts.first(where: { l.texts.contains($0) }) {
                         throw s.root.error("calibration_texts", "\((both as NSString).lastPathComponent) is also an evaluation text; calibration and evaluation must be disjoint")
                     }
                 }),
        .int("calibration_tokens", \.languageModel.calibrationTokens, range: 2...1_000_000, when: languageModelTask,
             doc: "tokens per calibration passage (built like the evaluation passages, from the same `start_line`)"),
    ]
}

extension EvalConfig.Sentiment {
    /// `seed` as the config writes it (0…Int.max).
    var seedValue: Int {
        get { Int(clamping: seed) }
        set { seed = UInt64(newValue) }
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
