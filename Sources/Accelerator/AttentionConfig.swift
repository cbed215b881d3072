import AttnCore

/// Everything that changes what the accelerator computes (and so its accuracy): fixed-point
/// formats of Q, K, V, softmax arithmetic, pruning and probability quantization. See
/// docs/algorithms.md for every formula and its paper.
public struct AttentionConfig: Sendable, Equatable {
    /// How a tensor's quantization range is shared.
    public enum Granularity: String, Sendable, CaseIterable {
        /// One scale for the whole layer tensor (all heads).
        case tensor
        /// One scale per head.
        case head
        /// Per-embedding-group (Bondarenko et al. 2021): head_dim dimensions sorted by range and split
        /// into `pegGroups` equal groups, one scale each.
        case peg
    }

    public enum RangeCalibration: Sendable, Equatable {
        case minMax
        /// The given percentile of |x| (e.g. 99.9) instead of the maximum; larger values saturate.
        case percentile(Double)
    }

    public enum Rounding: String, Sendable, CaseIterable {
        case nearestEven = "nearest_even", nearestAway = "nearest_away", floor
    }

    /// Bit widths: 0 means "not quantized" (Float).
    public var qBits = 8, kBits = 8, vBits = 8
    public var granularity: Granularity = .head
    public var pegGroups = 4
    public var rangeCalibration: RangeCalibration = .minMax
    public var rounding: Rounding = .nearestEven
    /// Accumulator width of the integer Q·Kᵀ and P·V (saturating; events counted).
    public var accBits = 32

    public enum SoftmaxArithmetic: Sendable, Equatable {
        case float
        /// Exponent LUT over (s − max) quantized to 2^−inputFracBits, outputs and probabilities with
        /// `outputFracBits` fractional bits.
        case fixed(inputFracBits: Int, outputFracBits: Int)
    }
    public var softmax: SoftmaxArithmetic = .float
    /// Clipped softmax (Bondarenko et al. 2023): clip((ζ − γ)·p + γ, 0, 1) with γ = −α/T.
    public var clippedSoftmax: (zeta: Double, alpha: Double)? = nil

    /// Where thresholds compare, and the denominator compensation: shared with the timing model
    /// (Sources/Accelerator/PruningKinds.swift).
    public typealias Placement = ThresholdPlacement

    public struct TopTheta: Sendable, Equatable {
        /// Target kept elements per row.
        public var k: Int
        public var placement: Placement = .scores
        public var denominator: DenominatorCompensation = .none
        public var vMean = false
        /// Layers before this one use `firstLayersK` (the paper keeps the first layers much denser).
        public var denseLayers = 2
        public var firstLayersK = 0
        /// Thresholds = mean + stdFactor · std of the calibration rows' (k+1)-th largest values.
        public var stdFactor = 0.1
        /// Per-layer k overrides (layer → k), taking precedence over `k` and `firstLayersK`.
        public var layerK: [Int: Int] = [:]
        /// How the threshold table is stored: one entry per row length, or per bucket of lengths.
        public var buckets: ThresholdBuckets = .none
        public var interpolation: ThresholdInterpolation = .nearest
        /// The paper's `calib_tac`: calibrate with exact top-k attention in the model (each layer's
        /// k), so deeper layers calibrate on inputs the sparsified layers before them produced.
        /// Needs the model in the loop (`attnsim eval`).
        public var calibTAC = false
        public init(k: Int) { self.k = k }

        /// Identifies what `calibTAC` calibration runs: the k of every layer.
        public var kScheduleKey: String {
            "\(k),\(denseLayers),\(firstLayersK)," + layerK.keys.sorted().map { "\($0):\(layerK[$0]!)" }.joined(separator: ",")
        }

        public func k(forLayer l: Int) -> Int {
            if let o = layerK[l] { return o }
            return l < denseLayers && firstLayersK > 0 ? firstLayersK : k
        }
    }

    /// Row lengths the Top-θ threshold table stores (docs/algorithms.md, "Threshold table").
    public enum ThresholdBuckets: Sendable, Equatable {
        /// Every row length.
        case none
        /// Powers of two.
        case powersOfTwo
        /// Multiples of the given number of rows.
        case every(Int)
    }

    /// How a row length between stored lengths gets its threshold.
    public enum ThresholdInterpolation: String, Sendable, CaseIterable {
        case nearest, linear
    }

