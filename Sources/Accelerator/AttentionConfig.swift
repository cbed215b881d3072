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

extension AttentionConfig {
    /// Decodes the `attention:` section.
    public init(from r: ConfigReader) throws(AttnError) {
        self.init()
        let dp = try r.child("datapath")
        qBits = try dp.int("q_bits", default: qBits, range: 0...16)
        kBits = try dp.int("k_bits", default: kBits, range: 0...16)
        vBits = try dp.int("v_bits", default: vBits, range: 0...16)
        for (key, bits) in [("q_bits", qBits), ("k_bits", kBits), ("v_bits", vBits)] where bits == 1 {
            throw dp.error(key, "1-bit signed quantization has no magnitude levels; use 2...16 bits or 0 for float")
        }
        granularity = try dp.choice("granularity", default: granularity)
        pegGroups = try dp.int("peg_groups", default: pegGroups, range: 1...1024)
        let pct = try dp.double("range_percentile", default: 100, range: 50...100)
        rangeCalibration = pct >= 100 ? .minMax : .percentile(pct)
        rounding = try dp.choice("rounding", default: rounding)
        accBits = try dp.int("acc_bits", default: accBits, range: 8...64)

        let sm = try r.child("softmax")
        let arithmetic = try sm.string("arithmetic", default: "float")
        switch arithmetic {
        case "float": softmax = .float
        case "fixed":
            softmax = .fixed(inputFracBits: try sm.int("input_frac_bits", default: 6, range: 1...24),
                             outputFracBits: try sm.int("output_frac_bits", default: 12, range: 2...30))
        default:
            throw sm.error("arithmetic", "expected one of float, fixed, got '\(arithmetic)'")
        }
        if arithmetic == "float" { sm.allow("input_frac_bits", "output_frac_bits") }
        if try sm.bool("clipped", default: false) {
            clippedSoftmax = (try sm.double("zeta", default: 1.0, range: 1...10), try sm.double("alpha", default: 4.0, range: 0...100))
        } else {
            sm.allow("zeta", "alpha")
        }

        let pr = try r.child("pruning")
        let kind = try pr.string("kind", default: "none")
        switch kind {
        case "none":
            pruning = .none
        case "probability":
            pruning = .probability(threshold: try pr.double("threshold", range: 0...1))
        case "top_theta":
            var t = TopTheta(k: try pr.int("k", range: 1...1_000_000))
            t.placement = try pr.choice("placement", default: t.placement)
            t.denominator = try pr.choice("denominator", default: t.denominator)
            t.vMean = try pr.bool("v_mean", default: t.vMean)
            t.denseLayers = try pr.int("dense_layers", default: t.denseLayers, range: 0...4096)
            t.firstLayersK = try pr.int("first_layers_k", default: t.firstLayersK, range: 0...1_000_000)
            t.stdFactor = try pr.double("std_factor", default: t.stdFactor, range: -10...10)
            if let lk = pr.node("layer_k"), !lk.isNull {
                let lr = try ConfigReader(lk, path: pr.keyPath("layer_k"))
                for key in lr.keys {
                    guard let layer = Int(key), layer >= 0, layer <= 4096 else {
                        throw lr.error(key, "expected a layer index (0...4096) as the key, got '\(key)'")
                    }
                    t.layerK[layer] = try lr.int(key, range: 1...1_000_000)
                }
            }
            let buckets = try pr.string("length_buckets", default: "none")
            switch buckets {
            case "none": t.buckets = .none; pr.allow("bucket_rows", "interpolation")
            case "pow2": t.buckets = .powersOfTwo; pr.allow("bucket_rows")
            case "every": t.buckets = .every(try pr.int("bucket_rows", default: 64, range: 1...1_000_000))
            default: throw pr.error("length_buckets", "expected one of none, pow2, every, got '\(buckets)'")
            }
            if t.buckets != .none { t.interpolation = try pr.choice("interpolation", default: t.interpolation) }
            t.calibTAC = try pr.bool("calib_tac", default: false)
            if t.placement == .probabilities && (t.denominator == .countBound || t.denominator == .constant) {
                throw pr.error("denominator", "\(t.denominator.rawValue) compensation applies to thresholds on scores (placement: scores)")
            }
            pruning = .topTheta(t)
        case "top_k":
            pruning = .topK(try pr.int("k", range: 1...1_000_000))
        default:
            throw pr.error("kind", "expected one of none, probability, top_theta, top_k, got '\(kind)'")
        }

        let pq = try r.child("probabilities")
        let q = try pq.string("quantization", default: "none")
        switch q {
        case "none": probabilityQuantization = .none; pq.allow("bits", "threshold")
        case "log":
            probabilityQuantization = .log(bits: try pq.int("bits", default: 3, range: 1...12),
                                           threshold: try pq.double("threshold", default: 1e-3, range: 1e-12...0.5))
        case "log_pow2":
            probabilityQuantization = .logPowerOfTwo(bits: try pq.int("bits", default: 3, range: 1...12))
            pq.allow("threshold")
        case "uniform":
            probabilityQuantization = .uniform(bits: try pq.int("bits", default: 8, range: 1...16))
            pq.allow("threshold")
        default:
            throw pq.error("quantization", "expected one of none, log, log_pow2, uniform, got '\(q)'")
        }
        try r.finish()
    }

