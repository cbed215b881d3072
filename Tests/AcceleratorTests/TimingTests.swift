import Testing
@testable import Accelerator

@Suite struct TimingUnitTests {
    @Test func comparatorAndQuantizerAreLaneBound() {
        #expect(ThresholdComparator(lanes: 8).cycles(elements: 17) == 3)
        #expect(LogQuantizerUnit(lanes: 4).cycles(elements: 8) == 2)
    }

    @Test func topKIsABitonicNetwork() {
        // n = 8: 3 stages of merge → 1 + 2 + 3 = 6 compare-exchange stages of 4 each.
        #expect(TopKUnit.compareExchanges(rowLength: 8) == 24)
        // n = 5 pads to 8.
        #expect(TopKUnit.compareExchanges(rowLength: 5) == 24)
        #expect(TopKUnit.compareExchanges(rowLength: 1) == 0)
        // Grows faster than linearly with the row: n log² n.
        #expect(TopKUnit.compareExchanges(rowLength: 1024) == 512 * 55)
        #expect(TopKUnit(lanes: 16).cycles(rowLength: 8) == 2)
    }

    @Test func softmaxPasses() {
        let unit = SoftmaxUnit(lanes: 4)
        var w = SoftmaxUnit.Work()
        w.maxOps = 10; w.expOps = 3; w.normOps = 3
        #expect(unit.cycles(w) == 3 + 1 + 1)
    }

    @Test func burstsCountDistinctBurstsTouched() {
        // 8-byte rows, 16-byte bursts: rows 1 and 3 are in bursts 0 and 1, row 7 in burst 3.
        #expect(SparseVFetcher.bursts(rows: [1, 3, 7], rowBytes: 8, burst: 16) == 3)
        // Rows 0 and 1 share burst 0.
        #expect(SparseVFetcher.bursts(rows: [0, 1], rowBytes: 8, burst: 16) == 1)
        // 24-byte rows straddle bursts: row 1 is bytes 24..<48 → bursts 1 and 2.
        #expect(SparseVFetcher.bursts(rows: [1], rowBytes: 24, burst: 16) == 2)
        #expect(SparseVFetcher.bursts(rows: [0, 1], rowBytes: 24, burst: 16) == 3)
        #expect(SparseVFetcher.bursts(rows: [], rowBytes: 24, burst: 16) == 0)
    }

    @Test func rowCacheIsLRU() {
        var c = RowCache(capacity: 2, universe: 10)
        var hits: [Bool] = []
        for row in [1, 2, 1, 3] { hits.append(c.access(row)) }
        // 1, 2 miss; 1 hits (2 becomes least recent); 3 misses and evicts 2.
        #expect(hits == [false, false, true, false])
        #expect(c.contains(1) && c.contains(3) && !c.contains(2))
        var none = RowCache(capacity: 0, universe: 4)
        let first = none.access(0), second = none.access(0)
        #expect(!first && !second)
    }

    @Test func indexMetadata() {
        #expect(SparseVFetcher(index: .bitmask).indexBytes(keys: 100, needed: 7) == 13)
        #expect(SparseVFetcher(index: .list).indexBytes(keys: 100, needed: 7) == 14)
    }
}

@Suite struct AttentionPipelineTests {
    /// A 2×2 array, bidirectional prefill of 4 rows × 4 keys, head_dim 8, one head; 8-bit Q/K/V,
    /// 16-bit outputs, 8-byte bursts. Traffic computed by hand from the tensor sizes.
    static func hardware(buffersKiB: Double) -> HardwareConfig {
        var hw = HardwareConfig()
        hw.array = SystolicArray(rows: 2, cols: 2, dataflow: .os)
        hw.memory.burstBytes = 8
        hw.memory.kBufferKiB = buffersKiB
        hw.vFetcher.bufferKiB = buffersKiB
        return hw
    }

