import Testing
@testable import Accelerator

/// The tiled dataflow priced by the banked DRAM model: the address stream sees the traffic the tiled
/// dataflow generates (K/V re-streamed on every pass, spill out and back), request for request.
@Suite struct TiledDRAMTests {
    /// DDR4-3200 (64-byte requests), a 16×32 array, query tiles of 16 rows, key tiles of 32 keys,
    /// K/V buffers of `kvKiB` each, a score buffer that holds 16 full rows of 4,096 keys.
    static func hardware(_ dataflow: AttentionDataflow, kvKiB: Double, banked: Bool = true) -> HardwareConfig {
        var hw = HardwareConfig()
        hw.array = SystolicArray(rows: 16, cols: 32, dataflow: .os)
        hw.queryTileRows = 16
        hw.dataflow = dataflow
        if dataflow == .tiled { hw.keyTileRows = 32; hw.memory.sramStage = true }
        hw.memory.scoreBufferKiB = 128
        hw.memory.kBufferKiB = kvKiB
        hw.vFetcher.bufferKiB = kvKiB
        if banked {
            hw.dram = .banked(.ddr4_3200)
            hw.memory.burstBytes = hw.dram.spec.requestBytes
        } else {
            hw.memory.burstBytes = 64
        }
        return hw
    }

    /// Bidirectional prefill of 64 query rows over 4,096 keys, head_dim 64 (64-byte K and V rows):
    /// K and V are 256 KiB each, as much as DDR4-3200's 32 banks hold in open rows together.
    static let long = HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 64, phase: .prefill,
                                   firstRowPosition: 0, keyCounts: [Int32](repeating: 4096, count: 64))

    /// The same rows keeping every third key (Top-θ on scores): the fetcher gathers V rows.
    static var sparse: HeadActivity {
        var kept: [UInt64] = []
        let words = 4096 / 64
        for _ in 0..<64 {
            for w in 0..<words {
                var bits: UInt64 = 0
                for b in 0..<64 where (w * 64 + b) % 3 == 0 { bits |= 1 << UInt64(b) }
                kept.append(bits)
            }
        }
        return HeadActivity(sequence: 0, layer: 0, kvHead: 0, queryHeads: 1, headDim: 64, phase: .prefill,
                            firstRowPosition: 0, keyCounts: [Int32](repeating: 4096, count: 64), kept: kept)
    }

    static func cost(_ hw: HardwareConfig, _ act: HeadActivity, _ wl: TimingWorkload = TimingWorkload(),
                     trace: DRAMTraceRecorder? = nil) -> PhaseCost {
        AttentionPipeline(hardware: hw, workload: wl, dramTrace: trace).cost(act)
    }

    @Test func streamRequestsAreTheReportedBytes() {
        var topTheta = TimingWorkload()
        topTheta.pruning = .threshold(.scores)
        for dataflow in AttentionDataflow.allCases {
            for kvKiB in [2.0, 256] {
                for (act, wl) in [(Self.long, TimingWorkload()), (Self.sparse, topTheta)] {
                    let hw = Self.hardware(dataflow, kvKiB: kvKiB)
                    let c = Self.cost(hw, act, wl)
                    let label = "\(dataflow) \(kvKiB) KiB \(act.isDense ? "dense" : "sparse")"
                    // Every byte the report moves is a request of the banked model, and nothing else is.
                    #expect(c.dram.reads * 64 == c.dramReadBytes, "\(label)")
                    #expect(c.dram.writes * 64 == c.dramWriteBytes, "\(label)")
                    #expect(c.dram.hits + c.dram.misses + c.dram.conflicts == c.dram.requests, "\(label)")
                    // The banked model prices the same traffic as the simple one; it only changes its time.
                    let simple = Self.cost(Self.hardware(dataflow, kvKiB: kvKiB, banked: false), act, wl)
                    #expect(simple.dramReadBytes == c.dramReadBytes && simple.dramWriteBytes == c.dramWriteBytes, "\(label)")
                    #expect(simple.dram.requests == 0)
                }
            }
        }
    }

    @Test func moreKVPassesMeanMoreRequestsAndActivates() {
        for dataflow in AttentionDataflow.allCases {
            // 256 KiB buffers hold the caches: fetched once. 2 KiB buffers (one 32-key tile): every one
            // of the four query tiles streams both caches again.
            let resident = Self.cost(Self.hardware(dataflow, kvKiB: 256), Self.long)
            let streamed = Self.cost(Self.hardware(dataflow, kvKiB: 2), Self.long)
            #expect(abs(resident.kvDRAMPasses - 1) < 0.01, "\(dataflow)")
            #expect(abs(streamed.kvDRAMPasses - 4) < 0.01, "\(dataflow)")
            // K and V: 4,096 rows of 64 bytes each, one request per row and pass; Q and output add the same
            // requests to both.
            #expect(streamed.dram.reads - resident.dram.reads == 3 * 2 * 4096, "\(dataflow)")
            // The caches fill every bank's open row, so a second pass must reopen the rows it left.
            #expect(streamed.dram.activates > 3 * resident.dram.activates, "\(dataflow): \(streamed.dram.activates) vs \(resident.dram.activates)")
            #expect(streamed.dram.cycles > resident.dram.cycles)
            #expect(streamed.cyclesDRAM > resident.cyclesDRAM)
        }
    }

    @Test func spillTrafficIsInTheAddressStream() {
        // A 128-byte output buffer: the query tile shrinks to one row, whose 64 × 4-byte accumulators
        // still overflow by 128 B — two requests out and two back per key tile, 64 × 128 key tiles.
        var hw = Self.hardware(.tiled, kvKiB: 256)
        hw.memory.outBufferKiB = 0.125
        let trace = DRAMTraceRecorder(streams: [.spill])
        let c = Self.cost(hw, Self.long, trace: trace)
        #expect(c.queryTileRowsMin == 1)
        #expect(c.spillDRAMBytes == 64 * 128 * 2 * 128)
        #expect(trace.count * 64 == c.spillDRAMBytes)
        #expect(c.dram.reads * 64 == c.dramReadBytes && c.dram.writes * 64 == c.dramWriteBytes)
        let lines = trace.contents.split(separator: "\n")
        #expect(lines.filter { $0.contains(" READ ") }.count == lines.count / 2)
        #expect(lines.filter { $0.contains(" WRITE ") }.count == lines.count / 2)
    }
}