    public enum Pruning: Sendable, Equatable {
        case none
        /// Ji et al.: keep p > t after softmax, no renormalization.
        case probability(threshold: Double)
        case topTheta(TopTheta)
        case topK(Int)
    }
    public var pruning: Pruning = .none

    public enum ProbabilityQuantization: Sendable, Equatable {
        case none
        /// Ji et al.: p ≤ t → 0; 2^b − 1 bins evenly spaced in log2 over [t, 1], bin log-midpoints.
        case log(bits: Int, threshold: Double)
        /// Power-of-two levels 2^−j (shift-only P·V) — a deviation from Ji et al.
        case logPowerOfTwo(bits: Int)
        /// 2^b − 1 uniform steps over [0, 1].
        case uniform(bits: Int)
    }
    public var probabilityQuantization: ProbabilityQuantization = .none

    public init() {}

    public static func == (a: AttentionConfig, b: AttentionConfig) -> Bool {
        a.configNode == b.configNode
    }

    /// What the timing model needs.
    public var timingWorkload: TimingWorkload {
        var w = TimingWorkload()
        w.qBits = qBits == 0 ? 16 : qBits
        w.kBits = kBits == 0 ? 16 : kBits
        w.vBits = vBits == 0 ? 16 : vBits
        w.accBits = accBits
        switch pruning {
        case .none: w.pruning = .none
        case .probability: w.pruning = .threshold(.probabilities)
        case .topTheta(let t):
            w.pruning = .threshold(t.placement)
            w.vMeanCompensation = t.vMean
            w.denominatorCompensation = t.denominator
        case .topK: w.pruning = .topK
        }
        switch probabilityQuantization {
        case .none: w.coding = .fixed
        case .log(let b, _): w.coding = .log(bits: b)
        case .logPowerOfTwo(let b): w.coding = .logPowerOfTwo(bits: b)
        case .uniform(let b): w.coding = .uniform(bits: b)
        }
        if case .fixed(_, let out) = softmax { w.probBits = max(8, out + 1) }
        w.clippedSoftmax = clippedSoftmax != nil
        return w
    }
}

extension AttentionConfig: ConfigSection {
    /// Decodes the `attention:` section.
    public init(from r: ConfigReader) throws(AttnError) {
        self = try ConfigSchema.decode(Self.keys, from: r)
    }

    /// The normalized `attention:` section (every value, defaults filled). Keys added after configs
    /// were committed (`layer_k`, `calib_tac`, `length_buckets`) appear only when set, so existing
    /// config_ids stay.
    public var configNode: ConfigNode { ConfigSchema.node(Self.keys, of: self) }

