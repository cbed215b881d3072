/// Cost of replaying some attention work (one head group and phase, or any sum of them).
public struct PhaseCost: Sendable, Equatable {
    public var cycles = 0
    /// The part of `cycles` a preceding stream in the same pipeline hides nothing of: Σ over tiles of
    /// the slowest stage when double-buffered (the rest is the first tile's fill and the DRAM latency),
    /// all of `cycles` otherwise. See `followed(by:)`.
    public var steadyCycles = 0
    public var cyclesQK = 0, cyclesThreshold = 0, cyclesSoftmax = 0, cyclesQuantize = 0, cyclesPV = 0
    /// DRAM transfer cycles of all traffic, and of V rows alone.
    public var cyclesDRAM = 0, cyclesVFetch = 0
    public var macs = 0
    public var arrayCycles = 0
    public var arrayPEs = 1
    public var dramReadBytes = 0, dramWriteBytes = 0
    /// Unique bytes a perfect memory would move (each needed element once, no burst rounding).
    public var dramCompulsoryBytes = 0
    public var sramReadBytes = 0, sramWriteBytes = 0
    public var energyQKPJ = 0.0, energyThresholdPJ = 0.0, energySoftmaxPJ = 0.0, energyQuantizePJ = 0.0
    public var energyPVPJ = 0.0, energySRAMPJ = 0.0, energyDRAMPJ = 0.0, energyStaticPJ = 0.0
    /// Scores the causal mask lets through, and those kept by pruning.
    public var visibleElements = 0, keptElements = 0
    /// Σ over tiles of V rows visible to the tile, and of rows the fetcher requested (the union of
    /// kept positions; all visible rows when fetching densely).
    public var vRowsVisible = 0, vRowsRequested = 0
    /// V bytes moved from DRAM, and what a dense fetcher with the same buffer would have moved.
    public var vDRAMBytes = 0, vDenseDRAMBytes = 0
    public var indexBytes = 0
    public var tiles = 0
    /// SRAM port cycles (the busiest buffer's port, per tile), K bytes moved from DRAM, and spill
    /// traffic (score or accumulator overflow written to DRAM and read back).
    public var cyclesSRAM = 0
    public var kDRAMBytes = 0, spillDRAMBytes = 0
    /// K and V bytes of the caches replayed (per head group: its longest key range), to tell how many
    /// times they streamed from DRAM.
    public var kvCacheBytes = 0
    /// Online-softmax rescale multiplies (tiled dataflow).
    public var rescaleOps = 0
    /// The smallest query tile (rows) and key tile (keys) used after fitting the buffers (0: none yet).
    public var queryTileRowsMin = 0, keyTileRowsMin = 0
    /// Banked DRAM model only: row-buffer hits, activates, DRAM cycles (zero with the simple model).
    public var dram = DRAMStats()

    public init() {}

    public var energyPJ: Double {
        energyQKPJ + energyThresholdPJ + energySoftmaxPJ + energyQuantizePJ + energyPVPJ + energySRAMPJ + energyDRAMPJ + energyStaticPJ
    }
    public var keptFraction: Double { visibleElements == 0 ? 1 : Double(keptElements) / Double(visibleElements) }
    public var vRowsFetchedFraction: Double { vRowsVisible == 0 ? 1 : Double(vRowsRequested) / Double(vRowsVisible) }
    /// K and V bytes moved from DRAM per byte of the caches: 1 when they stay on chip once fetched,
    /// about the number of passes (query tiles, decode steps) when they stream every time.
    public var kvDRAMPasses: Double { kvCacheBytes == 0 ? 0 : Double(kDRAMBytes + vDRAMBytes) / Double(kvCacheBytes) }
    public var arrayUtilization: Double { arrayCycles == 0 ? 0 : Double(macs) / Double(arrayPEs * arrayCycles) }

