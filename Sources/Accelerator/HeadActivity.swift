/// The seam between the functional model (what is computed) and the timing model (what it costs).
///
/// The timing model never sees floats: all it learns from the data is, for one sequence, one layer,
/// one KV head (with the query heads that share it, GQA) and one phase, which scores survived pruning.
/// From that it derives per query tile the elements each unit touches and the V rows the sparse
/// fetcher must bring in (the union of kept key positions over the tile's rows and the group's heads).
public struct HeadActivity: Sendable, Equatable {
    public enum Phase: String, Sendable, CaseIterable, Codable {
        /// All prompt rows at once (Q is a [rows, headDim] matrix against K of the prompt).
        case prefill
        /// One query row per step against the KV cache so far.
        case decode
    }

    public var sequence: Int
    public var layer: Int
    public var kvHead: Int
    /// Query heads sharing this KV head (1 without GQA).
    public var queryHeads: Int
    public var headDim: Int
    public var phase: Phase
    /// Query rows in this phase.
    public var rows: Int
    /// Absolute position of row 0 (0 for prefill, the prompt length for decode).
    public var firstRowPosition: Int
    /// Keys visible to each row: row r attends to keys [0, keyCounts[r]). Causal: position + 1;
    /// bidirectional encoder: the sequence length.
    public var keyCounts: [Int32]
    /// 64-bit words per (head, row) bitset: (max keyCounts + 63) / 64.
    public var wordsPerRow: Int
    /// Kept-score bitsets, flat: bit `j` of row `r` of group head `h` is
    /// `kept[(h * rows + r) * wordsPerRow + j / 64] >> (j % 64) & 1`. Empty means dense: every visible
    /// key of every row is kept (no pruning).
    public var kept: [UInt64]

    public init(sequence: Int, layer: Int, kvHead: Int, queryHeads: Int, headDim: Int, phase: Phase,
                firstRowPosition: Int, keyCounts: [Int32], kept: [UInt64] = []) {
        self.sequence = sequence
        self.layer = layer
        self.kvHead = kvHead
        self.queryHeads = queryHeads
        self.headDim = headDim
        self.phase = phase
        self.rows = keyCounts.count
        self.firstRowPosition = firstRowPosition
        self.keyCounts = keyCounts
        self.wordsPerRow = ((keyCounts.max().map(Int.init) ?? 0) + 63) / 64
        self.kept = kept
        precondition(kept.isEmpty || kept.count == queryHeads * rows * wordsPerRow,
                     "HeadActivity.kept has \(kept.count) words, expected \(queryHeads * rows * wordsPerRow)")
    }

    /// True when nothing was pruned.
    @inlinable public var isDense: Bool { kept.isEmpty }

    /// Whether key `key` of row `row` of group head `head` was kept.
    @inlinable public func isKept(head: Int, row: Int, key: Int) -> Bool {
        guard key < Int(keyCounts[row]) else { return false }
        if kept.isEmpty { return true }
        return (kept[(head * rows + row) * wordsPerRow + key >> 6] >> UInt64(key & 63)) & 1 == 1
    }

    /// Number of kept scores in row `row` of group head `head`.
    @inlinable public func keptCount(head: Int, row: Int) -> Int {
        if kept.isEmpty { return Int(keyCounts[row]) }
        let base = (head * rows + row) * wordsPerRow
        var n = 0
        for w in 0..<wordsPerRow { n += kept[base + w].nonzeroBitCount }
        return n
    }
}
