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

    /// Compare-exchange stages of the bitonic network for a row of n: log₂p·(log₂p + 1)/2, p = n
    /// rounded up to a power of two.
    public static func stages(rowLength n: Int) -> Int {
        guard n > 1 else { return 0 }
        var p = 1, log = 0
        while p < n { p <<= 1; log += 1 }
        return log * (log + 1) / 2
    }

    /// Score-buffer element reads (and as many writes) to sort one row of n: the whole padded row
    /// (p elements) is held in the score buffer until the network is done. When the network has at
    /// least p/2 compare-exchangers it holds the row in its registers (one read, one write: p each);
    /// otherwise every stage streams the row out of the buffer and back (stages · p each).
    public func bufferAccesses(rowLength n: Int) -> Int {
        guard n > 1 else { return n }
        var p = 1
        while p < n { p <<= 1 }
        return lanes >= p / 2 ? p : Self.stages(rowLength: n) * p
    }
}

extension ThresholdComparator {
    /// The comparator on one key tile (threshold pruning only): every visible score compared once.
    public func cost(_ t: TileWork, workload wl: TimingWorkload, energy e: EnergyTable) -> UnitCost {
        guard case .threshold = wl.pruning else { return UnitCost() }
        return UnitCost(cycles: cycles(elements: t.visible), energyPJ: Double(t.visible) * e.comparePJ(wl.scoreBits))
    }
}

extension TopKUnit {
    /// The top-k network on one key tile (top-k pruning only): each row of the query tile sorted
    /// whole, for every head (compare-exchange ≈ 1.5 comparisons), and the score-buffer element
    /// accesses that hold the rows meanwhile.
    public func cost(_ t: TileWork, workload wl: TimingWorkload, energy e: EnergyTable) -> (unit: UnitCost, bufferAccesses: Int) {
        guard wl.pruning == .topK else { return (UnitCost(), 0) }
        let g = t.queryHeads
        var cycles = 0, compareExchanges = 0, accesses = 0
        for keys in t.rowLengths {
            let n = Int(keys)
            cycles += self.cycles(rowLength: n) * g
            compareExchanges += Self.compareExchanges(rowLength: n) * g
            accesses += bufferAccesses(rowLength: n) * g
        }
        return (UnitCost(cycles: cycles, energyPJ: Double(compareExchanges) * 1.5 * e.comparePJ(wl.scoreBits)), accesses)
    }
}
