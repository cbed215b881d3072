/// A rough area estimate per unit (45 nm; see `EnergyTable` for the sources), in mm².
public struct AreaModel: Sendable {
    public var arrayMM2: Double
    public var comparatorMM2: Double
    public var softmaxMM2: Double
    public var quantizerMM2: Double
    public var sramMM2: Double

    public init(hardware hw: HardwareConfig, multiplierBits: Int = 8, accBits: Int = 32, scoreBits: Int = 16) {
        let um2 = 1e-6
        arrayMM2 = Double(hw.array.rows * hw.array.cols)
            * (EnergyTable.multiplierAreaUM2(multiplierBits, multiplierBits) + EnergyTable.adderAreaUM2(accBits)) * um2
        comparatorMM2 = Double(hw.comparator.lanes) * EnergyTable.adderAreaUM2(scoreBits) * um2
        softmaxMM2 = Double(hw.softmax.lanes) * (EnergyTable.multiplierAreaUM2(16, 16) + EnergyTable.adderAreaUM2(32)) * um2
            + EnergyTable.sramAreaUM2(kib: Double(hw.softmax.lutEntries * 2) / 1024) * um2
        quantizerMM2 = Double(hw.quantizer.lanes) * 7 * EnergyTable.adderAreaUM2(16) * um2
        let m = hw.memory
        sramMM2 = hw.energy.sramBuffersAreaMM2(kib: [m.qBufferKiB, m.kBufferKiB, m.scoreBufferKiB, m.outBufferKiB, hw.vFetcher.bufferKiB])
    }

    public var totalMM2: Double { arrayMM2 + comparatorMM2 + softmaxMM2 + quantizerMM2 + sramMM2 }
}