    /// The stage whose summed cycles are largest: what bounds this work when stages overlap.
    public var boundBy: String {
        // Ties go to the earlier stage.
        let stages: [(String, Int)] = [("qk", cyclesQK), ("threshold", cyclesThreshold), ("softmax", cyclesSoftmax),
                                       ("quantize", cyclesQuantize), ("pv", cyclesPV), ("dram", cyclesDRAM),
                                       ("sram", cyclesSRAM)]
        return stages.max { $0.1 < $1.1 }!.0
    }

    public static func + (a: PhaseCost, b: PhaseCost) -> PhaseCost {
        var c = a
        c += b
        return c
    }

    /// Two streams of tiles through the same pipeline back to back (the heads of one layer): the
    /// second one's fill and DRAM latency overlap the first one's tiles, so it adds only its steady
    /// cycles. Every other counter adds up.
    public func followed(by b: PhaseCost) -> PhaseCost {
        var c = self + b
        c.cycles = cycles + b.steadyCycles
        return c
    }

    public static func += (a: inout PhaseCost, b: PhaseCost) {
        a.cycles += b.cycles
        a.steadyCycles += b.steadyCycles
        a.cyclesQK += b.cyclesQK; a.cyclesThreshold += b.cyclesThreshold; a.cyclesSoftmax += b.cyclesSoftmax
        a.cyclesQuantize += b.cyclesQuantize; a.cyclesPV += b.cyclesPV; a.cyclesDRAM += b.cyclesDRAM; a.cyclesVFetch += b.cyclesVFetch
        a.macs += b.macs; a.arrayCycles += b.arrayCycles; a.arrayPEs = max(a.arrayPEs, b.arrayPEs)
        a.dramReadBytes += b.dramReadBytes; a.dramWriteBytes += b.dramWriteBytes; a.dramCompulsoryBytes += b.dramCompulsoryBytes
        a.sramReadBytes += b.sramReadBytes; a.sramWriteBytes += b.sramWriteBytes
        a.energyQKPJ += b.energyQKPJ; a.energyThresholdPJ += b.energyThresholdPJ; a.energySoftmaxPJ += b.energySoftmaxPJ
        a.energyQuantizePJ += b.energyQuantizePJ; a.energyPVPJ += b.energyPVPJ; a.energySRAMPJ += b.energySRAMPJ
        a.energyDRAMPJ += b.energyDRAMPJ; a.energyStaticPJ += b.energyStaticPJ
        a.visibleElements += b.visibleElements; a.keptElements += b.keptElements
        a.vRowsVisible += b.vRowsVisible; a.vRowsRequested += b.vRowsRequested
        a.vDRAMBytes += b.vDRAMBytes; a.vDenseDRAMBytes += b.vDenseDRAMBytes; a.indexBytes += b.indexBytes
        a.tiles += b.tiles
        a.cyclesSRAM += b.cyclesSRAM
        a.kDRAMBytes += b.kDRAMBytes; a.spillDRAMBytes += b.spillDRAMBytes; a.kvCacheBytes += b.kvCacheBytes
        a.rescaleOps += b.rescaleOps
        func smallest(_ x: Int, _ y: Int) -> Int { x == 0 ? y : (y == 0 ? x : min(x, y)) }
        a.queryTileRowsMin = smallest(a.queryTileRowsMin, b.queryTileRowsMin)
        a.keyTileRowsMin = smallest(a.keyTileRowsMin, b.keyTileRowsMin)
        a.dram += b.dram
    }
}

