/// The memory system around the units: on-chip SRAM buffers for Q, K, V, scores and outputs, and
/// DRAM with a bandwidth, a latency and a burst size.
///
/// DRAM time for a transfer of b bytes in n bursts: n · burst / bandwidth cycles (bursts are moved
/// whole), plus the latency once per dependent request round. With `doubleBuffered`, tile i+1's loads
/// overlap tile i's compute, so the latency is paid once per stream and DRAM time overlaps compute;
/// without it, each tile pays the latency and its transfer before computing.
public struct MemorySystem: Sendable, Equatable {
    public var dramBytesPerCycle: Double = 16
    public var dramLatencyCycles: Int = 100
    public var burstBytes: Int = 64
    /// Bytes per cycle each SRAM buffer's port moves (reads and writes share it; every buffer has
    /// its own port). With `sramStage` the busiest buffer's port time is a pipeline stage.
    public var sramBytesPerCycle: Double = 64
    /// Whether SRAM port time is a pipeline stage that can bound a tile (`bound_by` = `sram`). The
    /// config's default is true with `dataflow: tiled`, false with `full_row` (whose published figures
    /// predate it).
    public var sramStage = false
    public var qBufferKiB: Double = 32
    /// K buffer (row cache across tiles / decode steps); 0: K is streamed from DRAM for every tile.
    public var kBufferKiB: Double = 64
    public var scoreBufferKiB: Double = 64
    public var outBufferKiB: Double = 32
    public var doubleBuffered = true

    public init() {}

    public func dramCycles(bursts: Int) -> Int {
        Int((Double(bursts * burstBytes) / dramBytesPerCycle).rounded(.up))
    }

    public func sramCycles(bytes: Int) -> Int {
        Int((Double(bytes) / sramBytesPerCycle).rounded(.up))
    }

    /// Bursts needed for `bytes` contiguous bytes starting at a burst boundary.
    public func bursts(bytes: Int) -> Int { (bytes + burstBytes - 1) / burstBytes }
}

/// DRAM traffic over one head group's phase: Q in with a query tile's first key tile, K rows not in
/// the K buffer, the V fetcher's misses, spill out and back, output and index out with the last key
/// tile — priced per key tile by the simple model (bursts / bandwidth) or by the banked model's
/// address stream.
public struct DRAMTileStream {
    let hardware: HardwareConfig
    let kRowBytes: Int, vRowBytes: Int
    var kBuffer: PrefixScanBuffer
    /// K rows the current query tile misses.
    var kMiss = 0..<0
    var banked: DRAMAddressStream?
    /// Banked model: the schedule's running total in accelerator cycles, and the part reported so far.
    var dramClock = 0.0, dramCyclesReported = 0

    public init(hardware hw: HardwareConfig, workload wl: TimingWorkload, activity act: HeadActivity, maxKeys: Int,
                recorder: DRAMTraceRecorder?) {
        hardware = hw
        kRowBytes = act.headDim * wl.kBytes
        vRowBytes = act.headDim * wl.vBytes
        kBuffer = PrefixScanBuffer(capacity: Int(hw.memory.kBufferKiB * 1024) / max(1, kRowBytes))
        // Banked DRAM: each key tile's requests become addresses priced by bank, row and timing.
        banked = hw.dram.model == .banked
            ? DRAMAddressStream(config: hw.dram, layer: act.layer, kvHead: act.kvHead, keys: maxKeys, headDim: act.headDim,
                                groupHeads: act.queryHeads, qBytes: wl.qBytes, kBytes: wl.kBytes, vBytes: wl.vBytes,
                                outBytes: wl.outBytes, recorder: recorder)
            : nil
    }

    /// One key tile's DRAM traffic, time and energy.
    public struct Traffic: Sendable, Equatable {
        /// Q bytes in, output bytes out, K rows fetched, spill bytes (each way, before bursts).
        public var qBytes = 0, outBytes = 0, kRows = 0..<0, spillBytes = 0
        public var readBytes = 0, writeBytes = 0, compulsoryBytes = 0
        public var vBytes = 0, vDenseBytes = 0, kBytes = 0, spillTrafficBytes = 0
        /// Transfer cycles of all traffic and of V alone, and energy.
        public var cycles = 0, vCycles = 0
        public var energyPJ = 0.0
        /// Banked model only.
        public var stats = DRAMStats()
    }

    /// Starts a query tile whose longest row sees `keys` keys.
    public mutating func startQueryTile(keys: Int) {
        kMiss = kBuffer.scan(keys)
    }

