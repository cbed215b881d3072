import Testing
@testable import Accelerator

/// The tiled (online-softmax) dataflow, buffer fitting and the SRAM port stage, on hand-made cases.
@Suite struct TiledDataflowTests {
    /// A 2×2 os array (query tiles of 2 rows, key tiles of 4 keys unless set), head_dim 8, 8-byte bursts.
    static func hardware(_ dataflow: AttentionDataflow, keyTile: Int = 4) -> HardwareConfig {
        var hw = HardwareConfig()
        hw.array = SystolicArray(rows: 2, cols: 2, dataflow: .os)
        hw.memory.burstBytes = 8
        hw.dataflow = dataflow
        if dataflow == .tiled { hw.keyTileRows = keyTile }
        return hw
    }

    static func cost(_ hw: HardwareConfig, _ act: HeadActivity, _ wl: TimingWorkload = TimingWorkload()) -> PhaseCost {
        AttentionPipeline(hardware: hw, workload: wl).cost(act)
    }

    /// Bidirectional prefill, 4 rows × 10 keys, one head.
    static let wide = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                                   firstRowPosition: 0, keyCounts: [10, 10, 10, 10])

    @Test func rescalesAreCountedPerKeyTileAfterTheFirst() {
        // Key tiles [0,4), [4,8), [8,10): every row rescales twice, 1 + d_v = 9 multiplies each.
        let c = Self.cost(Self.hardware(.tiled), Self.wide)
        #expect(c.rescaleOps == 4 * 2 * 9)
        // Softmax cycles (16 lanes) per 2-row query tile — key tile 1: max ⌈8/16⌉ + exp ⌈8/16⌉ = 2;
        // tile 2: max 1 + exp ⌈(8 + 2)/16⌉ + rescale ⌈18/16⌉ = 4; tile 3: max 1 + exp ⌈(4 + 2)/16⌉ +
        // final division ⌈2·8/16⌉ + rescale 2 = 5. Two query tiles: 22.
        #expect(c.cyclesSoftmax == 22)
        // The full-row unit: max 2 + exp 2 + normalize ⌈20/16⌉ = 6 per tile, no rescale.
        let full = Self.cost(Self.hardware(.fullRow), Self.wide)
        #expect(full.cyclesSoftmax == 12)
        #expect(full.rescaleOps == 0)
        // Causal prefill of 6 rows: only the last query tile (rows with 5 and 6 keys) reaches key tile 2.
        let causal = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                                  firstRowPosition: 0, keyCounts: [1, 2, 3, 4, 5, 6])
        #expect(Self.cost(Self.hardware(.tiled), causal).rescaleOps == 2 * 9)
        // A decode step of 3 heads over 9 keys: 3 key tiles, 2 rescales per head.
        let step = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 3, headDim: 8, phase: .decode,
                                firstRowPosition: 8, keyCounts: [9])
        #expect(Self.cost(Self.hardware(.tiled), step).rescaleOps == 3 * 2 * 9)
    }

    @Test func tiledAgreesWithFullRowOnWork() {
        // Two heads of a group, causal, 7 rows; head 0 keeps even keys, head 1 keys ≡ 0 mod 3.
        let rows = 7
        var kept: [UInt64] = []
        for h in 0..<2 {
            for r in 0..<rows {
                var w: UInt64 = 0
                for k in 0...r where (h == 0 ? k % 2 == 0 : k % 3 == 0) { w |= 1 << UInt64(k) }
                kept.append(w)
            }
        }
        for phase in [HeadActivity.Phase.prefill, .decode] {
            let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 2, headDim: 8, phase: phase,
                                   firstRowPosition: 0, keyCounts: (1...Int32(rows)).map { $0 }, kept: kept)
            var wl = TimingWorkload()
            wl.pruning = .threshold(.scores)
            let full = Self.cost(Self.hardware(.fullRow), act, wl)
            for keyTile in [1, 2, 3, 64] {
                let tiled = Self.cost(Self.hardware(.tiled, keyTile: keyTile), act, wl)
                #expect(tiled.macs == full.macs, "\(phase) key tile \(keyTile)")
                #expect(tiled.keptElements == full.keptElements)
                #expect(tiled.visibleElements == full.visibleElements)
                #expect(tiled.vRowsRequested == full.vRowsRequested)
                #expect(tiled.vRowsVisible == full.vRowsVisible)
                #expect(tiled.kDRAMBytes == full.kDRAMBytes)
            }
        }
    }

    @Test func aScoreTileThatDoesNotFitIsRetiled() {
        // Tiled: 2 query rows × 4 keys × 2 B = 16 B of scores; a 8-byte score buffer holds 2 keys.
        var hw = Self.hardware(.tiled)
        hw.memory.scoreBufferKiB = 8.0 / 1024
        let small = Self.cost(hw, Self.wide)
        #expect(small.keyTileRowsMin == 2)
        #expect(small.spillDRAMBytes == 0)
        let big = Self.cost(Self.hardware(.tiled), Self.wide)
        #expect(big.keyTileRowsMin == 4)
        #expect(small.macs == big.macs)
        #expect(small.rescaleOps == 4 * 4 * 9)   // 5 key tiles of 2: 4 rescales per row
        // Full row: 2 rows × 10 keys × 2 B = 40 B; a 20-byte buffer takes one row per tile.
        var fr = Self.hardware(.fullRow)
        fr.memory.scoreBufferKiB = 20.0 / 1024
        let one = Self.cost(fr, Self.wide)
        #expect(one.queryTileRowsMin == 1)
        #expect(one.tiles == 4)
        #expect(one.spillDRAMBytes == 0)
    }

    @Test func whatCannotBeRetiledSpillsToDRAM() {
        // A full-row decode step of 2 heads × 10 keys × 2 B = 40 B of scores in a 24-byte buffer: the
        // 16 overflowing bytes go out and come back (2 bursts of 8 each way).
        let step = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 2, headDim: 8, phase: .decode,
                                firstRowPosition: 9, keyCounts: [10])
        var hw = Self.hardware(.fullRow)
        let fits = Self.cost(hw, step)
        hw.memory.scoreBufferKiB = 24.0 / 1024
        let spills = Self.cost(hw, step)
        #expect(spills.spillDRAMBytes == 2 * 16)
        #expect(spills.dramReadBytes == fits.dramReadBytes + 16)
        #expect(spills.dramWriteBytes == fits.dramWriteBytes + 16)
        #expect(spills.energyDRAMPJ > fits.energyDRAMPJ)
        #expect(spills.cyclesDRAM > fits.cyclesDRAM)
        // Tiled: accumulators of 2 heads × 8 × 4 B = 64 B in a 48-byte output buffer: 16 B spill per
        // key tile (3 key tiles of 4), each way.
        var t = Self.hardware(.tiled)
        t.memory.outBufferKiB = 48.0 / 1024
        #expect(Self.cost(t, step).spillDRAMBytes == 3 * 2 * 16)
    }

    @Test func sramPortsCanBoundATile() {
        var hw = Self.hardware(.tiled)
        hw.memory.sramStage = true
        let fast = Self.cost(hw, Self.wide)
        #expect(fast.boundBy != "sram")
        hw.memory.sramBytesPerCycle = 0.25
        let slow = Self.cost(hw, Self.wide)
        #expect(slow.boundBy == "sram")
        #expect(slow.cyclesSRAM > fast.cyclesSRAM)
        #expect(slow.cycles > fast.cycles)
        #expect(slow.cycles >= slow.cyclesSRAM)
        // Without the stage the port time is not counted.
        hw.memory.sramStage = false
        #expect(Self.cost(hw, Self.wide).cyclesSRAM == 0)
    }

    @Test func keyTileMaskSelectsBitsOfAWord() {
        #expect(AttentionPipeline.mask(word: 0, from: 0, to: 64) == ~0)
        #expect(AttentionPipeline.mask(word: 0, from: 4, to: 8) == 0xF0)
        #expect(AttentionPipeline.mask(word: 1, from: 60, to: 70) == 0x3F)
        #expect(AttentionPipeline.mask(word: 2, from: 60, to: 70) == 0)
    }
}