    static let dense = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                                    firstRowPosition: 0, keyCounts: [4, 4, 4, 4])

    @Test func denseTrafficMatchesHandComputedBytes() {
        let wl = TimingWorkload()
        let withBuffers = AttentionPipeline(hardware: Self.hardware(buffersKiB: 1), workload: wl).cost(Self.dense)
        // Q: 4 rows × 8 × 1 B = 32; K: 4 rows × 8 B once (second tile hits the K buffer) = 32; V likewise 32.
        #expect(withBuffers.dramReadBytes == 32 + 32 + 32)
        // Output: 4 rows × 8 × 2 B = 64.
        #expect(withBuffers.dramWriteBytes == 64)
        #expect(withBuffers.dramCompulsoryBytes == 96 + 64)
        #expect(withBuffers.tiles == 2)
        #expect(withBuffers.keptFraction == 1)
        #expect(withBuffers.vRowsFetchedFraction == 1)
        // MACs: Q·Kᵀ 4×8×4 and P·V 4×4×8.
        #expect(withBuffers.macs == 128 + 128)

        let noBuffers = AttentionPipeline(hardware: Self.hardware(buffersKiB: 0), workload: wl).cost(Self.dense)
        // Without K/V buffers each of the 2 tiles fetches all 4 K and V rows again.
        #expect(noBuffers.dramReadBytes == 32 + 64 + 64)
        #expect(noBuffers.dramCompulsoryBytes == 32 + 64 + 64 + 64)
    }

    @Test func denseCyclesAreTheArraysAndOverlap() {
        var hw = Self.hardware(buffersKiB: 1)
        hw.memory.dramBytesPerCycle = 1_000_000   // make DRAM free
        hw.memory.dramLatencyCycles = 0
        let c = AttentionPipeline(hardware: hw, workload: TimingWorkload()).cost(Self.dense)
        // Per tile: Q·Kᵀ 2×8×4 on 2×2 os: 1·2 folds × (8+2+2−2) = 20; P·V 2×4×8: 4 folds × (4+2) = 24;
        // softmax: 8 visible / 16 lanes: max 1 + exp 1 + norm 1 = 3.
        #expect(c.cyclesQK == 40)
        #expect(c.cyclesPV == 48)
        #expect(c.cyclesSoftmax == 6)
        // Double-buffered: Σ max stage (24 + 24) + first tile's other stages (20 + 3 + 1 DRAM cycle).
        #expect(c.cycles == 48 + 20 + 3 + 1)
        #expect(c.boundBy == "pv")
    }

    /// Decode step with 2 query heads sharing a KV head: head 0 keeps keys {1, 3}, head 1 keeps
    /// {3, 7}: the fetcher brings the union {1, 3, 7} of 10 visible rows.
    @Test func headsOfALayerStreamBackToBack() {
        var hw = Self.hardware(buffersKiB: 1)
        hw.memory.dramLatencyCycles = 50
        let c = AttentionPipeline(hardware: hw, workload: TimingWorkload()).cost(Self.dense)
        // Two tiles: steady = Σ max stage; the rest of `cycles` is the first tile's fill + latency.
        #expect(c.steadyCycles < c.cycles)
        let two = c.followed(by: c)
        #expect(two.cycles == c.cycles + c.steadyCycles)
        #expect(two.macs == 2 * c.macs)
        #expect(two.dramReadBytes == 2 * c.dramReadBytes)
        hw.memory.doubleBuffered = false
        let serial = AttentionPipeline(hardware: hw, workload: TimingWorkload()).cost(Self.dense)
        #expect(serial.steadyCycles == serial.cycles)
        #expect(serial.cycles == serial.cyclesQK + serial.cyclesThreshold + serial.cyclesSoftmax + serial.cyclesQuantize
                + serial.cyclesPV + serial.cyclesDRAM + 2 * 50)
    }

    @Test func sparseFetcherFetchesTheGroupUnion() {
        let kept: [UInt64] = [(1 << 1) | (1 << 3), (1 << 3) | (1 << 7)]
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 2, headDim: 8, phase: .decode,
                               firstRowPosition: 9, keyCounts: [10], kept: kept)
        var hw = Self.hardware(buffersKiB: 0)
        hw.memory.burstBytes = 16
        var wl = TimingWorkload()
        wl.pruning = .threshold(.scores)
        let c = AttentionPipeline(hardware: hw, workload: wl).cost(act)
        #expect(c.vRowsRequested == 3)
        #expect(c.vRowsVisible == 10)
        #expect(abs(c.vRowsFetchedFraction - 0.3) < 1e-12)
        // 8-byte V rows in 16-byte bursts: rows 1, 3, 7 touch bursts 0, 1, 3 → 48 bytes; dense: 80.
        #expect(c.vDRAMBytes == 48)
        #expect(c.vDenseDRAMBytes == 80)
        #expect(c.keptElements == 4)
        #expect(c.visibleElements == 20)
        // Bitmask index for 10 keys: 2 bytes.
        #expect(c.indexBytes == 2)
        // P·V reduces over the 3 union rows only: (2 heads × 3 keys × 8) MACs.
        #expect(c.macs == 2 * 8 * 10 + 2 * 3 * 8)
    }

    @Test func vBufferHitsAreNotRefetchedAcrossDecodeSteps() {
        // Two decode steps that keep the same row: the second step hits the V buffer.
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .decode,
                               firstRowPosition: 4, keyCounts: [5, 6], kept: [1 << 2, 1 << 2])
        var wl = TimingWorkload()
        wl.pruning = .threshold(.scores)
        let c = AttentionPipeline(hardware: Self.hardware(buffersKiB: 1), workload: wl).cost(act)
        #expect(c.vRowsRequested == 2)
        #expect(c.vDRAMBytes == 8)
    }

    @Test func postSoftmaxThresholdsNeedASecondPassAndTopKCostsMore() {
        let kept: [UInt64] = [0b1011, 0b0110, 0b1111, 0b0001]
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                               firstRowPosition: 0, keyCounts: [4, 4, 4, 4], kept: kept)
        var pre = TimingWorkload(); pre.pruning = .threshold(.scores)
        var post = TimingWorkload(); post.pruning = .threshold(.probabilities)
        var topk = TimingWorkload(); topk.pruning = .topK
        let hw = Self.hardware(buffersKiB: 1)
        let a = AttentionPipeline(hardware: hw, workload: pre).cost(act)
        let b = AttentionPipeline(hardware: hw, workload: post).cost(act)
        let k = AttentionPipeline(hardware: hw, workload: topk).cost(act)
        #expect(a.keptElements == 3 + 2 + 4 + 1)
        #expect(b.energySoftmaxPJ > a.energySoftmaxPJ)
        #expect(k.energyThresholdPJ > a.energyThresholdPJ)
    }

    /// Top-k buffers whole rows: with one compare-exchanger each of the 3 stages of a 4-element
    /// bitonic network streams the row (4 × 2-byte scores) out of the score buffer and back.
    @Test func topKStreamsWholeRowsThroughTheScoreBuffer() {
        let kept: [UInt64] = [0b1011, 0b0110, 0b1111, 0b0001]
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                               firstRowPosition: 0, keyCounts: [4, 4, 4, 4], kept: kept)
        var pre = TimingWorkload(); pre.pruning = .threshold(.scores)
        var topk = TimingWorkload(); topk.pruning = .topK
        var hw = Self.hardware(buffersKiB: 1)
        hw.topK = TopKUnit(lanes: 1)
        let a = AttentionPipeline(hardware: hw, workload: pre).cost(act)
        let k = AttentionPipeline(hardware: hw, workload: topk).cost(act)
        #expect(k.sramReadBytes - a.sramReadBytes == 4 * 3 * 4 * 2)
        #expect(k.sramWriteBytes - a.sramWriteBytes == 4 * 3 * 4 * 2)
        // 6 compare-exchanges per row, one per cycle; the comparator needs ⌈8 / 32⌉ = 1 cycle per
        // 2-row tile, 2 tiles.
        #expect(k.cyclesThreshold == 4 * 6)
        #expect(a.cyclesThreshold == 2)
        // A network of ≥ p/2 exchangers holds the row: one read and one write per element.
        #expect(TopKUnit(lanes: 2).bufferAccesses(rowLength: 4) == 4)
        #expect(TopKUnit(lanes: 2).bufferAccesses(rowLength: 5) == 6 * 8)
        #expect(TopKUnit.stages(rowLength: 1024) == 55)
    }

    @Test func shiftAddPVIsCheaperThanMAC() {
        let kept: [UInt64] = [0b1011, 0b0110, 0b1111, 0b0001]
        let act = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 8, phase: .prefill,
                               firstRowPosition: 0, keyCounts: [4, 4, 4, 4], kept: kept)
        var fixed = TimingWorkload(); fixed.pruning = .threshold(.scores)
        var pow2 = fixed; pow2.coding = .logPowerOfTwo(bits: 3)
        let hw = Self.hardware(buffersKiB: 1)
        let a = AttentionPipeline(hardware: hw, workload: fixed).cost(act)
        let b = AttentionPipeline(hardware: hw, workload: pow2).cost(act)
        #expect(b.energyPVPJ < a.energyPVPJ)
        #expect(b.cyclesQuantize > 0 && a.cyclesQuantize == 0)
    }

    @Test func energyTableFollowsHorowitz() {
        let e = EnergyTable()
        #expect(abs(e.multiplyPJ(8, 8) - 0.2) < 1e-12)
        #expect(abs(e.multiplyPJ(32, 32) - 3.2) < 1e-12)    // Horowitz: 3.1
        #expect(abs(e.addPJ(32) - 0.12) < 1e-12)             // Horowitz: 0.1
        #expect(abs(e.sramPJPerByte(kib: 32) - 2.5) < 1e-12) // Horowitz: 20 pJ / 8 B
        #expect(abs(e.sramPJPerByte(kib: 8) - 1.25) < 1e-12) // Horowitz: 10 pJ / 8 B
    }
}

@Suite struct PrefixScanBufferTests {
    /// The closed form equals a real LRU (`RowCache`) on random non-decreasing prefix scans.
    @Test(arguments: [0, 1, 5, 17, 64, 1000])
    func equalsLRUOnPrefixScans(capacity: Int) {
        var rng = SeededRNG(seed: UInt64(capacity) + 1)
        for _ in 0..<20 {
            var lru = RowCache(capacity: capacity, universe: 300)
            var fast = PrefixScanBuffer(capacity: capacity)
            var keys = 0
            for _ in 0..<12 {
                keys = min(300, keys + Int(rng.next() % 40))
                var misses: [Int] = []
                for row in 0..<keys where !lru.access(row) { misses.append(row) }
                let range = fast.scan(keys)
                #expect(misses == Array(range), "capacity \(capacity), keys \(keys)")
                #expect(PrefixScanBuffer.bursts(range, rowBytes: 24, burst: 64)
                        == SparseVFetcher.bursts(rows: misses, rowBytes: 24, burst: 64))
            }
        }
    }
}
