/// The log-scale quantizer: maps each kept probability to a b-bit code — Ji et al.'s levels need
/// 2^b − 1 comparisons against the bin edges (a parallel comparator bank, one element per lane per
/// cycle); the power-of-two variant is a leading-one detector. Uniform quantization is one
/// multiply and a round.
///
/// cycles = ⌈kept / lanes⌉. With log codes, P·V in the PEs is a shift-and-add for the power-of-two
/// variant (EnergyTable.shiftAdd) and a narrow b-bit × v-bit multiply for Ji's midpoint levels.
public struct LogQuantizerUnit: Sendable, Equatable {
    public var lanes: Int = 32
    public init(lanes: Int = 32) { self.lanes = lanes }

    public func cycles(elements: Int) -> Int { (elements + lanes - 1) / lanes }
}

extension LogQuantizerUnit {
    /// The quantizer on one key tile's kept probabilities (idle with fixed-point coding).
    public func cost(_ t: TileWork, workload wl: TimingWorkload, energy e: EnergyTable) -> UnitCost {
        switch wl.coding {
        case .fixed:
            return UnitCost()
        case .log(let b):
            return UnitCost(cycles: cycles(elements: t.kept), energyPJ: Double(t.kept) * Double((1 << b) - 1) * e.comparePJ(16))
        case .logPowerOfTwo:
            return UnitCost(cycles: cycles(elements: t.kept), energyPJ: Double(t.kept) * e.comparePJ(16))   // leading-one detector
        case .uniform:
            return UnitCost(cycles: cycles(elements: t.kept), energyPJ: Double(t.kept) * e.multiplyPJ(16, 16))
        }
    }
}