    /// Every key of the `attention:` section, declared once (docs/config-reference.md is rendered
    /// from this list and checked against it by a test). A variant's keys (`pruning.kind`,
    /// `probabilities.quantization`, ...) apply to that variant only.
    public static let keys: [ConfigKey<AttentionConfig>] = [
        .int("datapath.q_bits", \.qBits, range: 0...16, doc: "Q: signed symmetric fixed point; 0 = float"),
        .int("datapath.k_bits", \.kBits, range: 0...16, doc: "K: signed symmetric fixed point; 0 = float"),
        .int("datapath.v_bits", \.vBits, range: 0...16, doc: "V: signed symmetric fixed point; 0 = float (1 is an error)",
             check: { (a, s) throws(AttnError) in
                 for (key, bits) in [("q_bits", a.qBits), ("k_bits", a.kBits), ("v_bits", a.vBits)] where bits == 1 {
                     throw try s.reader("datapath").error(key, "1-bit signed quantization has no magnitude levels; use 2...16 bits or 0 for float")
                 }
             }),
        .choice("datapath.granularity", \.granularity, doc: "one scale per tensor, per head, or per embedding group (`peg`)"),
        .int("datapath.peg_groups", \.pegGroups, range: 1...1024, doc: "embedding groups for `peg`"),
        .double("datapath.range_percentile", \.rangePercentile, range: 50...100, doc: "100 = min-max; lower values clip outliers"),
        .choice("datapath.rounding", \.rounding, doc: "rounding to the fixed-point grid"),
        .int("datapath.acc_bits", \.accBits, range: 8...64, doc: "saturating accumulator width (events counted)"),
        .choice("softmax.arithmetic", \.softmaxArithmetic, doc: "float or a fixed-point exponent LUT"),
        .int("softmax.input_frac_bits", \.softmaxInputFracBits, range: 1...24, defaultText: "6", when: { $0.softmaxArithmetic == .fixed ? .read : .allowed },
             doc: "`fixed`: (s − max) quantized to 2^−n"),
        .int("softmax.output_frac_bits", \.softmaxOutputFracBits, range: 2...30, defaultText: "12", when: { $0.softmaxArithmetic == .fixed ? .read : .allowed },
             doc: "`fixed`: fractional bits of exponents and probabilities"),
        .bool("softmax.clipped", \.clipped, doc: "clipped softmax (Bondarenko et al. 2023)"),
        .double("softmax.zeta", \.clipZeta, range: 1...10, defaultText: "1", when: { $0.clipped ? .read : .allowed }, doc: "`clipped`: ζ"),
        .double("softmax.alpha", \.clipAlpha, range: 0...100, defaultText: "4", when: { $0.clipped ? .read : .allowed }, doc: "`clipped`: α (γ = −α/T)"),
        .choice("pruning.kind", \.pruningKind, doc: "no pruning, a probability threshold (Ji et al.), Top-θ, or exact top-k"),
        .double("pruning.threshold", \.probabilityThreshold, range: 0...1, required: true, when: { $0.pruningKind == .probability ? .read : .absent },
                doc: "`probability`: keep p > t after softmax"),
        .int("pruning.k", \.pruningK, range: 1...1_000_000, required: true,
             when: { $0.pruningKind == .topTheta || $0.pruningKind == .topK ? .read : .absent },
             doc: "`top_theta`, `top_k`: target kept scores per row"),
        .choice("pruning.placement", \.topTheta.placement, when: topTheta, doc: "`top_theta`: thresholds on scores or on probabilities"),
        .choice("pruning.denominator", \.topTheta.denominator, when: topTheta,
                doc: "`top_theta`: softmax denominator compensation (`count_bound`, `constant`: on scores only)"),
        .bool("pruning.v_mean", \.topTheta.vMean, when: topTheta, doc: "`top_theta`: V-mean compensation"),
        .int("pruning.dense_layers", \.topTheta.denseLayers, range: 0...4096, when: topTheta,
             doc: "`top_theta`: layers below this use `first_layers_k` when > 0"),
        .int("pruning.first_layers_k", \.topTheta.firstLayersK, range: 0...1_000_000, when: topTheta, doc: "`top_theta`: k of the dense layers"),
        .double("pruning.std_factor", \.topTheta.stdFactor, range: -10...10, when: topTheta,
                doc: "`top_theta`: θ = mean + std_factor · std over calibration rows"),
        ConfigKey(path: "pruning.layer_k", type: "mapping, layer (0…4,096) → integer, 1…1,000,000", defaultText: "—", omitWhenDefault: true,
                  doc: "`top_theta`: per-layer k, overriding `k` and `first_layers_k` for those layers",
                  read: { (s, a) throws(AttnError) in
                      guard a.pruningKind == .topTheta else { return }
                      let pr = try s.reader("pruning")
                      guard let lk = pr.node("layer_k"), !lk.isNull else { return }
                      let lr = try ConfigReader(lk, path: pr.keyPath("layer_k"))
                      for key in lr.keys {
                          guard let layer = Int(key), layer >= 0, layer <= 4096 else {
                              throw lr.error(key, "expected a layer index (0...4096) as the key, got '\(key)'")
                          }
                          a.topTheta.layerK[layer] = try lr.int(key, range: 1...1_000_000)
                      }
                  },
                  write: { a in
                      guard a.pruningKind == .topTheta, !a.topTheta.layerK.isEmpty else { return nil }
                      let l = a.topTheta.layerK
                      return .mapping(l.keys.sorted().map { (String($0), ConfigNode.int(l[$0]!)) })
                  }),
        .choice("pruning.length_buckets", \.lengthBuckets, omitWhenDefault: true, when: topTheta,
                doc: "`top_theta` threshold table: every row length, powers of two, or multiples of `bucket_rows` (docs/algorithms.md, \"Threshold table\")"),
        .int("pruning.bucket_rows", \.bucketRows, range: 1...1_000_000, defaultText: "64",
             when: { $0.pruningKind != .topTheta ? .absent : $0.lengthBuckets == .every ? .read : .allowed },
             doc: "`length_buckets: every`: rows per bucket"),
        .choice("pruning.interpolation", \.topTheta.interpolation,
                when: { $0.pruningKind != .topTheta ? .absent : $0.lengthBuckets != .none ? .read : .allowed },
                doc: "with buckets: the nearest stored length or linear between stored lengths"),
        .bool("pruning.calib_tac", \.topTheta.calibTAC, omitWhenDefault: true, when: topTheta,
              doc: "`top_theta`, `attnsim eval` only: calibrate with exact top-k attention in the model (deeper layers see sparsified inputs); an error with traces",
              check: { (a, s) throws(AttnError) in
                  let t = a.topTheta
                  if t.placement == .probabilities && (t.denominator == .countBound || t.denominator == .constant) {
                      throw try s.reader("pruning").error("denominator", "\(t.denominator.rawValue) compensation applies to thresholds on scores (placement: scores)")
                  }
              }),
        .choice("probabilities.quantization", \.probabilityCoding, doc: "none, Ji et al.'s log bins, power-of-two levels, or uniform steps"),
        .int("probabilities.bits", \.probabilityBits, range: 1...12, defaultText: "3",
             when: { $0.probabilityCoding == .log || $0.probabilityCoding == .logPow2 ? .read : $0.probabilityCoding == .none ? .allowed : .absent },
             doc: "`log`, `log_pow2`: code width"),
        .int("probabilities.bits", \.probabilityBits, range: 1...16, defaultText: "8",
             when: { $0.probabilityCoding == .uniform ? .read : .absent }, doc: "`uniform`: code width"),
        .double("probabilities.threshold", \.probabilityCodeThreshold, range: 1e-12...0.5, defaultText: "0.001",
                when: { $0.probabilityCoding == .log ? .read : .allowed }, doc: "`log`: t, below which p gets the zero code"),
    ]

