/// What the timing model needs to know of the arithmetic: element widths and which approximations
/// run (they decide which units work and on how many elements). Derived from `AttentionConfig`.
public struct TimingWorkload: Sendable, Equatable {
    public enum Pruning: Sendable, Equatable {
        case none
        /// Threshold on pre-softmax scores (Top-θ): the comparator runs on scores, only survivors
        /// reach the exponent.
        case thresholdOnScores
        /// Threshold on probabilities (Ji et al., Top-θ post-softmax): needs the denominator first.
        case thresholdOnProbabilities
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

    public enum DenominatorCompensation: String, Sendable, CaseIterable {
        case none, exact, countBound = "count_bound", constant
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
}

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
/// every head of the group, batched as the GEMM's M dimension. Per tile:
/// - Q·Kᵀ: an (rows × headDim × keys) GEMM on the array, keys = the tile's last row's visible keys
///   (causal: masked scores inside the tile are computed and discarded);
/// - comparator (threshold pruning) on every visible score, or the top-k network per row;
/// - softmax (see `SoftmaxUnit` for which elements it touches);
/// - quantizer on kept probabilities (log or uniform coding);
/// - P·V: an (rows × keys' × headDim) GEMM where keys' is the number of V rows the head's kept
///   scores in this tile reference (rows nobody kept are skipped: the fetcher never brought them);
/// - DRAM: Q tile in, K rows not in the K buffer, V rows requested and not in the V buffer (whole
///   bursts), output tile out.
/// Stages of consecutive tiles overlap when double-buffered: cycles = Σ_tiles max_stage +
/// (Σ_stages first tile − max_stage first tile) + DRAM latency once; otherwise every stage of every
/// tile is serial and each tile pays the DRAM latency. The heads of one layer follow each other through
/// the pipeline (`PhaseCost.followed(by:)`); layers are separated (each pays its fill and latency),
/// since the next layer's Q, K, V depend on this layer's output.
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
        let g = act.queryHeads, d = act.headDim
        let qB = TimingWorkload.bytes(wl.qBits), kB = TimingWorkload.bytes(wl.kBits), vB = TimingWorkload.bytes(wl.vBits)
        let sB = TimingWorkload.bytes(wl.scoreBits), pB = TimingWorkload.bytes(wl.probBits), oB = TimingWorkload.bytes(wl.outBits)
        let e = hw.energy
        let mem = hw.memory
        let maxKeys = Int(act.keyCounts.max() ?? 0)
        let vRowBytes = d * vB, kRowBytes = d * kB
        let vCapacity = Int(hw.vFetcher.bufferKiB * 1024) / max(1, vRowBytes)
        let sparseFetch = hw.vFetcher.sparse && !act.isDense
        // Sparse fetches need a general LRU; dense fetches are prefix scans with closed-form misses.
        var vCache = RowCache(capacity: sparseFetch ? vCapacity : 0, universe: sparseFetch ? maxKeys : 0)
        var vDenseBuffer = PrefixScanBuffer(capacity: vCapacity)
        var kBuffer = PrefixScanBuffer(capacity: Int(mem.kBufferKiB * 1024) / max(1, kRowBytes))
        var c = PhaseCost()
        c.arrayPEs = hw.array.rows * hw.array.cols
        // Banked DRAM: each key tile's requests become addresses priced by bank, row and timing.
        var dramStream = hw.dram.model == .banked
            ? DRAMAddressStream(config: hw.dram, layer: act.layer, kvHead: act.kvHead, keys: maxKeys, headDim: d, groupHeads: g,
                                qBytes: qB, kBytes: kB, vBytes: vB, outBytes: oB, recorder: dramTrace)
            : nil

        let plan = OnChipPlan(hardware: hw, workload: wl, phase: act.phase, queryHeads: g, headDim: d, maxKeys: maxKeys)
        let tiled = hw.dataflow == .tiled
        let tileRows = plan.queryTileRows
        c.queryTileRowsMin = tileRows
        c.keyTileRowsMin = tiled ? plan.keyTileRows : maxKeys
        var first: [Int]? = nil
        var pipelined = 0
        var steady = 0
        var unionWords = [UInt64](repeating: 0, count: act.wordsPerRow)
        var headWords = [UInt64](repeating: 0, count: act.wordsPerRow)
        var rowsNeeded: [Int] = []
        rowsNeeded.reserveCapacity(maxKeys)
        var vMiss: [Int] = []
        let accB = TimingWorkload.bytes(wl.accBits)