    /// One key tile of `t`: `position` is the query tile's first row position, `v` the V fetcher's
    /// work on the key tile (`vRows` holds the rows a sparse fetch missed), `spill` the score and
    /// accumulator overflow (`OnChipPlan.spillBytes`).
    public mutating func keyTile(_ t: TileWork, position: Int, v: VFetchStream.Fetch, vRows: VFetchStream,
                                 spill: Int, workload wl: TimingWorkload) -> Traffic {
        let mem = hardware.memory, e = hardware.energy
        var c = Traffic()
        c.kRows = kMiss.clamped(to: t.keyRange)
        let kBursts = PrefixScanBuffer.bursts(c.kRows, rowBytes: kRowBytes, burst: mem.burstBytes)
        c.qBytes = t.isFirst ? t.rows * t.queryHeads * t.headDim * wl.qBytes : 0
        c.outBytes = t.isLast ? t.rows * t.queryHeads * t.headDim * wl.outBytes : 0
        c.spillBytes = spill
        let idx = v.indexBytes
        let qBursts = mem.bursts(bytes: c.qBytes), oBursts = mem.bursts(bytes: c.outBytes), iBursts = mem.bursts(bytes: idx)
        let sBursts = mem.bursts(bytes: spill)
        c.readBytes = (v.bursts + kBursts + qBursts + sBursts) * mem.burstBytes
        c.writeBytes = (oBursts + iBursts + sBursts) * mem.burstBytes
        c.vCycles = mem.dramCycles(bursts: v.bursts)
        c.cycles = mem.dramCycles(bursts: v.bursts + kBursts + qBursts + oBursts + iBursts + 2 * sBursts)
        c.energyPJ = Double(c.readBytes + c.writeBytes) * e.dramPJPerByte
        if banked != nil {
            // The key tile's traffic as the dataflow generates it: K rows re-streamed on every pass
            // the K buffer cannot hold, V rows missed, spill out and back.
            let (st, vRequests) = vRows.sparse
                ? banked!.tile(position: position, qBytes: c.qBytes, kRows: c.kRows, kRowBytes: kRowBytes,
                               vRows: vRows.missRows, vRowBytes: vRowBytes, outBytes: c.outBytes, indexBytes: idx, spillBytes: spill)
                : banked!.tile(position: position, qBytes: c.qBytes, kRows: c.kRows, kRowBytes: kRowBytes,
                               vRows: v.denseRows, vRowBytes: vRowBytes, outBytes: c.outBytes, indexBytes: idx, spillBytes: spill)
            // Steps cost the advance of one schedule (`DRAMModel`): round its running total, not
            // each step, so that the phase's DRAM cycles do not depend on how many steps it has.
            dramClock += st.cycles * hardware.dram.spec.tCKns * hardware.clockGHz
            let total = Int(dramClock.rounded(.up))
            c.cycles = max(0, total - dramCyclesReported)
            dramCyclesReported += c.cycles
            c.vCycles = st.requests == 0 ? 0 : c.cycles * vRequests / st.requests
            c.energyPJ = st.energyPJ
            c.stats = st
        }
        c.compulsoryBytes = v.missed * vRowBytes + c.kRows.count * kRowBytes + c.qBytes + c.outBytes + idx
        c.vBytes = v.bursts * mem.burstBytes
        c.kBytes = kBursts * mem.burstBytes
        c.spillTrafficBytes = 2 * sBursts * mem.burstBytes
        c.vDenseBytes = v.denseBursts * mem.burstBytes
        return c
    }
}

extension MemorySystem {
    /// The on-chip buffers on one key tile: bytes read and written, energy (per buffer, at its
    /// size), and port cycles (the busiest buffer's; a stage only with `sramStage`).
    public struct SRAMTraffic: Sendable, Equatable {
        public var readBytes = 0, writeBytes = 0, cycles = 0
        public var energyPJ = 0.0
    }

    /// Array operand reads and result writes, unit reads (softmax passes, top-k's held rows), DRAM
    /// fills and output drains, each through its buffer.
    public func sramTile(_ t: TileWork, array a: SystolicArray.AttentionTileCost, softmax sw: SoftmaxUnit.Work,
                         topKAccesses: Int, v: VFetchStream.Fetch, dram d: DRAMTileStream.Traffic,
                         workload wl: TimingWorkload, energy e: EnergyTable, vBufferKiB: Double) -> SRAMTraffic {
        let qB = wl.qBytes, kB = wl.kBytes, vB = wl.vBytes, sB = wl.scoreBytes, pB = wl.probBytes, oB = wl.outBytes
        let qkReads = (a.qk.aReads * qB + a.qk.bReads * kB) * a.passes
        let qkWrites = a.qk.outWrites * sB * a.passes
        let unitReads = t.visible * sB + (sw.secondPassOps * sB) + t.kept * pB + topKAccesses * sB
        let unitWrites = t.kept * pB + topKAccesses * sB
        let pvReads = a.pvAReads * pB + a.pvBReads * vB
        let pvWrites = a.pvOutWrites * oB
        let fills = d.readBytes
        let drains = d.outBytes
        var c = SRAMTraffic()
        c.readBytes = qkReads + unitReads + pvReads + drains
        c.writeBytes = qkWrites + unitWrites + pvWrites + fills
        let qBufferBytes = a.qk.aReads * qB * a.passes
        let kBufferBytes = a.qk.bReads * kB * a.passes + d.kRows.count * t.headDim * kB
        let scoreBufferBytes = qkWrites + unitReads + unitWrites + a.pvAReads * pB
        let vBufferBytes = a.pvBReads * vB + v.missed * t.headDim * vB
        let outBufferBytes = pvWrites + drains + d.qBytes
        c.energyPJ = Double(qBufferBytes) * e.sramPJPerByte(kib: qBufferKiB)
            + Double(kBufferBytes) * e.sramPJPerByte(kib: max(kBufferKiB, 1))
            + Double(scoreBufferBytes) * e.sramPJPerByte(kib: scoreBufferKiB)
            + Double(vBufferBytes) * e.sramPJPerByte(kib: max(vBufferKiB, 1))
            + Double(outBufferBytes) * e.sramPJPerByte(kib: outBufferKiB)
        // SRAM ports: each buffer moves its reads and writes through one port.
        c.cycles = sramStage
            ? sramCycles(bytes: max(qBufferBytes + d.qBytes, kBufferBytes, scoreBufferBytes, vBufferBytes,
                                    pvWrites + drains + 2 * d.spillBytes))
            : 0
        return c
    }
}