    /// The normalized `attention:` section (every value, defaults filled).
    public var configNode: ConfigNode {
        var dp: [(String, ConfigNode)] = [("q_bits", .int(qBits)), ("k_bits", .int(kBits)), ("v_bits", .int(vBits)),
                                          ("granularity", .string(granularity.rawValue)), ("peg_groups", .int(pegGroups))]
        switch rangeCalibration {
        case .minMax: dp.append(("range_percentile", .double(100)))
        case .percentile(let p): dp.append(("range_percentile", .double(p)))
        }
        dp += [("rounding", .string(rounding.rawValue)), ("acc_bits", .int(accBits))]
        var sm: [(String, ConfigNode)]
        switch softmax {
        case .float: sm = [("arithmetic", .string("float"))]
        case .fixed(let i, let o): sm = [("arithmetic", .string("fixed")), ("input_frac_bits", .int(i)), ("output_frac_bits", .int(o))]
        }
        if let c = clippedSoftmax { sm += [("clipped", .bool(true)), ("zeta", .double(c.zeta)), ("alpha", .double(c.alpha))] }
        else { sm.append(("clipped", .bool(false))) }
        var pr: [(String, ConfigNode)]
        switch pruning {
        case .none: pr = [("kind", .string("none"))]
        case .probability(let t): pr = [("kind", .string("probability")), ("threshold", .double(t))]
        case .topTheta(let t):
            pr = [("kind", .string("top_theta")), ("k", .int(t.k)), ("placement", .string(t.placement.rawValue)),
                  ("denominator", .string(t.denominator.rawValue)), ("v_mean", .bool(t.vMean)),
                  ("dense_layers", .int(t.denseLayers)), ("first_layers_k", .int(t.firstLayersK)), ("std_factor", .double(t.stdFactor))]
            // Keys added later appear only when set, so existing config_ids stay.
            if !t.layerK.isEmpty {
                pr.append(("layer_k", .mapping(t.layerK.keys.sorted().map { (String($0), ConfigNode.int(t.layerK[$0]!)) })))
            }
            if t.calibTAC { pr.append(("calib_tac", .bool(true))) }
            switch t.buckets {
            case .none: break
            case .powersOfTwo: pr += [("length_buckets", .string("pow2")), ("interpolation", .string(t.interpolation.rawValue))]
            case .every(let n): pr += [("length_buckets", .string("every")), ("bucket_rows", .int(n)), ("interpolation", .string(t.interpolation.rawValue))]
            }
        case .topK(let k): pr = [("kind", .string("top_k")), ("k", .int(k))]
        }
        let pq: [(String, ConfigNode)]
        switch probabilityQuantization {
        case .none: pq = [("quantization", .string("none"))]
        case .log(let b, let t): pq = [("quantization", .string("log")), ("bits", .int(b)), ("threshold", .double(t))]
        case .logPowerOfTwo(let b): pq = [("quantization", .string("log_pow2")), ("bits", .int(b))]
        case .uniform(let b): pq = [("quantization", .string("uniform")), ("bits", .int(b))]
        }
        return .mapping([("datapath", .mapping(dp)), ("softmax", .mapping(sm)), ("pruning", .mapping(pr)), ("probabilities", .mapping(pq))])
    }
}