        var r0 = 0
        while r0 < act.rows {
            let r1 = min(act.rows, r0 + tileRows)
            let m = r1 - r0
            var keys = 0
            for r in r0..<r1 { keys = max(keys, Int(act.keyCounts[r])) }
            c.tiles += 1
            let qkReps = act.phase == .decode ? 1 : g
            // Scores and accumulators of one pass (one head in prefill, the group in decode).
            let passRows = act.phase == .decode ? g * m : m
            let kt = tiled ? max(1, plan.keyTileRows) : max(1, keys)
            let keyTiles = max(1, (keys + kt - 1) / kt)
            // Rows of K and V a perfect memory brings (prefix scans: closed-form ranges).
            let vDenseMiss = vDenseBuffer.scan(keys)
            let kMiss = kBuffer.scan(keys)
            let qBytes = m * g * d * qB
            let outBytes = m * g * d * oB
            var requestedTotal = 0

            for kTile in 0..<keyTiles {
                let k0 = kTile * kt, k1 = min(keys, k0 + kt)
                let width = k1 - k0
                let isFirst = kTile == 0, isLast = kTile == keyTiles - 1
                // Q·Kᵀ: decode batches the group's heads as rows; prefill runs each head's tile.
                let qk = act.phase == .decode ? hw.array.gemm(m: g * m, k: d, n: width) : hw.array.gemm(m: m, k: d, n: width)
                let tQK = qk.cycles * qkReps

                // Visible and kept elements in keys k0..<k1, per-head and group unions of kept positions.
                var visible = 0, kept = 0, activeRows = 0
                for r in r0..<r1 {
                    let n = min(Int(act.keyCounts[r]), k1) - k0
                    if n > 0 { visible += n; activeRows += 1 }
                }
                visible *= g
                let w0 = k0 >> 6, w1 = (k1 + 63) >> 6
                var pvCycles = 0, pvMacs = 0, pvA = 0, pvB = 0, pvOut = 0
                for w in w0..<w1 { unionWords[w] = 0 }
                for h in 0..<g {
                    var headUnion = width
                    if !act.isDense {
                        for w in w0..<w1 { headWords[w] = 0 }
                        for r in r0..<r1 {
                            let base = (h * act.rows + r) * act.wordsPerRow
                            for w in w0..<w1 {
                                let bits = act.kept[base + w] & Self.mask(word: w, from: k0, to: k1)
                                headWords[w] |= bits
                                kept += bits.nonzeroBitCount
                            }
                        }
                        headUnion = 0
                        for w in w0..<w1 {
                            headUnion += headWords[w].nonzeroBitCount
                            unionWords[w] |= headWords[w]
                        }
                    } else {
                        for r in r0..<r1 { kept += max(0, min(Int(act.keyCounts[r]), k1) - k0) }
                    }
                    if act.phase == .prefill {
                        let pv = hw.array.gemm(m: m, k: headUnion, n: d)
                        pvCycles += pv.cycles; pvMacs += pv.macs; pvA += pv.aReads; pvB += pv.bReads; pvOut += pv.outWrites
                    }
                }
                var groupUnion = width
                if !act.isDense {
                    groupUnion = 0
                    for w in w0..<w1 { groupUnion += unionWords[w].nonzeroBitCount }
                }
                if act.phase == .decode {
                    let pv = hw.array.gemm(m: g * m, k: groupUnion, n: d)
                    pvCycles = pv.cycles; pvMacs = pv.macs; pvA = pv.aReads; pvB = pv.bReads; pvOut = pv.outWrites
                }

                // Comparator / top-k.
                var tThr = 0
                var thrEnergy = 0.0
                // Top-k holds each whole (padded) row in the score buffer while its network sorts it.
                var topKBufferAccesses = 0
                switch wl.pruning {
                case .none: break
                case .thresholdOnScores, .thresholdOnProbabilities:
                    tThr = hw.comparator.cycles(elements: visible)
                    thrEnergy = Double(visible) * e.comparePJ(wl.scoreBits)
                case .topK:
                    var ce = 0
                    for r in r0..<r1 {
                        let n = Int(act.keyCounts[r])
                        tThr += hw.topK.cycles(rowLength: n) * g
                        ce += TopKUnit.compareExchanges(rowLength: n) * g
                        topKBufferAccesses += hw.topK.bufferAccesses(rowLength: n) * g
                    }
                    thrEnergy = Double(ce) * 1.5 * e.comparePJ(wl.scoreBits)
                }

                // Softmax work.
                var sw = SoftmaxUnit.Work()
                sw.maxOps = visible
                switch wl.pruning {
                case .thresholdOnScores:
                    sw.expOps = wl.denominatorCompensation == .exact ? visible : kept
                case .thresholdOnProbabilities:
                    sw.expOps = visible
                    sw.secondPassOps = visible
                case .none, .topK:
                    sw.expOps = visible
                }
                let rowsInTile = m * g
                if tiled {
                    // Online softmax: from the second key tile on, a row whose running max may have
                    // moved rescales its denominator and its d_v accumulators by e^(m_old − m_new).
                    if !isFirst { sw.rescaleOps = SoftmaxUnit.rescaleMultiplies(rows: activeRows * g, valueDim: d); sw.expOps += activeRows * g }
                    // One division of each output element by the final denominator, at the end.
                    if isLast { sw.normOps = rowsInTile * d }
                } else {
                    sw.normOps = kept + (wl.clippedSoftmax ? kept : 0)
                }
                if isLast {
                    if wl.denominatorCompensation == .countBound || wl.denominatorCompensation == .constant { sw.extraMultiplies = rowsInTile }
                    if wl.vMeanCompensation { sw.extraMultiplies += rowsInTile * d }   // (1 − Σp)·mean(V) per output element
                }
                let tSmx = hw.softmax.cycles(sw) + (sw.extraMultiplies + hw.softmax.lanes - 1) / hw.softmax.lanes
                let expPJ = hw.softmax.exp == .lut ? e.lutReadPJ : e.lutReadPJ + e.multiplyPJ(16, 16)
                let smxEnergy = Double(sw.maxOps) * e.comparePJ(wl.scoreBits) + Double(sw.expOps + sw.secondPassOps) * expPJ
                    + Double(sw.normOps + sw.extraMultiplies) * e.multiplyPJ(16, 16)
                    + Double(sw.rescaleOps) * e.multiplyPJ(wl.accBits, 16)
                c.rescaleOps += sw.rescaleOps

                // Quantizer.
                var tQuant = 0
                var quantEnergy = 0.0
                let pvMacPJ: Double
                switch wl.coding {
                case .fixed:
                    pvMacPJ = e.macPJ(wl.probBits, wl.vBits, accBits: wl.accBits)
                case .log(let b):
                    tQuant = hw.quantizer.cycles(elements: kept)
                    quantEnergy = Double(kept) * Double((1 << b) - 1) * e.comparePJ(16)
                    pvMacPJ = e.macPJ(8, wl.vBits, accBits: wl.accBits)   // levels held as 8-bit fixed point
                case .logPowerOfTwo:
                    tQuant = hw.quantizer.cycles(elements: kept)
                    quantEnergy = Double(kept) * e.comparePJ(16)          // leading-one detector
                    pvMacPJ = e.shiftAddPJ(accBits: wl.accBits)
                case .uniform(let b):
                    tQuant = hw.quantizer.cycles(elements: kept)
                    quantEnergy = Double(kept) * e.multiplyPJ(16, 16)
                    pvMacPJ = e.macPJ(b, wl.vBits, accBits: wl.accBits)
                }

                // Memory: V rows (sparse or dense), K rows of this key tile; Q in with the first key
                // tile, output and index out with the last.
                let keyRange = k0..<k1
                let vDenseTile = vDenseMiss.clamped(to: keyRange)
                let vDenseBursts = PrefixScanBuffer.bursts(vDenseTile, rowBytes: vRowBytes, burst: mem.burstBytes)
                var vMissCount: Int, vBursts: Int, requested: Int
                if sparseFetch {
                    rowsNeeded.removeAll(keepingCapacity: true)
                    for w in w0..<w1 {
                        var bits = unionWords[w]
                        while bits != 0 {
                            rowsNeeded.append(w * 64 + bits.trailingZeroBitCount)
                            bits &= bits - 1
                        }
                    }
                    vMiss.removeAll(keepingCapacity: true)
                    for row in rowsNeeded where !vCache.access(row) { vMiss.append(row) }
                    vMissCount = vMiss.count
                    vBursts = SparseVFetcher.bursts(rows: vMiss, rowBytes: vRowBytes, burst: mem.burstBytes)
                    requested = rowsNeeded.count
                } else {
                    vMissCount = vDenseTile.count
                    vBursts = vDenseBursts
                    requested = width
                }
                requestedTotal += requested
                let kTile = kMiss.clamped(to: keyRange)
                let kBursts = PrefixScanBuffer.bursts(kTile, rowBytes: kRowBytes, burst: mem.burstBytes)
                let tileQBytes = isFirst ? qBytes : 0
                let tileOutBytes = isLast ? outBytes : 0
                let idx = isLast && hw.vFetcher.sparse && wl.pruning != .none ? hw.vFetcher.indexBytes(keys: keys, needed: requestedTotal) : 0
                // Overflow of the score buffer and of the accumulators that retiling could not remove:
                // written to DRAM and read back once per key tile (see `OnChipPlan`).
                let spill = plan.spillBytes(passRows: passRows, keyTileWidth: width, passes: qkReps, accumulatorBytes: accB)
                let qBursts = mem.bursts(bytes: tileQBytes), oBursts = mem.bursts(bytes: tileOutBytes), iBursts = mem.bursts(bytes: idx)
                let sBursts = mem.bursts(bytes: spill)
                let readBytes = (vBursts + kBursts + qBursts + sBursts) * mem.burstBytes
                let writeBytes = (oBursts + iBursts + sBursts) * mem.burstBytes
                var tV = mem.dramCycles(bursts: vBursts)
                var tDRAM = mem.dramCycles(bursts: vBursts + kBursts + qBursts + oBursts + iBursts + 2 * sBursts)
                var dramPJ = Double(readBytes + writeBytes) * e.dramPJPerByte
                if dramStream != nil {
                    // The key tile's traffic as the dataflow generates it: K rows re-streamed on every
                    // pass the K buffer cannot hold, V rows missed, spill out and back.
                    let position = act.firstRowPosition + r0
                    let (st, vRequests) = sparseFetch
                        ? dramStream!.tile(position: position, qBytes: tileQBytes, kRows: kTile, kRowBytes: kRowBytes,
                                           vRows: vMiss, vRowBytes: vRowBytes, outBytes: tileOutBytes, indexBytes: idx, spillBytes: spill)
                        : dramStream!.tile(position: position, qBytes: tileQBytes, kRows: kTile, kRowBytes: kRowBytes,
                                           vRows: vDenseTile, vRowBytes: vRowBytes, outBytes: tileOutBytes, indexBytes: idx, spillBytes: spill)
                    tDRAM = Int((st.cycles * hw.dram.spec.tCKns * hw.clockGHz).rounded(.up))
                    tV = st.requests == 0 ? 0 : tDRAM * vRequests / st.requests
                    dramPJ = st.energyPJ
                    c.dram += st
                }

                c.dramReadBytes += readBytes
                c.dramWriteBytes += writeBytes
                c.dramCompulsoryBytes += vMissCount * vRowBytes + kTile.count * kRowBytes + tileQBytes + tileOutBytes + idx
                c.vDRAMBytes += vBursts * mem.burstBytes
                c.kDRAMBytes += kBursts * mem.burstBytes
                c.spillDRAMBytes += 2 * sBursts * mem.burstBytes
                c.vDenseDRAMBytes += vDenseBursts * mem.burstBytes
                c.indexBytes += idx
                c.vRowsVisible += width
                c.vRowsRequested += requested

                // SRAM traffic: array operand reads and result writes, unit reads, DRAM fills.
                let qkReads = (qk.aReads * qB + qk.bReads * kB) * qkReps
                let qkWrites = qk.outWrites * sB * qkReps
                let unitReads = visible * sB + (sw.secondPassOps * sB) + kept * pB + topKBufferAccesses * sB
                let unitWrites = kept * pB + topKBufferAccesses * sB
                let pvReads = pvA * pB + pvB * vB
                let pvWrites = pvOut * oB
                let fills = readBytes
                let drains = tileOutBytes
                c.sramReadBytes += qkReads + unitReads + pvReads + drains
                c.sramWriteBytes += qkWrites + unitWrites + pvWrites + fills
                let qBufferBytes = qk.aReads * qB * qkReps
                let kBufferBytes = qk.bReads * kB * qkReps + kTile.count * kRowBytes
                let scoreBufferBytes = qkWrites + unitReads + unitWrites + pvA * pB
                let vBufferBytes = pvB * vB + vMissCount * vRowBytes
                let outBufferBytes = pvWrites + drains + tileQBytes
                let sramPJ = Double(qBufferBytes) * e.sramPJPerByte(kib: mem.qBufferKiB)
                    + Double(kBufferBytes) * e.sramPJPerByte(kib: max(mem.kBufferKiB, 1))
                    + Double(scoreBufferBytes) * e.sramPJPerByte(kib: mem.scoreBufferKiB)
                    + Double(vBufferBytes) * e.sramPJPerByte(kib: max(hw.vFetcher.bufferKiB, 1))
                    + Double(outBufferBytes) * e.sramPJPerByte(kib: mem.outBufferKiB)
                // SRAM ports: each buffer moves its reads and writes through one port.
                let tSRAM = mem.sramStage
                    ? mem.sramCycles(bytes: max(qBufferBytes + tileQBytes, kBufferBytes, scoreBufferBytes, vBufferBytes,
                                                pvWrites + drains + 2 * spill))
                    : 0

                c.energyQKPJ += Double(qk.macs * qkReps) * e.macPJ(wl.qBits, wl.kBits, accBits: wl.accBits)
                c.energyThresholdPJ += thrEnergy
                c.energySoftmaxPJ += smxEnergy
                c.energyQuantizePJ += quantEnergy
                c.energyPVPJ += Double(pvMacs) * pvMacPJ
                c.energySRAMPJ += sramPJ
                c.energyDRAMPJ += dramPJ
                c.macs += qk.macs * qkReps + pvMacs
                c.arrayCycles += tQK + pvCycles
                c.visibleElements += visible
                c.keptElements += kept

                let stages = [tQK, tThr, tSmx, tQuant, pvCycles, tDRAM, tSRAM]
                c.cyclesQK += tQK; c.cyclesThreshold += tThr; c.cyclesSoftmax += tSmx
                c.cyclesQuantize += tQuant; c.cyclesPV += pvCycles; c.cyclesDRAM += tDRAM; c.cyclesVFetch += tV
                c.cyclesSRAM += tSRAM
                if mem.doubleBuffered {
                    pipelined += stages.max()!
                    steady += stages.max()!
                    if first == nil { first = stages }
                } else {
                    pipelined += stages.reduce(0, +) + mem.dramLatencyCycles
                    steady += stages.reduce(0, +) + mem.dramLatencyCycles
                }
            }
            c.kvCacheBytes = max(c.kvCacheBytes, keys * (kRowBytes + vRowBytes))
            r0 = r1
        }
        if mem.doubleBuffered, let first {
            pipelined += first.reduce(0, +) - first.max()! + mem.dramLatencyCycles
        }
        c.cycles = pipelined
        c.steadyCycles = steady
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

    /// Bits of word `w` (keys 64w..<64w + 64) that lie in keys k0..<k1.
    @inline(__always) static func mask(word w: Int, from k0: Int, to k1: Int) -> UInt64 {
        let lo = max(0, k0 - w * 64), hi = min(64, k1 - w * 64)
        if hi <= lo { return 0 }
        let upper: UInt64 = hi == 64 ? ~0 : (1 << UInt64(hi)) - 1
        return upper & ~((1 << UInt64(lo)) - 1)
    }
}

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