/// Composes the units into the attention datapath and costs one head group's phase, tile by tile.
///
/// Tiles: in prefill, `queryTileRows` consecutive query rows of one query head (the group's heads
/// one after another, sharing the fetched K and V tiles); in decode, one step = one query row of
/// every head of the group, batched as the GEMM's M dimension. Each query tile's keys are split into
/// key tiles (`full_row`: one). The pipeline builds each key tile's work (`TileWork`) and hands it
/// to every unit, each of which prices its own part:
/// - Q·Kᵀ and P·V on the array (`SystolicArray.attentionTile`): an (rows × headDim × keys) GEMM,
///   keys = the tile's last row's visible keys (causal: masked scores inside the tile are computed
///   and discarded), then an (rows × keys' × headDim) GEMM where keys' is the number of V rows the
///   head's kept scores in this tile reference (rows nobody kept are skipped: the fetcher never
///   brought them);
/// - comparator (`ThresholdComparator.cost`) on every visible score, or the top-k network per row
///   (`TopKUnit.cost`);
/// - softmax (`SoftmaxUnit.cost`; see `SoftmaxUnit` for which elements it touches);
/// - quantizer on kept probabilities, log or uniform coding (`LogQuantizerUnit.cost`);
/// - V fetcher (`VFetchStream.fetch`) and DRAM (`DRAMTileStream.keyTile`): Q tile in, K rows not in
///   the K buffer, V rows requested and not in the V buffer (whole bursts), output tile out;
/// - SRAM buffers (`MemorySystem.sramTile`).
/// The stages then overlap by `StageOverlap`: when double-buffered, cycles = Σ_tiles max_stage +
/// (Σ_stages first tile − max_stage first tile) + DRAM latency once; otherwise every stage of every
/// tile is serial and each tile pays the DRAM latency. The heads of one layer follow each other
/// through the pipeline (`PhaseCost.followed(by:)`, applied by `CostStream`); layers are separated
/// (each pays its fill and latency), since the next layer's Q, K, V depend on this layer's output.
public struct AttentionPipeline: Sendable {
    public var hardware: HardwareConfig
    public var workload: TimingWorkload
    /// Receives every DRAM request's address (banked DRAM model only): `attnsim run --dram-trace`.
    public var dramTrace: DRAMTraceRecorder?

    public init(hardware: HardwareConfig, workload: TimingWorkload, dramTrace: DRAMTraceRecorder? = nil) {
        self.hardware = hardware
        self.workload = workload
        self.dramTrace = dramTrace
    }

    public func cost(_ act: HeadActivity) -> PhaseCost {
        let hw = hardware, wl = workload
        let maxKeys = Int(act.keyCounts.max() ?? 0)
        let plan = OnChipPlan(hardware: hw, workload: wl, phase: act.phase, queryHeads: act.queryHeads, headDim: act.headDim, maxKeys: maxKeys)
        var t = TileWork(phase: act.phase, tiled: hw.dataflow == .tiled, queryHeads: act.queryHeads, headDim: act.headDim)
        t.unionWords = [UInt64](repeating: 0, count: act.wordsPerRow)
        var headWords = t.unionWords
        var vFetch = VFetchStream(fetcher: hw.vFetcher, sparse: hw.vFetcher.sparse && !act.isDense, rowBytes: act.headDim * wl.vBytes,
                                  burstBytes: hw.memory.burstBytes, maxKeys: maxKeys, pruning: wl.pruning != .none)
        var dram = DRAMTileStream(hardware: hw, workload: wl, activity: act, maxKeys: maxKeys, recorder: dramTrace)
        var overlap = StageOverlap(memory: hw.memory)
        var c = PhaseCost()
        c.arrayPEs = hw.array.rows * hw.array.cols
        c.queryTileRowsMin = plan.queryTileRows
        c.keyTileRowsMin = t.tiled ? plan.keyTileRows : maxKeys
        var r0 = 0
        while r0 < act.rows {
            let r1 = min(act.rows, r0 + plan.queryTileRows)
            t.rows = r1 - r0
            t.rowLengths = act.keyCounts[r0..<r1]
            t.keys = Int(t.rowLengths.max() ?? 0)
            c.tiles += 1
            let kt = t.tiled ? max(1, plan.keyTileRows) : max(1, t.keys)
            let keyTiles = max(1, (t.keys + kt - 1) / kt)
            vFetch.startQueryTile(keys: t.keys)
            dram.startQueryTile(keys: t.keys)
            for kTile in 0..<keyTiles {
                t.keyRange = kTile * kt..<min(t.keys, kTile * kt + kt)
                t.isFirst = kTile == 0
                t.isLast = kTile == keyTiles - 1
                Self.countKept(act, rows: r0..<r1, into: &t, headWords: &headWords)
                let v = vFetch.fetch(t)
                let spill = plan.spillBytes(passRows: t.passRows, keyTileWidth: t.width, passes: t.passes, accumulatorBytes: wl.accBytes)
                let traffic = dram.keyTile(t, position: act.firstRowPosition + r0, v: v, vRows: vFetch, spill: spill, workload: wl)
                overlap.add(addUnits(t, v: v, dram: traffic, to: &c))
            }
            c.kvCacheBytes = max(c.kvCacheBytes, t.keys * act.headDim * (wl.kBytes + wl.vBytes))
            r0 = r1
        }
        c.cycles = overlap.cycles
        c.steadyCycles = overlap.steady
        if hw.dram.model == .banked {
            // Background and refresh energy of every rank over the phase.
            c.energyDRAMPJ += c.dram.backgroundPJ(hw.dram.spec, cycles: Double(c.cycles) / hw.clockGHz / hw.dram.spec.tCKns)
        }
        if hw.energy.leakageMWPerMM2 > 0 {
            // mW × ns = pJ.
            c.energyStaticPJ = hw.energy.leakageMWPerMM2 * AreaModel(hardware: hw).totalMM2 * Double(c.cycles) / hw.clockGHz
        }
        return c
    }

