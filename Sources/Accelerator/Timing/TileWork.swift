/// What the timing model needs to know of the arithmetic: element widths and which approximations
/// run (they decide which units work and on how many elements). Derived from `AttentionConfig`.
public struct TimingWorkload: Sendable, Equatable {
    /// Which pruning unit runs (the functional side's `AttentionConfig.Pruning`, reduced to what the
    /// hardware does; placement and compensation are the shared types of PruningKinds.swift).
    public enum Pruning: Sendable, Equatable {
        case none
        /// Threshold comparator (Top-θ, Ji et al.). On `.scores` only survivors reach the exponent;
        /// on `.probabilities` the denominator is needed first.
        case threshold(ThresholdPlacement)
        /// Top-k per row (baseline): a sorting network over the whole row.
        case topK
    }

    public enum ProbabilityCoding: Sendable, Equatable {
        /// Probabilities enter P·V as `probBits` fixed point (a MAC per element).
        case fixed
        /// Ji et al.'s b-bit log levels (not powers of two): a narrow multiply by the level value.
        case log(bits: Int)
        /// Power-of-two levels: P·V is shift-and-add.
        case logPowerOfTwo(bits: Int)
        /// b-bit uniform levels: a b-bit × v-bit MAC.
        case uniform(bits: Int)
    }

    public var pruning: Pruning = .none
    public var coding: ProbabilityCoding = .fixed
    public var denominatorCompensation: DenominatorCompensation = .none
    public var vMeanCompensation = false
    public var clippedSoftmax = false
    public var qBits = 8, kBits = 8, vBits = 8
    public var scoreBits = 16, probBits = 16, accBits = 32, outBits = 16

    public init() {}

    static func bytes(_ bits: Int) -> Int { (bits + 7) / 8 }
    var qBytes: Int { Self.bytes(qBits) }
    var kBytes: Int { Self.bytes(kBits) }
    var vBytes: Int { Self.bytes(vBits) }
    var scoreBytes: Int { Self.bytes(scoreBits) }
    var probBytes: Int { Self.bytes(probBits) }
    var accBytes: Int { Self.bytes(accBits) }
    var outBytes: Int { Self.bytes(outBits) }
}

/// One key tile's work, built by `AttentionPipeline` from a `HeadActivity` and handed to every unit
/// (each unit file has one function from it to that unit's cycles, energy and traffic).
///
/// A query tile is `rows` consecutive query rows (prefill) or one decode step, of the GQA group's
/// `queryHeads` heads; its keys 0..<`keys` are split into key tiles (`full_row`: one).
public struct TileWork: Sendable {
    public var phase: HeadActivity.Phase
    public var tiled: Bool
    public var queryHeads: Int, headDim: Int
    /// Query rows of the query tile, and its longest visible row.
    public var rows = 0, keys = 0
    /// This key tile's keys, and whether it is the query tile's first / last.
    public var keyRange = 0..<0
    public var isFirst = false, isLast = false
    /// Visible keys of each query row of the tile.
    public var rowLengths: ArraySlice<Int32> = []
    /// Scores in the key tile the causal mask lets through and those kept (× heads), and query
    /// rows with at least one visible key in it.
    public var visible = 0, kept = 0, activeRows = 0
    /// Per head: V rows its kept scores in the key tile reference; and the group's union.
    public var headUnions: [Int] = []
    public var groupUnion = 0
    /// The group's kept positions (64 keys per word; only the key tile's words are current).
    public var unionWords: [UInt64] = []

    public init(phase: HeadActivity.Phase, tiled: Bool, queryHeads: Int, headDim: Int) {
        self.phase = phase
        self.tiled = tiled
        self.queryHeads = queryHeads
        self.headDim = headDim
    }

    public var width: Int { keyRange.count }
    /// Q·Kᵀ passes per tile: one per head in prefill, the group batched in decode.
    public var passes: Int { phase == .decode ? 1 : queryHeads }
    /// Score and accumulator rows of one pass.
    public var passRows: Int { phase == .decode ? queryHeads * rows : rows }
    /// Words of `unionWords` covering the key tile.
    public var words: Range<Int> { (keyRange.lowerBound >> 6)..<((keyRange.upperBound + 63) >> 6) }
}

/// Cycles and energy of one unit on one key tile.
public struct UnitCost: Sendable, Equatable {
    public var cycles = 0
    public var energyPJ = 0.0
    public init(cycles: Int = 0, energyPJ: Double = 0) {
        self.cycles = cycles
        self.energyPJ = energyPJ
    }
}