    private static func topTheta(_ a: AttentionConfig) -> ConfigKeyUse { a.pruningKind == .topTheta ? .read : .absent }
}

/// A variant's name in the config: the name of a value, and the values a newly chosen variant
/// starts at (its keys then set the rest).
protocol VariantName: Equatable {
    associatedtype Value
    init(_ value: Value)
    var initial: Value { get }
}

extension VariantName {
    /// Selecting another variant starts it at its initial values; selecting the same one keeps them.
    static func select(_ name: Self, in value: inout Value) {
        if Self(value) != name { value = name.initial }
    }
}

/// The config's names for the variants of `AttentionConfig`'s arithmetic, and accessors that read and
/// write a variant's values (what `AttentionConfig.keys` binds the keys to).
extension AttentionConfig {
    enum SoftmaxArithmeticName: String, Sendable, CaseIterable, VariantName {
        case float, fixed
        init(_ v: SoftmaxArithmetic) { if case .fixed = v { self = .fixed } else { self = .float } }
        var initial: SoftmaxArithmetic { self == .float ? .float : .fixed(inputFracBits: 6, outputFracBits: 12) }
    }
    enum PruningName: String, Sendable, CaseIterable, VariantName {
        case none, probability, topTheta = "top_theta", topK = "top_k"
        init(_ v: Pruning) {
            switch v {
            case .none: self = .none
            case .probability: self = .probability
            case .topTheta: self = .topTheta
            case .topK: self = .topK
            }
        }
        var initial: Pruning {
            switch self {
            case .none: return .none
            case .probability: return .probability(threshold: 0)
            case .topTheta: return .topTheta(TopTheta(k: 1))
            case .topK: return .topK(1)
            }
        }
    }
    enum BucketsName: String, Sendable, CaseIterable, VariantName {
        case none, pow2, every
        init(_ v: ThresholdBuckets) {
            switch v {
            case .none: self = .none
            case .powersOfTwo: self = .pow2
            case .every: self = .every
            }
        }
        var initial: ThresholdBuckets {
            switch self {
            case .none: return .none
            case .pow2: return .powersOfTwo
            case .every: return .every(64)
            }
        }
    }
    enum ProbabilityCodingName: String, Sendable, CaseIterable, VariantName {
        case none, log, logPow2 = "log_pow2", uniform
        init(_ v: ProbabilityQuantization) {
            switch v {
            case .none: self = .none
            case .log: self = .log
            case .logPowerOfTwo: self = .logPow2
            case .uniform: self = .uniform
            }
        }
        var initial: ProbabilityQuantization {
            switch self {
            case .none: return .none
            case .log: return .log(bits: 3, threshold: 1e-3)
            case .logPow2: return .logPowerOfTwo(bits: 3)
            case .uniform: return .uniform(bits: 8)
            }
        }
    }