    /// Prices one key tile on every unit, adds their counters to `c`, and returns the stage cycles
    /// (Q·Kᵀ, comparator/top-k, softmax, quantizer, P·V, DRAM, SRAM ports).
    private func addUnits(_ t: TileWork, v: VFetchStream.Fetch, dram d: DRAMTileStream.Traffic, to c: inout PhaseCost) -> [Int] {
        let hw = hardware, wl = workload, e = hw.energy
        let array = hw.array.attentionTile(t, workload: wl, energy: e)
        let comparator = hw.comparator.cost(t, workload: wl, energy: e)
        let (topK, topKAccesses) = hw.topK.cost(t, workload: wl, energy: e)
        let (sw, softmax) = hw.softmax.cost(t, workload: wl, energy: e)
        let quantizer = hw.quantizer.cost(t, workload: wl, energy: e)
        let sram = hw.memory.sramTile(t, array: array, softmax: sw, topKAccesses: topKAccesses, v: v, dram: d,
                                      workload: wl, energy: e, vBufferKiB: hw.vFetcher.bufferKiB)
        let tThr = comparator.cycles + topK.cycles
        c.rescaleOps += sw.rescaleOps
        c.dram += d.stats
        c.dramReadBytes += d.readBytes; c.dramWriteBytes += d.writeBytes; c.dramCompulsoryBytes += d.compulsoryBytes
        c.vDRAMBytes += d.vBytes; c.kDRAMBytes += d.kBytes; c.spillDRAMBytes += d.spillTrafficBytes; c.vDenseDRAMBytes += d.vDenseBytes
        c.indexBytes += v.indexBytes; c.vRowsVisible += t.width; c.vRowsRequested += v.requested
        c.sramReadBytes += sram.readBytes; c.sramWriteBytes += sram.writeBytes
        c.energyQKPJ += array.qkEnergyPJ; c.energyThresholdPJ += comparator.energyPJ + topK.energyPJ
        c.energySoftmaxPJ += softmax.energyPJ; c.energyQuantizePJ += quantizer.energyPJ; c.energyPVPJ += array.pvEnergyPJ
        c.energySRAMPJ += sram.energyPJ; c.energyDRAMPJ += d.energyPJ
        c.macs += array.qkMacs + array.pvMacs; c.arrayCycles += array.qkCycles + array.pvCycles
        c.visibleElements += t.visible; c.keptElements += t.kept
        c.cyclesQK += array.qkCycles; c.cyclesThreshold += tThr; c.cyclesSoftmax += softmax.cycles
        c.cyclesQuantize += quantizer.cycles; c.cyclesPV += array.pvCycles; c.cyclesDRAM += d.cycles; c.cyclesVFetch += d.vCycles
        c.cyclesSRAM += sram.cycles
        return [array.qkCycles, tThr, softmax.cycles, quantizer.cycles, array.pvCycles, d.cycles, sram.cycles]
    }

