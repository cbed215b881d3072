/// The softmax unit: running max over the row, exponent by LUT (or 2^x by shift-and-add with a
/// small fraction table), running denominator, then one normalization (multiply by 1/Σ) per kept
/// element; `lanes` elements per cycle in each pass.
///
/// Work per row of n visible scores with `kept` survivors:
/// - max pass: n comparisons (fused with the threshold comparator's read of the scores);
/// - exp: `kept` when the threshold is applied before softmax (dropped scores never reach the
///   exponent), n otherwise (no pruning, post-softmax thresholds, top-k); plus the dropped ones again
///   when the exact denominator compensation needs them;
/// - post-softmax thresholds (Ji et al.) compare p = e/Σ against t, so the denominator must be
///   complete first: a second pass over n exponentials (read back from the score buffer);
/// - normalization: `kept` multiplies; clipped softmax adds one clamp per kept element;
/// - count-based or constant denominator compensation: a few operations per row (negligible,
///   counted as one multiply-add).
///
/// Online softmax (tiled dataflow, key tiles of one row processed in order): from the second key tile
/// on, each row with visible keys in the tile computes e^(m_old − m_new) (one more exponential) and
/// rescales its running denominator and its d_v output accumulators: 1 + d_v multiplies per row and
/// key tile after the first (`rescaleMultiplies`), counted whether or not the max moved (the unit
/// cannot know in advance). The normalization is then one multiply by 1/Σ per output element at the
/// end instead of one per kept probability.
///
/// cycles = ⌈max_ops / lanes⌉ + ⌈exp_ops / lanes⌉ + ⌈norm_ops / lanes⌉ (+ second pass) (+ ⌈rescale / lanes⌉).
public struct SoftmaxUnit: Sendable, Equatable {
    public enum Exp: String, Sendable, CaseIterable {
        /// Table lookup of e^x over the fixed-point range.
        case lut
        /// 2^(x·log₂e) by shifting, with a fraction table: one extra multiply per element.
        case shift
    }

    public var lanes: Int = 16
    public var exp: Exp = .lut
    public var lutEntries: Int = 256

    public init(lanes: Int = 16, exp: Exp = .lut, lutEntries: Int = 256) {
        self.lanes = lanes
        self.exp = exp
        self.lutEntries = lutEntries
    }

    /// Operation counts of one row.
    public struct Work: Sendable, Equatable {
        public var maxOps = 0
        public var expOps = 0
        public var normOps = 0
        public var secondPassOps = 0
        public var extraMultiplies = 0
        /// Online-softmax rescale multiplies (tiled dataflow): see `rescaleMultiplies`.
        public var rescaleOps = 0

        public static func + (a: Work, b: Work) -> Work {
            Work(maxOps: a.maxOps + b.maxOps, expOps: a.expOps + b.expOps, normOps: a.normOps + b.normOps,
                 secondPassOps: a.secondPassOps + b.secondPassOps, extraMultiplies: a.extraMultiplies + b.extraMultiplies,
                 rescaleOps: a.rescaleOps + b.rescaleOps)
        }
    }

    public func cycles(_ w: Work) -> Int {
        func c(_ n: Int) -> Int { (n + lanes - 1) / lanes }
        return c(w.maxOps) + c(w.expOps) + c(w.normOps) + c(w.secondPassOps) + c(w.rescaleOps)
    }

    /// Multiplies that rescale `rows` rows after their running max moved: the denominator and the
    /// `valueDim` output accumulators of each row, by e^(m_old − m_new).
    public static func rescaleMultiplies(rows: Int, valueDim: Int) -> Int { rows * (1 + valueDim) }
}

extension SoftmaxUnit {
    /// The softmax unit on one key tile: its operation counts (also read by the SRAM accounting),
    /// cycles and energy.
    public func cost(_ t: TileWork, workload wl: TimingWorkload, energy e: EnergyTable) -> (work: Work, unit: UnitCost) {
        var sw = Work()
        sw.maxOps = t.visible
        switch wl.pruning {
        case .threshold(.scores):
            sw.expOps = wl.denominatorCompensation == .exact ? t.visible : t.kept
        case .threshold(.probabilities):
            sw.expOps = t.visible
            sw.secondPassOps = t.visible
        case .none, .topK:
            sw.expOps = t.visible
        }
        let rowsInTile = t.rows * t.queryHeads
        if t.tiled {
            // Online softmax: from the second key tile on, a row whose running max may have moved
            // rescales its denominator and its d_v accumulators by e^(m_old − m_new).
            if !t.isFirst {
                sw.rescaleOps = Self.rescaleMultiplies(rows: t.activeRows * t.queryHeads, valueDim: t.headDim)
                sw.expOps += t.activeRows * t.queryHeads
            }
            // One division of each output element by the final denominator, at the end.
            if t.isLast { sw.normOps = rowsInTile * t.headDim }
        } else {
            sw.normOps = t.kept + (wl.clippedSoftmax ? t.kept : 0)
        }
        if t.isLast {
            if wl.denominatorCompensation == .countBound || wl.denominatorCompensation == .constant { sw.extraMultiplies = rowsInTile }
            if wl.vMeanCompensation { sw.extraMultiplies += rowsInTile * t.headDim }   // (1 − Σp)·mean(V) per output element
        }
        let n = cycles(sw) + (sw.extraMultiplies + lanes - 1) / lanes
        let expPJ = exp == .lut ? e.lutReadPJ : e.lutReadPJ + e.multiplyPJ(16, 16)
        let energy = Double(sw.maxOps) * e.comparePJ(wl.scoreBits) + Double(sw.expOps + sw.secondPassOps) * expPJ
            + Double(sw.normOps + sw.extraMultiplies) * e.multiplyPJ(16, 16)
            + Double(sw.rescaleOps) * e.multiplyPJ(wl.accBits, 16)
        return (sw, UnitCost(cycles: n, energyPJ: energy))
    }
}