    var rangePercentile: Double {
        get { if case .percentile(let p) = rangeCalibration { return p } else { return 100 } }
        set { rangeCalibration = newValue >= 100 ? .minMax : .percentile(newValue) }
    }

    var softmaxArithmetic: SoftmaxArithmeticName {
        get { SoftmaxArithmeticName(softmax) }
        set { SoftmaxArithmeticName.select(newValue, in: &softmax) }
    }
    var softmaxInputFracBits: Int {
        get { if case .fixed(let i, _) = softmax { return i } else { return 6 } }
        set { if case .fixed(_, let o) = softmax { softmax = .fixed(inputFracBits: newValue, outputFracBits: o) } }
    }
    var softmaxOutputFracBits: Int {
        get { if case .fixed(_, let o) = softmax { return o } else { return 12 } }
        set { if case .fixed(let i, _) = softmax { softmax = .fixed(inputFracBits: i, outputFracBits: newValue) } }
    }
    var clipped: Bool {
        get { clippedSoftmax != nil }
        set { clippedSoftmax = newValue ? (clippedSoftmax ?? (zeta: 1.0, alpha: 4.0)) : nil }
    }
    var clipZeta: Double {
        get { clippedSoftmax?.zeta ?? 1.0 }
        set { clippedSoftmax?.zeta = newValue }
    }
    var clipAlpha: Double {
        get { clippedSoftmax?.alpha ?? 4.0 }
        set { clippedSoftmax?.alpha = newValue }
    }

    var pruningKind: PruningName {
        get { PruningName(pruning) }
        set { PruningName.select(newValue, in: &pruning) }
    }
    var probabilityThreshold: Double {
        get { if case .probability(let t) = pruning { return t } else { return 0 } }
        set { if case .probability = pruning { pruning = .probability(threshold: newValue) } }
    }
    var pruningK: Int {
        get {
            switch pruning {
            case .topTheta(let t): return t.k
            case .topK(let k): return k
            default: return 1
            }
        }
        set {
            switch pruning {
            case .topTheta(var t): t.k = newValue; pruning = .topTheta(t)
            case .topK: pruning = .topK(newValue)
            default: break
            }
        }
    }
    /// The Top-θ settings (their defaults when pruning is not Top-θ; setting them selects Top-θ).
    var topTheta: TopTheta {
        get { if case .topTheta(let t) = pruning { return t } else { return TopTheta(k: 1) } }
        set { pruning = .topTheta(newValue) }
    }
    var lengthBuckets: BucketsName {
        get { BucketsName(topTheta.buckets) }
        set { BucketsName.select(newValue, in: &topTheta.buckets) }
    }
    var bucketRows: Int {
        get { if case .every(let n) = topTheta.buckets { return n } else { return 64 } }
        set { if case .every = topTheta.buckets { topTheta.buckets = .every(newValue) } }
    }

    var probabilityCoding: ProbabilityCodingName {
        get { ProbabilityCodingName(probabilityQuantization) }
        set { ProbabilityCodingName.select(newValue, in: &probabilityQuantization) }
    }
    var probabilityBits: Int {
        get {
            switch probabilityQuantization {
            case .none: return 0
            case .log(let b, _), .logPowerOfTwo(let b), .uniform(let b): return b
            }
        }
        set {
            switch probabilityQuantization {
            case .none: break
            case .log(_, let t): probabilityQuantization = .log(bits: newValue, threshold: t)
            case .logPowerOfTwo: probabilityQuantization = .logPowerOfTwo(bits: newValue)
            case .uniform: probabilityQuantization = .uniform(bits: newValue)
            }
        }
    }
    var probabilityCodeThreshold: Double {
        get { if case .log(_, let t) = probabilityQuantization { return t } else { return 1e-3 } }
        set { if case .log(let b, _) = probabilityQuantization { probabilityQuantization = .log(bits: b, threshold: newValue) } }
    }
}