    /// Fills the key tile's visible and kept counts, each head's and the group's union of kept
    /// positions (`t.unionWords` over the tile's words; `headWords` is scratch).
    static func countKept(_ act: HeadActivity, rows: Range<Int>, into t: inout TileWork, headWords: inout [UInt64]) {
        let k0 = t.keyRange.lowerBound, k1 = t.keyRange.upperBound, g = act.queryHeads
        var visible = 0, kept = 0, activeRows = 0
        for r in rows {
            let n = min(Int(act.keyCounts[r]), k1) - k0
            if n > 0 { visible += n; activeRows += 1 }
        }
        t.visible = visible * g
        t.activeRows = activeRows
        let words = t.words
        for w in words { t.unionWords[w] = 0 }
        t.headUnions.removeAll(keepingCapacity: true)
        for h in 0..<g {
            var headUnion = t.width
            if !act.isDense {
                for w in words { headWords[w] = 0 }
                for r in rows {
                    let base = (h * act.rows + r) * act.wordsPerRow
                    for w in words {
                        let bits = act.kept[base + w] & mask(word: w, from: k0, to: k1)
                        headWords[w] |= bits
                        kept += bits.nonzeroBitCount
                    }
                }
                headUnion = 0
                for w in words {
                    headUnion += headWords[w].nonzeroBitCount
                    t.unionWords[w] |= headWords[w]
                }
            } else {
                for r in rows { kept += max(0, min(Int(act.keyCounts[r]), k1) - k0) }
            }
            t.headUnions.append(headUnion)
        }
        t.kept = kept
        t.groupUnion = t.width
        if !act.isDense {
            t.groupUnion = 0
            for w in words { t.groupUnion += t.unionWords[w].nonzeroBitCount }
        }
    }

    /// Bits of word `w` (keys 64w..<64w + 64) that lie in keys k0..<k1.
    @inline(__always) static func mask(word w: Int, from k0: Int, to k1: Int) -> UInt64 {
        let lo = max(0, k0 - w * 64), hi = min(64, k1 - w * 64)
        if hi <= lo { return 0 }
        let upper: UInt64 = hi == 64 ? ~0 : (1 << UInt64(hi)) - 1
        return upper & ~((1 << UInt64(lo)) - 1)
    }
}

/// How the stages of consecutive tiles overlap. Double-buffered: tile i+1's loads and stages run
/// under tile i's, so a phase costs Σ_tiles max_stage plus the first tile's other stages (its fill)
/// and the DRAM latency once; otherwise each tile's stages and the latency add up.
struct StageOverlap {
    let doubleBuffered: Bool, latency: Int
    var first: [Int]? = nil
    /// The part of the cycles a preceding stream hides nothing of (see `PhaseCost.steadyCycles`):
    /// Σ over tiles of the slowest stage, or of every stage and the latency without double buffering.
    private(set) var steady = 0

    init(memory: MemorySystem) {
        doubleBuffered = memory.doubleBuffered
        latency = memory.dramLatencyCycles
    }

    mutating func add(_ stages: [Int]) {
        steady += doubleBuffered ? stages.max()! : stages.reduce(0, +) + latency
        if doubleBuffered && first == nil { first = stages }
    }

    /// The phase's cycles: the steady part plus, double-buffered, the first tile's fill and the
    /// DRAM latency once.
    var cycles: Int {
        guard doubleBuffered, let first else { return steady }
        return steady + first.reduce(0, +) - first.max()! + latency
    }
}
