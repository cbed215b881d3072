/// The threshold comparator unit of Top-θ / Ji et al. pruning: compares each score (pre-softmax
/// fixed point, or a probability after softmax) with the threshold of its (layer, head, row
/// position), `lanes` comparisons per cycle, with strict `>`. No dependence on the rest of the row,
/// so it works tile by tile.
///
/// cycles = ⌈elements / lanes⌉; energy = elements · E_cmp(bits) + threshold reads (one per row).
public struct ThresholdComparator: Sendable, Equatable {
    public var lanes: Int = 32
    public init(lanes: Int = 32) { self.lanes = lanes }

    public func cycles(elements: Int) -> Int { (elements + lanes - 1) / lanes }
}

/// The top-k baseline: a bitonic sorting network over each row's n scores (compare-exchange
/// stages = log₂n·(log₂n + 1)/2, each n/2 compare-exchanges; n rounded up to a power of two), `lanes`
/// compare-exchanges per cycle. It needs the whole row before it can start, so the row's scores are
/// buffered (written and read once more) and the tile pipeline waits for the full row: with top-k,
/// the row cannot be tiled along keys.
public struct TopKUnit: Sendable, Equatable {
    public var lanes: Int = 32
    public init(lanes: Int = 32) { self.lanes = lanes }

    /// Compare-exchange operations to select top-k of a row of n (a full bitonic sort).
    public static func compareExchanges(rowLength n: Int) -> Int {
        guard n > 1 else { return 0 }
        var p = 1, log = 0
        while p < n { p <<= 1; log += 1 }
        return (p / 2) * (log * (log + 1) / 2)
    }

    public func cycles(rowLength n: Int) -> Int {
        (Self.compareExchanges(rowLength: n) + lanes - 1) / lanes
    }
}
